"""Resetting this process's state between tests: every holder registered in `core.process_state`
(the bounded caches, the hot store, the usage counters, the memory of a Redis outage, the signing-key
caches, the clock's offset, the Redis clients, ...)."""

from core import process_state
from core.local_caches import local_cache
from core.redis import redis_client


def hot_state_clear() -> None:
    process_state.reset()


def stamps_read(keys: list[str]) -> list[float | None]:
    """The stamps as the store holds them (Redis when configured, else this process)."""
    client = redis_client()
    if client is None:
        return [_local_stamp(key) for key in keys]
    return [float(value) if value is not None else None for value in client.mget(keys)]


def _local_stamp(key: str) -> float | None:
    value: float | None = local_cache("local-stamps").get(key)
    return value
