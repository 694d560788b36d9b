"""A WSGI handler for the JSON API's paths: Django's own handler with `settings.API_MIDDLEWARE` instead of
`settings.MIDDLEWARE` (dcr_project/settings/base.py says what the shorter chain keeps and drops).

A token request spent about half its time in Django's handler and middleware, most of it in what only
the dashboard and the admin need (sessions, CSRF, authentication, the second factor, messages, the
lock-out); bench/results/profile-token-before.txt and -after.txt show the difference."""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

# Served by ApiWSGIHandler (dcr_project/wsgi.py dispatches on PATH_INFO). /api/docs/ and /api/schema/,
# a page and the OpenAPI document, keep the whole chain.
API_PATH_PREFIXES = ("/o/client/", "/api/v2/", "/.well-known/")


class ApiWSGIHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # Django's BaseHandler.load_middleware reads settings.MIDDLEWARE: pointed at the API's chain for
        # the moment it builds this handler's (once, at import, before any request).
        everything = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = everything


def path_dispatcher(api: WSGIHandler, pages: WSGIHandler) -> Any:
    """The WSGI application: the API's paths to `api`, everything else to `pages`."""

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(API_PATH_PREFIXES):
            return api(environ, start_response)
        return pages(environ, start_response)

    return application
