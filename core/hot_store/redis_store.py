"""The store in one Redis: shared by every worker and node (`FallbackStore` answers while it is down)."""

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import redis

from core.conf import dcr
from core.local_caches import local_cache
from core.redis import evalsha_on
from core.revocation import PREFIX, RECORD_TTL, stamp_lifetime
from core.token_bucket import bucket_idle_seconds

from .base import (
    APPLICATION_PREFIX,
    APPLICATION_TTL,
    LAST_USED_EVERY,
    LAST_USED_PENDING_KEY,
    QUOTA_COUNTS_KEY,
    QUOTAS_KEY,
    RECORD_PREFIX,
    STAMP_MARGIN,
    USAGE_PENDING_KEY,
    ClientGate,
    Outcome,
    QuotaRefusal,
    QuotaRefused,
    StoredRecord,
    Throttle,
    bucket_key,
    quota_defaults,
    throttle_settings,
)
from .formats import ROTATED_FIELDS, record_fields, record_fill_args, registration_signal_args, usage_field
from .scripts import (
    CLIENT_SCRIPT,
    COUNTED_SCRIPT,
    NEWEST_COMPLETE,
    NEWEST_STAMPS_KEY,
    RECORD_FILL_SCRIPT,
    REGISTERED_SCRIPT,
    STAMP_SCRIPT,
    THROTTLE_SCRIPT,
)
from .signal_counts import SIGNALS_PENDING_KEY, networks_key, signal_hour


def _stamp_kind(key: str) -> str:
    return key[len(PREFIX) :].partition(":")[0]


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


class RedisStore:
    """One Redis (or the master Sentinel names). Raises `redis.RedisError` when Redis cannot answer:
    `FallbackStore` answers then."""

    # How many counters share an application's quota (`scripts._QUOTA_LUA`; `ClusterStore`: its shards).
    QUOTA_SHARDS = 1

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._throttle = client.register_script(THROTTLE_SCRIPT)
        self._client_gate = client.register_script(CLIENT_SCRIPT)
        self._counted = client.register_script(COUNTED_SCRIPT)
        self._stamp = client.register_script(STAMP_SCRIPT)
        self._record_fill = client.register_script(RECORD_FILL_SCRIPT)
        self._registered = client.register_script(REGISTERED_SCRIPT)
        self._stamp_reads = local_cache("redis-stamp-reads", maxsize=100_000)
        self._newest_key = NEWEST_STAMPS_KEY
        # Each thread's own connection for the scripts of the hot paths (`_script`).
        self._own = threading.local()

    def _script(self, script: Any, keys: list[Any], args: list[Any]) -> Any:
        """EVALSHA of a registered script on this thread's own connection, without redis-py's command
        layers and its pool.

        `Script.__call__` goes through `evalsha`, `execute_command`, the retry wrapper and the reply
        parser's callbacks (none for EVALSHA); a pooled connection costs a lock, a fork check and a poll
        of the socket (`can_read`) on every checkout. Both together were about 30 of the client side's
        55 us of CPU per call. A thread's connection is made by the client's pool
        (`make_connection`: the same address, credentials, database, timeouts, Sentinel's master lookup)
        and is never shared: one request at a time uses it. The client is built with no retries
        (`core.redis`), so nothing is lost: redis-py's connection disconnects itself on any error while
        sending or reading (so no reply is ever left for the next command) and the error is raised as
        in `Redis._execute_command`; a script the server no longer holds (a restart, SCRIPT FLUSH) goes
        through `Script.__call__`, which loads it."""
        connection = getattr(self._own, "connection", None)
        if connection is None or connection.pid != os.getpid():  # a forked child makes its own
            connection = self._own.connection = self.client.connection_pool.make_connection()
        try:
            return evalsha_on(connection, script.sha, keys, args)
        except redis.exceptions.NoScriptError:
            pass
        except (redis.ConnectionError, redis.TimeoutError):
            connection.disconnect()
            raise
        return script(keys=keys, args=args)

    def _transaction(self, fill: Callable[[Any], None]) -> list[Any]:
        with self.client.pipeline(transaction=True) as pipe:
            fill(pipe)
            return list(pipe.execute())

    def counts_add(self, usage: dict[str, float], last_used: dict[int, float]) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            for field, amount in usage.items():
                pipe.hincrby(USAGE_PENDING_KEY, field, int(amount))
            for pk, at in last_used.items():
                pipe.hset(LAST_USED_PENDING_KEY, str(pk), int(at))
            pipe.execute()

    def _bucket_args(self, throttling: bool) -> list[Any]:
        rate, burst = throttle_settings()
        expiry_ms = int(bucket_idle_seconds(rate=rate, burst=burst) * 1000) + 1000
        return [repr(rate), repr(burst), expiry_ms, "1" if throttling else "0"]

    # Where each key lives: one Redis holds them all; `ClusterStore` puts each in its client's shard.
    def _throttle_keys(self, scope: str, ip_address: str | None, stamp_keys: Sequence[str]) -> list[str]:
        """The bucket, the quota values and counts, then the stamps (of applications and statements)."""
        return [bucket_key(scope, ip_address), QUOTAS_KEY, QUOTA_COUNTS_KEY, *stamp_keys]

    def _client_keys(self, client_id: str, scope: str, ip_address: str | None) -> tuple[list[str], str, str]:
        """The gate's keys (bucket, record, usage, last use, the signals' pending hash, then the quota values
        and counts last), and its stamp and application prefixes."""
        keys = [
            bucket_key(scope, ip_address),
            RECORD_PREFIX + client_id,
            USAGE_PENDING_KEY,
            LAST_USED_PENDING_KEY,
            SIGNALS_PENDING_KEY,
            QUOTAS_KEY,
            QUOTA_COUNTS_KEY,
        ]
        return keys, PREFIX, APPLICATION_PREFIX

    def _signal_keys(self, client_id: str, hour: str) -> list[str]:
        """A registration's signal counters (`signal_counts`): the pending hash, the hour's networks."""
        return [SIGNALS_PENDING_KEY, networks_key(hour)]

    def _record_key(self, client_id: str) -> str:
        return RECORD_PREFIX + client_id

    def throttle(
        self,
        *,
        scope: str,
        ip_address: str | None,
        stamp_keys: Sequence[str] = (),
        since: float = 0,
        quota_application: str = "",
        bucket: bool = True,
    ) -> Throttle:
        keys = self._throttle_keys(scope, ip_address, stamp_keys)
        args = [*self._bucket_args(bucket), repr(since), quota_application, quota_defaults(), self.QUOTA_SHARDS]
        return _throttle_reply(self._script(self._throttle, keys, args), quota_application)

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
        environment_id: int = 0,
    ) -> ClientGate:
        keys, stamp_prefix, application_prefix = self._client_keys(client_id, throttle_scope or "none", ip_address)
        args = [
            *self._bucket_args(throttle_scope is not None),
            client_id,
            secret_hash,
            " ".join(scopes) if scopes is not None else "",
            stamp_prefix,
            STAMP_MARGIN,
            day,
            LAST_USED_EVERY,
            "1" if count else "0",
            application_prefix,
            str(environment_id),
            quota_defaults(),
            self.QUOTA_SHARDS,
            signal_hour() if count else "",
        ]
        reply = self._script(self._client_gate, keys, args)
        outcome = Outcome(int(reply[0]))
        if len(reply) == 2:
            return ClientGate(outcome, float(reply[1]))
        if outcome is Outcome.QUOTA:
            refusal = QuotaRefusal(int(reply[2]), int(reply[3]), float(reply[1]))
            return ClientGate(outcome, refusal.retry_after, quota=refusal)
        _, _, packed, stored_hash, last_used, application, application_id, statement_jti, previous, until = reply
        return ClientGate(
            outcome,
            0.0,
            packed=_text(packed),
            secret_hash=bytes(stored_hash),
            application_id=_text(application_id),
            statement_jti=_text(statement_jti),
            last_used=float(last_used),
            application=_text(application) if application is not None else None,
            previous_secret_hash=bytes(previous),
            previous_secret_expires=float(until),
        )

    def token_counted(self, *, record: StoredRecord, day: str) -> float:
        """Raises `QuotaRefused` (nothing counted) when a token quota of the application is used up."""
        keys, _, _ = self._client_keys(record.client_id, "none", None)
        field = usage_field(day, record.application_id, record.platform, "tokens")
        args: list[Any] = [
            field,
            record.pk,
            int(record.last_used),
            LAST_USED_EVERY,
            record.application_id,
            quota_defaults(),
            self.QUOTA_SHARDS,
        ]
        return _counted_reply(self._script(self._counted, [keys[2], keys[3], keys[1], keys[-2], keys[-1]], args))

    def _record_commands(self, pipe: Any, record: StoredRecord) -> None:
        key = self._record_key(record.client_id)
        pipe.hset(key, mapping=record_fields(record))
        if not record.previous_secret_hash:
            # A record written over one that had a rotated secret must not keep it.
            pipe.hdel(key, *ROTATED_FIELDS)
        pipe.expire(key, RECORD_TTL)

    def client_record_put(self, record: StoredRecord) -> None:
        self.client_records_put([record])

    def client_records_put(self, records: Sequence[StoredRecord]) -> None:
        """Write records, each whole (MULTI/EXEC: a reader never sees half a record)."""

        def fill(pipe: Any) -> None:
            for record in records:
                self._record_commands(pipe, record)

        self._transaction(fill)

    def client_record_fill(self, record: StoredRecord, *, count_day: str | None = None) -> float:
        """The read-through's write: only where the store has no record; with `count_day`, a token
        issued to the client counted as `token_counted` counts it. One script call (`RECORD_FILL_SCRIPT`);
        the writes made after a commit (`client_records_put`) replace a record. Returns the last use."""
        keys, _, _ = self._client_keys(record.client_id, "none", None)
        usage = usage_field(count_day, record.application_id, record.platform, "tokens") if count_day else ""
        quota = (quota_defaults(), self.QUOTA_SHARDS)
        args = record_fill_args(RECORD_TTL, record, usage=usage, interval=LAST_USED_EVERY, quota=quota)
        return _counted_reply(self._script(self._record_fill, [keys[2], keys[3], keys[1], keys[-2], keys[-1]], args))

    def client_registered(
        self, *, record: StoredRecord, day: str, application: str, network: str = "", foreign_platform: str = ""
    ) -> None:
        """The new client's record, its application's data and the registration's counts (usage, and the
        signals': `signal_counts`), in one script (`REGISTERED_SCRIPT`: atomic as the MULTI/EXEC it
        replaces, one EVALSHA instead of redis-py's pipeline machinery: about 0.3 ms of a registration's CPU)."""
        hour = signal_hour()
        args: list[Any] = [
            RECORD_TTL,
            APPLICATION_TTL,
            application,
            usage_field(day, record.application_id, record.platform, "registrations"),
            "0" if record.previous_secret_hash else "1",
            *registration_signal_args(record, hour, network, foreign_platform),
        ]
        for name, value in record_fields(record).items():
            args += [name, value]
        keys = [self._record_key(record.client_id), APPLICATION_PREFIX + record.application_id, USAGE_PENDING_KEY]
        self._script(self._registered, [*keys, *self._signal_keys(record.client_id, hour)], args)

    def application_put(self, application_id: str, packed: str) -> None:
        self.client.set(APPLICATION_PREFIX + application_id, packed, ex=APPLICATION_TTL)

    def quota_put(self, application_id: str, packed: str) -> None:
        """Kept without expiry (`core.quotas` says when it is written again)."""
        self.client.hset(QUOTAS_KEY, application_id, packed)

    def client_record_drop(self, client_id: str) -> None:
        self.client_records_drop([client_id])

    def client_records_drop(self, client_ids: Sequence[str]) -> None:
        if client_ids:
            self.client.delete(*(self._record_key(client_id) for client_id in client_ids))

    def count(self, field: str) -> None:
        self.client.hincrby(USAGE_PENDING_KEY, field, 1)

    def stamp_write(self, key: str, at: float) -> bool:
        """Write a stamp (the newest wins)."""
        self._stamp(keys=[key, NEWEST_STAMPS_KEY], args=[repr(at), stamp_lifetime(), _stamp_kind(key)])
        self._stamp_reads.pop(key)
        self._stamp_reads.pop(NEWEST_STAMPS_KEY)
        return True

    def revoked_since(self, keys: Sequence[str], since: float) -> int:
        """Index of the first key stamped at or after `since`, -1 for none. Stamps read within
        DCR_REVOCATION_STAMP_CACHE seconds are not read again: a busy token costs one MGET per that
        period per worker."""
        values = self._cached_stamps(keys)
        if values is None:
            newest = self._newest_stamps()
            if NEWEST_COMPLETE in newest and all(newest.get(_stamp_kind(key), 0.0) < since for key in keys):
                return -1
            values = [float(value) if value is not None else None for value in self._stamps_read(keys)]
            ttl = float(dcr.revocation_stamp_cache)
            if ttl > 0:
                for key, value in zip(keys, values, strict=True):
                    self._stamp_reads.put(key, value, ttl=ttl)
        for index, value in enumerate(values):
            if value is not None and value >= since:
                return index
        return -1

    def _stamps_read(self, keys: Sequence[str]) -> list[Any]:
        return list(self.client.mget(list(keys)))  # type: ignore[arg-type]

    def newest_stamps_complete(self) -> None:
        self.client.hset(self._newest_key, NEWEST_COMPLETE, "1")

    def stamps_prune(self, before: float) -> int:
        """Nothing to drop: each stamp is a key of its own that expires (`stamp_lifetime`), and each
        application's part too (`ClusterStore` keeps them as hash fields, and drops them here)."""
        del before
        return 0

    def _newest_stamps(self) -> dict[str, float]:
        """The newest stamp of each kind, read at most once per DCR_REVOCATION_STAMP_CACHE seconds."""
        newest: dict[str, float] | None = self._stamp_reads.get(NEWEST_STAMPS_KEY)
        if newest is None:
            raw = self.client.hgetall(self._newest_key)
            newest = {_text(kind): float(value) for kind, value in raw.items()}  # type: ignore[union-attr]
            ttl = float(dcr.revocation_stamp_cache)
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
        self._stamp_reads.clear()


_UNREAD = object()


def _counted_reply(reply: Any) -> float:
    """COUNTED_SCRIPT's and RECORD_FILL_SCRIPT's: the last use, or `QuotaRefused` (nothing counted)."""
    if isinstance(reply, list):
        raise QuotaRefused(QuotaRefusal(int(reply[0]), int(reply[2]), float(reply[1])))
    return float(reply)


def _throttle_reply(reply: list[Any], quota_application: str) -> Throttle:
    """THROTTLE_SCRIPT's reply (and its cluster form's)."""
    allowed, wait, stale = reply[:3]
    if len(reply) == 5:
        refusal = QuotaRefusal(int(reply[3]), int(reply[4]), float(wait))
        return Throttle(False, refusal.retry_after, True, quota=refusal)
    counted = bool(allowed) and not stale and quota_application != ""
    return Throttle(bool(allowed), float(wait), bool(stale), quota_counted=counted)
