"""The contract every hot-path store keeps (`LocalStore`, `RedisStore`, `ClusterStore`, and
`FallbackStore` around a shared one), checked by mypy where `hot_store()` returns one.

A shared store (Redis, Redis Cluster) raises `redis.RedisError` when it cannot answer; it never answers
from this process itself. `FallbackStore` turns those failures into `LocalStore`'s answers, so callers
never see one. `LocalStore` never raises.
"""

from collections.abc import Sequence
from typing import Protocol

from .base import ClientGate, StoredRecord, Throttle


class HotStore(Protocol):
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
        """Take a token from the IP's bucket of `scope` (unless not `bucket`); `stale` when a stamp of
        `stamp_keys` is at or after `since` (or the store cannot tell). With `quota_application`, and
        not stale, count a registration of that application against its registrations per hour
        (refused with `quota` when used up: nothing counted)."""
        ...

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
        """The token path's one question (throttle, record, stamps, secret, scope, counts)."""
        ...

    def token_counted(self, *, record: StoredRecord, day: str) -> float:
        """Count a token issued to `record`'s client; returns the client's last use now recorded.
        Raises `QuotaRefused` (nothing counted) when a token quota of its application is used up."""
        ...

    def client_record_put(self, record: StoredRecord) -> None: ...

    def client_records_put(self, records: Sequence[StoredRecord]) -> None:
        """Each record whole (a reader never sees half of one), replacing what is stored."""
        ...

    def client_record_fill(self, record: StoredRecord, *, count_day: str | None = None) -> float:
        """The read-through's write: only where no current record is stored; with `count_day`, a token
        issued to the client counted there too (as `token_counted`, in the same call). Returns the
        client's last use now recorded."""
        ...

    def client_registered(
        self, *, record: StoredRecord, day: str, application: str, network: str = "", foreign_platform: str = ""
    ) -> None:
        """A new client: its record, its application's part, the registration counted (for the abuse
        signals too: `network` it came from, the `foreign_platform` its X-Device-Info named)."""
        ...

    def application_put(self, application_id: str, packed: str) -> None: ...

    def quota_put(self, application_id: str, packed: str) -> None:
        """An application's quota values (`core.quotas.Quota.packed`), read by the scripts from now on."""
        ...

    def client_record_drop(self, client_id: str) -> None: ...

    def client_records_drop(self, client_ids: Sequence[str]) -> None: ...

    def count(self, field: str) -> None:
        """One usage event (`formats.usage_field`)."""
        ...

    def counts_add(self, usage: dict[str, float], last_used: dict[int, float]) -> None:
        """Counts kept elsewhere (in this process while the store was down) added to the store's."""
        ...

    def stamp_write(self, key: str, at: float) -> bool:
        """A revocation stamp (`core.revocation.stamp_key`), the newest kept; False when not published."""
        ...

    def revoked_since(self, keys: Sequence[str], since: float) -> int | None:
        """Index of the first key stamped at or after `since`, -1 for none, None when the store cannot
        tell (the caller asks the database)."""
        ...

    def newest_stamps_complete(self) -> None:
        """Every stamp there is went through `stamp_write` (a republish pass just finished)."""
        ...

    def stamps_prune(self, before: float) -> int:
        """Drop what the store keeps of stamps older than `before` that would not expire by itself
        (a periodic task calls it); returns how many entries it dropped."""
        ...

    def clear(self) -> None:
        """Forget what this process holds (tests)."""
        ...
