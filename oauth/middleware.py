"""JSON errors on the API paths: no request to /o/, /api/ or /.well-known/ gets an HTML error page
(SPEC "REST API"), whether the error comes from URL resolution (404), a view (405), Django's request
checks (400: bad Host, oversized uploads) or an unexpected exception (500)."""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .errors import OAuthError, error_response

logger = logging.getLogger(__name__)

API_PREFIXES = ("/o/", "/api/", "/.well-known/")

_CODES = {
    400: ("invalid_request", "The request is not valid."),
    401: ("invalid_token", "Authentication is required."),
    403: ("access_denied", "The request is not allowed."),
    404: ("not_found", "There is nothing at this address."),
    405: ("invalid_request", "This method is not allowed on this endpoint."),
    413: ("invalid_request", "The request body is too large."),
    431: ("invalid_request", "The request header fields are too large."),
}


class APIJSONErrorsMiddleware:
    """Outermost: rewrites non-JSON error responses on API paths into the documented error body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not request.path.startswith(API_PREFIXES):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        status = response.status_code
        code, description = _CODES.get(status, ("server_error", "The server could not answer this request."))
        if status < 500 and status not in _CODES:
            code, description = "invalid_request", "The request is not valid."
        replacement = error_response(OAuthError(code, description, status=status))
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replacement[header] = response[header]
        return replacement

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIXES):
            return None
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(OAuthError("server_error", "The server could not answer this request.", status=500))
