"""Production settings: refuse to start without real secrets; static files through whitenoise."""

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DCR_KEY_ENCRYPTION_KEY, SECRET_KEY, env

DEBUG = False
if not SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 32:
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
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
