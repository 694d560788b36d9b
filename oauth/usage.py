"""Usage counters: registrations and tokens issued per UTC day, application and platform.

The format, which the background flush (`oauth.usage_flush`) reads:

- Redis hash `PENDING_KEY` = "dcr:usage:pending";
- field `"{YYYY-MM-DD}|{application_uuid}|{platform}|{kind}"` with kind `registrations` or `tokens`
  (`usage_field` builds it, `usage_field_parse` reads it back; the platform may be "");
- value: a counter incremented with HINCRBY 1 per event. On the token path the increment happens inside
  the Lua script of `oauth.gate` (one round trip for throttle, stamps and usage).

Without REDIS_URL, or while Redis is unreachable, events go to `local_usage`, a thread-safe in-process
Counter keyed by the same field strings; the flush drains it with `local_usage.drain()` (and, after an
outage, whatever a worker kept there is flushed by that worker's next flush run).
"""

import datetime
import threading
import uuid
from collections import Counter
from typing import NamedTuple

PENDING_KEY = "dcr:usage:pending"
KINDS = ("registrations", "tokens")


class UsageField(NamedTuple):
    day: datetime.date
    application_id: uuid.UUID
    platform: str
    kind: str


def usage_field(*, day: datetime.date, application_id: object, platform: str, kind: str) -> str:
    """The hash field of one counter. `|` cannot occur in a platform code (a slug)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown usage kind {kind!r}.")
    return f"{day.isoformat()}|{application_id}|{platform.replace('|', '')}|{kind}"


def usage_field_today(*, application_id: object, platform: str, kind: str) -> str:
    return usage_field(
        day=datetime.datetime.now(datetime.UTC).date(), application_id=application_id, platform=platform, kind=kind
    )


def usage_field_parse(field: str | bytes) -> UsageField:
    """Read a field back; raises ValueError on anything that is not one of ours."""
    text = field.decode("utf-8") if isinstance(field, bytes) else field
    day, application_id, platform, kind = text.split("|")
    if kind not in KINDS:
        raise ValueError(f"Unknown usage kind {kind!r}.")
    return UsageField(datetime.date.fromisoformat(day), uuid.UUID(application_id), platform, kind)


class LocalUsageCounter:
    """The in-process fallback: a Counter of field -> count behind a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def increment(self, field: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[field] += amount

    def drain(self) -> dict[str, int]:
        """Take every pending count (they are gone from here afterwards)."""
        with self._lock:
            counts = dict(self._counts)
            self._counts.clear()
        return counts

    def restore(self, counts: dict[str, int]) -> None:
        """Put counts back, e.g. when a flush could not write them."""
        with self._lock:
            self._counts.update(counts)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


local_usage = LocalUsageCounter()
