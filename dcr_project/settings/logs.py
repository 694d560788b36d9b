"""Logging: the format of every line (plain or JSON), the request id on each, client mistakes as one
WARNING line, and the masking of error reports."""

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .env import env

# Error reports also mask the password of any URL they show (REDIS_URL, the broker, the cache location).
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.error_reports.ReportFilter"

# Every record carries the request id (core.request_log). LOG_FORMAT: plain text here, JSON (core.json_log)
# by default in production.
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
