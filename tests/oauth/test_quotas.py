"""Per-application quotas (README "Quotas"): tokens per hour and per day, registrations per hour. Over a
quota: 429 `too_many_requests` with Retry-After and the RateLimit fields, and nothing written. Runs with
Redis (the scripts) and without (`LocalStore`)."""

import re

import pytest
from django.test import override_settings

from oauth.client_auth import QuotaExceeded, client_token_counted
from oauth.grants import statement_grant_forget
from oauth.models import Client
from oauth.records import client_record_load
from registered_apps import services
from registered_apps.models import AuditEvent
from tests.helpers import assert_json_error, requires_redis
from tests.oauth.api import db_snapshot, get_token, register, token_request
from tests.oauth.test_usage_and_throttling import pending_counts

UA = {"HTTP_USER_AGENT": "MyApp/1.0 CFNetwork Darwin"}


def _good(credentials):
    return {
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
    }


def _tokens_counted(application) -> int:
    return sum(v for k, v in pending_counts().items() if k.endswith("|tokens") and str(application.pk) in k)


def _quota(application, capture, **values):
    with capture(execute=True):
        services.set_application_quota(application, actor="tests", **values)


def assert_quota_refusal(response, policy: str, limit: int, window: int) -> int:
    """429 too_many_requests with Retry-After and draft-ietf-httpapi-ratelimit-headers' two fields."""
    body = assert_json_error(response, 429, "too_many_requests")
    assert str(limit) in body["error_description"]
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= window
    assert response["RateLimit-Policy"] == f'"{policy}";q={limit};w={window}'
    assert re.fullmatch(rf'"{policy}";r=0;t={retry_after}', response["RateLimit"]), response["RateLimit"]
    assert response["Cache-Control"] == "no-store"
    return retry_after


def test_tokens_over_the_hourly_quota_are_refused_and_not_counted(
    client, credentials, application, django_capture_on_commit_callbacks
):
    _quota(application, django_capture_on_commit_callbacks, tokens_per_hour=2)
    get_token(client, credentials)
    get_token(client, credentials)
    counted = _tokens_counted(application)
    for _ in range(3):
        assert_quota_refusal(token_request(client, _good(credentials)), "tokens-hour", 2, 3600)
    assert _tokens_counted(application) == counted  # the refused ones counted nothing


def test_the_daily_quota_and_no_limit(client, credentials, application, django_capture_on_commit_callbacks):
    _quota(application, django_capture_on_commit_callbacks, tokens_per_hour=0, tokens_per_day=1)
    get_token(client, credentials)
    assert_quota_refusal(token_request(client, _good(credentials)), "tokens-day", 1, 86400)
    _quota(application, django_capture_on_commit_callbacks, tokens_per_day=0)  # 0: no limit
    for _ in range(3):
        get_token(client, credentials)


@override_settings(DCR_QUOTA_TOKENS_PER_HOUR=1)
def test_an_unset_quota_is_the_settings_default_and_a_value_overrides_it(
    client, credentials, application, django_capture_on_commit_callbacks
):
    get_token(client, credentials)
    assert_quota_refusal(token_request(client, _good(credentials)), "tokens-hour", 1, 3600)
    _quota(application, django_capture_on_commit_callbacks, tokens_per_hour=3)
    get_token(client, credentials)
    get_token(client, credentials)
    assert_quota_refusal(token_request(client, _good(credentials)), "tokens-hour", 3, 3600)


def test_the_quota_holds_on_the_path_that_reads_the_database(
    client, credentials, application, django_capture_on_commit_callbacks
):
    """A client whose record is not in the store is authenticated from the database, then counted by
    `token_counted` (its own script): the quota is checked there too."""
    from core.hot_store import hot_store

    _quota(application, django_capture_on_commit_callbacks, tokens_per_hour=1)
    hot_store().client_record_drop(credentials["client_id"])
    get_token(client, credentials)
    hot_store().client_record_drop(credentials["client_id"])
    assert_quota_refusal(token_request(client, _good(credentials)), "tokens-hour", 1, 3600)
    record = client_record_load(credentials["client_id"])
    assert record is not None
    with pytest.raises(QuotaExceeded):
        client_token_counted(record)


@pytest.mark.parametrize("cached", [True, False], ids=["grant-cached", "statement-verified-again"])
def test_registrations_over_the_quota_are_refused_and_write_nothing(
    client, credentials, statement, application, cached, django_capture_on_commit_callbacks
):
    # The fixture's registration was counted: one more fits in a quota of 2.
    _quota(application, django_capture_on_commit_callbacks, registrations_per_hour=2)
    if not cached:
        statement_grant_forget(statement)
    assert register(client, statement, **UA).status_code == 201
    if not cached:
        statement_grant_forget(statement)
    before = db_snapshot()
    clients = Client.objects.count()
    assert_quota_refusal(register(client, statement, **UA), "registrations-hour", 2, 3600)
    assert db_snapshot() == before and Client.objects.count() == clients


def test_quota_edits_are_validated_audited_and_only_changes_are_recorded(application, tam):
    with pytest.raises(Exception, match="whole number"):
        services.set_application_quota(application, actor=tam, tokens_per_hour=-1)
    services.set_application_quota(application, actor=tam, tokens_per_hour=50, tokens_per_day=None)
    services.set_application_quota(application, actor=tam, tokens_per_hour=50)  # unchanged: no event
    events = list(AuditEvent.objects.filter(action="application.quota"))
    assert len(events) == 1
    assert events[0].details == {"quota_tokens_per_hour": [None, 50]}
    application.refresh_from_db()
    assert (application.quota_tokens_per_hour, application.quota_tokens_per_day) == (50, None)


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_with_redis_down_quotas_are_counted_per_process_and_logged_once(
    client, credentials, application, caplog, django_capture_on_commit_callbacks
):
    _quota(application, django_capture_on_commit_callbacks, tokens_per_hour=2)
    get_token(client, credentials)
    get_token(client, credentials)
    assert_quota_refusal(token_request(client, _good(credentials)), "tokens-hour", 2, 3600)
    assert caplog.text.count("quotas counted in this process only while Redis is unreachable") == 1


@requires_redis
def test_the_scripts_count_each_window_once_and_a_refusal_counts_nothing(django_capture_on_commit_callbacks):
    """The store's own arithmetic: a registration quota refused says so, with its window's reset."""
    from core.hot_store import hot_store
    from core.hot_store.base import QUOTA_COUNTS_KEY
    from core.redis import redis_client

    store = hot_store()
    store.quota_put("app-x", "- - 2")
    allowed = [store.throttle(scope="q", ip_address="10.9.0.1", quota_application="app-x") for _ in range(3)]
    assert [t.allowed for t in allowed] == [True, True, False]
    assert allowed[0].quota_counted and allowed[2].quota is not None
    assert (allowed[2].quota.window, allowed[2].quota.limit) == (3, 2)
    assert redis_client().hget(QUOTA_COUNTS_KEY, "app-x|3").split()[1] == b"2"
