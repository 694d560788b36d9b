"""Redis (optional) and Django's cache: Redis when REDIS_URL is set, else in-process (README "Redis high
availability" for REDIS_SENTINELS). `core.redis` reads the same three settings."""

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from core.conf import DEFAULTS as _DEFAULTS  # underscored: not a setting, and not star-imported into base

from .env import env

# Redis is optional: without REDIS_URL the cache is in-process and Celery tasks run eagerly.
REDIS_URL = env("REDIS_URL", default=_DEFAULTS.redis_url)
# Redis behind Sentinel (README "Redis high availability"): "host:port,host:port" of the sentinels and the
# name they monitor the master by. Every Redis user (hot store, usage flush, /readyz, metrics, the cache,
# Celery's broker and results) then asks them for the master. REDIS_URL is still needed: its database
# number, user and password are used, its host and port are not.
REDIS_SENTINELS = env.list("REDIS_SENTINELS", default=list(_DEFAULTS.redis_sentinels))
REDIS_SENTINEL_SERVICE = env("REDIS_SENTINEL_SERVICE", default=_DEFAULTS.redis_sentinel_service)
# Redis Cluster for the hot-path store and the usage flush only ("host:port,host:port" or
# "redis+cluster://[user:password@]host:port,..."; README "Redis Cluster"); Celery, the cache and /readyz
# stay on REDIS_URL.
REDIS_CLUSTER_NODES = env("REDIS_CLUSTER_NODES", default=_DEFAULTS.redis_cluster_nodes)
if REDIS_SENTINELS and not REDIS_URL:
    raise ImproperlyConfigured("REDIS_SENTINELS needs REDIS_URL too (for its database number and password).")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dcr",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    if REDIS_SENTINELS:
        CACHES["default"]["OPTIONS"].update(
            pool_class="core.redis.SentinelMasterPool", sentinels=REDIS_SENTINELS, service=REDIS_SENTINEL_SERVICE
        )
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
