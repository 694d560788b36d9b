"""Test settings: fast password hashing for users, real database and Redis when the environment gives them."""

from .local import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "oauth.hashers.ClientSecretHMACHasher",
]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DCR_THROTTLE_RATE = 1000.0
DCR_THROTTLE_BURST = 1000.0
DCR_ISSUER = "http://testserver"
DCR_EMBEDDED_SCHEDULER = False
