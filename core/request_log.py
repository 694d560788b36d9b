"""Structured request logs: one record per request (method, path, status, duration, request id, client id).

What is logged is chosen field by field, never a dump of the request: the path without its query string
(a client that puts a token there must not get it written down), no header, no body. The request id comes
from `X-Request-ID` when it is well formed (a proxy's or the caller's own), otherwise it is generated; it is
returned in the response header and attached to every log record written while the request runs
(`RequestIdFilter`), so a traceback can be matched with its request line.

A Celery task enqueued while a request runs carries that request's id in its message headers
(`task_request_id_publish`), and the worker sets it around the task (`task_request_id_enter` / `_leave`),
so the task's log records carry the id of the request that asked for it; dcr_project.celery connects them.
Health checks and scrapes that succeed (`QUIET_PATHS`) write no line: a probe every few seconds would
bury the requests.

The client id is logged when the request authenticated one: the bearer's client (`request.user`), or
the client an endpoint named with `request_log_client` once it authenticated (token, introspection,
revocation) or registered it. A refused call logs no client id: an unauthenticated claim is not a fact
worth recording. Nothing is parsed again for the log line.
"""

import contextvars
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from . import process_state
from .conf import dcr
from .random_ids import random_hex

logger = logging.getLogger("dcr.request")

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a few separators, 8 to 128 of them: a UUID, a hex id, a proxy's trace id. Anything
# else (spaces, quotes, control characters, a novel) is replaced so it cannot forge or bloat a log line.
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._:@-]{8,128}\Z")
_CLIENT_ATTRIBUTE = "_request_log_client_id"

# Probes and scrapes: logged only when they fail.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# The message header that carries the request id to a Celery task.
TASK_HEADER = "dcr_request_id"

# A module global outside core.process_state: a ContextVar is per request (each thread or task sees its
# own value), not process state, and its reset is the token `RequestLogMiddleware` holds.
_current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request this thread (or task) is answering, if any."""
    return _current_request_id.get()


def request_id_from(header: str | None) -> str:
    """The caller's id when well formed, else a new one (32 hex digits)."""
    if header and _WELL_FORMED_ID.match(header):
        return header
    return random_hex()


def _printable(text: str) -> str:
    """Control characters escaped, so a path cannot start a forged line in a plain-text log."""
    if text.isprintable():
        return text
    return "".join(character if character.isprintable() else repr(character)[1:-1] for character in text)


def request_log_client(request: HttpRequest, client_id: str) -> None:
    """Name the client this request authenticated, for its request log line."""
    setattr(request, _CLIENT_ATTRIBUTE, client_id)


def _client_id(request: HttpRequest) -> str | None:
    """The client this request authenticated: named by the endpoint (`request_log_client`), or a
    bearer token's client (DRF's request.user)."""
    noted = getattr(request, _CLIENT_ATTRIBUTE, None)
    if noted:
        return str(noted)
    user_client = getattr(getattr(request, "user", None), "client_id", None)
    return user_client if isinstance(user_client, str) else None


def request_log_enter(request: HttpRequest) -> tuple[str, contextvars.Token[str | None]]:
    """The request's id (`request.request_id`, and this context's for every record written meanwhile);
    the token `request_log_leave` takes back."""
    request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
    request.request_id = request_id  # type: ignore[attr-defined]
    return request_id, _current_request_id.set(request_id)


def request_log_leave(token: contextvars.Token[str | None]) -> None:
    _current_request_id.reset(token)


def request_log_line(request: HttpRequest, status: int, started: float) -> None:
    """The request's line (`started`: its time.perf_counter() on arrival); none for a quiet path's success."""
    if status < 400 and request.path in QUIET_PATHS:
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    fields = {
        "method": request.method,
        "path": request.path,
        "status": status,
        "duration_ms": duration_ms,
        "client_id": _client_id(request),
    }
    if not logger.isEnabledFor(logging.INFO):
        return
    # What logger.info does, less its search of the stack for the caller's file and line (no formatter
    # of LOGGING shows them; about a sixth of the line's cost).
    args = (request.method, _printable(request.path), status, duration_ms)
    logger.handle(logger.makeRecord(logger.name, logging.INFO, "", 0, "%s %s %s %.2fms", args, None, extra=fields))


class RequestLogMiddleware:
    """Outermost middleware: sees the final status and the whole duration. (dcr_project.fast_lane does
    the same with the same functions for the hot paths.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.enabled = dcr.request_log

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id, token = request_log_enter(request)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            if self.enabled:
                request_log_line(request, response.status_code, started)
            return response
        finally:
            request_log_leave(token)


# --- Celery tasks ----------------------------------------------------------------------------------

# task id -> the token that restores the worker's context once the task ends.
_task_tokens: dict[str, contextvars.Token[str | None]] = process_state.register("task-request-ids", {})


def task_request_id_publish(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """Celery's before_task_publish: the enqueuing request's id rides in the message headers."""
    request_id = _current_request_id.get()
    if request_id is not None and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def task_request_id_enter(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """Celery's task_prerun: a worker's task logs with the id its message brought (None if it had none).
    An eager task runs inside the request that called it, which has set the id already."""
    request = getattr(task, "request", None)
    if task_id is None or request is None or request.is_eager:
        return
    header = request.get(TASK_HEADER)
    well_formed = header if isinstance(header, str) and _WELL_FORMED_ID.match(header) else None
    _task_tokens[task_id] = _current_request_id.set(well_formed)


def task_request_id_leave(task_id: str | None = None, **kwargs: Any) -> None:
    """Celery's task_postrun: the worker's next task starts without this one's id."""
    token = _task_tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
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
