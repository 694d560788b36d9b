"""Development settings: the embedded default (SQLite, in-process cache, eager tasks)."""

import base64
import hashlib

from .base import *  # noqa: F403
from .base import BASE_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-key-not-for-production")
# Local settings only: derive a development key-encryption key from the secret key.
DCR_KEY_ENCRYPTION_KEY = env(
    "DCR_KEY_ENCRYPTION_KEY",
    default=base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode(),
)
# Without Redis there is no beat: a server process flushes usage counters itself (oauth.embedded).
DCR_EMBEDDED_SCHEDULER = env.bool("DCR_EMBEDDED_SCHEDULER", default=True)
DCR_USAGE_FLUSH_SECONDS = env.int("DCR_USAGE_FLUSH_SECONDS", default=10)
# Without EMAIL_URL, the e-mails a development machine sends are files in mail/ (git-ignored; one file per
# batch sent), not text in the terminal where `make run` logs its requests (README "Two commands").
if not env("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(BASE_DIR / "mail")
