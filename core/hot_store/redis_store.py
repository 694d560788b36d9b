"""The store in Redis: shared by every worker and node; falls back to `LocalStore` while Redis is down."""

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import redis

from core.conf import dcr
from core.local_caches import local_cache
from core.redis import redis_health
from core.revocation import PREFIX, RECORD_TTL, stamp_lifetime
from core.token_bucket import bucket_idle_seconds

from .base import (
    APPLICATION_PREFIX,
    APPLICATION_TTL,
    LAST_USED_EVERY,
    LAST_USED_PENDING_KEY,
    RECORD_PREFIX,
    STAMP_MARGIN,
    USAGE_PENDING_KEY,
    ClientGate,
    Outcome,
    StoredRecord,
    Throttle,
    bucket_key,
    local_last_used,
    local_usage,
    throttle_settings,
    usage_field,
)
from .local import LocalStore
from .scripts import (
    CLIENT_SCRIPT,
    COUNTED_SCRIPT,
    NEWEST_COMPLETE,
    NEWEST_STAMPS_KEY,
    RECORD_FILL_SCRIPT,
    STAMP_SCRIPT,
    THROTTLE_SCRIPT,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")


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
        self._record_fill = client.register_script(RECORD_FILL_SCRIPT)
        self._stamp_reads = local_cache("redis-stamp-reads", maxsize=100_000)

    def _available(self) -> bool:
        if redis_health.down:
            return False
        if local_usage or local_last_used:
            self._hand_back()
        return True

    def _call(self, call: Callable[[], T]) -> T | None:
        """One Redis call (a command, a script or a MULTI pipeline), or None when Redis is down or the call
        failed: the outage is remembered and the caller answers from `self.fallback`."""
        if not self._available():
            return None
        try:
            value = call()
        except redis.RedisError as exc:
            redis_health.failed(exc)
            return None
        redis_health.succeeded()
        return value

    def _script(self, script: Any, keys: list[Any], args: list[Any]) -> Any:
        """EVALSHA of a registered script on a pooled connection, without redis-py's command layers.

        `Script.__call__` goes through `evalsha`, `execute_command`, the retry wrapper and the reply
        parser's callbacks (none for EVALSHA): about 25 us of CPU per call, a third of the client's
        side of the round trip. The client is built with no retries (`core.redis`), so nothing is lost:
        a connection error disconnects and raises as in `Redis._execute_command`; a script the server
        no longer holds (a restart, SCRIPT FLUSH) goes through `Script.__call__`, which loads it."""
        pool = self.client.connection_pool
        connection = pool.get_connection()
        try:
            connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return connection.read_response()
        except redis.exceptions.NoScriptError:
            pass
        except (redis.ConnectionError, redis.TimeoutError):
            connection.disconnect()
            raise
        finally:
            pool.release(connection)
        return script(keys=keys, args=args)

    def _transaction(self, fill: Callable[[Any], None]) -> list[Any]:
        with self.client.pipeline(transaction=True) as pipe:
            fill(pipe)
            return list(pipe.execute())

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
        keys = [bucket_key(scope, ip_address), *stamp_keys]
        reply = self._call(lambda: self._script(self._throttle, keys, [*self._bucket_args(True), repr(since)]))
        if reply is not None:
            allowed, wait, stale = reply
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
        environment_id: int = 0,
    ) -> ClientGate:
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
            str(environment_id),
        ]
        reply = self._call(lambda: self._script(self._client_gate, keys, args))
        if reply is not None:
            outcome = Outcome(int(reply[0]))
            if len(reply) == 2:
                return ClientGate(outcome, float(reply[1]))
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
        return self.fallback.client_gate(
            client_id=client_id,
            secret_hash=secret_hash,
            scopes=scopes,
            day=day,
            throttle_scope=throttle_scope,
            ip_address=ip_address,
            count=count,
            environment_id=environment_id,
        )

    def token_counted(self, *, record: StoredRecord, day: str) -> float:
        keys = [USAGE_PENDING_KEY, LAST_USED_PENDING_KEY, RECORD_PREFIX + record.client_id]
        field = usage_field(day, record.application_id, record.platform, "tokens")
        args: list[Any] = [field, record.pk, int(record.last_used), LAST_USED_EVERY]
        last_used = self._call(lambda: self._script(self._counted, keys, args))
        if last_used is not None:
            return float(last_used)
        return self.fallback.token_counted(record=record, day=day)

    @staticmethod
    def _record_fields(record: StoredRecord) -> dict[str, Any]:
        return {
            "r": record.packed,
            "h": record.secret_hash,
            "w": repr(record.written_at),
            "a": record.application_id,
            "s": record.statement_jti,
            "p": record.platform.replace("|", ""),
            "sc": " " + " ".join(record.scopes) + " ",
            "lu": int(record.last_used),
            "pk": record.pk,
            "e": record.environment_id,
            **(
                {"h2": record.previous_secret_hash, "hx": repr(record.previous_secret_expires)}
                if record.previous_secret_hash
                else {}
            ),
        }

    def _record_commands(self, pipe: Any, record: StoredRecord) -> None:
        key = RECORD_PREFIX + record.client_id
        pipe.hset(key, mapping=self._record_fields(record))
        if not record.previous_secret_hash:
            # A record written over one that had a rotated secret must not keep it.
            pipe.hdel(key, "h2", "hx")
        pipe.expire(key, RECORD_TTL)

    def client_record_put(self, record: StoredRecord) -> None:
        self.client_records_put([record])

    def client_records_put(self, records: Sequence[StoredRecord]) -> None:
        """Write records, each whole (MULTI/EXEC: a reader never sees half a record)."""

        def fill(pipe: Any) -> None:
            for record in records:
                self._record_commands(pipe, record)

        if self._call(lambda: self._transaction(fill)) is not None:
            return
        for record in records:
            self.fallback.client_record_put(record)

    def client_record_fill(self, record: StoredRecord) -> None:
        """The read-through's write: only where the store has no record (one script call,
        `RECORD_FILL_SCRIPT`); the writes made after a commit (`client_records_put`) replace one."""
        args: list[Any] = [RECORD_TTL]
        for field, value in self._record_fields(record).items():
            args += [field, value]
        if self._call(lambda: self._record_fill(keys=[RECORD_PREFIX + record.client_id], args=args)) is None:
            self.fallback.client_record_fill(record)

    def client_registered(self, *, record: StoredRecord, day: str, application: str) -> None:
        field = usage_field(day, record.application_id, record.platform, "registrations")

        def fill(pipe: Any) -> None:
            self._record_commands(pipe, record)
            pipe.set(APPLICATION_PREFIX + record.application_id, application, ex=APPLICATION_TTL)
            pipe.hincrby(USAGE_PENDING_KEY, field)

        if self._call(lambda: self._transaction(fill)) is not None:
            return
        self.fallback.client_registered(record=record, day=day, application=application)

    def application_put(self, application_id: str, packed: str) -> None:
        if self._call(lambda: self.client.set(APPLICATION_PREFIX + application_id, packed, ex=APPLICATION_TTL)) is None:
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
        if self._call(lambda: self.client.hincrby(USAGE_PENDING_KEY, field, 1)) is None:
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
            ttl = float(dcr.revocation_stamp_cache)
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
        self.fallback.clear()
        self._stamp_reads.clear()


_UNREAD = object()
