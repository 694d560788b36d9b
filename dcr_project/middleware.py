"""Project-wide request hygiene."""

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse


class RejectNulQueryMiddleware:
    """A NUL character in the query string is a 400 on every path.

    PostgreSQL text cannot hold NUL, so a query parameter that reaches a filter (the admin's list
    filters, for one) would otherwise fail inside the database with a 500. No legitimate client sends
    one; on the API paths `oauth.middleware.APIJSONErrorsMiddleware` turns the 400 into the JSON error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            raise BadRequest("The query string contains a NUL character.")
        return self.get_response(request)


# nginx's defaults (large_client_header_buffers 4 8k): one header field up to 8 KiB, all of them 32 KiB.
HEADER_FIELD_LIMIT = 8 * 1024
HEADER_TOTAL_LIMIT = 32 * 1024


class RequestHeadLimitMiddleware:
    """Request header fields over the limits above are a 431 (RFC 6585 5) on every path.

    The HTTP server's own limit on a request's head is higher (`dcr_project.serve --max-head-bytes`,
    64 KiB) and it answers an empty 431 itself; this one is what a client normally meets, and on the API
    paths `oauth.middleware.APIJSONErrorsMiddleware` turns it into the JSON error. The size of a field
    is its name and value as the server handed them over (`HTTP_*` and the two CONTENT_* keys of the
    WSGI environ)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        total = 0
        for key, value in request.META.items():
            if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                size = len(key) + len(value) if isinstance(value, str) else 0
                if size > HEADER_FIELD_LIMIT:
                    return _too_large()
                total += size
        if total > HEADER_TOTAL_LIMIT:
            return _too_large()
        return self.get_response(request)


def _too_large() -> HttpResponse:
    return HttpResponse("Request header fields too large.\n", status=431, content_type="text/plain; charset=utf-8")
