"""The one clock of the hot paths: wall time (comparable across processes: revocation stamps, token
times, last use) and monotonic time (expiry inside this process). Callers use `clock.wall()` and
`clock.monotonic()` through the module, so a test can move time forward without sleeping."""

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
