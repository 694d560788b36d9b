"""The one clock of the hot paths: wall time (comparable across processes: revocation stamps, token
times, last use) and monotonic time (expiry inside this process). Callers use `clock.wall()` and
`clock.monotonic()` through the module, so a test can move time forward without sleeping."""

import datetime
import time

from . import process_state

# The offset stays a module global, not an attribute of a registered object: every hot-path call reads
# it, and a global load is the cheapest read there is. `reset` below is registered in core.process_state.
_offset = 0.0


def wall() -> float:
    return time.time() + _offset


def monotonic() -> float:
    return time.monotonic() + _offset


def advance(seconds: float) -> None:
    """Move both clocks forward (tests only: expiry without waiting)."""
    global _offset
    _offset += seconds


def reset() -> None:
    global _offset
    _offset = 0.0


process_state.register("clock-offset", None, reset=reset)


# (seconds, format, period number) -> the period's name: the hot paths name today (usage counters) and
# this hour (abuse signals) on every token request.
_period_names: dict[tuple[int, str, int], str] = process_state.register("utc-period-names", {})


def utc_period_name(moment: float, seconds: int, pattern: str) -> str:
    """The UTC period of `seconds` (a day, an hour) holding `moment`, as strftime writes its start with
    `pattern`; remembered per period."""
    key = (seconds, pattern, int(moment // seconds))
    name = _period_names.get(key)
    if name is None:
        name = datetime.datetime.fromtimestamp(key[2] * seconds, tz=datetime.UTC).strftime(pattern)
        if len(_period_names) >= 64:
            _period_names.clear()
        _period_names[key] = name
    return name
