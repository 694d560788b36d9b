"""JSON from outside (request bodies, JWS segments, X-Device-Info): bounded in depth and in the values
it accepts, so that no input can raise past the caller's ValueError handling.

Python's `json` accepts `NaN`, `Infinity` and numbers that overflow to infinity (`1e999`), none of which
JSON (RFC 8259 6) or PostgreSQL's jsonb allow, and it recurses once per nesting level, so a few KiB of
`[[[[...` raise RecursionError. `loads` refuses all of these with `UntrustedJSONError`, a ValueError.
"""

import json
import math
from collections.abc import Callable
from typing import Any

# Deeper than anything we produce or accept (statements and device info nest two or three levels).
MAX_DEPTH = 32
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPENING, _CLOSING = frozenset(b"[{"), frozenset(b"]}")


class UntrustedJSONError(ValueError):
    """Not JSON we accept: malformed, nested past MAX_DEPTH, or holding a non-finite number."""


def _constant(name: str) -> Any:
    raise UntrustedJSONError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UntrustedJSONError("the number is out of range")
    return value


def _nesting_exceeds(text: str, max_depth: int) -> bool:
    """Whether brackets outside strings nest deeper than `max_depth`. The bracket count alone settles
    almost every input (two C-level counts); only texts with many brackets are walked."""
    if text.count("[") + text.count("{") <= max_depth:
        return False
    data = text.encode("utf-8", "surrogatepass")
    depth = 0
    in_string = escaped = False
    for code in data:
        if in_string:
            if escaped:
                escaped = False
            elif code == _BACKSLASH:
                escaped = True
            elif code == _QUOTE:
                in_string = False
        elif code == _QUOTE:
            in_string = True
        elif code in _OPENING:
            depth += 1
            if depth > max_depth:
                return True
        elif code in _CLOSING:
            depth -= 1
    return False


def loads(
    text: str | bytes,
    *,
    max_depth: int = MAX_DEPTH,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """`json.loads` for untrusted text. Raises UntrustedJSONError (a ValueError) for anything refused,
    and lets a ValueError raised by `object_pairs_hook` through unchanged."""
    if isinstance(text, bytes):
        # RFC 8259 8.1: UTF-8 only (json.loads would also guess UTF-16 and UTF-32 from bytes).
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise UntrustedJSONError("not UTF-8") from None
    if _nesting_exceeds(text, max_depth):
        raise UntrustedJSONError("nested too deeply")
    try:
        return json.loads(
            text, parse_constant=_constant, parse_float=_finite_float, object_pairs_hook=object_pairs_hook
        )
    except RecursionError:  # unreachable after the depth check; kept so no input can escape as one
        raise UntrustedJSONError("nested too deeply") from None
