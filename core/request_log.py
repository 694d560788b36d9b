"""Structured request logs: one record per request (method, path, status, duration, request id, client id).

What is logged is chosen field by field, never a dump of the request: the path without its query string
(a client that puts a token there must not get it written down), no header, no body. The request id comes
from `X-Request-ID` when it is well formed (a proxy's or the caller's own), otherwise it is generated; it is
returned in the response header and attached to every log record written while the request runs
(`RequestIdFilter`), so a traceback can be matched with its request line.

The client id is logged when the request authenticated one: the bearer's client (`request.user`), a
client that an endpoint marked with `request_log_client`, or, for a successful `/o/client/*` call, the
client that authenticated (it sent its id in HTTP Basic or the body, and the call succeeded) or was just
registered. A refused call logs no client id: an unauthenticated claim is not a fact worth recording.
"""

import base64
import binascii
import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("dcr.request")

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a few separators, 8 to 128 of them: a UUID, a hex id, a proxy's trace id. Anything
# else (spaces, quotes, control characters, a novel) is replaced so it cannot forge or bloat a log line.
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._:@-]{8,128}\Z")
_CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{1,128}\Z")
_CLIENT_PATHS = ("/o/client/token", "/o/client/introspect", "/o/client/revoke")
_REGISTER_PATH = "/o/client/register"
_CLIENT_ATTRIBUTE = "_request_log_client_id"

_current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request this thread (or task) is answering, if any."""
    return _current_request_id.get()


def request_id_from(header: str | None) -> str:
    """The caller's id when well formed, else a new one (32 hex digits)."""
    if header and _WELL_FORMED_ID.match(header):
        return header
    return uuid.uuid4().hex


def _printable(text: str) -> str:
    """Control characters escaped, so a path cannot start a forged line in a plain-text log."""
    return "".join(character if character.isprintable() else repr(character)[1:-1] for character in text)


def request_log_client(request: HttpRequest, client_id: str) -> None:
    """Name the client this request authenticated, for its request log line."""
    setattr(request, _CLIENT_ATTRIBUTE, client_id)


def _basic_username(request: HttpRequest) -> str | None:
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, separator, _secret = decoded.partition(":")
    return username if separator else None


def _client_id(request: HttpRequest, response: HttpResponse) -> str | None:
    noted = getattr(request, _CLIENT_ATTRIBUTE, None)
    if noted:
        return str(noted)
    user_client = getattr(getattr(request, "user", None), "client_id", None)
    if isinstance(user_client, str):
        return user_client
    if response.status_code >= 300 or request.method != "POST":
        return None
    candidate: Any = None
    if request.path in _CLIENT_PATHS:
        candidate = _basic_username(request) or request.POST.get("client_id")
    elif request.path == _REGISTER_PATH and response.get("Content-Type", "").startswith("application/json"):
        try:
            candidate = json.loads(response.content).get("client_id")
        except (ValueError, AttributeError):
            candidate = None
    if isinstance(candidate, str) and _CLIENT_ID.match(candidate):
        return candidate
    return None


class RequestLogMiddleware:
    """Outermost middleware: sees the final status and the whole duration."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.enabled = getattr(settings, "DCR_REQUEST_LOG", True)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _current_request_id.set(request_id)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            if self.enabled:
                duration_ms = round((time.perf_counter() - started) * 1000, 2)
                fields = {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "client_id": _client_id(request, response),
                }
                logger.info(
                    "%s %s %s %.2fms",
                    request.method,
                    _printable(request.path),
                    response.status_code,
                    duration_ms,
                    extra=fields,
                )
            return response
        finally:
            _current_request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (None outside a request), for the formatters. Django's own
    4xx/5xx line (django.request) is written after the middleware returned, so it is read from the request
    that record carries."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _current_request_id.get() or getattr(
                getattr(record, "request", None), "request_id", None
            )
        return True
