"""Bounded in-process caches (LRU with a per-entry expiry) and the one registry that clears them all.

Every cache of the hot paths is made here: a full cache evicts its least recently used entries one at
a time (never everything at once), and an entry past its expiry reads as missing. `local_caches_clear`
is the one reset, used by the tests and on Django's `setting_changed`. Thread-safe (the test live
server runs threads; a sync gunicorn worker pays an uncontended lock).
"""

import threading
from typing import Any, Generic, TypeVar

from cachetools import LRUCache
from django.conf import settings
from django.core.signals import setting_changed

from . import clock

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
        return self._maxsize or int(settings.DCR_LOCAL_CACHE_ENTRIES)

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


_registry: dict[str, LocalCache[Any]] = {}


def local_cache(name: str, *, maxsize: int | None = None, ttl: float | None = None) -> LocalCache[Any]:
    """The cache called `name` (made on first use; the same object afterwards)."""
    cache = _registry.get(name)
    if cache is None:
        cache = _registry[name] = LocalCache(name, maxsize=maxsize, ttl=ttl)
    return cache


def local_caches_clear() -> None:
    """Empty every cache (tests, and any settings change: keys, issuer and sizes live in settings)."""
    for cache in _registry.values():
        cache.clear()


def _on_setting_changed(**kwargs: Any) -> None:
    local_caches_clear()


setting_changed.connect(_on_setting_changed, dispatch_uid="dcr-local-caches")
