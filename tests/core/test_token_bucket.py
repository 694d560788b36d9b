"""The token-bucket arithmetic (pure), and the Redis Lua script that must agree with it."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.hot_store import THROTTLE_SCRIPT
from core.redis import redis_client
from core.token_bucket import BucketDecision, BucketState, bucket_idle_seconds, bucket_take

rates = st.floats(min_value=0.01, max_value=1000, allow_nan=False)
bursts = st.floats(min_value=1, max_value=1000, allow_nan=False)


def test_new_bucket_allows_exactly_burst_requests_at_once():
    state = None
    allowed = 0
    for _ in range(15):
        decision = bucket_take(state, now=100.0, rate=1.0, burst=10.0)
        state = decision.state
        allowed += decision.allowed
    assert allowed == 10


def test_empty_bucket_says_when_one_token_is_back():
    state = BucketState(tokens=0.25, updated_at=100.0)
    decision = bucket_take(state, now=100.0, rate=0.5, burst=10.0)
    assert not decision.allowed
    assert decision.retry_after == pytest.approx(1.5)
    assert decision.retry_after_header == "2"


def test_refill_is_rate_times_elapsed_capped_at_burst():
    state = BucketState(tokens=0.0, updated_at=100.0)
    assert bucket_take(state, now=102.5, rate=2.0, burst=10.0).state.tokens == pytest.approx(4.0)
    assert bucket_take(state, now=1000.0, rate=2.0, burst=10.0).state.tokens == pytest.approx(9.0)


def test_clock_going_backwards_refills_nothing_and_keeps_the_later_time():
    state = BucketState(tokens=0.5, updated_at=100.0)
    decision = bucket_take(state, now=90.0, rate=1.0, burst=10.0)
    assert not decision.allowed
    assert decision.state == BucketState(0.5, 100.0)


def test_zero_rate_never_refills_and_retry_after_is_capped():
    decision = bucket_take(BucketState(0.0, 0.0), now=10.0, rate=0.0, burst=10.0)
    assert not decision.allowed
    assert math.isinf(decision.retry_after)
    assert decision.retry_after_header == "86400"


def test_burst_below_one_never_allows():
    assert not bucket_take(None, now=0.0, rate=5.0, burst=0.5).allowed


def test_retry_after_header_is_at_least_one_second():
    assert BucketDecision(False, BucketState(0, 0), 0.01).retry_after_header == "1"


def test_idle_seconds_is_time_to_refill():
    assert bucket_idle_seconds(rate=2.0, burst=10.0) == 5.0
    assert bucket_idle_seconds(rate=0.0, burst=10.0) == 86400.0


@given(rate=rates, burst=bursts, times=st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=40))
def test_never_more_than_burst_plus_rate_times_elapsed(rate, burst, times):
    times = sorted(times)
    state = None
    allowed = 0
    for now in times:
        decision = bucket_take(state, now=now, rate=rate, burst=burst)
        state = decision.state
        allowed += decision.allowed
        assert 0 <= state.tokens <= burst
    assert allowed <= math.floor(burst + rate * (times[-1] - times[0]) + 1e-6)


@given(rate=rates, burst=bursts, wait=st.floats(min_value=0, max_value=50))
def test_waiting_retry_after_is_enough(rate, burst, wait):
    state = BucketState(tokens=0.0, updated_at=0.0)
    decision = bucket_take(state, now=0.0, rate=rate, burst=burst)
    assert not decision.allowed
    later = bucket_take(decision.state, now=decision.retry_after + 1e-9, rate=rate, burst=burst)
    assert later.allowed


@settings(max_examples=60, deadline=None)
@given(
    rate=st.sampled_from([0.5, 1.0, 3.0, 100.0]),
    burst=st.sampled_from([1.0, 2.0, 10.0]),
    tokens=st.floats(min_value=0, max_value=10),
    elapsed=st.floats(min_value=0, max_value=20),
)
def test_lua_script_agrees_with_the_pure_arithmetic(rate, burst, tokens, elapsed):
    """The script in Redis and bucket_take give the same answer from the same state."""
    connection = redis_client()
    if connection is None:
        pytest.skip("needs REDIS_URL")

    tokens = min(tokens, burst)
    seconds, microseconds = connection.time()
    server_now = seconds + microseconds / 1e6
    key = "dcr:throttle:test:lua"
    connection.set(key, f"{tokens!r} {server_now - elapsed!r}")
    script = connection.register_script(THROTTLE_SCRIPT)
    # KEYS[2..3] the quotas' (none asked: ARGV[6] is ''); ARGV[5] since, ARGV[6..8] quota application,
    # defaults, shards (core.hot_store.scripts.THROTTLE_SCRIPT).
    quota_keys = ["dcr:throttle:test:quotas", "dcr:throttle:test:quota-counts"]
    allowed, retry_after, _ = script(keys=[key, *quota_keys], args=[rate, burst, 10000, "1", 0, "", "", 1])
    stored_tokens, _ = connection.get(key).split()
    after = {"tokens": float(stored_tokens)}
    connection.delete(key)

    expected = bucket_take(BucketState(tokens, server_now - elapsed), now=server_now, rate=rate, burst=burst)
    # Redis's clock moved on a little between the two calls: allow for a few milliseconds of refill.
    slack = rate * 0.05
    if abs(min(burst, tokens + elapsed * rate) - 1) > slack:
        assert bool(allowed) == expected.allowed
        if expected.allowed:
            assert after["tokens"] == pytest.approx(expected.state.tokens, abs=slack)
        else:
            assert float(retry_after) == pytest.approx(expected.retry_after, abs=slack / rate + 1e-3)
