"""Benchmark settings: production settings on PostgreSQL and Redis, with limits raised so that `make bench`
measures work rather than 429s, and URLs that add the benchmark's floor view and the stock
django-oauth-toolkit token view.

`python -m bench` generates SECRET_KEY and DCR_KEY_ENCRYPTION_KEY for each run and passes them to
the web server through the environment; like production, these settings refuse to start without them.
"""

import tempfile
from pathlib import Path

from .production import *  # noqa: F403
from .production import OAUTH2_PROVIDER, env

DEBUG = False

DATABASES = {"default": env.db("BENCH_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/dcr_bench")}
# Persistent connections, checked before reuse, as a production deployment would run them.
DATABASES["default"]["CONN_MAX_AGE"] = None
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

# The token buckets still run on every request (one Redis round trip); they just never say no.
DCR_THROTTLE_RATE = env.float("BENCH_THROTTLE_RATE", default=1e9)
DCR_THROTTLE_BURST = env.float("BENCH_THROTTLE_BURST", default=1e9)

ROOT_URLCONF = "bench.urls"
# django-oauth-toolkit's stock token view (mounted by bench.urls only) refuses to run with no scope at
# all; our own endpoints take their scopes from the catalogs and never read this.
OAUTH2_PROVIDER = {**OAUTH2_PROVIDER, "SCOPES": OAUTH2_PROVIDER.get("SCOPES") or {"bench": "Benchmark scope"}}

# The harness collects static files into its own directory, so it never touches ./staticfiles.
STATIC_ROOT = env("BENCH_STATIC_ROOT", default=str(Path(tempfile.gettempdir()) / "dcr-bench-static"))

# The harness talks plain HTTP to 127.0.0.1: no redirect to HTTPS, no HSTS, and secure-only cookies
# would never come back.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
