"""Settings shared by every environment; each value comes from an environment variable.

This module holds Django's own settings and puts the others together, each part in a module of its own:
`env` (reading the environment), `redis_cache`, `sign_in`, `service` (our DCR_* settings, with their
defaults in `core.conf`), `celery_schedule` and `logs`.
"""

from pathlib import Path

from .celery_schedule import *  # noqa: F403
from .env import env, env_key_list
from .logs import *  # noqa: F403
from .redis_cache import *  # noqa: F403
from .service import *  # noqa: F403
from .service import DCR_ENVIRONMENT_HOSTS
from .sign_in import *  # noqa: F403
from .signals import *  # noqa: F403

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")


# Django's own setting: earlier SECRET_KEYs that still verify (sessions, signatures, legacy client secret hashes).
SECRET_KEY_FALLBACKS = env_key_list("SECRET_KEY_FALLBACKS")
# `.localhost`: `<environment slug>.localhost` serves that environment on a development machine.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", ".localhost", "127.0.0.1", "[::1]", "testserver"])
# Every environment's host (DCR_ENVIRONMENT_HOSTS) is a host of this site.
ALLOWED_HOSTS += [host for host in DCR_ENVIRONMENT_HOSTS.values() if host not in ALLOWED_HOSTS]
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
    # The page's language (the account's choice, else the language cookie, else Accept-Language, else English)
    # and the account's time zone. Not on the API's chain (API_MIDDLEWARE): its answers stay in English.
    "registered_apps.preferences.AccountLocaleMiddleware",
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
                "django.template.context_processors.i18n",
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

# The pages' languages (README "Languages"): English, the default, and French. The catalogues are in
# locale/ (compiled by tools/compile_messages.py); a user's time zone is on the account (default UTC).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
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
