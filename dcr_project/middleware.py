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
