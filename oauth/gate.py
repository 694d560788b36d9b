"""The one Redis round trip of the token and registration endpoints, and reads of revocation stamps.

`gate_pass` runs one Lua script (EVALSHA) that, atomically:
1. takes a token from the client IP's bucket (`oauth.token_bucket` holds the same arithmetic; the
   bucket lives in Redis so every worker shares it: SPEC "Throttling");
2. reads the revocation stamps of the caller's application, statement and client and says whether one
   is newer than the caller's cached record (then the caller reloads it from the database);
3. when allowed and not stale, increments the usage counter (`oauth.usage` documents the format).

Without REDIS_URL everything is in-process: buckets here, stamps in `registered_apps.stamps.local_stamps`,
usage in `oauth.usage.local_usage`; revocations made by other processes (management commands) are read
from the database, at most once a second per client or token. When Redis is configured but unreachable
the service keeps answering with per-process buckets, tells the caller the stamps are unknown (it must
ask the database), logs once per outage and does not try Redis again for `RETRY_AFTER_FAILURE` seconds.
"""

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

from registered_apps.stamps import local_stamps, redis_connection, stamp_cache_seconds, stamp_read_cache

from .token_bucket import BucketDecision, BucketState, bucket_idle_seconds, bucket_take
from .usage import PENDING_KEY, local_usage

logger = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = 1.0
THROTTLE_PREFIX = "dcr:throttle"

# KEYS[1] bucket (a string "<tokens> <updated at>"), KEYS[2] usage hash, KEYS[3..] stamps.
# ARGV[1] rate, ARGV[2] burst, ARGV[3] usage field ("" for none), ARGV[4] fresh_after (stamps above it
# mean stale), ARGV[5] bucket expiry in ms.
# Returns {allowed, retry_after (string, seconds; "-1" never), stale}.
# Few calls on purpose: each redis.call costs the server a few microseconds, on every token request.
GATE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tokens = burst
local at = now
local state = redis.call('GET', KEYS[1])
if state then
  local space = string.find(state, ' ', 1, true)
  tokens = tonumber(string.sub(state, 1, space - 1))
  at = tonumber(string.sub(state, space + 1))
end
local elapsed = now - at
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate)
if now > at then at = now end
if tokens < 1 then
  local wait = -1
  if rate > 0 and burst >= 1 then wait = (1 - tokens) / rate end
  return {0, string.format('%.6f', wait), 0}
end
redis.call('SET', KEYS[1], string.format('%.17g %.17g', tokens - 1, at), 'PX', ARGV[5])
local stale = 0
if #KEYS >= 3 then
  local fresh_after = tonumber(ARGV[4])
  local stamps = redis.call('MGET', unpack(KEYS, 3))
  for i = 1, #stamps do
    local value = tonumber(stamps[i])
    if value ~= nil and value > fresh_after then stale = 1 end
  end
end
if stale == 0 and ARGV[3] ~= '' then
  redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
end
return {1, '0', stale}
"""


@dataclass(frozen=True)
class GateResult:
    allowed: bool
    retry_after_header: str
    # True: a stamp is newer than the caller's record; None: unknown (Redis unreachable: ask the database).
    stale: bool | None
    # Whether the usage field was counted (False when throttled, stale, or stamps unknown).
    counted: bool


class _RedisHealth:
    """Remembers an outage so that requests do not each wait for a connect timeout; logs once."""

    def __init__(self) -> None:
        self._down_until = 0.0
        self._down = False
        self._lock = threading.Lock()

    def connection(self) -> Any:
        connection = redis_connection()
        if connection is None or (self._down and time.monotonic() < self._down_until):
            return None
        return connection

    def failed(self, exc: Exception) -> None:
        with self._lock:
            self._down_until = time.monotonic() + RETRY_AFTER_FAILURE
            if not self._down:
                self._down = True
                logger.warning(
                    "Redis unreachable (%s): throttling per process, revocation checks from the database, "
                    "usage counted in process",
                    type(exc).__name__,
                )

    def succeeded(self) -> None:
        if self._down:
            with self._lock:
                if self._down:
                    self._down = False
                    logger.warning("Redis reachable again: shared throttling and revocation stamps resumed")

    @property
    def configured(self) -> bool:
        return redis_connection() is not None

    def reset(self) -> None:
        with self._lock:
            self._down = False
            self._down_until = 0.0


redis_health = _RedisHealth()


class _LocalBuckets:
    """Per-process buckets: the embedded default, and the fallback while Redis is down."""

    MAX_BUCKETS = 10000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, BucketState] = {}

    def take(self, key: str, *, rate: float, burst: float) -> BucketDecision:
        now = time.time()
        with self._lock:
            decision = bucket_take(self._buckets.get(key), now=now, rate=rate, burst=burst)
            if len(self._buckets) >= self.MAX_BUCKETS:
                idle = bucket_idle_seconds(rate=rate, burst=burst)
                self._buckets = {k: v for k, v in self._buckets.items() if now - v.updated_at < idle}
            self._buckets[key] = decision.state
        return decision

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


local_buckets = _LocalBuckets()

GATE_SCRIPT_SHA = hashlib.sha1(GATE_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1


_local = threading.local()


def _resp_pack(command: tuple[Any, ...]) -> bytes:
    """A RESP array of bulk strings (what redis-py's packer builds, without its per-argument dispatch)."""
    parts = [b"*%d\r\n" % len(command)]
    for argument in command:
        data = argument if isinstance(argument, bytes) else str(argument).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _thread_connection(client: Any) -> Any:
    connection = getattr(_local, "connection", None)
    if connection is None or _local.client is not client:
        connection = client.connection_pool.make_connection()
        _local.connection, _local.client = connection, client
    return connection


def _redis_send(client: Any, *command: Any) -> Any:
    """Send one command on a connection this thread keeps to itself; `_redis_receive` reads the reply.

    redis-py's pool, retry and observability layers cost more than the command on these paths (a sync
    worker serves one request at a time, so a dedicated connection per thread is all it needs). A
    broken connection is dropped and the error raised; the next call reconnects."""
    connection = _thread_connection(client)
    try:
        connection.send_packed_command([_resp_pack(command)], check_health=False)
    except (redis.RedisError, OSError) as exc:
        connection.disconnect()
        raise redis.ConnectionError(str(exc)) from None
    return connection


def _redis_receive(connection: Any) -> Any:
    try:
        return connection.read_response()
    except redis.exceptions.ResponseError:
        raise
    except (redis.RedisError, OSError) as exc:
        connection.disconnect()
        raise redis.ConnectionError(str(exc)) from None


def _redis_call(client: Any, *command: Any) -> Any:
    return _redis_receive(_redis_send(client, *command))


def _gate_script_run(client: Any, keys: list[str], args: list[Any]) -> Any:
    """EVALSHA, loading the script on the first NOSCRIPT."""
    try:
        return _redis_call(client, "EVALSHA", GATE_SCRIPT_SHA, len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:
        _redis_call(client, "SCRIPT", "LOAD", GATE_SCRIPT)
        return _redis_call(client, "EVALSHA", GATE_SCRIPT_SHA, len(keys), *keys, *args)


def throttle_settings() -> tuple[float, float]:
    return float(settings.DCR_THROTTLE_RATE), float(settings.DCR_THROTTLE_BURST)


def bucket_key(scope: str, ip_address: str | None) -> str:
    return f"{THROTTLE_PREFIX}:{scope}:{ip_address or 'unknown'}"


class PendingGate:
    """A gate whose script has been sent to Redis and whose answer is read by `result()`: the caller
    can do its own work (sign the token it may hand out) while Redis runs the script, instead of
    sleeping on the socket. Only `result()` decides; nothing may leave the request before it."""

    def __init__(
        self, *, key: str, stamp_keys: list[str], fresh_after: float, usage_field: str, rate: float, burst: float
    ) -> None:
        self.key, self.stamp_keys, self.fresh_after = key, stamp_keys, fresh_after
        self.usage_field, self.rate, self.burst = usage_field, rate, burst
        self.client = redis_health.connection()
        self.sent: Any = None
        if self.client is not None:
            try:
                self.sent = _redis_send(self.client, "EVALSHA", GATE_SCRIPT_SHA, *self._command_tail())
            except redis.RedisError as exc:
                redis_health.failed(exc)

    def _command_tail(self) -> list[Any]:
        keys = [self.key, PENDING_KEY, *self.stamp_keys]
        expiry_ms = int(bucket_idle_seconds(rate=self.rate, burst=self.burst) * 1000) + 1000
        args = [repr(self.rate), repr(self.burst), self.usage_field, repr(self.fresh_after), expiry_ms]
        return [len(keys), *keys, *args]

    def result(self) -> GateResult:
        if self.sent is not None:
            try:
                try:
                    reply = _redis_receive(self.sent)
                except redis.exceptions.NoScriptError:
                    _redis_call(self.client, "SCRIPT", "LOAD", GATE_SCRIPT)
                    reply = _redis_call(self.client, "EVALSHA", GATE_SCRIPT_SHA, *self._command_tail())
            except redis.RedisError as exc:
                redis_health.failed(exc)
            else:
                redis_health.succeeded()
                return self._from_reply(reply)
        return self._in_process()

    def _from_reply(self, reply: list[Any]) -> GateResult:
        allowed, retry_after, stale = reply
        if not allowed:
            wait = float(retry_after)
            decision = BucketDecision(False, BucketState(0.0, 0.0), wait if wait >= 0 else float("inf"))
            return GateResult(False, decision.retry_after_header, None, False)
        return GateResult(True, "", bool(stale), bool(self.usage_field) and not stale)

    def _in_process(self) -> GateResult:
        decision = local_buckets.take(self.key, rate=self.rate, burst=self.burst)
        if not decision.allowed:
            return GateResult(False, decision.retry_after_header, None, False)
        if redis_health.configured:
            # Redis is configured but down: the stamps are unknown; the caller asks the database.
            return GateResult(True, "", None, False)
        # No Redis at all: this process's stamps show its own revocations at once; revocations made by
        # another process (a management command) are only in the database, so "unknown" sends the
        # caller there once its record is older than a second. The caller counts usage after its checks.
        values = local_stamps.get_many(self.stamp_keys) if self.stamp_keys else []
        stale = any(value is not None and value > self.fresh_after for value in values)
        return GateResult(True, "", True if stale else None, False)


def gate_start(
    *,
    scope: str,
    ip_address: str | None,
    stamp_keys: list[str] | tuple[str, ...] = (),
    fresh_after: float = 0.0,
    usage_field: str = "",
) -> PendingGate:
    """Send the gate for one request of `ip_address` at endpoint `scope`: throttle, compare the stamps
    with `fresh_after` (a stamp strictly newer makes the caller's record stale), and count
    `usage_field` when allowed and fresh. One Redis round trip, completed by `.result()`."""
    rate, burst = throttle_settings()
    return PendingGate(
        key=bucket_key(scope, ip_address),
        stamp_keys=list(stamp_keys),
        fresh_after=fresh_after,
        usage_field=usage_field,
        rate=rate,
        burst=burst,
    )


def gate_pass(
    *,
    scope: str,
    ip_address: str | None,
    stamp_keys: list[str] | tuple[str, ...] = (),
    fresh_after: float = 0.0,
    usage_field: str = "",
) -> GateResult:
    """`gate_start(...).result()`: the gate with nothing to do in between."""
    return gate_start(
        scope=scope, ip_address=ip_address, stamp_keys=stamp_keys, fresh_after=fresh_after, usage_field=usage_field
    ).result()


def usage_count(field: str) -> None:
    """Count one event outside the gate (one round trip; in process when Redis is absent or down)."""
    connection = redis_health.connection()
    if connection is not None:
        try:
            _redis_call(connection, "HINCRBY", PENDING_KEY, field, 1)
        except redis.RedisError as exc:
            redis_health.failed(exc)
        else:
            redis_health.succeeded()
            return
    local_usage.increment(field)


def stamps_read(keys: list[str]) -> list[float | None] | None:
    """Revocation stamps in one MGET; None when they cannot tell (Redis unreachable, or no REDIS_URL:
    another process's revocation is only in the database), and the caller asks the database."""
    now = time.monotonic()
    cached = stamp_read_cache.get_many(keys, now)
    if cached is not None:
        return cached
    connection = redis_health.connection()
    if connection is None:
        return None
    try:
        values = _redis_call(connection, "MGET", *keys)
    except redis.RedisError as exc:
        redis_health.failed(exc)
        return None
    redis_health.succeeded()
    stamps = [float(value) if value is not None else None for value in values]
    ttl = stamp_cache_seconds()
    if ttl > 0:
        stamp_read_cache.put_many(keys, stamps, now + ttl)
    return stamps
