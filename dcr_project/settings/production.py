"""Production settings: refuse to start without real secrets; static files through whitenoise."""

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DCR_KEY_ENCRYPTION_KEY, LOGGING, SECRET_KEY, env

DEBUG = False
# Stricter than Django's security.W009 in one way (it refuses to start instead of warning) and looser in
# another (32 characters, not 50: 32 url-safe characters are 192 random bits), so W009 is silenced below.
if not SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 32 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 32 characters.")
if not DCR_KEY_ENCRYPTION_KEY:
    raise ImproperlyConfigured("DCR_KEY_ENCRYPTION_KEY must be set (a Fernet key: 32 url-safe base64 bytes).")
try:
    # A comma-separated list rotates the encryption key: the first encrypts, all decrypt.
    for _key in DCR_KEY_ENCRYPTION_KEY.split(","):
        Fernet(_key.strip())
except ValueError:
    raise ImproperlyConfigured(
        "DCR_KEY_ENCRYPTION_KEY must be one or more comma-separated Fernet keys (32 url-safe base64 bytes); "
        'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
    ) from None

# Client-secret keys are optional (empty: derived from SECRET_KEY), but a given list must hold only
# random keys as strong as SECRET_KEY: the raw value is checked, so a stray comma is refused, not skipped.
# Messages name the entry's position only, never the key.
_client_secret_keys = env.str("DCR_CLIENT_SECRET_KEYS", default="")
if _client_secret_keys.strip():
    _entries = [_entry.strip() for _entry in _client_secret_keys.split(",")]
    for _position, _entry in enumerate(_entries, start=1):
        if len(_entry) < 32 or len(set(_entry)) < 5 or _entry.startswith("django-insecure"):
            raise ImproperlyConfigured(
                f"DCR_CLIENT_SECRET_KEYS entry {_position} of {len(_entries)} must be a random value of at least "
                '32 characters (comma-separated, first one current); make one with: python -c "import secrets; '
                'print(secrets.token_urlsafe(48))"'
            )
    if len(set(_entries)) != len(_entries):
        raise ImproperlyConfigured("DCR_CLIENT_SECRET_KEYS lists the same key twice.")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- HTTPS ----------------------------------------------------------------------------------------
# Behind a proxy that terminates TLS, Django learns the scheme from X-Forwarded-Proto. Turn it off
# (DCR_SECURE_PROXY_SSL_HEADER=false) when Django faces clients directly: then nobody may claim https.
if env.bool("DCR_SECURE_PROXY_SSL_HEADER", default=True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Plain-http requests are redirected to https; false when the proxy already redirects (and answers
# http itself, e.g. for its health checks).
SECURE_SSL_REDIRECT = env.bool("DCR_SECURE_SSL_REDIRECT", default=True)
# Probes and scrapes reach a node directly over plain http (no X-Forwarded-Proto): answer them there.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# One year of HSTS, subdomains of this host included; 0 when the proxy sends the header itself.
SECURE_HSTS_SECONDS = env.int("DCR_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DCR_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DCR_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)

LOG_FORMAT = env("LOG_FORMAT", default="json")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
# The web server's lines through a buffer written out at most this long after a line (core.log_stream);
# 0: each line as it comes. WARNING and worse are written at once either way.
LOG_FLUSH_SECONDS = env.float("LOG_FLUSH_SECONDS", default=0.5)
if LOG_FLUSH_SECONDS < 0:
    raise ImproperlyConfigured("LOG_FLUSH_SECONDS must be 0 or more.")
if LOG_FLUSH_SECONDS > 0:
    LOGGING["handlers"]["console"] = {
        **{key: value for key, value in LOGGING["handlers"]["console"].items() if key != "class"},
        "()": "core.log_stream.buffered_stream_handler",
        "interval": LOG_FLUSH_SECONDS,
    }

# `check --deploy` is clean; each check silenced here says why.
SILENCED_SYSTEM_CHECKS = [
    # SECRET_KEY strength: checked above at import, which refuses to start rather than warn.
    "security.W009",
    # HSTS preload: a one-way commitment for the whole registrable domain, the operator's call (DCR_HSTS_PRELOAD).
    "security.W021",
]
if not SECURE_SSL_REDIRECT:
    # DCR_SECURE_SSL_REDIRECT=false: the TLS-terminating proxy redirects http itself.
    SILENCED_SYSTEM_CHECKS.append("security.W008")
if not SECURE_HSTS_SECONDS:
    # DCR_HSTS_SECONDS=0: the TLS-terminating proxy sends Strict-Transport-Security itself.
    SILENCED_SYSTEM_CHECKS.append("security.W004")
