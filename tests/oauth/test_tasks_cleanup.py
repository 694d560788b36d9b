"""Clean-up tasks of the oauth layer: the token denylist, idle clients, and republished revocation stamps."""

import datetime

import pytest
from django.utils import timezone

from core.revocation import Revoked, stamp_key, stamp_lifetime
from oauth.models import Client, DeniedToken
from oauth.tasks import clients_mark_idle, denied_tokens_purge, revocation_stamps_republish
from registered_apps import services
from registered_apps.models import AuditEvent
from tests.hot_state import stamps_read
from tests.oauth.api import SESSION, get_token


def _client(credentials) -> Client:
    return Client.objects.get(client_id=credentials["client_id"])


def test_expired_denylist_entries_are_purged_and_live_ones_kept(credentials):
    client = _client(credentials)
    now = timezone.now()
    DeniedToken.objects.create(jti="expired", client=client, expires_at=now - datetime.timedelta(hours=1))
    DeniedToken.objects.create(jti="live", client=client, expires_at=now + datetime.timedelta(hours=1))

    assert denied_tokens_purge.apply().get() == 1
    assert list(DeniedToken.objects.values_list("jti", flat=True)) == ["live"]


def test_clients_idle_past_the_setting_are_marked_and_audited_not_deleted(settings, credentials, client):
    settings.DCR_CLIENT_IDLE_DAYS = 30
    idle = _client(credentials)
    long_ago = timezone.now() - datetime.timedelta(days=31)
    Client.objects.filter(pk=idle.pk).update(last_used_at=long_ago)

    assert clients_mark_idle.apply().get() == 1

    idle.refresh_from_db()
    assert idle.idle_since is not None and idle.revoked_at is None
    event = AuditEvent.objects.get(action="client.idle")
    assert event.object_id == str(idle.pk)
    assert event.programmer_id == idle.registered_application.programmer_id
    assert event.details["client_id"] == idle.client_id
    # Still a working client.
    assert get_token(client, credentials)["token_type"] == "bearer"


def test_marking_idle_clients_twice_marks_and_audits_them_once(settings, credentials):
    settings.DCR_CLIENT_IDLE_DAYS = 30
    Client.objects.update(created=timezone.now() - datetime.timedelta(days=40), last_used_at=None)

    assert clients_mark_idle.apply().get() == 1
    assert clients_mark_idle.apply().get() == 0
    assert AuditEvent.objects.filter(action="client.idle").count() == 1


def test_recently_used_and_revoked_clients_are_not_marked_idle(settings, credentials, tam):
    settings.DCR_CLIENT_IDLE_DAYS = 30
    client = _client(credentials)
    Client.objects.filter(pk=client.pk).update(last_used_at=timezone.now() - datetime.timedelta(days=29))
    assert clients_mark_idle.apply().get() == 0

    from oauth.services import client_revoke

    client_revoke(client=client, reason="lost device", actor=tam)
    Client.objects.filter(pk=client.pk).update(last_used_at=timezone.now() - datetime.timedelta(days=300))
    assert clients_mark_idle.apply().get() == 0


def test_an_idle_client_used_again_loses_its_mark(settings, credentials):
    settings.DCR_CLIENT_IDLE_DAYS = 30
    client = _client(credentials)
    marked_at = timezone.now() - datetime.timedelta(days=2)
    Client.objects.filter(pk=client.pk).update(
        idle_since=marked_at, last_used_at=marked_at + datetime.timedelta(days=1)
    )

    clients_mark_idle.apply().get()

    client.refresh_from_db()
    assert client.idle_since is None


def test_a_revocation_stamp_lost_at_publish_time_comes_back_and_the_token_is_refused(
    application, credentials, client, tam, django_capture_on_commit_callbacks
):
    token = get_token(client, credentials)["access_token"]
    # The commit hook that publishes the stamp never runs: as if Redis was down at that moment.
    with django_capture_on_commit_callbacks(execute=False):
        services.registered_application_revoke(application=application, reason="Leak", actor=tam)
    key = stamp_key(Revoked.APPLICATION, application.pk)
    assert stamps_read([key]) == [None]

    written = revocation_stamps_republish.apply().get()

    application.refresh_from_db()
    assert written >= 1
    assert stamps_read([key]) == [pytest.approx(application.revoked_at.timestamp())]
    response = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["action"] == "application-registration"


def test_revocations_older_than_a_stamp_lifetime_are_not_republished(
    settings, application, tam, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        services.registered_application_revoke(application=application, reason="Old", actor=tam)
    application.refresh_from_db()
    type(application).objects.filter(pk=application.pk).update(
        revoked_at=timezone.now() - datetime.timedelta(seconds=stamp_lifetime() + 60)
    )

    assert revocation_stamps_republish.apply().get() == 0
    assert stamps_read([stamp_key(Revoked.APPLICATION, application.pk)]) == [None]
