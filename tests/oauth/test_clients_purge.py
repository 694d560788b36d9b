"""The purge of clients idle past DCR_CLIENT_PURGE_DAYS: who goes, in batches with one audit event each,
the switch that turns it off, and what the purged device sees."""

import datetime
import re

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oauth import tasks
from oauth.models import Client, DeniedToken
from registered_apps.models import AuditEvent
from software_statements.services import software_statement_issue
from tests.factories import make_application, make_clients
from tests.oauth.api import register, token_request


def _days_ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def _register_clients(client, application, count: int) -> list[Client]:
    statement, _ = software_statement_issue(application=application, actor="tests")
    ids = []
    for _ in range(count):
        response = register(client, statement)
        assert response.status_code == 201, response.content
        ids.append(response.json()["client_id"])
    return list(Client.objects.filter(client_id__in=ids).order_by("pk"))


def _set(client_row: Client, **fields) -> None:
    Client.objects.filter(pk=client_row.pk).update(**fields)


def test_clients_idle_past_the_cutoff_are_deleted_and_the_others_kept(settings, client, application, tam):
    settings.DCR_CLIENT_PURGE_DAYS = 400
    used_long_ago, never_used_old, revoked_long_ago, used_recently, never_used_new, revoked_recently = (
        _register_clients(client, application, 6)
    )
    _set(used_long_ago, created=_days_ago(900), last_used_at=_days_ago(401))
    _set(never_used_old, created=_days_ago(401), last_used_at=None)
    _set(revoked_long_ago, created=_days_ago(900), last_used_at=_days_ago(401), revoked_at=_days_ago(401))
    _set(used_recently, created=_days_ago(900), last_used_at=_days_ago(399))
    _set(never_used_new, created=_days_ago(10), last_used_at=None)
    _set(revoked_recently, created=_days_ago(900), last_used_at=_days_ago(30), revoked_at=_days_ago(30))
    DeniedToken.objects.create(jti="of-a-purged-client", client=used_long_ago, expires_at=_days_ago(401))

    assert tasks.clients_purge_idle.apply().get() == 3

    kept = set(Client.objects.values_list("pk", flat=True))
    assert kept == {used_recently.pk, never_used_new.pk, revoked_recently.pk}
    assert not DeniedToken.objects.exists()
    # Running again finds nothing more.
    assert tasks.clients_purge_idle.apply().get() == 0
    assert AuditEvent.objects.filter(action="client.purge").count() == 1


def test_each_batch_is_one_audit_event_counting_its_clients_per_application(client, programmer, application):
    other = make_application(programmer, name="Other Player")
    rows = _register_clients(client, application, 4) + _register_clients(client, other, 3)
    Client.objects.update(created=_days_ago(500), last_used_at=_days_ago(450))

    assert tasks.clients_idle_purge(purge_days=400, batch_size=3) == 7

    events = list(AuditEvent.objects.filter(action="client.purge").order_by("pk"))
    rows.sort(key=lambda row: row.pk)
    expected = []
    for start in range(0, len(rows), 3):
        per_application: dict[str, int] = {}
        for row in rows[start : start + 3]:
            software_id = str(row.registered_application_id)
            per_application[software_id] = per_application.get(software_id, 0) + 1
        expected.append(per_application)
    assert [event.details["per_application"] for event in events] == expected
    assert [event.details["deleted"] for event in events] == [3, 3, 1]
    assert all(event.actor == "system" and event.programmer_id == programmer.pk for event in events)
    cutoff = datetime.datetime.fromisoformat(events[0].details["cutoff"])
    assert _days_ago(400.01) < cutoff < _days_ago(399.99)
    assert not Client.objects.exists()


def test_zero_days_turns_the_purge_off(settings, client, application):
    settings.DCR_CLIENT_PURGE_DAYS = 0
    _register_clients(client, application, 2)
    Client.objects.update(created=_days_ago(5000), last_used_at=None)

    assert tasks.clients_purge_idle.apply().get() == 0
    assert Client.objects.count() == 2
    assert not AuditEvent.objects.filter(action="client.purge").exists()


def test_the_purge_never_takes_a_client_that_may_still_hold_an_unexpired_token(settings, client, application):
    # One day of purge against tokens that live two: the cutoff stays a token lifetime (and margin) back.
    settings.DCR_ACCESS_TOKEN_TTL = 2 * 86400
    (recent,) = _register_clients(client, application, 1)
    _set(recent, created=_days_ago(30), last_used_at=_days_ago(1.5))

    assert tasks.clients_idle_purge(purge_days=1) == 0
    assert Client.objects.filter(pk=recent.pk).exists()


def test_a_purged_client_is_told_invalid_client_at_the_token_endpoint(
    settings, client, credentials, django_capture_on_commit_callbacks
):
    settings.DCR_CLIENT_PURGE_DAYS = 400
    Client.objects.update(created=_days_ago(800), last_used_at=_days_ago(401))

    # Once each batch commits, the purge drops its clients' records from the store too (registration
    # had put this one there).
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.clients_purge_idle.apply().get() == 1

    response = token_request(
        client,
        {
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


def test_the_command_counts_on_a_dry_run_then_purges(settings, client, application, capsys):
    settings.DCR_CLIENT_PURGE_DAYS = 400
    _register_clients(client, application, 2)
    Client.objects.update(created=_days_ago(800), last_used_at=_days_ago(401))

    call_command("purge_idle_clients", "--dry-run")
    assert "2 clients idle for 400 days would be deleted" in capsys.readouterr().out
    assert Client.objects.count() == 2

    call_command("purge_idle_clients", "--days", "500")
    assert "Deleted 0 clients" in capsys.readouterr().out
    call_command("purge_idle_clients")
    assert "Deleted 2 clients idle for 400 days" in capsys.readouterr().out
    assert not Client.objects.exists()
    assert AuditEvent.objects.get(action="client.purge").actor == "command:purge_idle_clients"


def test_the_command_does_nothing_when_the_purge_is_off(client, application, capsys):
    _register_clients(client, application, 1)
    Client.objects.update(created=_days_ago(5000), last_used_at=None)

    call_command("purge_idle_clients", "--days", "0")

    assert "off" in capsys.readouterr().out
    assert Client.objects.count() == 1


def test_a_batch_delete_reads_and_writes_only_the_clients_and_their_denylist_rows(application):
    """A purge batch's delete (and an admin's) is three statements: the clients, then their denylist rows
    and themselves. No other table refers to clients (django-oauth-toolkit's five token tables, never
    written, cost four more statements per batch until they were dropped)."""
    rows = make_clients(application, 3, prefix="batch")
    DeniedToken.objects.create(jti="of-a-batch-client", client=rows[0], expires_at=_days_ago(-1))

    with CaptureQueriesContext(connection) as queries:
        Client.objects.filter(pk__in=[row.pk for row in rows]).delete()

    statements = [query["sql"] for query in queries.captured_queries]
    tables = {table for sql in statements for table in re.findall(r'(?:FROM|INTO) "(\w+)"', sql)}
    assert tables == {"oauth_client", "oauth_deniedtoken"}
    assert len(statements) == 3
    assert not Client.objects.filter(pk__in=[row.pk for row in rows]).exists() and not DeniedToken.objects.exists()
