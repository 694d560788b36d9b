"""The DCR service's own settings (README "Configuration"): each `DCR_*` from its environment variable,
its default from `core.conf.DEFAULTS` (the one place our defaults live; the code reads these settings
as `core.conf.dcr`)."""

from django.core.exceptions import ImproperlyConfigured

from core.conf import DEFAULTS as _DEFAULTS  # underscored: not a setting, and not star-imported into base

from .env import env, env_environment_hosts, env_key_list, env_token_success_status

DCR_ISSUER = env("DCR_ISSUER", default=_DEFAULTS.issuer)
# The host serving each environment's API (unlisted hosts serve production; registered_apps.environments).
# base.py adds each of them to ALLOWED_HOSTS.
DCR_ENVIRONMENT_HOSTS = env_environment_hosts("DCR_ENVIRONMENT_HOSTS")
DCR_ACCESS_TOKEN_TTL = env.int("DCR_ACCESS_TOKEN_TTL", default=_DEFAULTS.access_token_ttl)
# The status of a token endpoint success: 200 (RFC 6749 5.1, what standard OAuth client libraries check
# for), or 201 for clients written against the original service's documentation (README "Standard clients").
DCR_TOKEN_SUCCESS_STATUS = env_token_success_status("DCR_TOKEN_SUCCESS_STATUS", _DEFAULTS.token_success_status)
DCR_STATEMENT_ALGORITHM = env("DCR_STATEMENT_ALGORITHM", default=_DEFAULTS.statement_algorithm)
DCR_ACCESS_TOKEN_ALGORITHM = env("DCR_ACCESS_TOKEN_ALGORITHM", default=_DEFAULTS.access_token_algorithm)
DCR_THROTTLE_RATE = env.float("DCR_THROTTLE_RATE", default=_DEFAULTS.throttle_rate)
DCR_THROTTLE_BURST = env.float("DCR_THROTTLE_BURST", default=_DEFAULTS.throttle_burst)
DCR_QUOTA_REGISTRATIONS_PER_HOUR = env.int(
    "DCR_QUOTA_REGISTRATIONS_PER_HOUR", default=_DEFAULTS.quota_registrations_per_hour
)
DCR_QUOTA_TOKENS_PER_HOUR = env.int("DCR_QUOTA_TOKENS_PER_HOUR", default=_DEFAULTS.quota_tokens_per_hour)
DCR_QUOTA_TOKENS_PER_DAY = env.int("DCR_QUOTA_TOKENS_PER_DAY", default=_DEFAULTS.quota_tokens_per_day)
DCR_TRUSTED_PROXIES = env.int("DCR_TRUSTED_PROXIES", default=_DEFAULTS.trusted_proxies)
# Entries of each bounded in-process cache of the hot paths (core.local_caches).
DCR_LOCAL_CACHE_ENTRIES = env.int("DCR_LOCAL_CACHE_ENTRIES", default=_DEFAULTS.local_cache_entries)
# Seconds a worker may reuse revocation stamps it read from Redis (0: read them on every bearer call).
# Below one second, so that a revocation still bites everywhere within one.
DCR_REVOCATION_STAMP_CACHE = env.float("DCR_REVOCATION_STAMP_CACHE", default=_DEFAULTS.revocation_stamp_cache)
if not 0 <= DCR_REVOCATION_STAMP_CACHE < 1:
    raise ImproperlyConfigured("DCR_REVOCATION_STAMP_CACHE must be at least 0 and below 1 (seconds).")
DCR_KEY_ENCRYPTION_KEY = env("DCR_KEY_ENCRYPTION_KEY", default=_DEFAULTS.key_encryption_key)
# Keys of the client-secret HMAC (oauth.hashers): the first hashes new secrets, all verify. Empty: derived
# from SECRET_KEY (and SECRET_KEY_FALLBACKS), as before these keys existed.
DCR_CLIENT_SECRET_KEYS = env_key_list("DCR_CLIENT_SECRET_KEYS")
# RFC 7592 2.2: seconds a client secret replaced through the client configuration endpoint keeps working
# (Keycloak's "rotated secret expiration"); 0: the old secret stops at once.
DCR_ROTATED_SECRET_GRACE = env.int("DCR_ROTATED_SECRET_GRACE", default=_DEFAULTS.rotated_secret_grace)
if DCR_ROTATED_SECRET_GRACE < 0:
    raise ImproperlyConfigured("DCR_ROTATED_SECRET_GRACE must be 0 or more (seconds).")
DCR_CLIENT_IDLE_DAYS = env.int("DCR_CLIENT_IDLE_DAYS", default=_DEFAULTS.client_idle_days)
# Clients idle this many days are deleted (oauth.clients_purge_idle); 0 keeps them forever.
DCR_CLIENT_PURGE_DAYS = env.int("DCR_CLIENT_PURGE_DAYS", default=_DEFAULTS.client_purge_days)
DCR_AUDIT_RETENTION_DAYS = env.int("DCR_AUDIT_RETENTION_DAYS", default=_DEFAULTS.audit_retention_days)
DCR_KEY_ROTATION_DAYS = env.int("DCR_KEY_ROTATION_DAYS", default=_DEFAULTS.key_rotation_days)
# How often the usage counters leave Redis for the daily rows, in seconds (celery_schedule.py's beat).
DCR_USAGE_FLUSH_SECONDS = env.int("DCR_USAGE_FLUSH_SECONDS", default=_DEFAULTS.usage_flush_seconds)

# /metrics (dcr_project.operations): off by default (404); with a token, the scraper must send it as a bearer.
DCR_METRICS_ENABLED = env.bool("DCR_METRICS_ENABLED", default=_DEFAULTS.metrics_enabled)
DCR_METRICS_TOKEN = env.str("DCR_METRICS_TOKEN", default=_DEFAULTS.metrics_token)
# One line per request from core.request_log (DCR_REQUEST_LOG=false turns it off); every record carries
# the request id (logs.py).
DCR_REQUEST_LOG = env.bool("DCR_REQUEST_LOG", default=_DEFAULTS.request_log)
