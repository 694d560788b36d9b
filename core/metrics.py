"""Prometheus metrics of the request paths, counted by one middleware, and the usage flush's last success.

Counting costs a request a few dictionary lookups and increments in process memory (memory-mapped files
in multiprocess mode): no Redis round trip, no database query. What needs Redis or the database (the
usage-flush lag, the Celery queue depth) is read when Prometheus scrapes (`dcr_project.operations`).

Labels stay bounded: `route` is the URL pattern's name (`oauth:token`, `admin:index`; `unrouted` for
what no pattern matched: 404s, static files), never a raw path; `error` is the code of an OAuth error
body, which only our own code writes.

Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR (an empty directory, emptied at each
start: `dcr_project/gunicorn_conf.py` does it) before the processes start: every worker then writes its
values there and the scrape adds them up across workers.
"""

import json
import re
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from . import process_state

# No `*_created` series per counter and histogram: twice the series for a start time nobody charts.
disable_created_metrics()

# Seconds: the token path answers in about a millisecond; the dashboard in tens of milliseconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# The metrics are module globals outside core.process_state: prometheus_client's own registry holds them
# (it refuses a second metric of a name), /metrics reports them for the process's life, and no test resets
# a counter (tests compare before and after).
REQUEST_DURATION = Histogram(
    "dcr_http_request_duration_seconds",
    "Time from the request reaching Django to its response, per URL pattern.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
RESPONSES = Counter("dcr_http_responses", "Responses per URL pattern and status class (2xx...).", ["route", "status"])
TOKENS_ISSUED = Counter("dcr_tokens_issued", "Access tokens issued (successes of /o/client/token).")
REGISTRATIONS = Counter("dcr_registrations", "Clients registered (201 from /o/client/register).")
REFUSALS = Counter("dcr_oauth_refusals", "Error responses of the API, by their OAuth error code.", ["route", "error"])
THROTTLED = Counter("dcr_throttled_requests", "Requests refused with 429 (the per-address token bucket).", ["route"])
# Each process sets its own state; a scrape shows the worst of the living processes.
REDIS_FALLBACK = Gauge(
    "dcr_redis_fallback",
    "1 from a failed Redis call until the next successful one: throttling per process, revocations from the "
    "database, usage counted in process.",
    multiprocess_mode="livemax",
)

UNROUTED = "unrouted"
# Error codes are ours (oauth.errors, oauth.middleware); anything else in an error body is not a label.
_ERROR_CODE = re.compile(r"[a-z_]{1,40}\Z")
# The API's error bodies are a few hundred bytes; a larger JSON body is not one of them.
_ERROR_BODY_LIMIT = 4096


def route_name(request: HttpRequest) -> str:
    match = request.resolver_match
    return match.view_name if match is not None else UNROUTED


def _error_code(response: HttpResponse) -> str | None:
    """The `error` of an OAuth error body (the `code` of the protected API's), or None for anything else (an
    HTML page, a redirect)."""
    if response.streaming or not response.get("Content-Type", "").startswith("application/json"):
        return None
    content = response.content
    if len(content) > _ERROR_BODY_LIMIT:
        return None
    try:
        body = json.loads(content)
    except ValueError:
        return None
    error = body.get("error", body.get("code")) if isinstance(body, dict) else None
    if not isinstance(error, str):
        return None
    return error if _ERROR_CODE.match(error) else "other"


# (route, status class) -> the two labelled series every response updates: `labels()` takes a lock and
# builds its key on each call; the series it returns never change, so they are looked up once.
_series: dict[tuple[str, int], tuple[Any, Any]] = process_state.register("metric-series", {})


def response_count(route: str, response: HttpResponse, seconds: float) -> None:
    status = response.status_code
    series = _series.get((route, status // 100))
    if series is None:
        series = (REQUEST_DURATION.labels(route), RESPONSES.labels(route, f"{status // 100}xx"))
        _series[(route, status // 100)] = series
    series[0].observe(seconds)
    series[1].inc()
    if 200 <= status < 300:
        # Token success is 200 or 201 (DCR_TOKEN_SUCCESS_STATUS); registration's is 201.
        if route == "oauth:token":
            TOKENS_ISSUED.inc()
        elif route == "oauth:register":
            REGISTRATIONS.inc()
    elif status >= 400:
        if status == 429:
            THROTTLED.labels(route).inc()
        error = _error_code(response)
        if error is not None:
            REFUSALS.labels(route, error).inc()


class MetricsMiddleware:
    """Just inside the request log: sees the final status (JSON error rewriting included) and the time
    every other middleware took."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        response_count(route_name(request), response, time.perf_counter() - started)
        return response


# --- The usage flush's last success ------------------------------------------------------------------

# Unix time of the last flush that reached Redis (with REDIS_URL): the worker writes it, any web
# process reads it when scraped. Without Redis the flush runs in the serving process (oauth.embedded).
USAGE_FLUSHED_AT_KEY = "dcr:usage:flushed_at"
_flushed_in_process: list[float] = process_state.register("usage-flushed-in-process", [])


def usage_flush_succeeded(client: Any) -> None:
    """Record a flush that moved every pending count it found (`client`: the flush's Redis, or None)."""
    now = time.time()
    _flushed_in_process[:] = [now]
    if client is not None:
        client.set(USAGE_FLUSHED_AT_KEY, repr(now))


def usage_flushed_at(client: Any) -> float | None:
    """Unix time of the last successful flush: Redis's record when `client` is given, else this process's."""
    if client is None:
        return _flushed_in_process[0] if _flushed_in_process else None
    value = client.get(USAGE_FLUSHED_AT_KEY)
    return float(value) if value is not None else None
