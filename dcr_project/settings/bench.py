"""Benchmark settings: the production settings as shipped (request log on, JSON; metrics on, as operators
run them), on the benchmark's own PostgreSQL database and Redis database, with only what a benchmark on
one machine needs changed. README "Performance" lists each difference and why:

- the per-IP token buckets still run on every request but never refuse (every request of the benchmark
  comes from 127.0.0.1, where production sees one address per device);
- bench/urls.py adds the floor view;
- plain http to 127.0.0.1: no redirect to https, no HSTS, cookies not secure-only (production has a
  TLS-terminating proxy in front that says X-Forwarded-Proto: https);
- static files are collected into a temporary directory (never ./staticfiles).

`python -m bench` generates SECRET_KEY and DCR_KEY_ENCRYPTION_KEY for each run and passes them to
the web server through the environment; like production, these settings refuse to start without them.
"""

import tempfile
from pathlib import Path

from .production import *  # noqa: F403
from .production import env

DATABASES = {"default": env.db("BENCH_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/dcr_bench")}
# Connections as production keeps them (CONN_MAX_AGE, 60 s by default), checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False

# Redis database 6 is the benchmark's own; the harness flushes it at the start of every run.
REDIS_URL = env("BENCH_REDIS_URL", default="redis://127.0.0.1:6379/6")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "dcr",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ALWAYS_EAGER = False

# Prometheus metrics on, as operators run them (README "What operators watch"); the harness sets
# PROMETHEUS_MULTIPROC_DIR for the server's workers.
DCR_METRICS_ENABLED = True

# The token buckets still run on every request (one Redis round trip); they just never say no.
DCR_THROTTLE_RATE = env.float("BENCH_THROTTLE_RATE", default=1e9)
DCR_THROTTLE_BURST = env.float("BENCH_THROTTLE_BURST", default=1e9)
# The quotas too: counted on every token and registration (0 would skip counting), never reached.
DCR_QUOTA_REGISTRATIONS_PER_HOUR = env.int("BENCH_QUOTA", default=1_000_000_000)
DCR_QUOTA_TOKENS_PER_HOUR = env.int("BENCH_QUOTA", default=1_000_000_000)
DCR_QUOTA_TOKENS_PER_DAY = env.int("BENCH_QUOTA", default=1_000_000_000)

ROOT_URLCONF = "bench.urls"

# The harness collects static files into its own directory, so it never touches ./staticfiles.
STATIC_ROOT = env("BENCH_STATIC_ROOT", default=str(Path(tempfile.gettempdir()) / "dcr-bench-static"))

# The harness talks plain HTTP to 127.0.0.1: no redirect to HTTPS, no HSTS, and secure-only cookies
# would never come back.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
