"""Quotas in the admin (a TAM edits them; audited; the hot-path store follows) and on the application's
dashboard page (README "Quotas")."""

from django.test import override_settings
from django.urls import reverse

from core.hot_store.base import QUOTAS_KEY
from core.quotas import Quota, quota_unpack
from core.redis import redis_client
from registered_apps.models import AuditEvent, RegisteredApplication
from tests.factories import make_application

CHANGE = "admin:registered_apps_registeredapplication_change"


def _stored_quota(application_id: str) -> Quota | None:
    """The copy the token and registration scripts count against (Redis; None without it: tests/oauth/
    test_quotas.py shows the embedded store following a change by its answers)."""
    client = redis_client()
    if client is None:
        return None
    return quota_unpack((client.hget(QUOTAS_KEY, application_id) or b"").decode())


def test_a_tam_sets_the_quotas_in_the_admin_audited_and_published(
    admin_client, tam, application, django_capture_on_commit_callbacks
):
    url = reverse(CHANGE, args=[application.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b'name="quota_tokens_per_hour"' in page.content
    assert b'name="name"' not in page.content  # the configuration stays read-only
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url,
            {
                "quota_registrations_per_hour": "5",
                "quota_tokens_per_hour": "",
                "quota_tokens_per_day": "0",
                "_continue": "1",
            },
        )
    assert response.status_code == 302, response.content[:2000]
    application.refresh_from_db()
    assert (application.quota_registrations_per_hour, application.quota_tokens_per_hour) == (5, None)
    assert application.quota_tokens_per_day == 0
    event = AuditEvent.objects.get(action="application.quota")
    assert event.details == {"quota_registrations_per_hour": [None, 5], "quota_tokens_per_day": [None, 0]}
    assert event.actor_user == tam
    assert _stored_quota(str(application.pk)) in (None, Quota(tokens_per_day=0, registrations_per_hour=5))


def test_the_admin_refuses_a_negative_quota_and_changes_nothing(admin_client, application):
    response = admin_client.post(
        reverse(CHANGE, args=[application.pk]),
        {"quota_registrations_per_hour": "-1", "quota_tokens_per_hour": "", "quota_tokens_per_day": ""},
    )
    assert response.status_code == 200  # the form again, with its error
    assert RegisteredApplication.objects.get(pk=application.pk).quota_registrations_per_hour is None
    assert not AuditEvent.objects.filter(action="application.quota").exists()


@override_settings(DCR_QUOTA_TOKENS_PER_DAY=123456)
def test_the_application_page_shows_the_quotas_in_force(login_as, rw_user, programmer, channels):
    application = make_application(programmer, name="Player")
    RegisteredApplication.objects.filter(pk=application.pk).update(
        quota_registrations_per_hour=250, quota_tokens_per_hour=0
    )
    response = login_as(rw_user).get(reverse("registered_apps:application_detail", args=[application.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-quota="registrations_per_hour">250 registrations per hour<' in html
    assert 'data-quota="tokens_per_hour">No limit of tokens per hour<' in html
    assert "123,456 tokens per day" in html and "(the default)" in html
