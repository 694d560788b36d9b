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

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
