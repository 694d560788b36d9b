"""The OAuth endpoints' error shape: {"error": "<code>", "error_description": "<sentence>"} (RFC 6749 5.2,
RFC 7591 3.2.2).

`OAuthError` is their one exception type; `error_response` turns it into the response everywhere (the
plain Django views of the hot paths, and DRF views through `api_exception_handler`). Descriptions are
fixed sentences: never a secret, a token, or a value the client sent. The bearer-protected API answers in
the original's enhanced-error-codes shape instead (`oauth.api_errors`); `api_exception_handler` serves both.
"""

from typing import Any

import orjson
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.conf import dcr
from registered_apps.environments import request_environment

from .api_errors import BAD_REQUEST, INVALID_HTTP_METHOD, NONE, ApiError

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


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    # orjson: compact UTF-8 (RFC 8259 8.1), about a tenth of json.dumps' time on a token's answer.
    response = HttpResponse(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status=status, content_type=JSON)
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


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """Map DRF and our own errors onto the documented body: the enhanced-error-codes shape on the
    bearer-protected API (`oauth.api_errors`), `{"error", "error_description"}` everywhere else."""
    request = context.get("request")
    if isinstance(exc, ApiError):
        return api_error_response(exc, request)
    if isinstance(exc, OAuthError):
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **exc.headers}
        return Response(exc.body(), status=exc.status, headers=headers)
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = getattr(exc, "detail", None)
    description = str(detail) if isinstance(detail, str) else "The request is not valid."
    if _speaks_enhanced(context.get("view")):
        code = INVALID_HTTP_METHOD if isinstance(exc, exceptions.MethodNotAllowed) else BAD_REQUEST
        enhanced = api_error_response(ApiError(response.status_code, code, description, action=NONE), request)
        for name in ("Allow", "Retry-After"):
            if name in response:
                enhanced[name] = response[name]
        return enhanced
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "invalid_request")
    response.data = {"error": code, "error_description": description}
    if code == "invalid_token":
        response.data["action"] = "retry"
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _speaks_enhanced(view: Any) -> bool:
    """A view protected by `oauth.authentication.AccessTokenAuthentication` (which says so)."""
    return any(getattr(cls, "enhanced_errors", False) for cls in getattr(view, "authentication_classes", ()))


def api_error_response(exc: ApiError, request: Any) -> HttpResponse:
    """The one place an ApiError becomes a response (DRF views and the API middleware). `helpUrl`: the
    API's documentation page on the environment's host (the metadata's service_documentation), or on
    DCR_ISSUER when the Host header itself was refused."""
    try:
        issuer = request_environment(request).issuer
    except DisallowedHost:
        issuer = str(dcr.issuer).rstrip("/")
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **exc.headers}
    return json_response(exc.body(help_url=f"{issuer}/api/docs/"), status=exc.status, headers=headers)
