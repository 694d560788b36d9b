"""`FallbackStore`: any shared store (`RedisStore`, `ClusterStore`), answered by `LocalStore` while it
cannot be reached.

A failed call (`redis.RedisError`) is remembered (`core.redis.redis_health`): for `RETRY_AFTER_FAILURE`
seconds every call is answered by the fallback without trying the shared store, so requests do not each
wait for a timeout. Counts the fallback kept meanwhile (`local_usage`, `local_last_used`) go to the
shared store at its first call after it answers again, so that the flush (which may run in another
process) counts them. Writes that a later read must see (stamps, dropped records) also go to the
fallback, whatever the shared store answered.
"""

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

import redis

from core.redis import redis_health

from .base import ClientGate, StoredRecord, Throttle, local_last_used, local_usage
from .contract import HotStore
from .local import LocalStore

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _failed(exc: redis.RedisError) -> None:
    """Remember an outage; not when one slot is moving (Redis Cluster answers TRYAGAIN to a script whose
    keys are not all on one side until the move completes, and redis-py gives up with ClusterError):
    then only this call is answered by the fallback."""
    if type(exc) is redis.exceptions.ClusterError or isinstance(exc, redis.exceptions.TryAgainError):
        return
    redis_health.failed(exc)


class FallbackStore:
    def __init__(self, primary: HotStore, fallback: LocalStore | None = None) -> None:
        self.primary = primary
        self.fallback = fallback or LocalStore()
        # Whether this outage's quota counting in this process was logged (once per outage).
        self._quota_logged = False

    def _counting_here(self) -> None:
        """Quotas counted by the fallback: each process counts its own, so an application may get up to
        its quota from every process while the shared store is down. Said once per outage."""
        if not self._quota_logged:
            self._quota_logged = True
            logger.warning(
                "quotas counted in this process only while Redis is unreachable: approximate "
                "(each process allows an application its whole quota)"
            )

    def _usable(self) -> bool:
        if redis_health.down:
            return False
        if self._quota_logged:
            self._quota_logged = False
        if local_usage or local_last_used:
            self._hand_back()
        return True

    def _hand_back(self) -> None:
        usage, last_used = local_usage.drain(), local_last_used.drain()
        try:
            self.primary.counts_add(usage, last_used)
        except redis.RedisError as exc:
            local_usage.restore(usage)
            local_last_used.restore(last_used)
            _failed(exc)

    def _either(self, call: Callable[[HotStore], T], *, counting: bool = False) -> T:
        """`call` on the shared store; on this process's fallback while the shared store is down or when
        the call fails (the failure remembered: `_failed`). `counting`: the call counts against a quota,
        which the fallback then does for this process alone (`_counting_here`)."""
        if self._usable():
            try:
                found = call(self.primary)
            except redis.RedisError as exc:
                _failed(exc)
            else:
                redis_health.succeeded()
                return found
        if counting:
            self._counting_here()
        return call(self.fallback)

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
        return self._either(
            lambda store: store.throttle(
                scope=scope,
                ip_address=ip_address,
                stamp_keys=stamp_keys,
                since=since,
                quota_application=quota_application,
                bucket=bucket,
            ),
            counting=bool(quota_application),
        )

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
        return self._either(
            lambda store: store.client_gate(
                client_id=client_id,
                secret_hash=secret_hash,
                scopes=scopes,
                day=day,
                throttle_scope=throttle_scope,
                ip_address=ip_address,
                count=count,
                environment_id=environment_id,
            ),
            counting=count,
        )

    def token_counted(self, *, record: StoredRecord, day: str) -> float:
        return self._either(lambda store: store.token_counted(record=record, day=day), counting=True)

    def client_record_put(self, record: StoredRecord) -> None:
        self.client_records_put([record])

    def client_records_put(self, records: Sequence[StoredRecord]) -> None:
        self._either(lambda store: store.client_records_put(records))

    def client_record_fill(self, record: StoredRecord, *, count_day: str | None = None) -> float:
        return self._either(
            lambda store: store.client_record_fill(record, count_day=count_day), counting=count_day is not None
        )

    def client_registered(
        self, *, record: StoredRecord, day: str, application: str, network: str = "", foreign_platform: str = ""
    ) -> None:
        self._either(
            lambda store: store.client_registered(
                record=record, day=day, application=application, network=network, foreign_platform=foreign_platform
            )
        )

    def application_put(self, application_id: str, packed: str) -> None:
        self._either(lambda store: store.application_put(application_id, packed))

    def client_record_drop(self, client_id: str) -> None:
        """Called after a revocation commits; the stamp written with it covers a failure here."""
        self.client_records_drop([client_id])

    def client_records_drop(self, client_ids: Sequence[str]) -> None:
        """After a revocation or a purge commits: gone from both, tried even while the shared store
        seemed down. A revocation's stamp covers a failure; a purged client's record has expired."""
        self.fallback.client_records_drop(client_ids)
        if not client_ids:
            return
        try:
            self.primary.client_records_drop(client_ids)
        except redis.RedisError as exc:
            _failed(exc)

    def count(self, field: str) -> None:
        self._either(lambda store: store.count(field))

    def counts_add(self, usage: dict[str, float], last_used: dict[int, float]) -> None:
        self.fallback.counts_add(usage, last_used)  # handed to the shared store by the next call

    def stamp_write(self, key: str, at: float) -> bool:
        """This process knows the stamp at once; the shared store is tried even while it seemed down.
        False, logged, when it cannot be reached: the others read the database, and a periodic task
        writes the stamp again."""
        self.fallback.stamp_write(key, at)
        try:
            self.primary.stamp_write(key, at)
        except redis.RedisError as exc:
            _failed(exc)
            logger.warning("revocation stamp %s not published: Redis unreachable (%s)", key, type(exc).__name__)
            return False
        return True

    def revoked_since(self, keys: Sequence[str], since: float) -> int | None:
        return self._either(lambda store: store.revoked_since(keys, since))

    def newest_stamps_complete(self) -> None:
        try:
            self.primary.newest_stamps_complete()
        except redis.RedisError as exc:
            _failed(exc)

    def stamps_prune(self, before: float) -> int:
        """The shared store's (this process's own stamps expire); 0 when it cannot be reached (the next
        run prunes)."""
        try:
            return self.primary.stamps_prune(before)
        except redis.RedisError as exc:
            _failed(exc)
            return 0

    def quota_put(self, application_id: str, packed: str) -> None:
        """Known here at once, and tried on the shared store even while it seemed down (as a stamp)."""
        self.fallback.quota_put(application_id, packed)
        try:
            self.primary.quota_put(application_id, packed)
        except redis.RedisError as exc:
            _failed(exc)
            logger.warning(
                "quota of application %s not published: Redis unreachable (%s)", application_id, type(exc).__name__
            )

    def clear(self) -> None:
        self.fallback.clear()
        self.primary.clear()
