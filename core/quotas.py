"""Per-application quotas (README "Quotas"): tokens per hour and per day, registrations per hour.

An application's own values live in the database (`registered_apps`); the hot-path store keeps a copy
(`hot_store.base.QUOTAS_KEY`, a field per application) that the token and registration scripts read in
the round trip they make anyway. The copy is `"<tokens/hour> <tokens/day> <registrations/hour>"`, each
an integer or `-` for the settings' default (DCR_QUOTA_*, passed with every call, so a changed default
needs no rewrite); 0 is no limit. It is written when a TAM changes a value, once the change commits, so
every worker's next request counts against it; the periodic stamps republish writes every application's
own values again (a Redis that lost its data has them back within a minute).

Windows are fixed: the UTC hour and the UTC day, counted per application in the store
(`hot_store.scripts._QUOTA_LUA`). `LocalStore` counts in this process, against the values read with the
client's record from the database (at most `LOCAL_RECORD_TTL` old).
"""

from dataclasses import dataclass

from django.db import transaction

from .conf import dcr
from .hot_store import hot_store

UNSET = "-"
HOUR = 3600
DAY = 86400
# The windows, in the order of the scripts' replies: (policy name, seconds).
WINDOWS = {"tokens_hour": ("hour", HOUR), "tokens_day": ("day", DAY), "registrations_hour": ("hour", HOUR)}


@dataclass(frozen=True)
class Quota:
    """An application's own values; None is the settings' default, 0 no limit."""

    tokens_per_hour: int | None = None
    tokens_per_day: int | None = None
    registrations_per_hour: int | None = None

    def packed(self) -> str:
        return " ".join(
            UNSET if value is None else str(int(value))
            for value in (self.tokens_per_hour, self.tokens_per_day, self.registrations_per_hour)
        )

    def effective(self) -> "Quota":
        """Every value resolved against the settings' defaults."""
        return Quota(
            tokens_per_hour=_or(self.tokens_per_hour, dcr.quota_tokens_per_hour),
            tokens_per_day=_or(self.tokens_per_day, dcr.quota_tokens_per_day),
            registrations_per_hour=_or(self.registrations_per_hour, dcr.quota_registrations_per_hour),
        )


def _or(value: int | None, default: int) -> int:
    return int(default) if value is None else int(value)


def quota_unpack(packed: str | None) -> Quota:
    """The inverse of `Quota.packed` (None or anything unreadable: every default)."""
    parts = (packed or "").split()
    if len(parts) != 3:
        return Quota()
    values = [None if part == UNSET or not part.isdigit() else int(part) for part in parts]
    return Quota(tokens_per_hour=values[0], tokens_per_day=values[1], registrations_per_hour=values[2])


def quota_publish(application_id: str, quota: Quota) -> None:
    """Write the store's copy once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: hot_store().quota_put(str(application_id), quota.packed()))
