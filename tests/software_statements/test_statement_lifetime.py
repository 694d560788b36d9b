"""Statements with a lifetime (README "Software statements and signing keys"): the `exp` a download
writes, the programmer's default a TAM sets, refused lifetimes, and the registry's status and client
count in the admin and on the dashboard (one query for the page, however many statements and clients)."""

import datetime
import json
import time
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import clock
from oauth.models import Client as OAuthClient
from registered_apps.models import AuditEvent, Programmer
from registered_apps.selectors import client_count_text, statements_with_client_counts
from software_statements import keys
from software_statements.models import SoftwareStatement, StatementStatus
from software_statements.services import software_statement_issue, software_statement_revoke
from software_statements.verify import StatementError, software_statement_verify
from tests.software_statements.helpers import b64decode

pytestmark = pytest.mark.django_db
DAY = 86400
REFUSED = "A statement lifetime is none or one of 30, 90, 180, 365 days."


@pytest.fixture(autouse=True)
def _fresh_key_caches_and_clock():
    keys.clear_key_caches()
    clock.reset()
    yield
    keys.clear_key_caches()
    clock.reset()


def claims_of(token: str) -> dict:
    return json.loads(b64decode(token.split(".")[1]))


def download_url(application):
    return reverse("software_statements:download", kwargs={"application_id": application.pk})


def detail_url(application):
    return reverse("registered_apps:application_detail", kwargs={"application_id": application.pk})


def nothing_issued():
    return not SoftwareStatement.objects.exists() and not AuditEvent.objects.filter(action="statement.issue").exists()


# --- Issuing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [30, 90, 180, 365])
def test_a_download_with_a_lifetime_carries_exp_that_many_days_after_iat(login_as, rw_user, application, days):
    response = login_as(rw_user).post(download_url(application), {"lifetime": str(days)})
    assert response.status_code == 200
    token = response.content.decode()
    claims = claims_of(token)
    assert claims["exp"] == claims["iat"] + days * DAY
    row = SoftwareStatement.objects.get()
    assert row.expires_at == datetime.datetime.fromtimestamp(claims["exp"], datetime.UTC)
    assert row.status == StatementStatus.ACTIVE
    assert software_statement_verify(token).statement.pk == row.pk
    assert AuditEvent.objects.get(action="statement.issue").details["lifetime_days"] == days


def test_never_expires_is_the_default_as_in_the_original(login_as, rw_user, application):
    client = login_as(rw_user)
    for data in ({}, {"lifetime": ""}, {"lifetime": "none"}):
        token = client.post(download_url(application), data).content.decode()
        assert "exp" not in claims_of(token), data
    assert not SoftwareStatement.objects.filter(expires_at__isnull=False).exists()


def test_the_programmers_default_applies_when_the_download_names_no_lifetime(
    login_as, rw_user, tam, application, programmer
):
    # The TAM sets the default in the admin; the change is audited.
    admin = login_as(tam)
    change_url = reverse("admin:registered_apps_programmer_change", args=[programmer.pk])
    page = admin.get(change_url)
    assert page.status_code == 200 and 'name="statement_lifetime_days"' in page.content.decode()
    saved = admin.post(
        change_url,
        {
            "slug": programmer.slug,
            "name": programmer.name,
            "statement_lifetime_days": "90",
            "channels-TOTAL_FORMS": "0",
            "channels-INITIAL_FORMS": "0",
        },
        REMOTE_ADDR="192.0.2.7",
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert Programmer.objects.get(pk=programmer.pk).statement_lifetime_days == 90
    event = AuditEvent.objects.get(action="programmer.statement_lifetime")
    assert event.details == {"statement_lifetime_days": [None, 90]}
    assert event.actor_user == tam and event.ip_address == "192.0.2.7"

    # The dashboard's select starts on it, and a download that names none gets it.
    member = login_as(rw_user)
    page = member.get(detail_url(application)).content.decode()
    assert '<option value="90" selected>90 days (default)</option>' in page
    claims = claims_of(member.post(download_url(application)).content.decode())
    assert claims["exp"] == claims["iat"] + 90 * DAY
    # The member may still choose another (a default, not a rule).
    assert "exp" not in claims_of(member.post(download_url(application), {"lifetime": "none"}).content.decode())


def test_the_admins_download_button_uses_the_programmers_default(login_as, tam, application, programmer):
    Programmer.objects.filter(pk=programmer.pk).update(statement_lifetime_days=30)
    url = reverse("software_statements:admin_download", kwargs={"application_id": application.pk})
    claims = claims_of(login_as(tam).post(url).content.decode())
    assert claims["exp"] == claims["iat"] + 30 * DAY


@pytest.mark.parametrize("lifetime", ["45", "0", "-30", "abc", "30.5", "٣٠", "9" * 5000, "none;30"])
def test_a_bad_lifetime_is_a_clear_400_and_issues_nothing(login_as, rw_user, application, lifetime):
    response = login_as(rw_user).post(download_url(application), {"lifetime": lifetime})
    assert response.status_code == 400
    page = response.content.decode()
    assert REFUSED in page
    assert "text/html" in response["Content-Type"]
    assert nothing_issued()


def test_the_service_refuses_a_lifetime_outside_the_choices_before_writing(application):
    for days in (7, 0, -1, True, "30", 3.5):
        with pytest.raises(ValidationError) as refused:
            software_statement_issue(application=application, actor="tests", lifetime_days=days)
        assert refused.value.message_dict["lifetime"] == [REFUSED]
    assert nothing_issued()


def test_the_admin_refuses_a_default_outside_the_choices_and_writes_nothing(login_as, tam, programmer):
    change_url = reverse("admin:registered_apps_programmer_change", args=[programmer.pk])
    response = login_as(tam).post(
        change_url,
        {
            "slug": programmer.slug,
            "name": "Renamed",
            "statement_lifetime_days": "45",
            "channels-TOTAL_FORMS": "0",
            "channels-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form again, with the error on the field
    assert "Select a valid choice" in response.content.decode()
    stored = Programmer.objects.get(pk=programmer.pk)
    assert stored.statement_lifetime_days is None and stored.name == programmer.name
    assert not AuditEvent.objects.filter(action__startswith="programmer.").exclude(action="programmer.create").exists()


# --- Status and client counts ---------------------------------------------------------------------


def test_status_is_active_expired_or_revoked(application):
    _, active = software_statement_issue(application=application, actor="tests", lifetime_days=30)
    _, forever = software_statement_issue(application=application, actor="tests", lifetime_days=None)
    _, revoked = software_statement_issue(application=application, actor="tests", lifetime_days=30)
    software_statement_revoke(statement=revoked, reason="leaked", actor="tests")
    assert [active.status, forever.status, revoked.status] == ["active", "active", "revoked"]
    clock.advance(30 * DAY)
    active.refresh_from_db()
    revoked.refresh_from_db()
    # Revoked stays revoked (the decision wins over the date); one that never expires stays active.
    assert [active.status, forever.status, revoked.status] == ["expired", "active", "revoked"]


def bulk_clients(statement, count, prefix):
    OAuthClient.objects.bulk_create(
        OAuthClient(
            registered_application=statement.application,
            statement=statement,
            client_id=f"{prefix}-{n}",
            client_type="confidential",
            authorization_grant_type="client-credentials",
        )
        for n in range(count)
    )


def test_client_counts_are_per_statement_and_bounded(application):
    _, first = software_statement_issue(application=application, actor="tests")
    _, second = software_statement_issue(application=application, actor="tests")
    _, third = software_statement_issue(application=application, actor="tests")
    bulk_clients(first, 3, "a")
    bulk_clients(second, 1, "b")
    counts = dict(statements_with_client_counts(SoftwareStatement.objects.all()).values_list("pk", "client_count"))
    assert counts == {first.pk: 3, second.pk: 1, third.pk: 0}
    bounded = dict(
        statements_with_client_counts(SoftwareStatement.objects.all(), limit=2).values_list("pk", "client_count")
    )
    assert bounded[first.pk] == 3 and client_count_text(bounded[first.pk], limit=2) == "2+"
    assert client_count_text(1, limit=2) == "1" and client_count_text(9999) == "9,999"
    assert client_count_text(10_001) == "10,000+"


def grow_statements(application, count, clients_each, now=None):
    now = now or timezone.now()
    rows = SoftwareStatement.objects.bulk_create(
        SoftwareStatement(
            application=application,
            kid="k1",
            issued_at=now - datetime.timedelta(minutes=n),
            expires_at=now + datetime.timedelta(days=(-1 if n % 3 == 1 else 30)) if n % 3 else None,
            revoked_at=now if n % 5 == 4 else None,
        )
        for n in range(count)
    )
    for row in rows:
        bulk_clients(row, clients_each, f"{row.pk}")
    return rows


def statuses() -> Counter:
    return Counter(str(row.status) for row in SoftwareStatement.objects.all())


def admin_list_queries(client):
    url = reverse("admin:software_statements_softwarestatement_changelist")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_the_admin_registry_lists_status_clients_and_expiry_in_constant_queries(login_as, tam, application):
    admin = login_as(tam)
    grow_statements(application, 1, 2)
    small, _ = admin_list_queries(admin)
    grow_statements(application, 40, 3, now=timezone.now() - datetime.timedelta(hours=1))
    large, page = admin_list_queries(admin)
    assert large == small, (small, large)
    for heading in ("Status", "Clients", "Expires at"):
        assert f">{heading}<" in page, heading
    expected = statuses()
    assert expected["expired"] and expected["revoked"] and expected["active"]
    for status in StatementStatus:
        assert page.count(f'<td class="field-status">{status.label}</td>') == expected[status], status
    assert page.count('<td class="field-clients">3</td>') == 40

    # The status filter follows the same rule.
    url = reverse("admin:software_statements_softwarestatement_changelist")
    for status in StatementStatus:
        listed = admin.get(url, {"status": status.value}).content.decode()
        assert listed.count('<td class="field-status">') == expected[status], status
        assert listed.count(f'<td class="field-status">{status.label}</td>') == expected[status], status


def detail_queries(client, application):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(detail_url(application))
    assert response.status_code == 200
    return len(captured), response


def test_the_dashboard_statement_history_shows_status_clients_and_expiry_in_constant_queries(
    login_as, rw_user, application
):
    member = login_as(rw_user)
    grow_statements(application, 1, 1)
    small, _ = detail_queries(member, application)
    grow_statements(application, 30, 2, now=timezone.now() - datetime.timedelta(hours=1))
    large, response = detail_queries(member, application)
    assert large == small, (small, large)
    rows = response.context["statements"]
    assert len(rows) == 31 and all(row.client_count in (1, 2) for row in rows)
    page = response.content.decode()
    expected = statuses()
    assert expected["expired"] and expected["revoked"] and expected["active"]
    for status in StatementStatus:
        assert page.count(f'data-status="{status}"') == expected[status], status
    assert "Never</span>" in page


def test_registration_with_an_expired_statement_names_when_it_expired(application):
    token, row = software_statement_issue(application=application, actor="tests", lifetime_days=30)
    software_statement_verify(token)
    clock.advance(30 * DAY + 61)
    with pytest.raises(StatementError) as refused:
        software_statement_verify(token)
    when = row.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert refused.value.code == "invalid_software_statement"
    assert refused.value.description == f"The software statement expired at {when}; download a new one."
    assert int(time.time()) < row.expires_at.timestamp()  # the real clock never moved
