"""Resetting the in-process state of the hot paths between tests: every bounded cache (one registry),
the store's in-process parts and counters, the memory of a Redis outage, and the signing-key caches."""

from core import clock
from core.hot_store import hot_store, local_last_used, local_usage
from core.local_caches import local_cache, local_caches_clear
from core.redis import redis_client, redis_health
from software_statements.keys import clear_key_caches


def hot_state_clear() -> None:
    local_caches_clear()
    store = hot_store()
    store.clear()
    local_usage.clear()
    local_last_used.clear()
    redis_health.reset()
    clear_key_caches()
    clock.reset()


def stamps_read(keys: list[str]) -> list[float | None]:
    """The stamps as the store holds them (Redis when configured, else this process)."""
    client = redis_client()
    if client is None:
        return [_local_stamp(key) for key in keys]
    return [float(value) if value is not None else None for value in client.mget(keys)]


def _local_stamp(key: str) -> float | None:
    value: float | None = local_cache("local-stamps").get(key)
    return value
