"""The hot paths' lane: POST /o/client/{token,introspect,revoke,register} and GET /api/v2/session answered
without Django's handler and middleware chain, with the same answer.

A token request spent about 0.45 ms of its 1 ms of CPU outside the endpoint: Django's handler (URL
resolution, the middleware adapters, `request_started`/`request_finished`), nine middleware and the
HttpResponse's header conversions. This lane does, for those five requests, what that chain does for
them (`settings.API_MIDDLEWARE`, dcr_project/settings/base.py), each step written once for the one case
it has to handle:

- request log and metrics: the same functions as `core.request_log.RequestLogMiddleware` and
  `core.metrics.MetricsMiddleware` (one line, the same fields; the same series, the route's name);
- security headers (SecurityMiddleware, X-Frame-Options, the CSP of `ApiContentSecurityPolicyMiddleware`):
  a list built once from the settings (again when a setting changes), added where the response has
  not set the header itself, as those middleware do;
- JSON errors (`oauth.middleware.APIJSONErrorsMiddleware`): an exception out of a view is its JSON 500,
  a non-JSON error response is rewritten by the same function;
- the database connections' upkeep of Django's `request_started` and `request_finished` signals
  (close_old_connections, reset_queries, close_caches), done in one pass while Django's own receivers are
  the only ones, else by sending the signals.

A request that is not ordinary goes the whole way (`dcr_project.api_handler`), so that every rule keeps
one implementation: a scheme that the HTTPS redirect would answer, a Host outside ALLOWED_HOSTS, a NUL in
the query string, header fields over `RequestHeadLimitMiddleware`'s limits, a body over
DATA_UPLOAD_MAX_MEMORY_SIZE, any other method or path. A bearer call that is refused (no token, a bad or
revoked one, a missing scope, a bad device header) also goes the whole way: the check only reads, so it
is made again there and DRF answers the refusal exactly as before. tests/dcr_project/test_fast_lane.py
compares the lane's answers with the whole chain's, header by header, for successes and refusals.
"""

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.cache import caches, close_caches
from django.core.cache.backends.base import BaseCache
from django.core.exceptions import DisallowedHost
from django.core.handlers.base import reset_urlconf
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections, connections, reset_queries
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.test.signals import setting_changed
from django.urls import resolve, set_script_prefix, set_urlconf
from django.utils.log import log_response
from django.utils.module_loading import import_string

from core import process_state
from core.conf import dcr
from core.metrics import response_count
from core.request_log import request_log_enter, request_log_leave, request_log_line
from dcr_project.middleware import api_policy_headers, head_too_large, query_has_nul
from oauth.api_errors import ApiError
from oauth.authentication import AccessTokenAuthentication
from oauth.middleware import json_error_rewrite, json_server_error
from oauth.views import SessionView

View = Callable[[HttpRequest], HttpResponse | None]

# (method, PATH_INFO) -> URL pattern name; the view is the one Django's resolver finds for the path.
LANE_ROUTES = {
    ("POST", "/o/client/token"): "oauth:token",
    ("POST", "/o/client/introspect"): "oauth:introspect",
    ("POST", "/o/client/revoke"): "oauth:revoke",
    ("POST", "/o/client/register"): "oauth:register",
    ("GET", "/api/v2/session"): "oauth:session",
}


def _session_view() -> View:
    """GET /api/v2/session: the bearer check and the scope check of `SessionView`, then its `get`.
    None (the whole way) when either refuses: DRF then answers the refusal."""
    authentication = AccessTokenAuthentication()
    required = frozenset(getattr(SessionView.permission_classes[0], "required_scopes", ()))
    view = SessionView()
    # As django.views.View.setup does: HEAD is answered by get, and so is in Allow.
    view.head = view.get  # type: ignore[attr-defined]
    # What DRF's finalize_response adds to this view's answers (Allow; Vary where it negotiates).
    drf_headers = tuple(view.default_response_headers.items())

    def session(request: HttpRequest) -> HttpResponse | None:
        try:
            found = authentication.authenticate(request)  # type: ignore[arg-type]
        except ApiError:
            return None
        if found is None or not required <= found[0].scopes:
            return None
        request.user, request.auth = found  # type: ignore[assignment,attr-defined]
        response = view.get(request)  # type: ignore[arg-type]
        for name, value in drf_headers:
            response[name] = value
        return response

    return session


class LaneRequest(WSGIRequest):
    """Django's request, with the two answers the lane works out before the view runs kept for the view:
    the host (get_host(), once checked against ALLOWED_HOSTS) and whether the request is secure."""

    known_host: str | None = None
    _secure: bool | None = None

    def get_host(self) -> str:
        return self.known_host if self.known_host is not None else super().get_host()

    def is_secure(self) -> bool:
        if self._secure is None:
            self._secure = super().is_secure()
        return self._secure


class _Settings:
    """What the lane reads of the settings, read once (and again when a test changes a setting)."""

    def __init__(self) -> None:
        self.build()
        setting_changed.connect(self._changed, weak=False)

    def _changed(self, **kwargs: Any) -> None:
        self.build()

    def build(self) -> None:
        self.ssl_redirect = bool(settings.SECURE_SSL_REDIRECT)
        self.upload_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        self.request_log = dcr.request_log
        self.debug = bool(settings.DEBUG)
        self.hsts = _hsts_value()
        self.security = _security_headers()
        self.hosts: dict[tuple[str, str, str, str], str] = {}
        self.caches_close_nothing = _caches_close_nothing()
        self._by_path: dict[tuple[str, bool], tuple[tuple[str, str], ...]] = {}

    def headers_for(self, path: str, status: int) -> tuple[tuple[str, str], ...]:
        """SecurityMiddleware's headers but HSTS, the CSP (not on DEBUG's 404 and 500 pages, as
        ApiContentSecurityPolicyMiddleware) and X-Frame-Options, in the order the chain adds them."""
        key = (path, self.debug and status in (404, 500))
        found = self._by_path.get(key)
        if found is None:
            csp = [] if key[1] else api_policy_headers(path)
            frame = ("X-Frame-Options", settings.X_FRAME_OPTIONS.upper())
            found = (*self.security, *csp, frame)
            self._by_path[key] = found
        return found


def _hsts_value() -> str | None:
    """SecurityMiddleware's Strict-Transport-Security (on secure requests only)."""
    if not settings.SECURE_HSTS_SECONDS:
        return None
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return value


def _security_headers() -> tuple[tuple[str, str], ...]:
    """SecurityMiddleware's headers other than HSTS, as its process_response makes them."""
    headers: list[tuple[str, str]] = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        value = ",".join([v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy)
        headers.append(("Referrer-Policy", value))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    return tuple(headers)


class FastLane:
    """A WSGI application: the lane's routes answered here when ordinary, everything else by `whole`."""

    def __init__(self, whole: Callable[..., Iterable[bytes]]):
        self.whole = whole
        self.settings = _Settings()
        self.routes: dict[tuple[str, str], tuple[str, View]] = {}
        for (method, path), name in LANE_ROUTES.items():
            view: View = _session_view() if name == "oauth:session" else resolve(path).func
            self.routes[(method, path)] = (name, view)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        route = self.routes.get((environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")))
        if route is None or not self._ordinary(environ):
            return self.whole(environ, start_response)
        request = LaneRequest(environ)
        if not self._host_allowed(request) or (self.settings.ssl_redirect and not request.is_secure()):
            return self.whole(environ, start_response)
        answered = self._answer(request, *route)
        if answered is None:
            return self.whole(environ, start_response)
        status, headers, content = answered
        start_response(status, headers)
        return [content]

    def _ordinary(self, environ: dict[str, Any]) -> bool:
        """Nothing that a middleware of the whole chain would refuse or redirect (see the module's text)."""
        if query_has_nul(environ.get("QUERY_STRING", "")) or head_too_large(environ):
            return False
        length = environ.get("CONTENT_LENGTH") or "0"
        return length.isdigit() and int(length) <= self.settings.upload_limit

    def _host_allowed(self, request: LaneRequest) -> bool:
        """request.get_host()'s check, remembered per Host (the lane's callers use a handful of names); the
        host found is kept on the request for the endpoint's own get_host()."""
        meta = request.META
        key = (
            meta.get("HTTP_X_FORWARDED_HOST", ""),
            meta.get("HTTP_HOST", ""),
            meta.get("SERVER_NAME", ""),
            str(meta.get("SERVER_PORT", "")),
        )
        hosts = self.settings.hosts
        host = hosts.get(key)
        if host is None:
            try:
                host = request.get_host()
            except DisallowedHost:
                return False
            if len(hosts) < 256:
                hosts[key] = host
        request.known_host = host
        return True

    def _answer(self, request: LaneRequest, route: str, view: View) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """What Django's WSGIHandler and the API's middleware make of `view`'s answer (None: go the whole
        way; nothing was written then)."""
        started = time.perf_counter()
        # get_script_name(environ), as WSGIRequest has already worked it out (request.path ends in path_info).
        set_script_prefix(request.path[: len(request.path) - len(request.path_info)])
        _request_started(request.environ)
        request_id, token = request_log_enter(request)
        try:
            try:
                response = view(request)
            except Exception as exc:  # as APIJSONErrorsMiddleware.process_exception answers it
                response = json_server_error(request, exc)
            if response is None:
                _request_finished(self.settings.caches_close_nothing)
                return None
            response = json_error_rewrite(request, response)
            status = response.status_code
            content = response.content
            headers = self._headers(request, response, request_id, len(content))
            response_count(route, response, time.perf_counter() - started)
            if self.settings.request_log:
                request_log_line(request, status, started)
            if status >= 400:
                log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        finally:
            request_log_leave(token)
        # What the server's close() of Django's response does: its closers, then request_finished.
        for closer in response._resource_closers:  # type: ignore[attr-defined]
            closer()
        _request_finished(self.settings.caches_close_nothing)
        return f"{status} {response.reason_phrase}", headers, content

    def _headers(
        self, request: LaneRequest, response: HttpResponse, request_id: str, length: int
    ) -> list[tuple[str, str]]:
        headers = list(response.items())
        present = {name.lower() for name, _ in headers}
        if "content-length" not in present:
            headers.append(("Content-Length", str(length)))
        if self.settings.hsts and "strict-transport-security" not in present and request.is_secure():
            headers.append(("Strict-Transport-Security", self.settings.hsts))
        for name, value in self.settings.headers_for(request.path, response.status_code):
            if name.lower() not in present:
                headers.append((name, value))
        headers.append(("X-Request-ID", request_id))
        headers.extend(("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values())
        return headers


# Django's own receivers of request_started and request_finished (django.db, django.core.cache,
# django.core.handlers.base). While they are the only ones, the lane does their work in one pass over the
# connections instead of sending the signals (two passes, each through asgiref's thread-local lookups:
# about 40 us of a token request's CPU); with any other receiver connected, it sends the signals.
_DJANGO_STARTED: frozenset[Callable[..., Any]] = frozenset({reset_queries, close_old_connections})
_DJANGO_FINISHED: frozenset[Callable[..., Any]] = frozenset({close_old_connections, close_caches, reset_urlconf})
_plain_signals: dict[int, tuple[tuple[int, int], bool]] = process_state.register("lane-plain-signals", {})


def _only_djangos(signal: Signal, expected: frozenset[Callable[..., Any]]) -> bool:
    """Whether `signal`'s receivers are `expected` (looked at again only when its receiver list changes)."""
    key = (id(signal.receivers), len(signal.receivers))
    known = _plain_signals.get(id(signal))
    if known is not None and known[0] == key:
        return known[1]
    receivers = {entry[1]() if isinstance(entry[1], weakref.ReferenceType) else entry[1] for entry in signal.receivers}
    plain = receivers == expected
    _plain_signals[id(signal)] = (key, plain)
    return plain


class _ThreadConnections(threading.local):
    found: Sequence[Any] | None = None


class _InitializedConnections:
    """Each thread's database connections once all of them are made (`connections.all(initialized_only=
    True)` walks asgiref's thread-critical locals twice per alias, twice per request: about 8 us). A
    connection object, once made in a thread, stays that thread's (closing it keeps the object), so the
    list kept is the one the walk would find; dropped by `core.process_state.reset`."""

    def __init__(self) -> None:
        self.local = _ThreadConnections()

    def clear(self) -> None:
        self.local = _ThreadConnections()

    def get(self) -> Sequence[Any]:
        found = self.local.found
        if found is not None:
            return found
        made = connections.all(initialized_only=True)
        if len(made) == len(connections.settings):
            self.local.found = made
        return made


_initialized = process_state.register("lane-initialized-connections", _InitializedConnections())


def _request_started(environ: dict[str, Any]) -> None:
    if not _only_djangos(signals.request_started, _DJANGO_STARTED):
        signals.request_started.send(sender=FastLane, environ=environ)
        return
    for connection in _initialized.get():
        connection.queries_log.clear()
        connection.close_if_unusable_or_obsolete()


def _request_finished(caches_close_nothing: bool) -> None:
    if not _only_djangos(signals.request_finished, _DJANGO_FINISHED):
        signals.request_finished.send(sender=FastLane)
        return
    for connection in _initialized.get():
        connection.close_if_unusable_or_obsolete()
    if not caches_close_nothing:
        caches.close_all()
    set_urlconf(None)


def _caches_close_nothing() -> bool:
    """Whether every configured cache's close() is BaseCache's, which does nothing (Django's Redis,
    local-memory and dummy caches): close_caches then has nothing to do. Worked out with the lane's other
    settings (`_Settings.build`, again when CACHES changes)."""
    backends = [import_string(entry["BACKEND"]) for entry in settings.CACHES.values()]
    return all(backend.close is BaseCache.close for backend in backends)


def fast_lane(whole: Callable[..., Iterable[bytes]]) -> FastLane:
    """The WSGI application of dcr_project.wsgi."""
    return FastLane(whole)
