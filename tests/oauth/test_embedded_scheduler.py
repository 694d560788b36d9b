"""The embedded default's usage-flush thread: started by the first request, it flushes once per interval
and idles in between (it used to flush in a tight loop and burn a whole core)."""

import threading
import time

import pytest

from oauth import embedded
from oauth.models import UsageFlushBatch
from oauth.usage import local_usage, usage_field_today

THREAD_NAME = "embedded-usage-flush"


def _flush_thread() -> threading.Thread:
    return next(thread for thread in threading.enumerate() if thread.name == THREAD_NAME)


@pytest.fixture
def embedded_scheduler(transactional_db, settings):
    """The real start-up path with a 1 s interval: the embedded settings, `ready()`'s connect, then a request."""
    settings.DCR_EMBEDDED_SCHEDULER = True
    settings.REDIS_URL = ""
    settings.DCR_USAGE_FLUSH_SECONDS = 1
    embedded.embedded_scheduler_connect()
    yield
    embedded.embedded_scheduler_stop()
    assert not any(thread.name == THREAD_NAME for thread in threading.enumerate())


def test_the_usage_flush_thread_runs_once_per_interval_and_idles_in_between(embedded_scheduler, client, application):
    field = usage_field_today(application_id=application.pk, platform="ios", kind="tokens")

    client.get("/.well-known/oauth-authorization-server")
    thread = _flush_thread()
    assert thread.ident is not None
    cpu_clock = time.pthread_getcpuclockid(thread.ident)
    cpu_before = time.clock_gettime(cpu_clock)

    # Each flush that finds counts pending writes one ledger row: feed it a token every 50 ms for 1.5 s.
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        local_usage.increment(field)
        time.sleep(0.05)
    cpu_used = time.clock_gettime(cpu_clock) - cpu_before

    flushes = UsageFlushBatch.objects.count()
    assert 1 <= flushes <= 2, f"{flushes} flushes in 1.5 s at a 1 s interval"
    assert cpu_used < 0.5, f"the flush thread used {cpu_used:.2f} s of CPU in 1.5 s"


def test_the_usage_flush_thread_starts_once_and_stops_on_request(embedded_scheduler, client):
    client.get("/.well-known/oauth-authorization-server")
    client.get("/.well-known/oauth-authorization-server")

    assert [thread.name for thread in threading.enumerate()].count(THREAD_NAME) == 1
    thread = _flush_thread()
    embedded.embedded_scheduler_stop()
    assert not thread.is_alive()
    # Stopped means disconnected too: a later request does not start it again.
    client.get("/.well-known/oauth-authorization-server")
    assert not any(t.name == THREAD_NAME for t in threading.enumerate())
