"""Project-wide request hygiene."""

from collections.abc import Callable, Mapping
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse

from core.conf import dcr


class RejectNulQueryMiddleware:
    """A NUL character in the query string is a 400 on every path.

    PostgreSQL text cannot hold NUL, so a query parameter that reaches a filter (the admin's list
    filters, for one) would otherwise fail inside the database with a 500. No legitimate client sends
    one; on the API paths `oauth.middleware.APIJSONErrorsMiddleware` turns the 400 into the JSON error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if query_has_nul(request.META.get("QUERY_STRING", "")):
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
        if head_too_large(request.META):
            return _too_large()
        return self.get_response(request)


_CONTENT_KEYS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})


def head_too_large(meta: Mapping[str, Any]) -> bool:
    """Whether a header field (name and value, `HTTP_*` and the two CONTENT_* keys of the WSGI environ) is
    over HEADER_FIELD_LIMIT or all of them over HEADER_TOTAL_LIMIT (dcr_project.fast_lane asks it too)."""
    sizes = [
        len(key) + len(value)
        for key, value in meta.items()
        if isinstance(value, str) and (key.startswith("HTTP_") or key in _CONTENT_KEYS)
    ]
    return bool(sizes) and (max(sizes) > HEADER_FIELD_LIMIT or sum(sizes) > HEADER_TOTAL_LIMIT)


def query_has_nul(query: str) -> bool:
    """A NUL in the query string, raw or percent-encoded (RejectNulQueryMiddleware; the lane asks it too)."""
    return "%00" in query or "\x00" in query


def _too_large() -> HttpResponse:
    return HttpResponse("Request header fields too large.\n", status=431, content_type="text/plain; charset=utf-8")


def api_policy_rules() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """The API's CSP headers from the settings: (header, value, exempt attribute, excluded path prefixes)."""
    policy, report_only = dcr.content_security_policy, dcr.content_security_policy_report_only
    headers = []
    for name, value, config, exempt in (
        (HEADER, build_policy(), policy, "_csp_exempt"),
        (HEADER_REPORT_ONLY, build_policy(report_only=True), report_only, "_csp_exempt_ro"),
    ):
        if value:
            prefixes = tuple((config or {}).get("EXCLUDE_URL_PREFIXES", None) or ())
            headers.append((name, value, exempt, prefixes))
    return tuple(headers)


def api_policy_headers(path: str) -> list[tuple[str, str]]:
    """The API's CSP headers a response to `path` gets (dcr_project.fast_lane builds its list with it)."""
    return [(name, value) for name, value, _exempt, prefixes in api_policy_rules() if not path.startswith(prefixes)]


class ApiContentSecurityPolicyMiddleware:
    """django-csp's `CSPMiddleware` for the API's chain (dcr_project/api_handler.py), with the header
    built once per policy instead of once per response.

    django-csp rebuilds both headers from the settings on every response (two `dataclasses.asdict` and
    two `build_policy` calls): about a sixth of a token request's CPU in-process. The API's responses use
    no nonce and no per-view `csp_*` decorator, so the header is a function of the two settings alone;
    it is rebuilt when either setting object changes (tests' `override_settings`). The rules for setting
    it are django-csp's (`csp.middleware.CSPMiddleware.process_response`): not over a header already set,
    nor on a response marked exempt, nor under an `EXCLUDE_URL_PREFIXES` prefix; in DEBUG, not on a 404
    or 500 (Django's debug pages)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._built_for: tuple[object, object] | None = None
        self._headers: tuple[tuple[str, str, str, tuple[str, ...]], ...] = ()

    def _policy_headers(self) -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
        policy = dcr.content_security_policy
        report_only = dcr.content_security_policy_report_only
        if self._built_for is None or self._built_for[0] is not policy or self._built_for[1] is not report_only:
            self._headers = api_policy_rules()
            self._built_for = (policy, report_only)
        return self._headers

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code in (404, 500):
            return response
        for name, value, exempt, prefixes in self._policy_headers():
            if (
                name not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(prefixes)
            ):
                response[name] = value
        return response
