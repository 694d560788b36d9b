"""Signed-in pages are not stored by the browser or any cache between (RFC 9111 5.2.2.5 `no-store`)."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class SignedInPagesNotStoredMiddleware:
    """`Cache-Control: no-store` (Django's never-cache set) on every answer to a signed-in person that
    does not choose its own caching.

    Without it the browser's Back button shows a page as it was: after a push, the review page with the
    pushed changes and a live push form. A page that is not stored is fetched again and tells the truth.
    A request without a session cookie (the API's clients, static files) is not even looked at."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.SESSION_COOKIE_NAME not in request.COOKIES or response.has_header("Cache-Control"):
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
