"""The process-wide Redis client (redis-py's pooled client for REDIS_URL) and the memory of an outage.

With REDIS_SENTINELS (host:port of each Sentinel) the client is redis-py's `Sentinel.master_for(
REDIS_SENTINEL_SERVICE)`: each new connection asks the sentinels where the master is, and a connection
to a master that died or was demoted fails (and is dropped) like any other Redis failure, so the next
one finds the new master. REDIS_URL still gives the database number, user and password; its host and
port are not used. `redis_connect` builds either kind for the other Redis users (the usage flush).

Short timeouts and no retries: a Redis outage must cost a request milliseconds, not seconds, and the
callers fall back (per-process throttling, the database for revocations). A command that fails on a
pooled connection is disconnected by redis-py, so no reply is ever left behind for the next command.
"""

import logging
import socket
import struct
import threading
from typing import Any

import redis
from hiredis import pack_command
from redis.backoff import NoBackoff
from redis.connection import SSLConnection, parse_url
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from . import clock, process_state
from .conf import dcr
from .metrics import REDIS_FALLBACK

logger = logging.getLogger(__name__)

# After a failure, Redis is not tried again for this long (each request would wait for a timeout).
RETRY_AFTER_FAILURE = 1.0


def evalsha_on(connection: Any, sha: str, keys: list[Any], args: list[Any]) -> Any:
    """EVALSHA on one connection of the hot paths' own (`RedisStore._script`, `ClusterStore._script`),
    its reply read; redis-py's errors raised as they come (the caller disconnects and falls back).

    The connection is made here when it has no socket, as the pool's checkout does (a Sentinel-managed
    connection finds the master in `connect()`), and its socket is then made blocking with the kernel
    keeping its timeout (`kernel_timeouts`). The command is packed by hiredis directly: the bytes redis-py's
    `Connection.pack_command` makes, without its pass over the arguments in Python (about 10 us of a token
    request's CPU for the gate script's 30 arguments)."""
    if getattr(connection, "_sock", None) is None:
        connection.connect()
        kernel_timeouts(connection)
    connection.send_packed_command([pack_command(("EVALSHA", sha, len(keys), *keys, *args))])
    return connection.read_response()


def kernel_timeouts(connection: Any) -> None:
    """The socket of a connected `connection` made blocking, its timeout kept by the kernel instead
    (SO_RCVTIMEO and SO_SNDTIMEO, socket(7)), for the hot paths' own connections.

    A Python socket with a timeout waits in poll(2) before each send and each receive: a round trip is
    four system calls, each one letting go of the GIL (a handoff to another of the worker's threads
    when one waits). Blocking, it is two. A reply that does not come within the timeout still fails:
    recv(2) answers EAGAIN, which redis-py raises as a ConnectionError, and the caller disconnects and
    falls back as after a TimeoutError. TLS sockets are left as they are."""
    sock = getattr(connection, "_sock", None)
    if type(sock) is not socket.socket or (seconds := sock.gettimeout()) is None:
        return
    value = struct.pack("ll", int(seconds), int((seconds % 1) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
    sock.settimeout(None)


def sentinel_addresses(sentinels: list[str] | tuple[str, ...]) -> list[tuple[str, int]]:
    """REDIS_SENTINELS' "host:port" entries as (host, port) pairs (port 26379 when left out)."""
    addresses = []
    for entry in sentinels:
        host, _, port = entry.strip().rpartition(":")
        addresses.append((host, int(port)) if host else (port, 26379))
    return addresses


def _master_target(url: str) -> dict[str, Any]:
    """What REDIS_URL says besides where Redis is (database, user, password, TLS): a Sentinel knows where."""
    target = {key: value for key, value in parse_url(url).items() if key not in ("host", "port", "path")}
    if target.pop("connection_class", None) is SSLConnection:
        target["ssl"] = True
    return target


def _sentinel(sentinels: list[str] | tuple[str, ...], options: dict[str, Any]) -> Sentinel:
    # Asking a Sentinel gets the same timeouts (and no retries) as the Redis commands themselves.
    sentinel_kwargs = {key: value for key, value in options.items() if key.startswith("socket_") or key == "retry"}
    return Sentinel(sentinel_addresses(sentinels), sentinel_kwargs=sentinel_kwargs)


def redis_connect(url: str, sentinels: list[str] | tuple[str, ...], service: str, **options: Any) -> redis.Redis:
    """A pooled client for REDIS_URL, or with sentinels for the master of `service` (database etc. from `url`)."""
    if not sentinels:
        return redis.Redis.from_url(url, **options)
    return _sentinel(sentinels, options).master_for(service, **_master_target(url), **options)


class SentinelMasterPool(SentinelConnectionPool):
    """Django's RedisCache through Sentinel (CACHES' OPTIONS "pool_class"): LOCATION gives the database and
    password, OPTIONS "sentinels" and "service" where to ask for the master."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> "SentinelMasterPool":  # type: ignore[override]
        sentinels = options.pop("sentinels")
        service = options.pop("service")
        return cls(service, _sentinel(sentinels, options), **_master_target(url), **options)


@process_state.memoized("redis-clients", maxsize=4)
def _client(url: str, sentinels: tuple[str, ...], service: str) -> redis.Redis:
    return redis_connect(
        url,
        sentinels,
        service,
        socket_connect_timeout=0.25,
        socket_timeout=0.5,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 0),
        decode_responses=False,
    )


def redis_settings() -> tuple[str, tuple[str, ...], str]:
    """REDIS_URL, REDIS_SENTINELS and REDIS_SENTINEL_SERVICE, hashable (the clients are cached by them)."""
    return dcr.redis_url, dcr.redis_sentinels, dcr.redis_sentinel_service


def redis_client() -> redis.Redis | None:
    """The client for REDIS_URL (through the sentinels when REDIS_SENTINELS is set), or None on the
    embedded default (no Redis)."""
    url, sentinels, service = redis_settings()
    return _client(url, sentinels, service) if url else None


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
process_state.register("redis-health", redis_health, reset=redis_health.reset)
