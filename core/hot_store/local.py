"""The store in this process: the embedded default (no Redis), and `FallbackStore`'s answer while the
shared store is down."""

import threading
from collections.abc import Sequence

from core import clock
from core.local_caches import local_cache
from core.revocation import RECORD_TTL, Revoked, stamp_key, stamp_lifetime
from core.token_bucket import BucketState, bucket_idle_seconds, bucket_take

from .base import (
    APPLICATION_TTL,
    LAST_USED_EVERY,
    LOCAL_RECORD_TTL,
    REGISTRATION_WINDOWS,
    STAMP_MARGIN,
    TOKEN_WINDOWS,
    ClientGate,
    LocalQuotas,
    Outcome,
    QuotaRefused,
    StoredRecord,
    Throttle,
    bucket_key,
    local_last_used,
    local_usage,
    throttle_settings,
)
from .formats import usage_field
from .signal_counts import local_registration_count, local_signals, signal_hour, statement_prefix

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
        # client id -> the hour of its first token, "-" after its second (`signal_counts`).
        self._first_tokens = local_cache("local-first-tokens", ttl=RECORD_TTL)
        # Quota values this process published (`quota_put`), for registrations; a token counts against
        # its record's (read from the database with the record, so within LOCAL_RECORD_TTL of a change).
        self._quotas = local_cache("local-quotas", ttl=LOCAL_RECORD_TTL)
        self.quota_counts = LocalQuotas()

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
        self,
        *,
        scope: str,
        ip_address: str | None,
        stamp_keys: Sequence[str] = (),
        since: float = 0,
        quota_application: str = "",
        bucket: bool = True,
    ) -> Throttle:
        wait = self._take(scope, ip_address) if bucket else None
        if wait is not None:
            return Throttle(False, wait)
        if quota_application:
            packed = self._quotas.get(quota_application) or ""
            refusal = self.quota_counts.take(quota_application, packed, REGISTRATION_WINDOWS, clock.wall())
            if refusal is not None:
                return Throttle(False, refusal.retry_after, True, quota=refusal)
        # Another process's revocation is only in the database: the caller must check there.
        return Throttle(True, 0.0, True, quota_counted=bool(quota_application))

    # Stamps
    def stamp_write(self, key: str, at: float) -> bool:
        current = self._stamps.get(key)
        if current is None or current < at:
            self._stamps.put(key, at, ttl=stamp_lifetime())
        return True

    def newest_stamps_complete(self) -> None:
        return None

    def stamps_prune(self, before: float) -> int:
        """Nothing to drop: stamps expire from this process's cache (`stamp_lifetime`)."""
        del before
        return 0

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
        with self._lock:
            self._records.put(record.client_id, record)

    def client_record_fill(self, record: StoredRecord, *, count_day: str | None = None) -> float:
        """The read-through's write: only where no record is (as `RECORD_FILL_SCRIPT` in Redis), so a
        record written after a commit while the read was in flight stays; with `count_day`, the token
        counted (`token_counted`). Returns the last use."""
        with self._lock:
            if self._records.get(record.client_id) is None:
                self._records.put(record.client_id, record)
        return self.token_counted(record=record, day=count_day) if count_day else record.last_used

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
        environment_id: int = 0,
    ) -> ClientGate:
        if throttle_scope is not None:
            wait = self._take(throttle_scope, ip_address)
            if wait is not None:
                return ClientGate(Outcome.THROTTLED, wait)
        record: StoredRecord | None = self._records.get(client_id)
        if record is None or record.environment_id != environment_id:
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
            "previous_secret_hash": record.previous_secret_hash,
            "previous_secret_expires": record.previous_secret_expires,
        }
        if record.secret_hash != secret_hash and not _previous_secret_passes(record, secret_hash):
            return ClientGate(Outcome.UNVERIFIED, last_used=record.last_used, **found)
        if scopes is not None and not set(scopes) <= set(record.scopes):
            return ClientGate(Outcome.SCOPE, last_used=record.last_used, **found)
        last_used = record.last_used
        if count:
            try:
                last_used = self.token_counted(record=record, day=day)
            except QuotaRefused as refused:
                return ClientGate(Outcome.QUOTA, refused.refusal.retry_after, quota=refused.refusal)
        return ClientGate(Outcome.PASSED, last_used=last_used, **found)

    def application_put(self, application_id: str, packed: str) -> None:
        self._applications.put(application_id, packed)

    def _first_tokens_count(self, record: StoredRecord) -> None:
        """The signals' first and second token of a client (as `scripts._SIGNALS_TOKEN_LUA`)."""
        with self._lock:
            first = self._first_tokens.get(record.client_id)
            if first == "-":
                return
            self._first_tokens.put(record.client_id, signal_hour() if first is None else "-")
        if first is None:
            local_signals.increment(
                statement_prefix(signal_hour(), record.application_id, record.statement_jti) + "first"
            )
        else:
            local_signals.increment(statement_prefix(first, record.application_id, record.statement_jti) + "second")

    def quota_put(self, application_id: str, packed: str) -> None:
        self._quotas.put(application_id, packed)

    def token_counted(self, *, record: StoredRecord, day: str) -> float:
        """Count a token issued to `record`'s client and record its use; returns the last use now known.
        Raises `QuotaRefused` (nothing counted) when a token quota of its application is used up."""
        packed = self._quotas.get(record.application_id) or record.quota
        refusal = self.quota_counts.take(record.application_id, packed, TOKEN_WINDOWS, clock.wall())
        if refusal is not None:
            raise QuotaRefused(refusal)
        local_usage.increment(usage_field(day, record.application_id, record.platform, "tokens"))
        self._first_tokens_count(record)
        now = clock.wall()
        if now - record.last_used < LAST_USED_EVERY:
            return record.last_used
        local_last_used.increment(record.pk, int(now))
        with self._lock:  # never a record read before another write put back over it
            stored = self._records.get(record.client_id)
            if stored is not None:
                self._records.put(record.client_id, _with_last_used(stored, now))
        return now

    def client_registered(
        self, *, record: StoredRecord, day: str, application: str, network: str = "", foreign_platform: str = ""
    ) -> None:
        """A new client: its record, its application's part, and the registration counted."""
        local_usage.increment(usage_field(day, record.application_id, record.platform, "registrations"))
        local_registration_count(
            application_id=record.application_id,
            statement_jti=record.statement_jti,
            network=network,
            foreign_platform=foreign_platform.replace("|", ""),
        )
        self.client_record_put(record)
        self.application_put(record.application_id, application)

    def count(self, field: str) -> None:
        local_usage.increment(field)

    def counts_add(self, usage: dict[str, float], last_used: dict[int, float]) -> None:
        local_usage.restore(usage)
        local_last_used.restore(last_used)

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()
        self._stamps.clear()
        self._records.clear()
        self._applications.clear()
        self._first_tokens.clear()
        self._quotas.clear()
        self.quota_counts.clear()


def _previous_secret_passes(record: StoredRecord, secret_hash: bytes) -> bool:
    """The secret a rotation replaced, still within its grace period (the Lua gate's 'h2' and 'hx')."""
    return (
        bool(record.previous_secret_hash)
        and record.previous_secret_hash == secret_hash
        and clock.wall() < record.previous_secret_expires
    )


def _with_last_used(record: StoredRecord, at: float) -> StoredRecord:
    return StoredRecord(**{**record.__dict__, "last_used": at})
