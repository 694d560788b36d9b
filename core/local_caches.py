"""Bounded in-process caches (LRU with a per-entry expiry), each registered in `core.process_state`.

Every bounded cache is made by `local_cache(name)`, a named registration in the process-state registry
(which empties them on `reset()` and on any settings change: keys, issuer and sizes live in settings).
A full cache evicts its least recently used entries one at a time (never everything at once), and an
entry past its expiry reads as missing. Thread-safe (the test live server runs threads; a sync worker
pays an uncontended lock).
"""

import threading
from typing import Any, Generic, TypeVar

from cachetools import LRUCache

from . import clock, process_state
from .conf import dcr

V = TypeVar("V")


class LocalCache(Generic[V]):
    def __init__(self, name: str, *, maxsize: int | None = None, ttl: float | None = None) -> None:
        self.name = name
        self.ttl = ttl
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._entries: LRUCache[Any, tuple[float, V]] = LRUCache(maxsize=self.maxsize)

    @property
    def maxsize(self) -> int:
        return self._maxsize or dcr.local_cache_entries

    def get(self, key: Any, default: Any = None) -> Any:
        with self._lock:
            entry: tuple[float, V] | None = self._entries.get(key)
            if entry is None:
                return default
            expires_at, value = entry
            if expires_at < clock.monotonic():
                del self._entries[key]
                return default
            return value

    def put(self, key: Any, value: V, ttl: float | None = None) -> None:
        ttl = self.ttl if ttl is None else ttl
        expires_at = float("inf") if ttl is None else clock.monotonic() + ttl
        with self._lock:
            self._entries[key] = (expires_at, value)

    def pop(self, key: Any) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries = LRUCache(maxsize=self.maxsize)

    def __len__(self) -> int:
        return len(self._entries)


def local_cache(name: str, *, maxsize: int | None = None, ttl: float | None = None) -> LocalCache[Any]:
    """The cache called `name`, registered in `core.process_state` (made on first use; the same object
    afterwards)."""
    cache: LocalCache[Any] | None = process_state.registered(name)
    if cache is None:
        made: LocalCache[Any] = LocalCache(name, maxsize=maxsize, ttl=ttl)
        cache = process_state.register(name, made, reset=made.clear, settings=process_state.ANY)
    return cache
