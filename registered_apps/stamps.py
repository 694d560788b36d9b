"""Revocation stamps: when an application, statement or client was last revoked, kept in Redis so that
every worker can check a bearer token against them in one round trip.

This is the state the lower layers expose for the oauth layer to read: `registered_apps` and
`software_statements` publish a stamp when they revoke something (after the transaction commits);
`oauth` compares a token's `iat` with the stamps of its application, statement and client. The
database stays the truth: when Redis cannot be reached, readers fall back to it.

Without REDIS_URL (the embedded default: one process) the stamps live in this process.
"""

import logging
import threading
import time
from functools import lru_cache

import redis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

PREFIX = "dcr:revoked"
KINDS = ("app", "stmt", "client", "token")
# Long enough to outlive every access token issued before the revocation.
MARGIN_SECONDS = 3600


def stamp_key(kind: str, ident: object) -> str:
    assert kind in KINDS, kind
    return f"{PREFIX}:{kind}:{ident}"


@lru_cache(maxsize=1)
def redis_connection(url: str | None = None) -> redis.Redis | None:
    """The process-wide Redis client for REDIS_URL, or None on the embedded default.

    Short timeouts: a Redis outage must cost a request milliseconds, not seconds."""
    url = url if url is not None else settings.REDIS_URL
    if not url:
        return None
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=0.25,
        socket_timeout=0.5,
        health_check_interval=30,
        decode_responses=False,
    )


class _LocalStamps:
    """The in-process store used without REDIS_URL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, float]] = {}

    def set(self, key: str, value: float, ttl: float) -> None:
        with self._lock:
            self._values[key] = (value, time.time() + ttl)

    def get_many(self, keys: list[str]) -> list[float | None]:
        now = time.time()
        with self._lock:
            found = [self._values.get(key) for key in keys]
        return [value if value and expires > now else None for value, expires in (f or (None, 0.0) for f in found)]

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


local_stamps = _LocalStamps()


class _StampReadCache:
    """Stamps this process read from Redis, kept for `DCR_REVOCATION_STAMP_CACHE` seconds (default 0.25).

    A bearer call otherwise pays a Redis round trip for stamps that almost never change; with the cache a
    busy token costs one MGET per quarter second per worker. A revocation written by another process is
    seen when the entry expires (so within that many seconds, well inside the one-second promise); one
    written by this process drops its entry at once. 0 turns the cache off."""

    MAX_ENTRIES = 100_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, float | None]] = {}

    def get_many(self, keys: list[str], now: float) -> list[float | None] | None:
        """The cached stamps of every key, or None when any is missing or expired."""
        values: list[float | None] = []
        for key in keys:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= now:
                return None
            values.append(entry[1])
        return values

    def put_many(self, keys: list[str], values: list[float | None], expires_at: float) -> None:
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        for key, value in zip(keys, values, strict=True):
            self._entries[key] = (expires_at, value)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


stamp_read_cache = _StampReadCache()


def stamp_cache_seconds() -> float:
    return float(settings.DCR_REVOCATION_STAMP_CACHE)


def _ttl() -> int:
    return int(settings.DCR_ACCESS_TOKEN_TTL) + MARGIN_SECONDS


def revocation_stamp_write(kind: str, ident: object, at: float) -> bool:
    """Write a stamp now; returns False (and logs) when Redis cannot be reached."""
    key = stamp_key(kind, ident)
    connection = redis_connection()
    if connection is None:
        local_stamps.set(key, at, _ttl())
        return True
    try:
        # Keep the newest stamp if two revocations race.
        current = connection.get(key)
        if current is None or float(current) < at:
            connection.set(key, repr(at), ex=_ttl())
        # After the write: a reader of this process may have cached the old value until now.
        stamp_read_cache.forget(key)
        return True
    except redis.RedisError as exc:
        logger.warning("revocation stamp %s not published: Redis unreachable (%s); readers fall back", key, exc)
        return False


def revocation_stamp_publish(kind: str, ident: object, at: float) -> None:
    """Publish a stamp once the current transaction commits (immediately outside one)."""
    transaction.on_commit(lambda: revocation_stamp_write(kind, ident, at))


def revocation_stamps_read(keys: list[str]) -> list[float | None]:
    """Read stamps; raises redis.RedisError when Redis is configured but unreachable."""
    connection = redis_connection()
    if connection is None:
        return local_stamps.get_many(keys)
    return [float(value) if value is not None else None for value in connection.mget(keys)]
