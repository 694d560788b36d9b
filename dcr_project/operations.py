"""What operators watch: /healthz (the process answers), /readyz (its dependencies answer) and /metrics.

/healthz touches nothing but the process. /readyz runs three cheap checks, each bounded by the short
timeouts its client already has (Redis: 0.25 s to connect, 0.5 s to answer): the database answers a
trivial query, Redis (when REDIS_URL is set) answers PING, and the active access-token key decrypts.
Its reasons name a check and an exception type, never a host, a URL or a key. Neither needs a sign-in.

/metrics is off unless DCR_METRICS_ENABLED (404 then, like any unknown path); with DCR_METRICS_TOKEN set
the scraper must send it as a bearer token (compared in constant time). The request-path metrics are
core.metrics'; the usage-flush lag, the Celery queue depth and the abuse signals are read here, when scraped.
"""

import hashlib
import hmac
import logging
import math
import os
import time
from collections.abc import Callable, Iterator

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from core.conf import dcr
from core.metrics import usage_flushed_at
from core.redis import redis_client
from software_statements.keys import NoActiveKey, active_signing_material
from software_statements.models import KeyPurpose, Signal, SignalKind, SignalSeverity, SigningKey

logger = logging.getLogger(__name__)


@require_safe
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


# --- Readiness -------------------------------------------------------------------------------------


class NotReady(Exception):
    """A check failed; the message is safe to show anyone."""


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _redis() -> str:
    client = redis_client()
    if client is None:
        return "not configured"
    client.ping()
    return "ok"


def _signing_keys() -> str:
    try:
        active_signing_material(KeyPurpose.ACCESS_TOKEN, create=False)
    except NoActiveKey:
        # A new deployment has no key until its first token request makes one; waiting for it here
        # would keep every node out of service, so that request could never come.
        if SigningKey.objects.filter(purpose=KeyPurpose.ACCESS_TOKEN).exists():
            raise NotReady("no active access-token key") from None
        return "none yet (the first token request makes it)"
    except ImproperlyConfigured:
        raise NotReady("the active access-token key does not decrypt with DCR_KEY_ENCRYPTION_KEY") from None
    return "ok"


READINESS_CHECKS: dict[str, Callable[[], str]] = {
    "database": _database,
    "redis": _redis,
    "signing_keys": _signing_keys,
}


@require_safe
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """200 when every dependency answers; 503 naming each failed check otherwise (never a 500)."""
    checks: dict[str, str] = {}
    failed: list[str] = []
    for name, check in READINESS_CHECKS.items():
        try:
            checks[name] = check()
        except NotReady as exc:
            checks[name] = str(exc)
            failed.append(name)
        except Exception as exc:
            checks[name] = f"unreachable ({type(exc).__name__})"
            failed.append(name)
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
    if failed:
        return JsonResponse({"status": "unavailable", "failed": failed, "checks": checks}, status=503)
    return JsonResponse({"status": "ready", "checks": checks})


# --- Metrics ---------------------------------------------------------------------------------------


class ScrapeTimeCollector(Collector):
    """Values read when Prometheus scrapes, from what every process shares (Redis), not per process."""

    def collect(self) -> Iterator[Metric]:
        client = redis_client()
        lag = GaugeMetricFamily(
            "dcr_usage_flush_lag_seconds",
            "Seconds since the last usage flush that moved every pending count (+Inf: none recorded yet).",
        )
        depth = GaugeMetricFamily(
            "dcr_celery_queue_depth", "Messages waiting in the Celery queue (LLEN on the broker).", labels=["queue"]
        )
        try:
            flushed_at = usage_flushed_at(client)
            lag.add_metric([], max(0.0, time.time() - flushed_at) if flushed_at is not None else math.inf)
            if client is not None:
                queue = dcr.celery_task_default_queue
                depth.add_metric([queue], float(client.llen(queue)))
        except Exception as exc:
            # Redis down: these read as unknown; dcr_redis_fallback tells why.
            logger.warning("metrics: Redis unreadable at scrape time (%s)", type(exc).__name__)
            lag = GaugeMetricFamily(lag.name, lag.documentation, value=math.nan)
        yield lag
        yield depth
        yield signals_metric()


def signals_metric() -> GaugeMetricFamily:
    """The abuse signals (README "Abuse signals") by kind, severity and state, in one grouped query."""
    family = GaugeMetricFamily(
        "dcr_abuse_signals",
        "Abuse signals raised, by kind, severity and state (open: not acknowledged yet).",
        labels=["kind", "severity", "state"],
    )
    counts: dict[tuple[str, str, str], int] = {
        (kind, severity, state): 0
        for kind in SignalKind.values
        for severity in SignalSeverity.values
        for state in ("open", "acknowledged")
    }
    try:
        rows = Signal.objects.annotate(is_open=Q(acknowledged_at__isnull=True)).values("kind", "severity", "is_open")
        for row in rows.annotate(n=Count("pk")).order_by():
            counts[(row["kind"], row["severity"], "open" if row["is_open"] else "acknowledged")] = row["n"]
    except DatabaseError as exc:
        logger.warning("metrics: signals unreadable at scrape time (%s)", type(exc).__name__)
        return GaugeMetricFamily(family.name, family.documentation, value=math.nan)
    for labels, number in sorted(counts.items()):
        family.add_metric(list(labels), float(number))
    return family


def metrics_exposition() -> bytes:
    """The text exposition: every worker's values added up in multiprocess mode, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    scraped = CollectorRegistry()
    scraped.register(ScrapeTimeCollector())
    return generate_latest(registry) + generate_latest(scraped)


def _digest(value: str) -> bytes:
    # Compared as digests, so that the comparison's time says nothing about the token's length either.
    return hashlib.sha256(value.encode()).digest()


@require_safe
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not dcr.metrics_enabled:
        raise Http404
    expected = dcr.metrics_token
    if expected:
        scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            response = JsonResponse({"error": "invalid_token", "error_description": "A bearer token is required."})
            response.status_code = 401
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        if not hmac.compare_digest(_digest(given.strip()), _digest(expected)):
            return JsonResponse(
                {"error": "invalid_token", "error_description": "The bearer token is not valid."}, status=403
            )
    # The classic text format: every Prometheus (2.x and 3.x) and agent reads it; our names need no escaping.
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
