"""The one registry of this process's state: every in-process cache, memoised client and singleton.

Each holder is made through a named registration here, and `reset()` puts all of them back as a fresh
process has them (the tests call it between tests: `tests/hot_state.py`). Registering changes nothing
on the hot paths: what a registration returns is the holder itself (a `core.local_caches.LocalCache`,
a `functools.lru_cache` function, or the caller's own object), so a read stays a dict lookup or an
attribute read; the registry is only walked by `reset()` and on Django's `setting_changed`.

- `memoized(name, maxsize=..., settings=...)`: a decorator, `functools.lru_cache` registered under `name`
  (clients and keyrings keyed by the settings they are made from; a singleton is `maxsize=1` with no
  arguments). It is also cleared when one of `settings` changes (`override_settings` in tests).
- `register(name, holder, reset=..., settings=...)`: any other holder (counters, the memory of a Redis
  outage, the signing-key caches, the clock's offset); `reset` is what puts it back (the holder's
  `clear` unless given). `settings=ANY` resets it on every settings change (the bounded caches: keys,
  issuer and sizes live in settings; `core.conf.dcr`).
- `registered(name)`: the holder registered under `name` (`core.local_caches.local_cache` gets or makes
  a cache through it).

A name is registered once per process; registering it again returns the holder already registered
(a module imported twice under two names must not split its state).
"""

import functools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from django.core.signals import setting_changed

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

ANY: Final = "*"
"""`settings=ANY`: cleared on every settings change."""


@dataclass(frozen=True, slots=True)
class Registration:
    name: str
    holder: Any
    reset: Callable[[], None]
    settings: frozenset[str]


class ProcessState:
    """Registrations by name, in the order they were made (reset walks them in that order)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registrations: dict[str, Registration] = {}

    def register(
        self, name: str, holder: T, *, reset: Callable[[], None] | None = None, settings: Iterable[str] = ()
    ) -> T:
        """`holder`, registered under `name` (`reset` defaults to its `clear` method)."""
        with self._lock:
            existing = self._registrations.get(name)
            if existing is not None:
                held: T = existing.holder
                return held
            if reset is None:
                reset = holder.clear  # type: ignore[attr-defined]
            self._registrations[name] = Registration(name, holder, reset, frozenset(settings))
        return holder

    def memoized(self, name: str, *, maxsize: int | None, settings: Iterable[str] = ()) -> Callable[[F], F]:
        def decorate(function: F) -> F:
            cached = functools.lru_cache(maxsize=maxsize)(function)
            return cast(F, self.register(name, cached, reset=cached.cache_clear, settings=settings))

        return decorate

    def registered(self, name: str) -> Any:
        registration = self._registrations.get(name)
        return None if registration is None else registration.holder

    def names(self) -> list[str]:
        return list(self._registrations)

    def reset(self) -> None:
        for registration in list(self._registrations.values()):
            registration.reset()

    def setting_changed(self, setting: str) -> None:
        for registration in list(self._registrations.values()):
            if ANY in registration.settings or setting in registration.settings:
                registration.reset()


# The registry itself: the one module global of process state that is not registered in itself.
process_state = ProcessState()
register = process_state.register
memoized = process_state.memoized
registered = process_state.registered
reset = process_state.reset


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    process_state.setting_changed(setting)


setting_changed.connect(_on_setting_changed, dispatch_uid="dcr-process-state")
