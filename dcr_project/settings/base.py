"""Settings shared by every environment; each value comes from an environment variable."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")


def env_key_list(name: str) -> list[str]:
    """A comma-separated list of keys, spaces around each stripped, empty entries dropped."""
    return [key.strip() for key in env.str(name, default="").split(",") if key.strip()]


# Django's own setting: earlier SECRET_KEYs that still verify (sessions, signatures, legacy client secret hashes).
SECRET_KEY_FALLBACKS = env_key_list("SECRET_KEY_FALLBACKS")
# `.localhost`: `<environment slug>.localhost` serves that environment on a development machine.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", ".localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "drf_spectacular",
    "oauth2_provider",
    "csp",
    # Sign-in protection (README "Sign-in protection"): lock-outs, and the staff second factor.
    "dcr_project.sign_in_apps.SignInLockoutsConfig",
    "django_otp",
    "dcr_project.sign_in_apps.StaffAuthenticatorsConfig",
    "dcr_project.sign_in_apps.StaffRecoveryCodesConfig",
]
LOCAL_APPS = [
    "registered_apps",
    "software_statements",
    "oauth",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    # Outermost: one structured log line per request with its final status, and X-Request-ID on every response.
    "core.request_log.RequestLogMiddleware",
    # Prometheus request metrics (core.metrics): latency per URL pattern, tokens, registrations, refusals.
    "core.metrics.MetricsMiddleware",
    # Outside the JSON error rewriting below, so that its replacement responses get these headers too.
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Error responses on /o/, /api/ and /.well-known/ are JSON, never an HTML page.
    "oauth.middleware.APIJSONErrorsMiddleware",
    "dcr_project.middleware.RejectNulQueryMiddleware",
    # Header fields over 8 KiB each or 32 KiB in all: 431 (JSON on the API paths, by the middleware above).
    "dcr_project.middleware.RequestHeadLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Cache-Control: no-store on every signed-in page (Back re-fetches the review page after a push).
    "dcr_project.private_pages.SignedInPagesNotStoredMiddleware",
    # request.user.is_verified(): whether this session passed a second factor (the admin requires it).
    "django_otp.middleware.OTPMiddleware",
    # A staff session that has not passed the second factor reaches only the second-factor page.
    "dcr_project.two_factor.StaffSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last: turns a locked-out sign-in into the lock-out page (templates/registration/locked_out.html).
    "axes.middleware.AxesMiddleware",
]

# The JSON API's paths (/o/client/, /api/v2/, /.well-known/) run through this shorter chain
# (dcr_project.api_handler, dispatched by path in dcr_project/wsgi.py): the same request log, metrics,
# security headers, JSON errors and request hygiene, in the same order, without what only the pages
# need (static files, sessions, CSRF, sign-in, second factor, messages, lock-out). The API reads no
# cookie and no session; its responses lose only the `Vary: Cookie` the session middleware added.
# django-csp's middleware is replaced by one that builds the (fixed) policy header once, not per response.
API_MIDDLEWARE = [
    "core.request_log.RequestLogMiddleware",
    "core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "dcr_project.middleware.ApiContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oauth.middleware.APIJSONErrorsMiddleware",
    "dcr_project.middleware.RejectNulQueryMiddleware",
    "dcr_project.middleware.RequestHeadLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
]

# --- Browser-facing security headers (every environment; HTTPS-only ones are in production) ---------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# The dashboard's script posts the form's own csrfmiddlewaretoken field; nothing reads the cookie.
CSRF_COOKIE_HTTPONLY = True
# Lax, not Strict: a link from a revocation email must open the dashboard signed in.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# No inline script or style anywhere (dashboard, admin, /api/docs/): everything is a file under /static/.
# Django 5.2's admin needs nothing more (its scripts are files carrying data-* attributes); the one
# favicon is a data: URI. The JSON API is covered by the same header (default-src 'none' would do, but
# one policy is simpler to reason about and none of its responses are rendered as documents).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
    },
}

ROOT_URLCONF = "dcr_project.urls"
WSGI_APPLICATION = "dcr_project.wsgi.application"
ASGI_APPLICATION = "dcr_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The embedded default is a SQLite file, so a fresh machine needs no database server.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default serves `make run` while `manage.py` commands (the README's walk-through) write
    # to the same file. IMMEDIATE transactions take SQLite's write lock at BEGIN and wait for it (the
    # busy timeout); a deferred one that read first and then writes cannot wait and fails at once with
    # "database is locked" when another process is writing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
# PgBouncer in transaction pooling mode between us and PostgreSQL (README "PgBouncer"): each transaction
# may run on another server connection, so nothing may outlive one. Server-side cursors (`.iterator()`
# declares a WITH HOLD cursor outside a transaction) are off; psycopg's prepared statements are off
# (PgBouncer 1.18 does not track them; psycopg would prepare a query after 5 runs); CONN_MAX_AGE is 0
# unless set: PgBouncer is the pool, and a kept client connection would only add a health check per
# request and a stale socket after PgBouncer restarts. Our code and our dependencies use no session
# state (no advisory locks, LISTEN, SET or temporary tables); keep it that way.
DATABASE_PGBOUNCER = env.bool("DATABASE_PGBOUNCER", default=False)
if DATABASE_PGBOUNCER and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis is optional: without REDIS_URL the cache is in-process and Celery tasks run eagerly.
REDIS_URL = env("REDIS_URL", default="")
# Redis behind Sentinel (README "Redis high availability"): "host:port,host:port" of the sentinels and the
# name they monitor the master by. Every Redis user (hot store, usage flush, /readyz, metrics, the cache,
# Celery's broker and results) then asks them for the master. REDIS_URL is still needed: its database
# number, user and password are used, its host and port are not.
REDIS_SENTINELS = env.list("REDIS_SENTINELS", default=[])
REDIS_SENTINEL_SERVICE = env("REDIS_SENTINEL_SERVICE", default="dcr")
# Redis Cluster for the hot-path store and the usage flush only ("host:port,host:port" or
# "redis+cluster://[user:password@]host:port,..."); Celery, the cache and /readyz stay on REDIS_URL.
REDIS_CLUSTER_NODES = env("REDIS_CLUSTER_NODES", default="")
if REDIS_SENTINELS and not REDIS_URL:
    raise ImproperlyConfigured("REDIS_SENTINELS needs REDIS_URL too (for its database number and password).")
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

# First: refuses any sign-in while its account or its address is locked out, before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Sign-in protection: lock-outs (django-axes) ---------------------------------------------------
# Failed sign-ins on the dashboard (/accounts/login/) and the admin are counted per account and, apart,
# per address: DCR_SIGN_IN_FAILURE_LIMIT failures on one username (whoever tries it) or from one address
# (whichever usernames) lock that username or that address out. A username that does not exist locks out
# the same way, so the lock-out says nothing about which accounts exist.
AXES_ENABLED = env.bool("DCR_SIGN_IN_LOCKOUT", default=True)
AXES_FAILURE_LIMIT = env.int("DCR_SIGN_IN_FAILURE_LIMIT", default=5)
if AXES_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("DCR_SIGN_IN_FAILURE_LIMIT must be at least 1.")
# Minutes a lock-out lasts after the last failed attempt (a failure while locked out starts it again, so
# the page's "try again in N minutes" is true when shown); a TAM lifts one sooner in the admin.
DCR_SIGN_IN_COOLOFF_MINUTES = env.int("DCR_SIGN_IN_COOLOFF_MINUTES", default=15)
if DCR_SIGN_IN_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("DCR_SIGN_IN_COOLOFF_MINUTES must be at least 1 (a TAM lifts lock-outs sooner).")
AXES_COOLOFF_TIME = timedelta(minutes=DCR_SIGN_IN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
# The address the audit events record: REMOTE_ADDR, or X-Forwarded-For behind DCR_TRUSTED_PROXIES proxies.
AXES_CLIENT_IP_CALLABLE = "core.request_ip.request_ip"
# The database handler, not the cache one even with Redis: lock-outs are rows a TAM sees and deletes in the
# admin, survive a Redis flush, and are written only on a failed sign-in (never on the hot paths).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# A success does not clear the failures: with per-address counting it would clear the address's failures
# too, letting anyone with one account reset the counter between guesses at others.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Plain strings: axes' own default is a lazy object that error reports (core.error_reports) cannot mask.
AXES_USERNAME_FORM_FIELD = "username"
# Failed attempts only (AccessAttempt rows); no row for every successful sign-in.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Password reset e-mails, quietly limited (the page answers the same past the limit, nothing more is sent):
# at most DCR_PASSWORD_RESET_LIMIT requests per e-mail address typed, and e-mails per account, in each
# DCR_PASSWORD_RESET_WINDOW_SECONDS. Counted in the cache (Redis when REDIS_URL is set: every worker counts).
DCR_PASSWORD_RESET_LIMIT = env.int("DCR_PASSWORD_RESET_LIMIT", default=3)
DCR_PASSWORD_RESET_WINDOW_SECONDS = env.int("DCR_PASSWORD_RESET_WINDOW_SECONDS", default=3600)
if DCR_PASSWORD_RESET_LIMIT < 1 or DCR_PASSWORD_RESET_WINDOW_SECONDS < 1:
    raise ImproperlyConfigured("DCR_PASSWORD_RESET_LIMIT and DCR_PASSWORD_RESET_WINDOW_SECONDS must be at least 1.")

# --- Sign-in protection: staff second factor (django-otp) -------------------------------------------
# The admin accepts only staff whose session passed a TOTP code or a single-use recovery code.
OTP_TOTP_ISSUER = env("DCR_TOTP_ISSUER", default="DCR Registry")
# Device keys and recovery codes never shown in the admin (a TAM can delete a lost device there).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# User passwords keep Django's slow default; client secrets (256 random bits) use the keyed
# HMAC hasher listed after it, because a slow hash of a random secret protects nothing.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "oauth.hashers.ClientSecretHMACHasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
ADMIN_URL = env("ADMIN_URL", default="admin/")

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="dcr@localhost")
TAM_EMAILS = env.list("TAM_EMAILS", default=[])

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "oauth.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Dynamic Client Registration API",
    "DESCRIPTION": (
        "RFC 7591 client registration with software statements, client_credentials tokens and protected APIs."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The default hook (enums) first; then the links of the client flow (register -> token -> ...).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "oauth.openapi_links.links_add",
    ],
}

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth.Client"
OAUTH2_PROVIDER = {
    "CLIENT_SECRET_HASHER": "client_secret_hmac",
    "SCOPES": {},
    # RFC 9700 (OAuth 2.0 Security BCP). We use none of DOT's endpoints, grants or token storage
    # (clients register through oauth.endpoints and get client_credentials JWTs), so each option
    # is simply set to its compliant value: nothing DOT could serve is left on the legacy behaviour.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    # DOT's own model validation only (the admin shows clients read-only); registration checks a
    # client's redirect_uri against its statement's list, which may hold custom schemes.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "ALLOW_URI_WILDCARDS": False,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "PKCE_REQUIRED": True,
}

# --- The DCR service -------------------------------------------------------------------
DCR_ISSUER = env("DCR_ISSUER", default="http://127.0.0.1:8000")


def env_environment_hosts(name: str) -> dict[str, str]:
    """`slug=host,slug=host` -> {slug: host}: the host that serves each environment's API."""
    hosts: dict[str, str] = {}
    for entry in env.str(name, default="").split(","):
        if not entry.strip():
            continue
        slug, separator, host = entry.partition("=")
        if not separator or not slug.strip() or not host.strip():
            raise ImproperlyConfigured(f"{name} entries look like release-staging=api-staging.example.com.")
        hosts[slug.strip()] = host.strip().lower()
    return hosts


# The host serving each environment's API (unlisted hosts serve production; registered_apps.environments).
DCR_ENVIRONMENT_HOSTS = env_environment_hosts("DCR_ENVIRONMENT_HOSTS")
# Every environment's host is a host of this site.
ALLOWED_HOSTS += [host for host in DCR_ENVIRONMENT_HOSTS.values() if host not in ALLOWED_HOSTS]
DCR_ACCESS_TOKEN_TTL = env.int("DCR_ACCESS_TOKEN_TTL", default=21600)
# The status of a token endpoint success: 200 (RFC 6749 5.1, what standard OAuth client libraries check
# for), or 201 for clients written against the original service's documentation (README "Standard clients").
_token_success_status = env.str("DCR_TOKEN_SUCCESS_STATUS", default="200").strip()
if _token_success_status not in ("200", "201"):
    raise ImproperlyConfigured("DCR_TOKEN_SUCCESS_STATUS must be 200 (RFC 6749 5.1) or 201 (the original's).")
DCR_TOKEN_SUCCESS_STATUS = int(_token_success_status)
DCR_STATEMENT_ALGORITHM = env("DCR_STATEMENT_ALGORITHM", default="RS256")
DCR_ACCESS_TOKEN_ALGORITHM = env("DCR_ACCESS_TOKEN_ALGORITHM", default="ES256")
DCR_THROTTLE_RATE = env.float("DCR_THROTTLE_RATE", default=1.0)
DCR_THROTTLE_BURST = env.float("DCR_THROTTLE_BURST", default=10.0)
DCR_TRUSTED_PROXIES = env.int("DCR_TRUSTED_PROXIES", default=0)
# Seconds a worker may reuse revocation stamps it read from Redis (0: read them on every bearer call).
# Below one second, so that a revocation still bites everywhere within one.
# Entries of each bounded in-process cache of the hot paths (core.local_caches).
DCR_LOCAL_CACHE_ENTRIES = env.int("DCR_LOCAL_CACHE_ENTRIES", default=20000)
DCR_REVOCATION_STAMP_CACHE = env.float("DCR_REVOCATION_STAMP_CACHE", default=0.25)
if not 0 <= DCR_REVOCATION_STAMP_CACHE < 1:
    raise ImproperlyConfigured("DCR_REVOCATION_STAMP_CACHE must be at least 0 and below 1 (seconds).")
DCR_KEY_ENCRYPTION_KEY = env("DCR_KEY_ENCRYPTION_KEY", default="")
# Keys of the client-secret HMAC (oauth.hashers): the first hashes new secrets, all verify. Empty: derived
# from SECRET_KEY (and SECRET_KEY_FALLBACKS), as before these keys existed.
DCR_CLIENT_SECRET_KEYS = env_key_list("DCR_CLIENT_SECRET_KEYS")
# RFC 7592 2.2: seconds a client secret replaced through the client configuration endpoint keeps working
# (Keycloak's "rotated secret expiration"); 0: the old secret stops at once.
DCR_ROTATED_SECRET_GRACE = env.int("DCR_ROTATED_SECRET_GRACE", default=3600)
if DCR_ROTATED_SECRET_GRACE < 0:
    raise ImproperlyConfigured("DCR_ROTATED_SECRET_GRACE must be 0 or more (seconds).")
DCR_CLIENT_IDLE_DAYS = env.int("DCR_CLIENT_IDLE_DAYS", default=365)
# Clients idle this many days are deleted (oauth.clients_purge_idle); 0 keeps them forever.
DCR_CLIENT_PURGE_DAYS = env.int("DCR_CLIENT_PURGE_DAYS", default=400)
DCR_AUDIT_RETENTION_DAYS = env.int("DCR_AUDIT_RETENTION_DAYS", default=0)
DCR_KEY_ROTATION_DAYS = env.int("DCR_KEY_ROTATION_DAYS", default=0)

# --- Celery ----------------------------------------------------------------------------
# Redis is broker and result backend; without REDIS_URL every task runs eagerly in-process.
# Eager tasks still borrow a producer from the broker's pool (to serialise their arguments): a memory:// URL
# without a host made kombu warn "No hostname was supplied" on each one.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or None
if REDIS_SENTINELS:
    # kombu's and Celery's sentinel:// transports: "sentinel://[:password@]host:port/db;...", with REDIS_URL's
    # password and database, and master_name in both transport options (below).
    _redis_auth, _, _redis_place = REDIS_URL.partition("://")[2].rpartition("@")
    _redis_db = _redis_place.partition("/")[2] or "0"
    CELERY_BROKER_URL = CELERY_RESULT_BACKEND = ";".join(
        f"sentinel://{_redis_auth + '@' if _redis_auth else ''}{sentinel.strip()}/{_redis_db}"
        for sentinel in REDIS_SENTINELS
    )
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_RESULT_EXTENDED = True
CELERY_TASK_TRACK_STARTED = True
# Acknowledge after the task ran, and hand the message back when the worker process dies: a task
# interrupted by a crash runs again (every task is idempotent).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
# A message unacknowledged this long (its worker died with it) is delivered again; it must stay
# longer than the slowest task. Lower it in tests to see a killed worker's task come back quickly.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": min(10, max(1, CELERY_VISIBILITY_TIMEOUT // 4)),
    "unacked_restore_throttle": 1,
    # A web request publishing a task while Redis is down must fail fast (callers log and go on).
    "socket_connect_timeout": 1.0,
    "socket_timeout": 5.0,
    "max_retries": 1,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 5.0}
if REDIS_SENTINELS:
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = REDIS_SENTINEL_SERVICE
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS["master_name"] = REDIS_SENTINEL_SERVICE
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True

# How often the usage counters leave Redis for the daily rows, in seconds.
DCR_USAGE_FLUSH_SECONDS = env.int("DCR_USAGE_FLUSH_SECONDS", default=60)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "usage-flush": {"task": "oauth.usage_flush", "schedule": float(DCR_USAGE_FLUSH_SECONDS)},
    # Brings back a stamp lost while Redis was down, within a minute of Redis returning.
    "revocation-stamps-republish": {"task": "oauth.revocation_stamps_republish", "schedule": 60.0},
    "denied-tokens-purge": {"task": "oauth.denied_tokens_purge", "schedule": 3600.0},
    "clients-mark-idle": {"task": "oauth.clients_mark_idle", "schedule": 6 * 3600.0},
    "clients-purge-idle": {"task": "oauth.clients_purge_idle", "schedule": 24 * 3600.0},
    "usage-flush-ledger-purge": {"task": "oauth.usage_flush_ledger_purge", "schedule": 24 * 3600.0},
    "audit-events-purge": {"task": "registered_apps.audit_events_purge", "schedule": 24 * 3600.0},
    # Checks hourly; rotates a purpose only when its active key is DCR_KEY_ROTATION_DAYS old.
    "signing-keys-rotate-due": {"task": "software_statements.signing_keys_rotate_due", "schedule": 3600.0},
}
# A periodic run nobody picked up before the next one is due is dropped, not queued up behind it.
for _entry in CELERY_BEAT_SCHEDULE.values():
    _entry["options"] = {"expires": _entry["schedule"]}

# /metrics (dcr_project.operations): off by default (404); with a token, the scraper must send it as a bearer.
DCR_METRICS_ENABLED = env.bool("DCR_METRICS_ENABLED", default=False)
DCR_METRICS_TOKEN = env.str("DCR_METRICS_TOKEN", default="")

# Error reports also mask the password of any URL they show (REDIS_URL, the broker, the cache location).
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.error_reports.ReportFilter"

# One line per request from core.request_log (DCR_REQUEST_LOG=false turns it off); every record carries the
# request id. LOG_FORMAT: plain text here, JSON (core.json_log) by default in production.
DCR_REQUEST_LOG = env.bool("DCR_REQUEST_LOG", default=True)
LOG_FORMAT = env("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
# Django's names for the SuspiciousOperations a client causes at will (django.security.<name>): logged as
# one WARNING line without a traceback (core.log_filters), not a 2 KB ERROR per request.
CLIENT_MISTAKE_LOGGERS = [
    f"django.security.{name}"
    for name in (
        "DisallowedHost",
        "DisallowedRedirect",
        "DisallowedModelAdminLookup",
        "DisallowedModelAdminToField",
        "RequestDataTooBig",
        "TooManyFieldsSent",
        "TooManyFilesSent",
        "SuspiciousMultipartForm",
    )
]
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "core.request_log.RequestIdFilter"},
        "client_mistake": {"()": "core.log_filters.ClientMistakeFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "core.json_log.JSONFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        **{name: {"filters": ["client_mistake"]} for name in CLIENT_MISTAKE_LOGGERS},
    },
}
