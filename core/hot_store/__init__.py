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

from core import process_state
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
    StoredRecord,
    Throttle,
    bucket_key,
    local_last_used,
    local_usage,
    usage_field,
)
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
    "HotStore",
    "LocalCounter",
    "LocalStore",
    "Outcome",
    "RedisStore",
    "StoredRecord",
    "Throttle",
    "bucket_key",
    "hot_store",
    "local_last_used",
    "local_usage",
    "usage_field",
]

HotStore = RedisStore | LocalStore


@process_state.memoized("hot-store", maxsize=1, settings=("REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_SERVICE"))
def hot_store() -> HotStore:
    """The store for this process's settings, chosen once (again after the Redis settings change in tests)."""
    client = redis_client()
    return RedisStore(client) if client is not None else LocalStore()
