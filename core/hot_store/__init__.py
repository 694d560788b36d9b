"""The hot-path store: throttling, revocation stamps, usage and last-use counters, and client records.

Every store keeps one contract (`contract.HotStore`, a Protocol mypy checks). One is chosen at start
(`hot_store()`):
- `ClusterStore` (REDIS_CLUSTER_NODES set): Redis Cluster, each client's keys in one of `SHARDS` hash
  slots (`cluster_store.py` says where everything lives), inside `FallbackStore`.
- `RedisStore` (REDIS_URL set, directly or through Sentinel): one Redis, inside `FallbackStore`.
  A token request is ONE round trip with either: a Lua script takes a token from the client IP's
  bucket, reads the client's record, checks the stamps of its application, statement and client
  against the record's age, compares the secret's keyed hash, checks the requested scope, and counts
  the token and the client's use.
- `FallbackStore` (`fallback.py`): while the shared store is unreachable every call is answered by a
  `LocalStore`, for at most `RETRY_AFTER_FAILURE` seconds before the shared store is tried again.
- `LocalStore` (the embedded default, and that fallback): buckets, stamps, counters and records in
  this process. Records live a second, so a revocation made by another process (read from the
  database) is seen within a second; this process's own revocations at once.

The record's hash fields and the usage counters' field names are `formats.py`'s, beside the Lua
(`scripts.py`).

Client records are opaque here (`StoredRecord.packed`): `oauth` builds and reads them. Only active
clients are stored. Every call that can fail on Redis is one redis-py command or script on a pooled
connection: a failure disconnects that connection, so no reply is ever left for the next command.
"""

from core import process_state
from core.conf import dcr
from core.redis import redis_client

from .base import (
    APPLICATION_PREFIX,
    APPLICATION_TTL,
    LAST_USED_EVERY,
    LAST_USED_PENDING_KEY,
    LOCAL_RECORD_TTL,
    RECORD_PREFIX,
    STAMP_MARGIN,
    THROTTLE_PREFIX,
    USAGE_PENDING_KEY,
    ClientGate,
    LocalCounter,
    Outcome,
    QuotaRefusal,
    QuotaRefused,
    StoredRecord,
    Throttle,
    bucket_key,
    local_last_used,
    local_usage,
)
from .cluster_store import ClusterStore, cluster_connect
from .contract import HotStore
from .fallback import FallbackStore
from .formats import usage_field
from .local import LocalStore
from .redis_store import RedisStore
from .scripts import CLIENT_SCRIPT, COUNTED_SCRIPT, NEWEST_STAMPS_KEY, STAMP_SCRIPT, THROTTLE_SCRIPT

__all__ = [
    "APPLICATION_PREFIX",
    "APPLICATION_TTL",
    "CLIENT_SCRIPT",
    "COUNTED_SCRIPT",
    "LAST_USED_EVERY",
    "LAST_USED_PENDING_KEY",
    "LOCAL_RECORD_TTL",
    "NEWEST_STAMPS_KEY",
    "RECORD_PREFIX",
    "STAMP_MARGIN",
    "STAMP_SCRIPT",
    "THROTTLE_PREFIX",
    "THROTTLE_SCRIPT",
    "USAGE_PENDING_KEY",
    "ClientGate",
    "ClusterStore",
    "FallbackStore",
    "HotStore",
    "LocalCounter",
    "LocalStore",
    "Outcome",
    "QuotaRefusal",
    "QuotaRefused",
    "RedisStore",
    "StoredRecord",
    "Throttle",
    "bucket_key",
    "hot_store",
    "local_last_used",
    "local_usage",
    "usage_field",
]


@process_state.memoized(
    "hot-store", maxsize=1, settings=("REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_SERVICE", "REDIS_CLUSTER_NODES")
)
def hot_store() -> HotStore:
    """The store for this process's settings, chosen once (again after the Redis settings change in tests)."""
    nodes = dcr.redis_cluster_nodes
    if nodes:
        return FallbackStore(ClusterStore(cluster_connect(nodes)))
    client = redis_client()
    return FallbackStore(RedisStore(client)) if client is not None else LocalStore()
