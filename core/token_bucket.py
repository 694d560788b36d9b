"""Token-bucket arithmetic (pure). The Redis Lua script in `core.hot_store` does exactly the same sums.

A bucket holds at most `burst` tokens and refills at `rate` tokens per second; a request takes one.
An empty bucket answers with how long until one token is back (the `Retry-After` of RFC 6585 4).
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BucketState:
    tokens: float
    updated_at: float


@dataclass(frozen=True)
class BucketDecision:
    allowed: bool
    state: BucketState
    retry_after: float

    @property
    def retry_after_header(self) -> str:
        return retry_after_header(self.retry_after)


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least 1 (RFC 9110 10.2.3: delay-seconds is a non-negative integer), at most a day."""
    if math.isinf(seconds) or seconds > 86400:
        return "86400"
    return str(max(1, math.ceil(seconds)))


def bucket_take(
    state: BucketState | None, *, now: float, rate: float, burst: float, cost: float = 1.0
) -> BucketDecision:
    """Take `cost` tokens at time `now`. A new bucket starts full; a clock going backwards refills nothing."""
    rate = max(0.0, rate)
    burst = max(0.0, burst)
    if state is None:
        tokens, updated_at = burst, now
    else:
        tokens, updated_at = state.tokens, state.updated_at
    elapsed = max(0.0, now - updated_at)
    tokens = min(burst, tokens + elapsed * rate)
    updated_at = max(now, updated_at)
    if tokens >= cost:
        return BucketDecision(True, BucketState(tokens - cost, updated_at), 0.0)
    retry_after = (cost - tokens) / rate if rate > 0 and burst >= cost else math.inf
    return BucketDecision(False, BucketState(tokens, updated_at), retry_after)


def bucket_idle_seconds(*, rate: float, burst: float) -> float:
    """How long until an untouched bucket is full again: after that its state can be forgotten."""
    if rate <= 0:
        return 86400.0
    return min(86400.0, burst / rate)
