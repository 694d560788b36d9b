"""Usage counters: registrations and tokens issued per UTC day, application and platform.

The format, which the background flush (`oauth.usage_flush`) reads:

- Redis hash `PENDING_KEY` = "dcr:usage:pending";
- field `"{YYYY-MM-DD}|{application_uuid}|{platform}|{kind}"` with kind `registrations` or `tokens`
  (`usage_field` builds it, `usage_field_parse` reads it back; the platform may be "");
- value: a counter incremented with HINCRBY 1 per event. On the token path the increment happens inside
  the client gate's Lua script (`core.hot_store`: one round trip for throttle, record, stamps, secret,
  scope, usage and last use), which builds the same field.

Without REDIS_URL, or while Redis is unreachable, events go to `local_usage` (`core.hot_store`), a
thread-safe in-process counter keyed by the same field strings; the flush drains it (and, after an
outage, whatever a worker kept there is flushed by that worker's next flush run).
"""

import datetime
import uuid
from typing import NamedTuple

from core import clock
from core.hot_store import USAGE_PENDING_KEY as PENDING_KEY
from core.hot_store import LocalCounter as LocalUsageCounter
from core.hot_store import local_usage

__all__ = ["KINDS", "PENDING_KEY", "LocalUsageCounter", "UsageField", "local_usage", "usage_field", "usage_field_parse"]

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


def usage_day() -> str:
    """Today in UTC, as the usage counters name days."""
    return clock.utc_period_name(clock.wall(), 86400, "%Y-%m-%d")
