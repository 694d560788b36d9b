"""What every hot-path store shares: key names, timings, the gate's answers, and the counters kept in
this process (usage and last use) that the flush drains."""

import threading
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from core import process_state
from core.conf import dcr

THROTTLE_PREFIX = "dcr:throttle"
RECORD_PREFIX = "dcr:client:"
# What a client's application grants in every token (programmer, channels): shared by all its clients,
# read again after APPLICATION_TTL so that a channel added to an "all channels" application shows up.
APPLICATION_PREFIX = "dcr:app:"
APPLICATION_TTL = 60
USAGE_PENDING_KEY = "dcr:usage:pending"
# Applications' quota values and counters (`core.quotas`; `scripts._QUOTA_LUA` says their form).
QUOTAS_KEY = "dcr:quotas"
QUOTA_COUNTS_KEY = "dcr:quota-counts"
# The quota windows, numbered as the scripts number them: (policy name, seconds).
QUOTA_WINDOWS = {1: ("tokens-hour", 3600), 2: ("tokens-day", 86400), 3: ("registrations-hour", 3600)}
TOKEN_WINDOWS = (1, 2)
REGISTRATION_WINDOWS = (3, 3)
LAST_USED_PENDING_KEY = "dcr:lastused:pending"
# A record written less than this before a stamp may have been read before the revocation committed.
STAMP_MARGIN = 5.0
# A client's use is recorded (for idle marking and purging, counted in days) at most this often.
LAST_USED_EVERY = 24 * 3600
# Records in this process (LocalStore) are read again from the database after this long.
LOCAL_RECORD_TTL = 1.0


class Outcome(IntEnum):
    """What the client gate found (the integer is the Lua script's first reply)."""

    THROTTLED = 0
    MISSING = 1  # no record stored (or one of another environment): read the database
    STALE = 2  # a stamp is newer than the record: read the database
    UNVERIFIED = 3  # the secret's hash under the current key does not match: check it in Python
    SCOPE = 4  # authenticated, but the requested scope exceeds the client's
    PASSED = 5  # authenticated; counted when counting was asked
    QUOTA = 6  # authenticated, but a token quota of its application is used up: nothing counted


@dataclass(frozen=True)
class QuotaRefusal:
    """A quota window used up (`QUOTA_WINDOWS`): its limit, and seconds until it resets."""

    window: int
    limit: int
    retry_after: float


class QuotaRefused(Exception):
    """`token_counted` found a token quota used up (nothing counted)."""

    def __init__(self, refusal: QuotaRefusal) -> None:
        super().__init__("quota")
        self.refusal = refusal


@dataclass(frozen=True)
class StoredRecord:
    client_id: str
    pk: int
    packed: str
    # What the gate compares with the caller's candidate (opaque here; `oauth.hashers` makes both).
    secret_hash: bytes
    application_id: str
    statement_jti: str
    platform: str
    scopes: tuple[str, ...]
    written_at: float
    last_used: float = 0.0
    # The environment whose API may authenticate the client (0: unknown, never matches).
    environment_id: int = 0
    # The hash of the secret a rotation replaced (same form as `secret_hash`) and until when (wall clock,
    # seconds) it still authenticates; empty and 0 when there is none.
    previous_secret_hash: bytes = b""
    previous_secret_expires: float = 0.0
    # The application's quota values as read from the database (`core.quotas.Quota.packed`; "" when
    # not read): `LocalStore` counts against them, the shared stores read their own copy.
    quota: str = ""


@dataclass(frozen=True)
class ClientGate:
    outcome: Outcome
    retry_after: float = 0.0
    packed: str | None = None
    secret_hash: bytes = b""
    application_id: str = ""
    statement_jti: str = ""
    last_used: float = 0.0
    # The record's application, as `application_put` stored it (None when not stored).
    application: str | None = None
    previous_secret_hash: bytes = b""
    previous_secret_expires: float = 0.0
    quota: QuotaRefusal | None = None  # Outcome.QUOTA


@dataclass(frozen=True)
class Throttle:
    allowed: bool
    retry_after: float = 0.0
    # Whether a stamp of `stamp_keys` is at or after `since` (or the store cannot tell).
    stale: bool = True
    # Refused because the application's registrations per hour are used up.
    quota: QuotaRefusal | None = None
    # Whether this call counted a registration of `quota_application`.
    quota_counted: bool = False


def throttle_settings() -> tuple[float, float]:
    return float(dcr.throttle_rate), float(dcr.throttle_burst)


def quota_defaults() -> str:
    """The settings' quotas as the scripts take them: "<tokens/hour> <tokens/day> <registrations/hour>"."""
    return f"{int(dcr.quota_tokens_per_hour)} {int(dcr.quota_tokens_per_day)} {int(dcr.quota_registrations_per_hour)}"


def quota_limits(packed: str) -> list[int]:
    """An application's limits (`core.quotas.Quota.packed`, "" for none), the defaults where unset."""
    limits = [int(value) for value in quota_defaults().split()]
    for index, value in enumerate(packed.split()[:3]):
        if value.isdigit():
            limits[index] = int(value)
    return limits


class LocalQuotas:
    """`_QUOTA_LUA` in this process (`LocalStore`): fixed windows counted per application."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], tuple[int, int]] = {}

    def take(self, application_id: str, packed: str, windows: tuple[int, int], now: float) -> QuotaRefusal | None:
        limits = quota_limits(packed)
        with self._lock:
            taken = []
            for window in range(windows[0], windows[1] + 1):
                limit = limits[window - 1]
                if limit <= 0:
                    continue
                seconds = QUOTA_WINDOWS[window][1]
                index = int(now // seconds)
                held_index, count = self._counts.get((application_id, window), (index, 0))
                count = count if held_index == index else 0
                if count >= limit:
                    return QuotaRefusal(window, limit, (index + 1) * seconds - now)
                taken.append(((application_id, window), (index, count + 1)))
            self._counts.update(taken)
        return None

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


def bucket_key(scope: str, ip_address: str | None) -> str:
    return f"{THROTTLE_PREFIX}:{scope}:{ip_address or 'unknown'}"


# --- Counters kept in this process -----------------------------------------------------------------


class LocalCounter:
    """A thread-safe Counter that a flush drains (usage fields, or client pk -> last use)."""

    def __init__(self, *, keep_max: bool = False) -> None:
        self._lock = threading.Lock()
        self._values: dict[Any, float] = {}
        self._keep_max = keep_max

    def increment(self, key: Any, amount: float = 1) -> None:
        with self._lock:
            if self._keep_max:
                self._values[key] = max(self._values.get(key, 0), amount)
            else:
                self._values[key] = self._values.get(key, 0) + amount

    def drain(self) -> dict[Any, Any]:
        with self._lock:
            values = dict(self._values)
            self._values.clear()
        return values

    def restore(self, values: dict[Any, Any]) -> None:
        for key, value in values.items():
            self.increment(key, value)

    def snapshot(self) -> dict[Any, Any]:
        with self._lock:
            return dict(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __bool__(self) -> bool:
        return bool(self._values)


local_usage = process_state.register("local-usage", LocalCounter())
local_last_used = process_state.register("local-last-used", LocalCounter(keep_max=True))
