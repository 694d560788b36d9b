"""Usage counters (Redis format and the in-process fallback) and throttling of register and token."""

import datetime
import threading
import uuid

import pytest
from django.test import override_settings

from core.hot_store import hot_store
from core.redis import redis_client
from oauth.usage import PENDING_KEY, LocalUsageCounter, local_usage, usage_field, usage_field_parse, usage_field_today
from tests.helpers import assert_json_error, requires_redis
from tests.oauth.api import get_token, register, token_request


def pending_counts() -> dict[str, int]:
    """What the flush would find: Redis's pending hash, or the in-process counter without Redis."""
    connection = redis_client()
    if connection is None:
        return local_usage.snapshot()
    return {k.decode(): int(v) for k, v in connection.hgetall(PENDING_KEY).items()}


def test_usage_field_format_round_trips():
    app = uuid.uuid4()
    field = usage_field(day=datetime.date(2025, 3, 1), application_id=app, platform="roku", kind="tokens")
    assert field == f"2025-03-01|{app}|roku|tokens"
    assert usage_field_parse(field.encode()) == (datetime.date(2025, 3, 1), app, "roku", "tokens")
    assert usage_field_parse(f"2025-03-01|{app}||registrations").platform == ""


@pytest.mark.parametrize(
    "field", ["x", "2025-03-01|not-a-uuid|ios|tokens", "2025-03-01|0171b656-0504-4559-a5d7-e11a9cee9312|ios|other"]
)
def test_foreign_fields_do_not_parse(field):
    with pytest.raises(ValueError):
        usage_field_parse(field)


def test_unknown_kind_cannot_be_counted():
    with pytest.raises(ValueError):
        usage_field(day=datetime.date.today(), application_id="a", platform="", kind="logins")


def test_local_counter_is_thread_safe_and_drains():
    counter = LocalUsageCounter()

    def work():
        for _ in range(1000):
            counter.increment("f")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.drain() == {"f": 8000}
    assert counter.drain() == {}
    counter.restore({"f": 2})
    assert counter.snapshot() == {"f": 2}


def test_registrations_and_tokens_are_counted_per_day_application_and_platform(client, statement, application):
    credentials = register(client, statement, HTTP_USER_AGENT="App CFNetwork/1 Darwin/23").json()
    register(client, statement)  # cached statement: verified once, both registrations counted
    get_token(client, credentials)
    get_token(client, credentials)
    get_token(client, credentials)
    token_request(client, {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"})

    today_tokens = usage_field_today(application_id=application.pk, platform="ios", kind="tokens")
    today_registrations = usage_field_today(application_id=application.pk, platform="ios", kind="registrations")
    assert pending_counts() == {today_registrations: 2, today_tokens: 3}


@requires_redis
@pytest.mark.redis
def test_with_redis_usage_goes_to_the_pending_hash(client, credentials, application):
    get_token(client, credentials)
    field = usage_field_today(application_id=application.pk, platform="ios", kind="tokens")
    assert redis_client().hget(PENDING_KEY, field) == b"1"
    assert local_usage.snapshot() == {}


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_with_redis_down_usage_is_counted_in_process_and_tokens_still_issued(client, credentials, application, caplog):
    assert (
        token_request(
            client,
            {
                "grant_type": "client_credentials",
                "client_id": credentials["client_id"],
                "client_secret": credentials["client_secret"],
            },
        ).status_code
        == 200
    )
    field = usage_field_today(application_id=application.pk, platform="ios", kind="tokens")
    assert local_usage.snapshot()[field] == 1
    assert "Redis unreachable" in caplog.text


# --- throttling -------------------------------------------------------------------------------------


def good(credentials):
    return {
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
    }


@override_settings(DCR_THROTTLE_RATE=1.0, DCR_THROTTLE_BURST=3.0)
def test_token_endpoint_answers_429_with_retry_after_over_the_burst(client, credentials):
    statuses = [token_request(client, good(credentials)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = token_request(client, good(credentials))
    assert_json_error(response, 429, "too_many_requests")
    assert int(response["Retry-After"]) >= 1


@override_settings(DCR_THROTTLE_RATE=1.0, DCR_THROTTLE_BURST=2.0)
def test_bad_requests_use_up_the_bucket_too(client, credentials):
    token_request(client, {"grant_type": "password"})
    token_request(client, {"grant_type": "password"})
    assert_json_error(token_request(client, good(credentials)), 429, "too_many_requests")


@override_settings(DCR_THROTTLE_RATE=1.0, DCR_THROTTLE_BURST=2.0)
def test_registration_is_throttled_per_ip_and_other_ips_are_not(client, statement):
    assert register(client, statement).status_code == 201
    assert register(client, statement).status_code == 201
    response = register(client, statement)
    assert_json_error(response, 429, "too_many_requests")
    assert response["Retry-After"]
    assert register(client, statement, REMOTE_ADDR="10.9.9.9").status_code == 201


@override_settings(DCR_THROTTLE_RATE=1.0, DCR_THROTTLE_BURST=1.0, DCR_TRUSTED_PROXIES=1)
def test_behind_a_trusted_proxy_the_forwarded_address_is_throttled(client, credentials):
    first = {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    second = {"HTTP_X_FORWARDED_FOR": "203.0.113.8"}
    assert token_request(client, good(credentials), **first).status_code == 200
    assert token_request(client, good(credentials), **first).status_code == 429
    assert token_request(client, good(credentials), **second).status_code == 200
    # a client cannot dodge the limit by prepending addresses of its own
    spoofed = {"HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.7"}
    assert token_request(client, good(credentials), **spoofed).status_code == 429


@override_settings(DCR_THROTTLE_RATE=1.0, DCR_THROTTLE_BURST=1.0, DCR_TRUSTED_PROXIES=0)
def test_without_trusted_proxies_x_forwarded_for_is_ignored(client, credentials):
    assert token_request(client, good(credentials), HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 200
    assert token_request(client, good(credentials), HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 429


@override_settings(DCR_THROTTLE_RATE=1.0, DCR_THROTTLE_BURST=2.0, REDIS_URL="redis://127.0.0.1:1/0")
def test_with_redis_down_throttling_is_per_process(client, credentials, caplog):
    assert token_request(client, good(credentials)).status_code == 200
    assert token_request(client, good(credentials)).status_code == 200
    assert_json_error(token_request(client, good(credentials)), 429, "too_many_requests")
    assert "throttling per process" in caplog.text


@requires_redis
@pytest.mark.redis
@override_settings(DCR_THROTTLE_RATE=1.0, DCR_THROTTLE_BURST=2.0)
def test_throttle_script_reports_stamps_at_or_after_since_and_refuses_over_the_burst():
    store = hot_store()
    assert store.throttle(scope="t", ip_address="10.0.0.1").allowed
    assert store.throttle(scope="t", ip_address="10.0.0.1").allowed
    refused = store.throttle(scope="t", ip_address="10.0.0.1")
    assert not refused.allowed and refused.retry_after > 0
    fresh = store.throttle(scope="t", ip_address="10.0.0.2", stamp_keys=["dcr:revoked:app:x"], since=0.0)
    assert fresh.allowed and not fresh.stale
    redis_client().set("dcr:revoked:app:x", "100.0")
    assert store.throttle(scope="t", ip_address="10.0.0.2", stamp_keys=["dcr:revoked:app:x"], since=100.0).stale
    assert not store.throttle(scope="t", ip_address="10.0.0.3", stamp_keys=["dcr:revoked:app:x"], since=100.5).stale
