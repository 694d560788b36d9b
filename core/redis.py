"""The process-wide Redis client (redis-py's pooled client for REDIS_URL) and the memory of an outage.

Short timeouts and no retries: a Redis outage must cost a request milliseconds, not seconds, and the
callers fall back (per-process throttling, the database for revocations). A command that fails on a
pooled connection is disconnected by redis-py, so no reply is ever left behind for the next command.
"""

import logging
import threading
from functools import lru_cache

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import clock
from .metrics import REDIS_FALLBACK

logger = logging.getLogger(__name__)

# After a failure, Redis is not tried again for this long (each request would wait for a timeout).
RETRY_AFTER_FAILURE = 1.0


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=0.25,
        socket_timeout=0.5,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 0),
        decode_responses=False,
    )


def redis_client() -> redis.Redis | None:
    """The client for REDIS_URL, or None on the embedded default (no Redis)."""
    url = settings.REDIS_URL
    return _client(url) if url else None


class RedisHealth:
    """Remembers an outage so that requests do not each wait for a connect timeout; logs once."""

    def __init__(self) -> None:
        self._down_until = 0.0
        self._down = False
        self._lock = threading.Lock()
        REDIS_FALLBACK.set(0)

    @property
    def down(self) -> bool:
        return self._down and clock.monotonic() < self._down_until

    def failed(self, exc: Exception) -> None:
        with self._lock:
            self._down_until = clock.monotonic() + RETRY_AFTER_FAILURE
            if not self._down:
                self._down = True
                REDIS_FALLBACK.set(1)
                logger.warning(
                    "Redis unreachable (%s): throttling per process, revocation checks and client records "
                    "from the database, usage counted in process",
                    type(exc).__name__,
                )

    def succeeded(self) -> None:
        if self._down:
            with self._lock:
                if self._down:
                    self._down = False
                    REDIS_FALLBACK.set(0)
                    logger.warning("Redis reachable again: shared throttling, stamps and client records resumed")

    def reset(self) -> None:
        with self._lock:
            self._down = False
            self._down_until = 0.0
            REDIS_FALLBACK.set(0)


redis_health = RedisHealth()
