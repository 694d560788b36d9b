"""`make bench` measures what ships (README "Performance"): the server `make serve` runs, and the production
settings with only the differences the README lists."""

import json
import os
import subprocess
import sys

from cryptography.fernet import Fernet

from bench.serve_command import serve_command
from tests.processes import ROOT

# Every setting dcr_project.settings.bench changes, as README "Performance" lists them.
# (Its database and Redis are the bench's own, dcr_bench and 6, configured as production configures them:
# with the same URLs the two agree on DATABASES, CACHES and Celery.)
DOCUMENTED_DIFFERENCES = {
    "DCR_METRICS_ENABLED",
    "DCR_THROTTLE_RATE",
    "DCR_THROTTLE_BURST",
    "DCR_QUOTA_REGISTRATIONS_PER_HOUR",
    "DCR_QUOTA_TOKENS_PER_HOUR",
    "DCR_QUOTA_TOKENS_PER_DAY",
    "ROOT_URLCONF",
    "STATIC_ROOT",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
}

_DUMP = """
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
print(json.dumps({name: repr(getattr(module, name)) for name in dir(module) if name.isupper()}))
"""


ENCRYPTION_KEY = Fernet.generate_key().decode()


def _settings(module: str) -> dict[str, str]:
    environment = {
        **os.environ,
        "SECRET_KEY": "a-random-enough-secret-key-for-this-test-only-0123456789",
        "DCR_KEY_ENCRYPTION_KEY": ENCRYPTION_KEY,
        # What the bench's harness passes to both: the same database and Redis, so only overrides differ.
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/dcr_bench",
        "REDIS_URL": "redis://127.0.0.1:6379/6",
    }
    for name in ("DCR_REQUEST_LOG", "LOG_FORMAT", "LOG_LEVEL", "DCR_METRICS_ENABLED", "CONN_MAX_AGE"):
        environment.pop(name, None)
    completed = subprocess.run(
        [sys.executable, "-c", _DUMP, module], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout)


def test_the_bench_settings_differ_from_production_only_where_the_readme_says():
    production = _settings("dcr_project.settings.production")
    bench = _settings("dcr_project.settings.bench")

    changed = {name for name in production.keys() | bench.keys() if production.get(name) != bench.get(name)}

    assert changed == DOCUMENTED_DIFFERENCES
    # What ships stays on: the request log in JSON, the database connections kept as production keeps them.
    assert bench["LOGGING"] == production["LOGGING"] and '"json"' in bench["LOGGING"].replace("'", '"')
    assert bench["DCR_REQUEST_LOG"] == "True"
    assert bench["DCR_METRICS_ENABLED"] == "True"
    assert "'CONN_MAX_AGE': 60" in bench["DATABASES"]


def test_the_bench_starts_the_server_make_serve_starts_with_only_the_settings_module_swapped():
    production = serve_command(host="127.0.0.1", port=8123, workers=3)
    bench = serve_command(host="127.0.0.1", port=8123, workers=3, settings_module="dcr_project.settings.bench")

    assert "dcr_project.settings.production" in production
    assert "8123" in production
    assert bench == production.replace("dcr_project.settings.production", "dcr_project.settings.bench")
