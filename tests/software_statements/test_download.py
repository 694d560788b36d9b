"""Downloading a statement from the dashboard and the admin: who may, what they get, what is written."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from registered_apps.models import AuditEvent
from registered_apps.services import registered_application_revoke
from software_statements.models import SoftwareStatement
from software_statements.verify import software_statement_verify
from tests.factories import UserFactory, make_application

FILENAME = re.compile(r'^attachment; filename="software_statement_app-1-0-0_\d{8}T\d{6}Z\.txt"$')


def download_url(application):
    return reverse("software_statements:download", kwargs={"application_id": application.pk})


def admin_download_url(application):
    return reverse("software_statements:admin_download", kwargs={"application_id": application.pk})


def nothing_written():
    return not SoftwareStatement.objects.exists() and not AuditEvent.objects.filter(action="statement.issue").exists()


@pytest.mark.django_db
def test_read_write_member_downloads_a_fresh_statement_file(login_as, rw_user, application):
    response = login_as(rw_user).post(download_url(application), REMOTE_ADDR="192.0.2.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response["Cache-Control"] == "no-store"
    assert FILENAME.match(response["Content-Disposition"]), response["Content-Disposition"]
    token = response.content.decode()
    assert token.count(".") == 2 and "\n" not in token
    verified = software_statement_verify(token)
    assert verified.application.pk == application.pk
    assert verified.statement.issued_by == rw_user
    event = AuditEvent.objects.get(action="statement.issue")
    assert event.actor_user == rw_user and event.ip_address == "192.0.2.1"
    stamp = verified.statement.issued_at.strftime("%Y%m%dT%H%M%SZ")
    assert stamp in response["Content-Disposition"]


@pytest.mark.django_db
def test_each_download_issues_a_new_statement(login_as, rw_user, application):
    client = login_as(rw_user)
    first = client.post(download_url(application)).content
    second = client.post(download_url(application)).content
    assert first != second
    assert SoftwareStatement.objects.filter(application=application).count() == 2


@pytest.mark.django_db
def test_channel_member_downloads_for_an_application_on_their_channel(login_as, channel_user, programmer, channels):
    application = make_application(programmer, level="channel", all_channels=False, channel=channels[0])
    assert login_as(channel_user).post(download_url(application)).status_code == 200


@pytest.mark.django_db
def test_another_programmers_user_gets_404_and_nothing_is_written(login_as, other_user, application):
    assert login_as(other_user).post(download_url(application)).status_code == 404
    assert nothing_written()


@pytest.mark.django_db
def test_read_only_member_gets_403_and_nothing_is_written(login_as, ro_user, application):
    assert login_as(ro_user).post(download_url(application)).status_code == 403
    assert nothing_written()


@pytest.mark.django_db
def test_channel_user_outside_the_applications_channels_is_refused(login_as, channel_user, programmer, channels):
    elsewhere = make_application(programmer, level="channel", all_channels=False, channel=channels[1], name="B")
    assert login_as(channel_user).post(download_url(elsewhere)).status_code == 404
    subset = make_application(programmer, all_channels=False, channels=channels[:2], name="C")
    # Visible (it covers their channel) but reaching beyond it: they may look, not download.
    assert login_as(channel_user).post(download_url(subset)).status_code == 403
    everywhere = make_application(programmer, name="D")
    assert login_as(channel_user).post(download_url(everywhere)).status_code == 403
    assert nothing_written()


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_login_and_nothing_is_written(client, application):
    response = client.post(download_url(application))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert nothing_written()


@pytest.mark.django_db
def test_get_is_not_allowed_so_links_and_prefetchers_issue_nothing(login_as, rw_user, application):
    assert login_as(rw_user).get(download_url(application)).status_code == 405
    assert nothing_written()


@pytest.mark.django_db
def test_download_without_a_csrf_token_is_refused(rw_user, application):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rw_user)
    assert client.post(download_url(application)).status_code == 403
    assert nothing_written()


@pytest.mark.django_db
def test_unknown_application_is_404(login_as, rw_user, application):
    url = download_url(application).replace(str(application.pk), "00000000-0000-4000-8000-000000000000")
    assert login_as(rw_user).post(url).status_code == 404


@pytest.mark.django_db
def test_revoked_application_download_is_refused_with_an_explanation(login_as, rw_user, application):
    registered_application_revoke(application=application, reason="compromised", actor="tests")
    response = login_as(rw_user).post(download_url(application))
    assert response.status_code == 409
    assert b"revoked" in response.content
    assert nothing_written()


@pytest.mark.django_db
def test_tam_downloads_from_the_admin_change_view(login_as, tam, application):
    client = login_as(tam)
    page = client.get(reverse("admin:registered_apps_registeredapplication_change", args=[application.pk]))
    assert page.status_code == 200
    assert admin_download_url(application).encode() in page.content
    assert b"Download software statement" in page.content
    response = client.post(admin_download_url(application))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert FILENAME.match(response["Content-Disposition"])
    assert software_statement_verify(response.content.decode()).statement.issued_by == tam


@pytest.mark.django_db
def test_admin_download_refuses_non_staff_and_staff_without_permission(login_as, rw_user, application):
    response = login_as(rw_user).post(admin_download_url(application))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    staff = UserFactory(username="staff-no-perms", is_staff=True)
    assert login_as(staff).post(admin_download_url(application)).status_code == 403
    assert nothing_written()
