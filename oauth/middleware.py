"""JSON errors on the API paths: no request to /o/, /api/ or /.well-known/ gets an HTML error page
(README "API walk-through"), whether the error comes from URL resolution (404), a view (405), Django's
request checks (400: bad Host, oversized uploads) or an unexpected exception (500). On the protected API
(/api/v2/) the body is the original's enhanced error codes (oauth.api_errors), elsewhere RFC 6749's."""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .api_errors import BAD_REQUEST, INTERNAL_SERVER_ERROR, INVALID_HTTP_METHOD, NONE, ApiError
from .errors import OAuthError, api_error_response, error_response

logger = logging.getLogger(__name__)

API_PREFIXES = ("/o/", "/api/", "/.well-known/")
PROTECTED_API_PREFIX = "/api/v2/"

_CODES = {
    400: ("invalid_request", "The request is not valid."),
    401: ("invalid_token", "Authentication is required."),
    403: ("access_denied", "The request is not allowed."),
    404: ("not_found", "There is nothing at this address."),
    405: ("invalid_request", "This method is not allowed on this endpoint."),
    413: ("invalid_request", "The request body is too large."),
    431: ("invalid_request", "The request header fields are too large."),
}


def json_error_rewrite(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """An error response on an API path in the documented JSON shape (the response itself when it is not
    an error, not on an API path, or JSON already)."""
    if response.status_code < 400 or not request.path.startswith(API_PREFIXES):
        return response
    if response.get("Content-Type", "").startswith("application/json"):
        return response
    status = response.status_code
    code, description = _CODES.get(status, ("server_error", "The server could not answer this request."))
    if status < 500 and status not in _CODES:
        code, description = "invalid_request", "The request is not valid."
    if request.path.startswith(PROTECTED_API_PREFIX):
        replacement = api_error_response(_enhanced(status, description), request)
    else:
        replacement = error_response(OAuthError(code, description, status=status))
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            replacement[header] = response[header]
    # A response Django already logged (a bad Host: django.security.DisallowedHost) is not logged
    # again as "Bad Request" because its body changed (django.utils.log.log_response's mark).
    replacement._has_been_logged = getattr(response, "_has_been_logged", False)  # type: ignore[attr-defined]
    return replacement


def json_server_error(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The answer to an exception out of a view on an API path: logged with its traceback, a JSON 500."""
    logger.exception("Unhandled error on %s %s", request.method, request.path)
    description = "The server could not answer this request."
    if request.path.startswith(PROTECTED_API_PREFIX):
        return api_error_response(_enhanced(500, description), request)
    return error_response(OAuthError("server_error", description, status=500))


class APIJSONErrorsMiddleware:
    """Outermost: rewrites non-JSON error responses on API paths into the documented error body.
    (dcr_project.fast_lane uses the same two functions for the hot paths.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return json_error_rewrite(request, self.get_response(request))

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIXES):
            return None
        return json_server_error(request, exception)


def _enhanced(status: int, description: str) -> ApiError:
    """The original's general codes for what the protected API's views never see (action `none`)."""
    code = BAD_REQUEST
    if status == 405:
        code = INVALID_HTTP_METHOD
    elif status >= 500:
        code = INTERNAL_SERVER_ERROR
    return ApiError(status, code, description, action=NONE)
