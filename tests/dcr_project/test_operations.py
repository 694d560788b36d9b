"""What operators watch: /healthz, /readyz, /metrics (Prometheus text, parsed with prometheus_client's own
parser) and the request id carried into Celery tasks."""

import json
import logging
import math
import os
import re

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from core.redis import redis_client
from core.request_log import TASK_HEADER, _current_request_id
from oauth.tasks import denied_tokens_purge
from oauth.usage_flush import usage_flush
from software_statements.keys import active_signing_material, clear_key_caches
from software_statements.models import KeyPurpose
from software_statements.services import software_statement_issue
from tests.oauth.api import register, token_request
from tests.processes import ROOT

# A port nothing listens on: connecting is refused at once.
CLOSED_REDIS = "redis://127.0.0.1:1/0"
TOKEN = "scrape-token-0123456789abcdef0123456789"


def samples(response) -> dict[tuple[str, frozenset], float]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def metrics_on(settings):
    settings.DCR_METRICS_ENABLED = True
    settings.DCR_METRICS_TOKEN = ""
    return settings


# --- /healthz and /readyz ------------------------------------------------------------------------------


def test_healthz_answers_ok_without_touching_database_or_redis(client, django_assert_num_queries):
    # No `db` fixture: pytest-django would fail any database access.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["Content-Type"] == "application/json" and "no-cache" in response["Cache-Control"]


def test_readyz_is_ready_when_the_database_redis_and_signing_keys_answer(db, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == ("ok" if os.environ.get("REDIS_URL") else "not configured")
    # A fresh database has no access-token key until the first token request: that is not a fault.
    assert body["checks"]["signing_keys"].startswith("none yet")

    active_signing_material(KeyPurpose.ACCESS_TOKEN)
    assert client.get("/readyz").json()["checks"]["signing_keys"] == "ok"


def test_readyz_is_503_naming_redis_when_redis_is_unreachable(db, client, settings):
    settings.REDIS_URL = CLOSED_REDIS
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["failed"] == ["redis"]
    assert body["checks"]["redis"] == "unreachable (ConnectionError)"
    assert body["checks"]["database"] == "ok"
    # The reason names the check, not where Redis lives.
    assert "127.0.0.1" not in response.content.decode()


def test_readyz_is_503_when_the_active_key_does_not_decrypt(db, client, settings):
    active_signing_material(KeyPurpose.ACCESS_TOKEN)
    settings.DCR_KEY_ENCRYPTION_KEY = Fernet.generate_key().decode()
    clear_key_caches()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["signing_keys"]
    assert "does not decrypt" in response.json()["checks"]["signing_keys"]


def test_successful_probes_write_no_request_log_line_but_failures_do(db, client, settings, caplog):
    caplog.set_level(logging.INFO, logger="dcr.request")
    client.get("/healthz")
    client.get("/readyz")
    assert not [r for r in caplog.records if r.name == "dcr.request"]
    settings.REDIS_URL = CLOSED_REDIS
    client.get("/readyz")
    assert [(r.path, r.status) for r in caplog.records if r.name == "dcr.request"] == [("/readyz", 503)]


# --- /metrics: access --------------------------------------------------------------------------------


def test_metrics_are_404_unless_enabled(db, client, settings):
    settings.DCR_METRICS_ENABLED = False
    assert client.get("/metrics").status_code == 404


def test_metrics_need_the_bearer_token_when_one_is_set(db, client, metrics_on):
    metrics_on.DCR_METRICS_TOKEN = TOKEN
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer short").status_code == 403
    assert value(samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")), "dcr_tokens_issued_total") >= 0


def test_metrics_answer_without_a_token_when_none_is_set(db, client, metrics_on):
    assert ("dcr_redis_fallback", frozenset()) in samples(client.get("/metrics"))


# --- /metrics: what moves --------------------------------------------------------------------------


def test_registrations_tokens_refusals_and_429s_are_counted_per_route(client, application, metrics_on):
    before = samples(client.get("/metrics"))
    statement, _ = software_statement_issue(application=application, actor="tests")
    credentials = register(client, statement).json()
    good = {"grant_type": "client_credentials", **{k: credentials[k] for k in ("client_id", "client_secret")}}
    assert token_request(client, good).status_code == 200
    assert token_request(client, good).status_code == 200
    wrong = token_request(client, {**good, "client_secret": "wrong"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"
    # One token a day from this address: the first refusal takes it, the next request is throttled.
    metrics_on.DCR_THROTTLE_RATE, metrics_on.DCR_THROTTLE_BURST = 1 / 86400, 1.0
    address = {"REMOTE_ADDR": "203.0.113.7"}
    unsupported = token_request(client, {**good, "grant_type": "password"}, **address)
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"
    assert token_request(client, {**good, "grant_type": "password"}, **address).status_code == 429
    # The protected API's refusals are counted by their enhanced error code.
    assert client.get("/api/v2/session", HTTP_AUTHORIZATION="Bearer not-a-jwt").status_code == 401
    after = samples(client.get("/metrics"))

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("dcr_registrations_total") == 1
    assert moved("dcr_tokens_issued_total") == 2
    assert moved("dcr_oauth_refusals_total", route="oauth:token", error="invalid_client") == 1
    assert moved("dcr_oauth_refusals_total", route="oauth:token", error="unsupported_grant_type") == 1
    assert moved("dcr_oauth_refusals_total", route="oauth:token", error="too_many_requests") == 1
    assert moved("dcr_throttled_requests_total", route="oauth:token") == 1
    assert moved("dcr_oauth_refusals_total", route="oauth:session", error="invalid_access_token_signature") == 1
    assert moved("dcr_http_request_duration_seconds_count", route="oauth:token") == 5
    assert moved("dcr_http_request_duration_seconds_count", route="oauth:register") == 1
    assert moved("dcr_http_responses_total", route="oauth:token", status="2xx") == 2
    assert moved("dcr_http_responses_total", route="oauth:token", status="4xx") == 3
    # Every observation fell in some bucket: the +Inf bucket equals the count.
    assert value(after, "dcr_http_request_duration_seconds_bucket", route="oauth:token", le="+Inf") == value(
        after, "dcr_http_request_duration_seconds_count", route="oauth:token"
    )


def test_routes_are_pattern_names_never_raw_paths(db, client, metrics_on):
    client.get("/o/client/nothing-here-1")
    client.get("/no/such/page/2")
    routes = {dict(labels).get("route") for (name, labels) in samples(client.get("/metrics"))}
    assert "unrouted" in routes and "metrics" in routes
    assert not [route for route in routes if route and "/" in route]


def test_the_redis_fallback_gauge_is_1_while_redis_is_down(db, client, metrics_on):
    assert value(samples(client.get("/metrics")), "dcr_redis_fallback") == 0
    metrics_on.REDIS_URL = CLOSED_REDIS
    # Any request of the hot paths asks Redis first (here the throttle of a refused token request).
    assert token_request(client, {"grant_type": "password"}).status_code == 400
    found = samples(client.get("/metrics"))
    assert value(found, "dcr_redis_fallback") == 1
    # What needs Redis at scrape time reads as unknown, and the scrape still answers.
    assert math.isnan(value(found, "dcr_usage_flush_lag_seconds"))


def test_the_usage_flush_lag_is_the_time_since_the_last_successful_flush(db, client, metrics_on):
    usage_flush()
    lag = value(samples(client.get("/metrics")), "dcr_usage_flush_lag_seconds")
    assert 0 <= lag < 5


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the queue depth is read from the Redis broker")
def test_the_celery_queue_depth_counts_waiting_messages(db, client, metrics_on):
    assert value(samples(client.get("/metrics")), "dcr_celery_queue_depth", queue="celery") == 0
    denied_tokens_purge.apply_async()
    denied_tokens_purge.apply_async()
    assert value(samples(client.get("/metrics")), "dcr_celery_queue_depth", queue="celery") == 2


# --- The request id in Celery tasks ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_by_a_request_logs_with_its_request_id(login_as, rw_user, application, eager_tasks, caplog):
    """Eager (the embedded default): the task runs inside the request, after its transaction commits."""
    caplog.set_level(logging.INFO)
    url = reverse("registered_apps:application_revocation_request", kwargs={"application_id": application.pk})
    response = login_as(rw_user).post(url, {"reason": "leaked"}, HTTP_X_REQUEST_ID="revocation-trace-42")
    assert response.status_code == 302
    [task_line] = [r for r in caplog.records if "no TAM email address is configured" in r.getMessage()]
    assert task_line.request_id == "revocation-trace-42"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="publishes a message to the Redis broker")
def test_a_published_task_carries_the_request_id_in_its_headers(db):
    queue = "celery"
    token = _current_request_id.set("publish-trace-0007")
    try:
        denied_tokens_purge.apply_async()
    finally:
        _current_request_id.reset(token)
    denied_tokens_purge.apply_async()  # outside a request: no header
    client = redis_client()
    messages = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    # LPUSH: the newest message first.
    assert [message["headers"].get(TASK_HEADER) for message in messages] == [None, "publish-trace-0007"]
    assert all(message["headers"]["task"] == "oauth.denied_tokens_purge" for message in messages)


# --- The Grafana dashboard ---------------------------------------------------------------------------


def test_the_grafana_dashboard_charts_only_metrics_we_expose(db, client, metrics_on):
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    assert [item["name"] for item in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert all(
        target["datasource"]["uid"] == "${DS_PROMETHEUS}"
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    )
    names = {name for expr in exprs for name in re.findall(r"dcr_\w+", expr)}
    charted = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in names}
    families = {family.name for family in text_string_to_metric_families(client.get("/metrics").content.decode())}
    assert charted <= families
    assert {
        "dcr_http_request_duration_seconds",
        "dcr_tokens_issued",
        "dcr_registrations",
        "dcr_oauth_refusals",
        "dcr_throttled_requests",
        "dcr_redis_fallback",
        "dcr_usage_flush_lag_seconds",
        "dcr_celery_queue_depth",
    } <= charted
