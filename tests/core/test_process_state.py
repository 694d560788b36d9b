"""core.process_state: every holder of process state is registered there, and one reset empties them all."""

import re
from pathlib import Path

from core import clock, process_state
from core.hot_store import hot_store, local_last_used, local_usage
from core.local_caches import local_cache
from core.redis import redis_health
from oauth import hashers, tokens
from software_statements import keys

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGES = ("core", "oauth", "registered_apps", "software_statements", "dcr_project")


def _sources() -> list[tuple[Path, str]]:
    return [
        (path, path.read_text())
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    ]


def test_no_cache_or_singleton_is_made_outside_the_registry():
    made_elsewhere = re.compile(r"\blru_cache\b|@cache\b|functools\.cache\b|\bcache_clear\(|^\s*global ", re.MULTILINE)
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
        for path, text in _sources()
        if path.name != "process_state.py"
        for match in made_elsewhere.finditer(text)
    ]
    # clock.py's offset is the one global a function rebinds (commented there: the cheapest hot-path read).
    assert [entry for entry in found if not entry.startswith("core/clock.py: global")] == []


def test_no_setting_is_read_with_a_default_of_its_own():
    """Defaults live in core.conf.DcrSettings, not at each read."""
    with_default = re.compile(r"getattr\(\s*settings\s*,\s*[^,()]+,")
    found = [str(path.relative_to(ROOT)) for path, text in _sources() if with_default.search(text)]
    assert found == []


def test_one_reset_empties_every_holder(settings):
    cache = local_cache("verified-access-tokens")
    cache.put("token", "claims")
    local_usage.increment("field")
    local_last_used.increment(1, 5.0)
    clock.advance(30)
    redis_health.failed(ConnectionError("down"))
    store = hot_store()
    keyring = hashers._keyring()
    header = tokens._header_segment("kid", "ES256")
    keys._caches.active[(1, "statement")] = (float("inf"), ("kid", "ES256", None))

    process_state.reset()

    assert cache.get("token") is None
    assert local_usage.snapshot() == {}
    assert local_last_used.snapshot() == {}
    assert clock.monotonic() - clock.time.monotonic() < 1
    assert not redis_health.down
    assert hot_store() is not store
    assert hashers._keyring() is not keyring
    assert tokens._header_segment("kid", "ES256") == header
    assert keys._caches.active == {}


def test_a_settings_change_empties_the_caches_and_rechooses_the_store_only_for_redis(settings):
    cache = local_cache("verified-access-tokens")
    cache.put("token", "claims")
    store = hot_store()
    settings.DCR_ACCESS_TOKEN_TTL = 60
    assert cache.get("token") is None
    assert hot_store() is store
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert hot_store() is not store


def test_every_holder_has_one_name():
    names = process_state.process_state.names()
    assert len(names) == len(set(names))
    assert {"settings", "hot-store", "redis-clients", "local-usage", "signing-keys", "verified-access-tokens"} <= set(
        names
    )
    # Registering a name again hands back the holder already registered.
    assert local_cache("verified-access-tokens") is process_state.registered("verified-access-tokens")
    assert process_state.register("local-usage", object()) is local_usage
