"""The API's one error shape: {"error": "<code>", "error_description": "<sentence>"}.

`OAuthError` is the one exception type; `error_response` turns it into the response everywhere (the
plain Django views of the hot paths, and DRF views through `api_exception_handler`). Descriptions are
fixed sentences: never a secret, a token, or a value the client sent.
"""

import json
from typing import Any

from django.http import HttpResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

JSON = "application/json"


class OAuthError(Exception):
    """An error answered as {"error", "error_description", **extra} with a status and optional headers."""

    def __init__(
        self,
        error: str,
        description: str,
        status: int = 400,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description, **self.extra}


def invalid_request(description: str) -> OAuthError:
    """RFC 6749 5.2 / RFC 7591 3.2.2: missing, repeated or malformed parameter."""
    return OAuthError("invalid_request", description)


def bearer_error(description: str, *, action: str = "retry") -> OAuthError:
    """RFC 6750 3.1: 401 with `WWW-Authenticate: Bearer error="invalid_token"`; `action` tells the client
    what to do next: `retry` (get a new access token) or `application-registration` (register again)."""
    return OAuthError(
        "invalid_token",
        description,
        status=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        extra={"action": action},
    )


def insufficient_scope(description: str) -> OAuthError:
    """RFC 6750 3.1: 403 when the token lacks a scope the resource needs."""
    return OAuthError(
        "insufficient_scope",
        description,
        status=403,
        headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
    )


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(data, separators=(",", ":")), status=status, content_type=JSON)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(exc: OAuthError) -> HttpResponse:
    """The one place an OAuthError becomes a response. Errors are never cached (RFC 6749 5.2)."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **exc.headers}
    return json_response(exc.body(), status=exc.status, headers=headers)


_DRF_CODES = {
    exceptions.ParseError: "invalid_request",
    exceptions.UnsupportedMediaType: "invalid_request",
    exceptions.NotAcceptable: "invalid_request",
    exceptions.MethodNotAllowed: "invalid_request",
    exceptions.NotAuthenticated: "invalid_token",
    exceptions.AuthenticationFailed: "invalid_token",
    exceptions.PermissionDenied: "insufficient_scope",
    exceptions.NotFound: "not_found",
    exceptions.Throttled: "too_many_requests",
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map DRF and our own errors onto the documented body."""
    if isinstance(exc, OAuthError):
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **exc.headers}
        return Response(exc.body(), status=exc.status, headers=headers)
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "invalid_request")
    detail = getattr(exc, "detail", None)
    description = str(detail) if isinstance(detail, str) else "The request is not valid."
    response.data = {"error": code, "error_description": description}
    if code == "invalid_token":
        response.data["action"] = "retry"
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response
