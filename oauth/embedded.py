"""The embedded default's stand-in for Celery beat: flush usage counters from a thread.

Without REDIS_URL there is no worker and no beat, and usage is counted in this process
(`oauth.usage.local_usage`). So that the dashboard's usage chart works after `make run`, the first
request a server process answers starts one daemon thread that runs the usage flush every
`DCR_USAGE_FLUSH_SECONDS` (10 s in local settings) and sleeps in between. Management commands never
start it (they serve no request), and neither does a deployment with Redis (beat does the work there)
or the test settings. `embedded_scheduler_stop` ends it (tests start and stop it).
"""

import logging
import threading
from typing import Any

from django.core.signals import request_started
from django.db import close_old_connections, connections

from core import process_state
from core.conf import dcr

from .tasks import signals_compute_now
from .usage_flush import usage_flush

logger = logging.getLogger(__name__)

DISPATCH_UID = "dcr-embedded-usage-flush"


class _Scheduler:
    """The running thread and the Event that stops it; one fresh Event per thread, so that a stop can
    never be undone by a later start. Registered in core.process_state (its reset stops the thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: tuple[threading.Thread, threading.Event] | None = None


_scheduler = _Scheduler()


def embedded_scheduler_wanted() -> bool:
    return not dcr.redis_url and dcr.embedded_scheduler


def _loop(interval: float, stop: threading.Event) -> None:
    # wait() returns False after `interval` seconds, True (ending the loop) as soon as stop is set.
    while not stop.wait(interval):
        try:
            usage_flush()
        except Exception:
            logger.exception("embedded usage flush failed; the counts stay in process for the next run")
        try:
            signals_compute_now()  # the abuse signals (README "Abuse signals"), every flush period here
        except Exception:
            logger.exception("embedded signals run failed")
        finally:
            close_old_connections()
    # This thread's own connections: left open, they would outlive it (and block dropping a test database).
    connections.close_all()


def _start_on_first_request(sender: Any, **kwargs: Any) -> None:
    with _scheduler.lock:
        if _scheduler.running is not None:
            return
        request_started.disconnect(dispatch_uid=DISPATCH_UID)
        interval = max(1.0, float(dcr.usage_flush_seconds))
        stop = threading.Event()
        thread = threading.Thread(target=_loop, args=(interval, stop), name="embedded-usage-flush", daemon=True)
        thread.start()
        _scheduler.running = (thread, stop)
    logger.info("embedded default: usage counters flushed in process every %.0f s", interval)


def embedded_scheduler_connect() -> None:
    if embedded_scheduler_wanted():
        request_started.connect(_start_on_first_request, dispatch_uid=DISPATCH_UID)


def embedded_scheduler_stop(*, timeout: float = 10.0) -> None:
    """Disconnect from requests and end the flush thread, waiting for a flush in progress to finish.
    Counts still in process stay there (the thread is gone; nothing flushes them until a new start)."""
    with _scheduler.lock:
        request_started.disconnect(dispatch_uid=DISPATCH_UID)
        running, _scheduler.running = _scheduler.running, None
    if running is not None:
        thread, stop = running
        stop.set()
        thread.join(timeout)


process_state.register("embedded-scheduler", _scheduler, reset=embedded_scheduler_stop)
