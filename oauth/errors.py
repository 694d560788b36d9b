"""The API's one error shape: {"error": "<code>", "error_description": "<sentence>"}."""

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


class OAuthError(Exception):
    """An error answered as {"error", "error_description"} with a status and optional headers."""

    def __init__(self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or {}


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
        return Response(
            {"error": exc.error, "error_description": exc.description}, status=exc.status, headers=exc.headers
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "invalid_request")
    detail = getattr(exc, "detail", None)
    description = str(detail) if isinstance(detail, str) else "The request is not valid."
    response.data = {"error": code, "error_description": description}
    return response
