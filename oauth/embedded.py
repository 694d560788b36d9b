"""The embedded default's stand-in for Celery beat: flush usage counters from a thread.

Without REDIS_URL there is no worker and no beat, and usage is counted in this process
(`oauth.usage.local_usage`). So that the dashboard's usage chart works after `make run`, the first
request a server process answers starts one daemon thread that runs the usage flush every
`DCR_USAGE_FLUSH_SECONDS` (10 s in local settings). Management commands never start it (they serve no
request), and neither does a deployment with Redis (beat does the work there) or the test settings.
"""

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.signals import request_started
from django.db import close_old_connections

logger = logging.getLogger(__name__)

_started = threading.Event()


def embedded_scheduler_wanted() -> bool:
    return not settings.REDIS_URL and bool(getattr(settings, "DCR_EMBEDDED_SCHEDULER", False))


def _loop(interval: float) -> None:
    from .usage_flush import usage_flush

    while True:
        _started.wait(interval)
        try:
            usage_flush()
        except Exception:
            logger.exception("embedded usage flush failed; the counts stay in process for the next run")
        finally:
            close_old_connections()


def _start_on_first_request(sender: Any, **kwargs: Any) -> None:
    if _started.is_set():
        return
    _started.set()
    request_started.disconnect(_start_on_first_request)
    interval = max(1.0, float(settings.DCR_USAGE_FLUSH_SECONDS))
    threading.Thread(target=_loop, args=(interval,), name="embedded-usage-flush", daemon=True).start()
    logger.info("embedded default: usage counters flushed in process every %.0f s", interval)


def embedded_scheduler_connect() -> None:
    if embedded_scheduler_wanted():
        request_started.connect(_start_on_first_request, dispatch_uid="dcr-embedded-usage-flush")
