"""The hot-path store: throttling, revocation stamps, usage and last-use counters, and client records.

One implementation is chosen at start (`hot_store()`):
- `RedisStore` (REDIS_URL set): shared by every worker and node. A token request is ONE round trip: a
  Lua script takes a token from the client IP's bucket, reads the client's record, checks the stamps
  of its application, statement and client against the record's age, compares the secret's keyed
  hash, checks the requested scope, and counts the token and the client's use. While Redis is
  unreachable every call is answered by the in-process fallback below, for at most
  `RETRY_AFTER_FAILURE` seconds before Redis is tried again.
- `LocalStore` (the embedded default, and that fallback): buckets, stamps, counters and records in
  this process. Records live a second, so a revocation made by another process (read from the
  database) is seen within a second; this process's own revocations at once.

Client records are opaque here (`StoredRecord.packed`): `oauth` builds and reads them. Only active
clients are stored. Every call that can fail on Redis is one redis-py command or script on a pooled
connection: a failure disconnects that connection, so no reply is ever left for the next command.
"""

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from django.core.signals import setting_changed

from . import clock
from .local_caches import local_cache
from .redis import redis_client, redis_health
from .revocation import PREFIX, RECORD_TTL, Revoked, stamp_key, stamp_lifetime
from .token_bucket import BucketState, bucket_idle_seconds, bucket_take

logger = logging.getLogger(__name__)

THROTTLE_PREFIX = "dcr:throttle"
RECORD_PREFIX = "dcr:client:"
# What a client's application grants in every token (programmer, channels): shared by all its clients,
# read again after APPLICATION_TTL so that a channel added to an "all channels" application shows up.
APPLICATION_PREFIX = "dcr:app:"
APPLICATION_TTL = 60
USAGE_PENDING_KEY = "dcr:usage:pending"
LAST_USED_PENDING_KEY = "dcr:lastused:pending"
# A record written less than this before a stamp may have been read before the revocation committed.
STAMP_MARGIN = 5.0
# A client's use is recorded (for idle marking and purging, counted in days) at most this often.
LAST_USED_EVERY = 24 * 3600
# Records in this process (LocalStore) are read again from the database after this long.
LOCAL_RECORD_TTL = 1.0


class Outcome(IntEnum):
    """What the client gate found (the integer is the Lua script's first reply)."""

    THROTTLED = 0
    MISSING = 1  # no record stored: read the database
    STALE = 2  # a stamp is newer than the record: read the database
    UNVERIFIED = 3  # the secret's hash under the current key does not match: check it in Python
    SCOPE = 4  # authenticated, but the requested scope exceeds the client's
    PASSED = 5  # authenticated; counted when counting was asked


@dataclass(frozen=True)
class StoredRecord:
    client_id: str
    pk: int
    packed: str
    # What the gate compares with the caller's candidate (opaque here; `oauth.hashers` makes both).
    secret_hash: bytes
    application_id: str
    statement_jti: str
    platform: str
    scopes: tuple[str, ...]
    written_at: float
    last_used: float = 0.0


@dataclass(frozen=True)
class ClientGate:
    outcome: Outcome
    retry_after: float = 0.0
    packed: str | None = None
    secret_hash: bytes = b""
    application_id: str = ""
    statement_jti: str = ""
    last_used: float = 0.0
    # The record's application, as `application_put` stored it (None when not stored).
    application: str | None = None


@dataclass(frozen=True)
class Throttle:
    allowed: bool
    retry_after: float = 0.0
    # Whether a stamp of `stamp_keys` is at or after `since` (or the store cannot tell).
    stale: bool = True


def usage_field(day: str, application_id: str, platform: str, kind: str) -> str:
    """The counter of one day, application, platform and kind (`oauth.usage` documents the format)."""
    return f"{day}|{application_id}|{platform.replace('|', '')}|{kind}"


def throttle_settings() -> tuple[float, float]:
    return float(settings.DCR_THROTTLE_RATE), float(settings.DCR_THROTTLE_BURST)


def bucket_key(scope: str, ip_address: str | None) -> str:
    return f"{THROTTLE_PREFIX}:{scope}:{ip_address or 'unknown'}"


# --- Counters kept in this process -----------------------------------------------------------------


class LocalCounter:
    """A thread-safe Counter that a flush drains (usage fields, or client pk -> last use)."""

    def __init__(self, *, keep_max: bool = False) -> None:
        self._lock = threading.Lock()
        self._values: dict[Any, float] = {}
        self._keep_max = keep_max

    def increment(self, key: Any, amount: float = 1) -> None:
        with self._lock:
            if self._keep_max:
                self._values[key] = max(self._values.get(key, 0), amount)
            else:
                self._values[key] = self._values.get(key, 0) + amount

    def drain(self) -> dict[Any, Any]:
        with self._lock:
            values = dict(self._values)
            self._values.clear()
        return values

    def restore(self, values: dict[Any, Any]) -> None:
        for key, value in values.items():
            self.increment(key, value)

    def snapshot(self) -> dict[Any, Any]:
        with self._lock:
            return dict(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __bool__(self) -> bool:
        return bool(self._values)


local_usage = LocalCounter()
local_last_used = LocalCounter(keep_max=True)


# --- LocalStore ------------------------------------------------------------------------------------


class LocalStore:
    """Everything in this process: the embedded default, and the fallback while Redis is down."""

    MAX_BUCKETS = 10000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, BucketState] = {}
        self._stamps = local_cache("local-stamps", maxsize=100_000)
        self._records = local_cache("local-client-records", ttl=LOCAL_RECORD_TTL)
        self._applications = local_cache("local-applications", ttl=APPLICATION_TTL)

    # Throttling
    def _take(self, scope: str, ip_address: str | None) -> float | None:
        """None when allowed, else seconds until a token is back."""
        rate, burst = throttle_settings()
        key = bucket_key(scope, ip_address)
        now = clock.wall()
        with self._lock:
            decision = bucket_take(self._buckets.get(key), now=now, rate=rate, burst=burst)
            if len(self._buckets) >= self.MAX_BUCKETS:
                idle = bucket_idle_seconds(rate=rate, burst=burst)
                self._buckets = {k: v for k, v in self._buckets.items() if now - v.updated_at < idle}
            self._buckets[key] = decision.state
        return None if decision.allowed else decision.retry_after

    def throttle(
        self, *, scope: str, ip_address: str | None, stamp_keys: Sequence[str] = (), since: float = 0
    ) -> Throttle:
        wait = self._take(scope, ip_address)
        if wait is not None:
            return Throttle(False, wait)
        # Another process's revocation is only in the database: the caller must check there.
        return Throttle(True, 0.0, True)

    # Stamps
    def stamp_write(self, key: str, at: float) -> bool:
        current = self._stamps.get(key)
        if current is None or current < at:
            self._stamps.put(key, at, ttl=stamp_lifetime())
        return True

    def newest_stamps_complete(self) -> None:
        return None

    def revoked_since(self, keys: Sequence[str], since: float) -> int | None:
        """The index of the first key stamped at or after `since`; None when this process cannot tell
        (a revocation made by another process is only in the database)."""
        for index, key in enumerate(keys):
            value = self._stamps.get(key)
            if value is not None and value >= since:
                return index
        return None

    # Client records
    def client_record_put(self, record: StoredRecord) -> None:
        self._records.put(record.client_id, record)

    def client_records_put(self, records: Sequence[StoredRecord]) -> None:
        for record in records:
            self.client_record_put(record)

    def client_record_drop(self, client_id: str) -> None:
        self._records.pop(client_id)

    def client_records_drop(self, client_ids: Sequence[str]) -> None:
        for client_id in client_ids:
            self._records.pop(client_id)

    def client_gate(
        self,
        *,
        client_id: str,
        secret_hash: bytes,
        scopes: tuple[str, ...] | None,
        day: str,
        throttle_scope: str | None = None,
        ip_address: str | None = None,
        count: bool = False,
    ) -> ClientGate:
        if throttle_scope is not None:
            wait = self._take(throttle_scope, ip_address)
            if wait is not None:
                return ClientGate(Outcome.THROTTLED, wait)
        record: StoredRecord | None = self._records.get(client_id)
        if record is None:
            return ClientGate(Outcome.MISSING)
        keys = [
            stamp_key(Revoked.APPLICATION, record.application_id),
            stamp_key(Revoked.STATEMENT, record.statement_jti),
            stamp_key(Revoked.CLIENT, client_id),
        ]
        if self.revoked_since(keys, record.written_at - STAMP_MARGIN) is not None:
            self._records.pop(client_id)
            return ClientGate(Outcome.STALE)
        found = {
            "packed": record.packed,
            "secret_hash": record.secret_hash,
            "application_id": record.application_id,
            "statement_jti": record.statement_jti,
            "application": self._applications.get(record.application_id),
        }
        if record.secret_hash != secret_hash:
            return ClientGate(Outcome.UNVERIFIED, last_used=record.last_used, **found)
        if scopes is not None and not set(scopes) <= set(record.scopes):
            return ClientGate(Outcome.SCOPE, last_used=record.last_used, **found)
        last_used = record.last_used
        if count:
            last_used = self.token_counted(record=record, day=day)
        return ClientGate(Outcome.PASSED, last_used=last_used, **found)

    def application_put(self, application_id: str, packed: str) -> None:
        self._applications.put(application_id, packed)

    def token_counted(self, *, record: StoredRecord, day: str) -> float:
        """Count a token issued to `record`'s client and record its use; returns the last use now known."""
        local_usage.increment(usage_field(day, record.application_id, record.platform, "tokens"))
        now = clock.wall()
        if now - record.last_used < LAST_USED_EVERY:
            return record.last_used
        local_last_used.increment(record.pk, int(now))
        stored = self._records.get(record.client_id)
        if stored is not None:
            self._records.put(record.client_id, _with_last_used(stored, now))
        return now

    def client_registered(self, *, record: StoredRecord, day: str, application: str) -> None:
        """A new client: its record, its application's part, and the registration counted."""
        local_usage.increment(usage_field(day, record.application_id, record.platform, "registrations"))
        self.client_record_put(record)
        self.application_put(record.application_id, application)

    def count(self, field: str) -> None:
        local_usage.increment(field)

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()
        self._stamps.clear()
        self._records.clear()
        self._applications.clear()


def _with_last_used(record: StoredRecord, at: float) -> StoredRecord:
    return StoredRecord(**{**record.__dict__, "last_used": at})


# --- RedisStore ------------------------------------------------------------------------------------

# The bucket (`core.token_bucket` holds the same arithmetic, tested against this script): KEYS[1] is a
# string "<tokens> <updated at>"; ARGV[1] rate, ARGV[2] burst, ARGV[3] expiry in ms. Sets `wait` (-1:
# allowed; else seconds until a token is back, a huge number when never).
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = -1
if ARGV[4] == '1' then
  local rate = tonumber(ARGV[1])
  local burst = tonumber(ARGV[2])
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
    wait = 1e12
    if rate > 0 and burst >= 1 then wait = (1 - tokens) / rate end
  else
    redis.call('SET', KEYS[1], string.format('%.17g %.17g', tokens - 1, at), 'PX', ARGV[3])
  end
end
"""

# KEYS[1] bucket, KEYS[2] stamps...; ARGV[1..4] bucket, ARGV[5] since.
# Returns {allowed, wait, stale}.
THROTTLE_SCRIPT = (
    _BUCKET_LUA
    + """
if wait >= 0 then return {0, string.format('%.6f', wait), 1} end
local stale = 0
if #KEYS >= 2 then
  local since = tonumber(ARGV[5])
  local stamps = redis.call('MGET', unpack(KEYS, 2))
  for i = 1, #stamps do
    local value = tonumber(stamps[i])
    if value ~= nil and value >= since then stale = 1 end
  end
end
return {1, '0', stale}
"""
)

# KEYS[1] bucket, KEYS[2] record, KEYS[3] usage pending, KEYS[4] last-used pending.
# ARGV[1..4] bucket (ARGV[4] '1' to throttle), ARGV[5] client id, ARGV[6] the secret's hash under the
# current key, ARGV[7] requested scopes ('' for all), ARGV[8] stamp prefix, ARGV[9] stamp margin,
# ARGV[10] day, ARGV[11] last-use interval, ARGV[12] '1' to count, ARGV[13] application prefix.
# Returns {outcome, wait, packed, secret hash, last used, application, application id, statement jti}
# (see Outcome).
CLIENT_SCRIPT = (
    _BUCKET_LUA
    + """
if wait >= 0 then return {0, string.format('%.6f', wait)} end
local r = redis.call('HMGET', KEYS[2], 'r', 'h', 'w', 'a', 's', 'p', 'sc', 'lu', 'pk')
if not r[1] then return {1, '0'} end
local since = tonumber(r[3]) - tonumber(ARGV[9])
local prefix = ARGV[8]
local stamps = redis.call('MGET', prefix .. 'app:' .. r[4], prefix .. 'stmt:' .. r[5], prefix .. 'client:' .. ARGV[5])
for i = 1, 3 do
  local value = tonumber(stamps[i])
  if value ~= nil and value >= since then return {2, '0'} end
end
local application = redis.call('GET', ARGV[13] .. r[4])
if r[2] ~= ARGV[6] then return {3, '0', r[1], r[2], r[8] or '0', application, r[4], r[5]} end
if ARGV[7] ~= '' then
  for scope in string.gmatch(ARGV[7], '%S+') do
    if not string.find(r[7], ' ' .. scope .. ' ', 1, true) then
      return {4, '0', r[1], r[2], r[8] or '0', application, r[4], r[5]}
    end
  end
end
local last_used = tonumber(r[8] or '0')
if ARGV[12] == '1' then
  redis.call('HINCRBY', KEYS[3], ARGV[10] .. '|' .. r[4] .. '|' .. r[6] .. '|tokens', 1)
  if now - last_used >= tonumber(ARGV[11]) then
    last_used = math.floor(now)
    redis.call('HSET', KEYS[4], r[9], string.format('%d', last_used))
    redis.call('HSET', KEYS[2], 'lu', string.format('%d', last_used))
  end
end
return {5, '0', r[1], r[2], string.format('%d', last_used), application, r[4], r[5]}
"""
)

# KEYS[1] usage pending, KEYS[2] last-used pending, KEYS[3] record. ARGV[1] usage field, ARGV[2] client
# pk, ARGV[3] last used known, ARGV[4] interval. Returns the last use now recorded.
COUNTED_SCRIPT = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local t = redis.call('TIME')
local now = tonumber(t[1])
local last_used = tonumber(ARGV[3])
if now - last_used >= tonumber(ARGV[4]) then
  last_used = now
  redis.call('HSET', KEYS[2], ARGV[2], string.format('%d', now))
  if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HSET', KEYS[3], 'lu', string.format('%d', now)) end
end
return string.format('%d', last_used)
"""

# KEYS[1] stamp, KEYS[2] the newest stamp of each kind (a hash). ARGV[1] time, ARGV[2] expiry in
# seconds, ARGV[3] kind. Keeps the newest stamp if two race.
STAMP_SCRIPT = """
local at = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]))
if current == nil or current < at then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
local newest = tonumber(redis.call('HGET', KEYS[2], ARGV[3]))
if newest == nil or newest < at then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
end
return 1
"""
# The newest stamp of each kind: a bearer check whose token is newer than every stamp of the kinds it
# names needs no stamp of its own read (the common case: revocations are rare next to tokens). Trusted
# only once its field `complete` says every stamp in Redis went through the script that keeps it (set
# by a full republish pass; gone with everything else if Redis loses its data).
NEWEST_STAMPS_KEY = "dcr:revoked-newest"
NEWEST_COMPLETE = "complete"


def _stamp_kind(key: str) -> str:
    return key[len(PREFIX) :].partition(":")[0]


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


class RedisStore:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.fallback = LocalStore()
        self._throttle = client.register_script(THROTTLE_SCRIPT)
        self._client_gate = client.register_script(CLIENT_SCRIPT)
        self._counted = client.register_script(COUNTED_SCRIPT)
        self._stamp = client.register_script(STAMP_SCRIPT)
        self._stamp_reads = local_cache("redis-stamp-reads", maxsize=100_000)

    def _available(self) -> bool:
        if redis_health.down:
            return False
        if local_usage or local_last_used:
            self._hand_back()
        return True

    def _hand_back(self) -> None:
        """Counts this process kept while Redis was unreachable go back to Redis once it answers, so
        that the flush (which may run in another process) counts them."""
        usage, last_used = local_usage.drain(), local_last_used.drain()
        try:
            with self.client.pipeline(transaction=True) as pipe:
                for field, amount in usage.items():
                    pipe.hincrby(USAGE_PENDING_KEY, field, int(amount))
                for pk, at in last_used.items():
                    pipe.hset(LAST_USED_PENDING_KEY, pk, int(at))
                pipe.execute()
        except redis.RedisError as exc:
            local_usage.restore(usage)
            local_last_used.restore(last_used)
            redis_health.failed(exc)

    def _bucket_args(self, throttling: bool) -> list[Any]:
        rate, burst = throttle_settings()
        expiry_ms = int(bucket_idle_seconds(rate=rate, burst=burst) * 1000) + 1000
        return [repr(rate), repr(burst), expiry_ms, "1" if throttling else "0"]

    def throttle(
        self, *, scope: str, ip_address: str | None, stamp_keys: Sequence[str] = (), since: float = 0
    ) -> Throttle:
        if self._available():
            try:
                keys = [bucket_key(scope, ip_address), *stamp_keys]
                allowed, wait, stale = self._throttle(keys=keys, args=[*self._bucket_args(True), repr(since)])
            except redis.RedisError as exc:
                redis_health.failed(exc)
            else:
                redis_health.succeeded()
                return Throttle(bool(allowed), float(wait), bool(stale))
        return self.fallback.throttle(scope=scope, ip_address=ip_address, stamp_keys=stamp_keys, since=since)

    def client_gate(
        self,
        *,
        client_id: str,
        secret_hash: bytes,
        scopes: tuple[str, ...] | None,
        day: str,
        throttle_scope: str | None = None,
        ip_address: str | None = None,
        count: bool = False,
    ) -> ClientGate:
        if self._available():
            keys = [
                bucket_key(throttle_scope or "none", ip_address),
                RECORD_PREFIX + client_id,
                USAGE_PENDING_KEY,
                LAST_USED_PENDING_KEY,
            ]
            args = [
                *self._bucket_args(throttle_scope is not None),
                client_id,
                secret_hash,
                " ".join(scopes) if scopes is not None else "",
                PREFIX,
                STAMP_MARGIN,
                day,
                LAST_USED_EVERY,
                "1" if count else "0",
                APPLICATION_PREFIX,
            ]
            try:
                reply = self._client_gate(keys=keys, args=args)
            except redis.RedisError as exc:
                redis_health.failed(exc)
            else:
                redis_health.succeeded()
                outcome = Outcome(int(reply[0]))
                if len(reply) == 2:
                    return ClientGate(outcome, float(reply[1]))
                _, _, packed, secret_hash, last_used, application, application_id, statement_jti = reply
                return ClientGate(
                    outcome,
                    0.0,
                    packed=_text(packed),
                    secret_hash=bytes(secret_hash),
                    application_id=_text(application_id),
                    statement_jti=_text(statement_jti),
                    last_used=float(last_used),
                    application=_text(application) if application is not None else None,
                )
        return self.fallback.client_gate(
            client_id=client_id,
            secret_hash=secret_hash,
            scopes=scopes,
            day=day,
            throttle_scope=throttle_scope,
            ip_address=ip_address,
            count=count,
        )

    def token_counted(self, *, record: StoredRecord, day: str) -> float:
        if self._available():
            keys = [USAGE_PENDING_KEY, LAST_USED_PENDING_KEY, RECORD_PREFIX + record.client_id]
            field = usage_field(day, record.application_id, record.platform, "tokens")
            try:
                last_used = self._counted(keys=keys, args=[field, record.pk, int(record.last_used), LAST_USED_EVERY])
            except redis.RedisError as exc:
                redis_health.failed(exc)
            else:
                redis_health.succeeded()
                return float(last_used)
        return self.fallback.token_counted(record=record, day=day)

    def _record_commands(self, pipe: Any, record: StoredRecord) -> None:
        key = RECORD_PREFIX + record.client_id
        pipe.hset(
            key,
            mapping={
                "r": record.packed,
                "h": record.secret_hash,
                "w": repr(record.written_at),
                "a": record.application_id,
                "s": record.statement_jti,
                "p": record.platform.replace("|", ""),
                "sc": " " + " ".join(record.scopes) + " ",
                "lu": int(record.last_used),
                "pk": record.pk,
            },
        )
        pipe.expire(key, RECORD_TTL)

    def client_record_put(self, record: StoredRecord) -> None:
        self.client_records_put([record])

    def client_records_put(self, records: Sequence[StoredRecord]) -> None:
        """Write records, each whole (MULTI/EXEC: a reader never sees half a record)."""
        if self._available():
            try:
                with self.client.pipeline(transaction=True) as pipe:
                    for record in records:
                        self._record_commands(pipe, record)
                    pipe.execute()
            except redis.RedisError as exc:
                redis_health.failed(exc)
            else:
                redis_health.succeeded()
                return
        for record in records:
            self.fallback.client_record_put(record)

    def client_registered(self, *, record: StoredRecord, day: str, application: str) -> None:
        if self._available():
            try:
                with self.client.pipeline(transaction=True) as pipe:
                    self._record_commands(pipe, record)
                    pipe.set(APPLICATION_PREFIX + record.application_id, application, ex=APPLICATION_TTL)
                    pipe.hincrby(
                        USAGE_PENDING_KEY, usage_field(day, record.application_id, record.platform, "registrations")
                    )
                    pipe.execute()
            except redis.RedisError as exc:
                redis_health.failed(exc)
            else:
                redis_health.succeeded()
                return
        self.fallback.client_registered(record=record, day=day, application=application)

    def application_put(self, application_id: str, packed: str) -> None:
        if self._available():
            try:
                self.client.set(APPLICATION_PREFIX + application_id, packed, ex=APPLICATION_TTL)
            except redis.RedisError as exc:
                redis_health.failed(exc)
            else:
                redis_health.succeeded()
                return
        self.fallback.application_put(application_id, packed)

    def client_record_drop(self, client_id: str) -> None:
        """Called after a revocation commits; the stamp written with it covers a failure here."""
        self.client_records_drop([client_id])

    def client_records_drop(self, client_ids: Sequence[str]) -> None:
        """After a revocation or a purge commits. A revocation's stamp covers a failure here; a purged
        client's record is older than the purge's cutoff allows (it has expired already)."""
        self.fallback.client_records_drop(client_ids)
        if not client_ids:
            return
        try:
            self.client.delete(*(RECORD_PREFIX + client_id for client_id in client_ids))
        except redis.RedisError as exc:
            redis_health.failed(exc)

    def count(self, field: str) -> None:
        if self._available():
            try:
                self.client.hincrby(USAGE_PENDING_KEY, field, 1)
            except redis.RedisError as exc:
                redis_health.failed(exc)
            else:
                redis_health.succeeded()
                return
        self.fallback.count(field)

    def stamp_write(self, key: str, at: float) -> bool:
        """Write a stamp (the newest wins). False, logged, when Redis cannot be reached: this process
        then knows it at once, the others from the database, and a periodic task writes it again."""
        self.fallback.stamp_write(key, at)
        try:
            self._stamp(keys=[key, NEWEST_STAMPS_KEY], args=[repr(at), stamp_lifetime(), _stamp_kind(key)])
        except redis.RedisError as exc:
            redis_health.failed(exc)
            logger.warning("revocation stamp %s not published: Redis unreachable (%s)", key, type(exc).__name__)
            return False
        self._stamp_reads.pop(key)
        self._stamp_reads.pop(NEWEST_STAMPS_KEY)
        return True

    def revoked_since(self, keys: Sequence[str], since: float) -> int | None:
        """Index of the first key stamped at or after `since`, -1 for none; None when Redis cannot be
        reached (the caller asks the database). Stamps read within DCR_REVOCATION_STAMP_CACHE seconds
        are not read again: a busy token costs one MGET per that period per worker."""
        values = self._cached_stamps(keys)
        if values is None:
            if not self._available():
                return self.fallback.revoked_since(keys, since)
            try:
                newest = self._newest_stamps()
                if NEWEST_COMPLETE in newest and all(newest.get(_stamp_kind(key), 0.0) < since for key in keys):
                    return -1
                raw = self.client.mget(list(keys))  # type: ignore[list-item]
            except redis.RedisError as exc:
                redis_health.failed(exc)
                return self.fallback.revoked_since(keys, since)
            redis_health.succeeded()
            values = [float(value) if value is not None else None for value in raw]
            ttl = float(settings.DCR_REVOCATION_STAMP_CACHE)
            if ttl > 0:
                for key, value in zip(keys, values, strict=True):
                    self._stamp_reads.put(key, value, ttl=ttl)
        for index, value in enumerate(values):
            if value is not None and value >= since:
                return index
        return -1

    def newest_stamps_complete(self) -> None:
        """Every stamp there is has been written through STAMP_SCRIPT (a republish pass just finished)."""
        try:
            self.client.hset(NEWEST_STAMPS_KEY, NEWEST_COMPLETE, "1")
        except redis.RedisError as exc:
            redis_health.failed(exc)

    def _newest_stamps(self) -> dict[str, float]:
        """The newest stamp of each kind, read at most once per DCR_REVOCATION_STAMP_CACHE seconds."""
        newest: dict[str, float] | None = self._stamp_reads.get(NEWEST_STAMPS_KEY)
        if newest is None:
            raw = self.client.hgetall(NEWEST_STAMPS_KEY)
            newest = {_text(kind): float(value) for kind, value in raw.items()}
            ttl = float(settings.DCR_REVOCATION_STAMP_CACHE)
            if ttl > 0:
                self._stamp_reads.put(NEWEST_STAMPS_KEY, newest, ttl=ttl)
        return newest

    def _cached_stamps(self, keys: Sequence[str]) -> list[float | None] | None:
        values: list[float | None] = []
        for key in keys:
            value = self._stamp_reads.get(key, _UNREAD)
            if value is _UNREAD:
                return None
            values.append(value)
        return values

    def clear(self) -> None:
        self.fallback.clear()
        self._stamp_reads.clear()


_UNREAD = object()

HotStore = RedisStore | LocalStore


@lru_cache(maxsize=1)
def hot_store() -> HotStore:
    """The store for this process's settings, chosen once (again after REDIS_URL changes in tests)."""
    client = redis_client()
    return RedisStore(client) if client is not None else LocalStore()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "REDIS_URL":
        hot_store.cache_clear()


setting_changed.connect(_on_setting_changed, dispatch_uid="dcr-hot-store")
