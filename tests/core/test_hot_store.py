"""The hot-path store through the API: no database write per token, last use written by the flush,
records read through once and then found in the store, revocations that reach a stored record, and the
store's own pieces (usage field format shared with `oauth.usage`, counts handed back after an outage)."""

import datetime
import uuid
from dataclasses import replace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import clock
from core.hot_store import LAST_USED_EVERY, RECORD_PREFIX, STAMP_MARGIN, Outcome, hot_store, local_usage, usage_field
from core.redis import redis_client
from core.revocation import Revoked
from core.stamps import revocation_stamp_write
from oauth.models import Client
from oauth.records import REFUSED_TTL, client_record_load
from oauth.usage import usage_day
from oauth.usage import usage_field as documented_usage_field
from oauth.usage_flush import last_used_flush
from registered_apps.services import registered_application_restore, registered_application_revoke
from tests.helpers import assert_api_error, assert_json_error, requires_redis
from tests.hot_state import hot_state_clear
from tests.oauth.api import get_token, token_request

pytestmark = pytest.mark.django_db


def _good(credentials):
    return {
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
    }


def test_the_token_path_writes_nothing_to_the_database(client, credentials):
    get_token(client, credentials)  # the first token creates the signing keys
    clock.advance(LAST_USED_EVERY)  # a use to record: it goes to the store, not the database
    with CaptureQueriesContext(connection) as queries:
        get_token(client, credentials)
    writes = [q["sql"] for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []


def test_last_use_is_written_by_the_flush_once_a_day_per_client(client, credentials):
    row = Client.objects.get(client_id=credentials["client_id"])
    assert row.last_used_at is None
    before = timezone.now()
    get_token(client, credentials)
    get_token(client, credentials)
    assert Client.objects.get(pk=row.pk).last_used_at is None  # nothing written on the token path

    assert last_used_flush() == 1
    first = Client.objects.get(pk=row.pk).last_used_at
    assert first is not None and first >= before.replace(microsecond=0)
    assert last_used_flush() == 0  # nothing pending: the same batch is never written twice

    get_token(client, credentials)  # within the day: not recorded again
    assert last_used_flush() == 0


def test_the_flush_moves_last_use_forward_only_and_clears_the_idle_mark(credentials):
    row = Client.objects.get(client_id=credentials["client_id"])
    later = timezone.now().replace(microsecond=0)
    Client.objects.filter(pk=row.pk).update(last_used_at=later, idle_since=later - datetime.timedelta(days=1))
    from oauth.usage_flush import clients_last_used_write

    assert clients_last_used_write({row.pk: int(later.timestamp()) - 3600}) == 1
    assert Client.objects.get(pk=row.pk).last_used_at == later  # not moved back
    assert clients_last_used_write({row.pk: int(later.timestamp()) + 60}) == 1
    row.refresh_from_db()
    assert row.last_used_at == later + datetime.timedelta(seconds=60)
    assert row.idle_since is None


def test_a_client_no_worker_has_seen_is_read_once_then_found_in_the_store(
    client, credentials, django_assert_max_num_queries
):
    get_token(client, credentials)
    hot_state_clear()
    hot_store().client_record_drop(credentials["client_id"])  # as after the record's two days
    with django_assert_max_num_queries(5):
        get_token(client, credentials)
    with django_assert_max_num_queries(0):
        get_token(client, credentials)


def test_an_unknown_client_is_remembered_for_a_second(client, credentials, django_assert_num_queries):
    get_token(client, credentials)  # the signing keys exist
    unknown = {**_good(credentials), "client_id": "x" * 40}
    assert_json_error(token_request(client, unknown), 400, "invalid_client")
    with django_assert_num_queries(0):
        assert_json_error(token_request(client, unknown), 400, "invalid_client")
    clock.advance(REFUSED_TTL)
    with django_assert_num_queries(1):
        assert_json_error(token_request(client, unknown), 400, "invalid_client")


def test_a_stored_record_is_read_again_after_its_application_is_revoked_and_restored(
    client, credentials, application, django_capture_on_commit_callbacks
):
    get_token(client, credentials)
    with django_capture_on_commit_callbacks(execute=True):
        registered_application_revoke(application=application, reason="abuse", actor="tests")
    body = assert_json_error(token_request(client, _good(credentials)), 400, "invalid_client")
    assert "application has been revoked" in body["error_description"]
    registered_application_restore(application=application, actor="tests")
    clock.advance(REFUSED_TTL)
    assert token_request(client, _good(credentials)).status_code == 200


def test_a_read_through_write_fills_only_a_missing_record_and_later_writes_replace_it(credentials):
    """The store half of a rotation racing a read-through: the read-through's write (`client_record_fill`)
    never replaces a record, a write after a commit (`client_record_put`) does, and a record the gate
    finds stale (a stamp newer than it) is forgotten, so the next read-through replaces it."""
    client_id, store = credentials["client_id"], hot_store()
    record = client_record_load(client_id)
    assert record is not None
    current = record.stored(written_at=clock.wall())
    older = replace(current, secret_hash=bytes(len(current.secret_hash)))

    def gate() -> Outcome:  # PASSED: the store holds `current`; UNVERIFIED: `older`; MISSING, STALE
        found = store.client_gate(
            client_id=client_id,
            secret_hash=current.secret_hash,
            scopes=None,
            day=usage_day(),
            environment_id=record.environment_id,
        )
        return found.outcome

    store.client_record_put(current)
    store.client_record_fill(older)
    assert gate() is Outcome.PASSED
    store.client_record_put(older)
    assert gate() is Outcome.UNVERIFIED
    store.client_record_drop(client_id)
    store.client_record_fill(current)
    assert gate() is Outcome.PASSED

    store.client_record_put(older)
    revocation_stamp_write(Revoked.CLIENT, client_id, clock.wall())
    assert gate() is Outcome.STALE
    assert gate() is Outcome.MISSING  # the stale record is gone
    store.client_record_fill(replace(current, written_at=clock.wall() + 2 * STAMP_MARGIN))
    assert gate() is Outcome.PASSED


@requires_redis
def test_a_read_through_writes_the_record_and_counts_the_token_with_it_once(client, credentials):
    """A miss writes the record read from the database to the store whatever the answer (a wrong secret
    included: the next try is settled by the gate), and the token issued is counted once, in the same
    call, with the client's use recorded."""
    client_id, redis = credentials["client_id"], redis_client()
    pk = Client.objects.get(client_id=client_id).pk
    get_token(client, credentials)  # the signing keys exist
    redis.delete(RECORD_PREFIX + client_id, "dcr:lastused:pending")
    hot_state_clear()
    counted = _pending_tokens()
    assert_json_error(token_request(client, {**_good(credentials), "client_secret": "w" * 43}), 400, "invalid_client")
    assert redis.hget(RECORD_PREFIX + client_id, "e") is not None
    assert _pending_tokens() == counted

    redis.delete(RECORD_PREFIX + client_id)
    hot_state_clear()
    get_token(client, credentials)
    assert _pending_tokens() == counted + 1
    last_use = int(redis.hget("dcr:lastused:pending", str(pk)))
    assert abs(last_use - clock.wall()) < 5
    assert int(redis.hget(RECORD_PREFIX + client_id, "lu")) == last_use
    get_token(client, credentials)  # now a hit: counted by the gate
    assert _pending_tokens() == counted + 2


def test_a_read_through_counts_the_token_but_keeps_a_record_written_meanwhile(credentials):
    client_id, store = credentials["client_id"], hot_store()
    record = client_record_load(client_id)
    assert record is not None
    current = record.stored(written_at=clock.wall())
    store.client_record_put(current)
    counted = _pending_tokens()
    store.client_record_fill(replace(current, secret_hash=bytes(len(current.secret_hash))), count_day=usage_day())
    assert _pending_tokens() == counted + 1
    gate = store.client_gate(
        client_id=client_id,
        secret_hash=current.secret_hash,
        scopes=None,
        day=usage_day(),
        environment_id=record.environment_id,
    )
    assert gate.outcome is Outcome.PASSED


def test_a_wrong_secret_is_refused_and_counts_nothing(client, credentials):
    get_token(client, credentials)
    counted = _pending_tokens()
    wrong = {**_good(credentials), "client_secret": "w" * 43}
    assert_json_error(token_request(client, wrong), 400, "invalid_client")
    assert_json_error(token_request(client, {**_good(credentials), "scope": "mvpd:proxy:owner"}), 400, "invalid_scope")
    assert _pending_tokens() == counted


def _pending_tokens() -> int:
    client = redis_client()
    if client is None:
        return sum(v for k, v in local_usage.snapshot().items() if k.endswith("|tokens"))
    return sum(int(v) for k, v in client.hgetall("dcr:usage:pending").items() if k.endswith(b"|tokens"))


def test_the_store_and_the_flush_speak_the_same_usage_field():
    application_id = uuid.uuid4()
    day = datetime.date(2026, 11, 29)
    assert usage_field(day.isoformat(), str(application_id), "ro|ku", "tokens") == documented_usage_field(
        day=day, application_id=application_id, platform="ro|ku", kind="tokens"
    )


@requires_redis
def test_registration_writes_the_record_to_redis_and_revocation_drops_it(
    client, credentials, django_capture_on_commit_callbacks
):
    from oauth.services import client_revoke

    key = RECORD_PREFIX + credentials["client_id"]
    assert redis_client().exists(key)
    assert credentials["client_secret"].encode() not in b"".join(redis_client().hvals(key))
    with django_capture_on_commit_callbacks(execute=True):
        client_revoke(client=Client.objects.get(client_id=credentials["client_id"]), reason="x", actor="tests")
    assert not redis_client().exists(key)
    assert_json_error(token_request(client, _good(credentials)), 400, "invalid_client")


@requires_redis
def test_a_registration_writes_the_whole_record_its_application_and_one_count(client, credentials):
    """The registration's one script (REGISTERED_SCRIPT) writes what the client gate reads: every field of
    the record (and no rotated secret), the application's data, the registration counted once."""
    from core.hot_store import APPLICATION_PREFIX, USAGE_PENDING_KEY
    from core.revocation import RECORD_TTL

    row = Client.objects.get(client_id=credentials["client_id"])
    key = RECORD_PREFIX + credentials["client_id"]
    redis = redis_client()
    found = redis.hgetall(key)
    assert set(found) == {b"r", b"h", b"w", b"a", b"s", b"p", b"sc", b"lu", b"pk", b"e"}
    assert (found[b"pk"], found[b"a"]) == (str(row.pk).encode(), str(row.registered_application_id).encode())
    assert found[b"sc"] == b" api:client:v2 "
    assert 0 < redis.ttl(key) <= RECORD_TTL
    assert redis.get(APPLICATION_PREFIX + str(row.registered_application_id))
    field = usage_field(usage_day(), str(row.registered_application_id), found[b"p"].decode(), "registrations")
    assert redis.hget(USAGE_PENDING_KEY, field) == b"1"
    assert get_token(client, credentials)["access_token"]


@requires_redis
def test_counts_kept_in_process_during_an_outage_go_back_to_redis_when_it_answers(settings, client, credentials):
    url = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert token_request(client, _good(credentials)).status_code == 200
    assert sum(local_usage.snapshot().values()) == 1
    settings.REDIS_URL = url
    clock.advance(1.0)  # Redis is tried again a second after a failure
    before = _pending_tokens()
    assert token_request(client, _good(credentials)).status_code == 200
    assert local_usage.snapshot() == {}
    assert _pending_tokens() == before + 2


def test_load_client_records_puts_every_active_client_in_the_store(
    client, statement, django_capture_on_commit_callbacks
):
    from io import StringIO

    from django.core.management import call_command

    from oauth.services import client_revoke
    from tests.oauth.api import register

    bodies = [register(client, statement).json() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        client_revoke(client=Client.objects.get(client_id=bodies[2]["client_id"]), reason="x", actor="tests")
    get_token(client, bodies[0])  # the signing keys exist
    for body in bodies:
        hot_store().client_record_drop(body["client_id"])
    hot_state_clear()

    out = StringIO()
    call_command("load_client_records", "--batch", "1", stdout=out)
    assert "Loaded the records of 2 active clients." in out.getvalue()
    with CaptureQueriesContext(connection) as queries:
        get_token(client, bodies[0])
        get_token(client, bodies[1])
    assert not [q for q in queries.captured_queries if "oauth_client" in q["sql"]]  # found in the store
    assert_json_error(token_request(client, _good(bodies[2])), 400, "invalid_client")


def _mget_calls() -> int:
    return int(redis_client().info("commandstats").get("cmdstat_mget", {}).get("calls", 0))


@pytest.mark.serial
@requires_redis
def test_bearer_checks_read_no_stamp_of_their_own_while_no_revocation_is_newer_than_the_token(
    client, credentials, settings, django_capture_on_commit_callbacks
):
    from oauth.services import client_revoke
    from oauth.tasks import revocation_stamps_republish_recent
    from tests.oauth.api import SESSION

    settings.DCR_REVOCATION_STAMP_CACHE = 0
    token = get_token(client, credentials)["access_token"]
    before = _mget_calls()
    assert client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert _mget_calls() == before + 1  # not yet known that every stamp is accounted for

    revocation_stamps_republish_recent()  # what beat runs every minute: now the newest stamps are complete
    before = _mget_calls()
    for _ in range(3):
        assert client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert _mget_calls() == before

    # The revocation below is newer than the token (the same second counts: a stamp at or after iat).
    with django_capture_on_commit_callbacks(execute=True):
        client_revoke(client=Client.objects.get(client_id=credentials["client_id"]), reason="x", actor="tests")
    response = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_api_error(response, 401, "invalid_access_token_client_application", "application-registration")
    assert _mget_calls() == before + 1


@requires_redis
def test_a_token_is_issued_and_counted_after_redis_forgets_its_scripts(client, credentials):
    """The scripts are called by EVALSHA on a pooled connection (`RedisStore._script`): when Redis no
    longer holds them (a restart, SCRIPT FLUSH) they are loaded again and the call answers as before."""
    get_token(client, credentials)
    counted = _pending_tokens()
    redis_client().script_flush()
    assert get_token(client, credentials)["access_token"]
    assert _pending_tokens() == counted + 1
    wrong = {**_good(credentials), "client_secret": "w" * 43}
    assert_json_error(token_request(client, wrong), 400, "invalid_client")


@requires_redis
def test_on_one_redis_every_stamp_expires_by_itself_so_the_republish_has_nothing_to_prune(db):
    """One Redis keeps each stamp as a key of its own with an expiry (a cluster keeps the shared ones as
    hash fields, which `ClusterStore.stamps_prune` drops: tests/redis_cluster)."""
    from core.revocation import stamp_key, stamp_lifetime

    key = stamp_key(Revoked.APPLICATION, uuid.uuid4())
    revocation_stamp_write(Revoked.APPLICATION, key.rpartition(":")[2], clock.wall())
    assert 0 < redis_client().ttl(key) <= stamp_lifetime()
    assert hot_store().stamps_prune(clock.wall() + stamp_lifetime()) == 0
    assert redis_client().exists(key)
