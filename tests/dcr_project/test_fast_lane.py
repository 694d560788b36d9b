"""dcr_project.fast_lane answers its five requests as the whole chain (dcr_project.api_handler) does:
the same status, the same headers, the same body, the same request log line and metrics; and it leaves
to the whole chain every request that a middleware there would refuse or redirect.

Both are called as the HTTP server calls them (WSGI environ in, status, headers and body out), with
real PostgreSQL/Redis (or the embedded default) behind them."""

import io
import json
import logging
import sys
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core import signals
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings

from dcr_project.api_handler import ApiWSGIHandler
from dcr_project.fast_lane import FastLane
from dcr_project.wsgi import api_application, application
from tests.oauth.api import INTROSPECT, REGISTER, REVOKE, SESSION, TOKEN, get_token

pytestmark = pytest.mark.django_db(transaction=True)

FORM = "application/x-www-form-urlencoded"
# Headers whose value differs from one answer to the next by design.
_VARYING = {"x-request-id"}


def _environ(method: str, path: str, body: bytes = b"", content_type: str = "", **headers: str) -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": headers.pop("query", ""),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": headers.pop("host", "testserver"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    if body or content_type:
        environ["CONTENT_TYPE"] = content_type
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in headers.items():
        environ[f"HTTP_{name.upper()}"] = value
    return environ


class Answer:
    def __init__(self, wsgi: Any, environ: dict[str, Any]):
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started["status"], started["headers"] = status, headers

        chunks = wsgi(environ, start_response)
        try:
            self.body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # what a WSGI server does: Django's response sends request_finished here
        self.status: str = started["status"]
        self.raw_headers: list[tuple[str, str]] = started["headers"]
        self.headers = {name.lower(): value for name, value in self.raw_headers}

    def json(self) -> Any:
        return json.loads(self.body)

    def comparable_headers(self) -> dict[str, str]:
        return {name: value for name, value in self.headers.items() if name not in _VARYING}


@pytest.fixture
def handled_by():
    """The handler classes that sent request_started, in order."""
    senders: list[type] = []

    def note(sender: type, **kwargs: Any) -> None:
        senders.append(sender)

    signals.request_started.connect(note)
    yield senders
    signals.request_started.disconnect(note)


def _both(environ_of: Any) -> tuple[Answer, Answer]:
    """The lane's answer, then the whole chain's, to the same request (made anew for each)."""
    return Answer(application, environ_of()), Answer(api_application, environ_of())


def _token_form(credentials: dict[str, Any], **params: str) -> bytes:
    return urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
            **params,
        }
    ).encode()


def test_the_lane_is_what_the_server_runs(handled_by, credentials):
    assert isinstance(application, FastLane)
    handled_by.clear()  # the fixtures' own requests
    answer = Answer(application, _environ("POST", TOKEN, _token_form(credentials), FORM))
    assert answer.status == "200 OK", answer.body
    assert handled_by == [FastLane]


def test_a_token_is_answered_as_the_whole_chain_answers_it(handled_by, credentials):
    handled_by.clear()
    lane, whole = _both(lambda: _environ("POST", TOKEN, _token_form(credentials), FORM))
    assert handled_by[0] is FastLane and handled_by[1] is not FastLane
    assert lane.status == whole.status == "200 OK"
    assert lane.comparable_headers() == whole.comparable_headers()
    assert "strict-transport-security" not in lane.headers  # not a secure request
    assert lane.headers["x-content-type-options"] == "nosniff"
    assert lane.headers["content-length"] == str(len(lane.body))
    assert lane.headers["x-request-id"] != whole.headers["x-request-id"]
    assert lane.json().keys() == whole.json().keys()
    assert lane.json()["scope"] == whole.json()["scope"]


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
        {"client_id": "nobody", "client_secret": "x"},
        {"grant_type": "password", "client_id": "nobody", "client_secret": "x"},
        "grant_type=client_credentials&grant_type=client_credentials",
        "%ff%fe=1",
    ],
)
def test_a_refused_token_request_is_answered_the_same(db, form):
    body = (form if isinstance(form, str) else urlencode(form)).encode()
    lane, whole = _both(lambda: _environ("POST", TOKEN, body, FORM))
    assert lane.status == whole.status
    assert lane.status.startswith("4")
    assert lane.comparable_headers() == whole.comparable_headers()
    assert lane.body == whole.body


def test_introspection_and_revocation_are_answered_the_same(credentials):
    access_token = get_token_wsgi(credentials)
    form = urlencode({"token": access_token, "client_id": credentials["client_id"],
                      "client_secret": credentials["client_secret"]}).encode()  # fmt: skip
    lane, whole = _both(lambda: _environ("POST", INTROSPECT, form, FORM))
    assert lane.status == whole.status == "200 OK"
    assert lane.comparable_headers() == whole.comparable_headers()
    assert lane.json() == whole.json()
    assert lane.json()["active"] is True

    lane, whole = _both(lambda: _environ("POST", REVOKE, form, FORM))
    assert lane.status == whole.status == "200 OK"
    assert lane.comparable_headers() == whole.comparable_headers()
    assert lane.body == whole.body
    gone = Answer(application, _environ("POST", INTROSPECT, form, FORM))
    assert gone.json() == {"active": False}


def get_token_wsgi(credentials: dict[str, Any]) -> str:
    answer = Answer(application, _environ("POST", TOKEN, _token_form(credentials), FORM))
    assert answer.status == "200 OK", answer.body
    return str(answer.json()["access_token"])


def test_registration_is_answered_the_same(statement):
    body = json.dumps({"software_statement": statement}).encode()
    lane, whole = _both(lambda: _environ("POST", REGISTER, body, "application/json", accept="application/json"))
    assert lane.status == whole.status == "201 Created"
    assert lane.comparable_headers().keys() == whole.comparable_headers().keys()
    assert {k: v for k, v in lane.comparable_headers().items() if k != "location"} == {
        k: v for k, v in whole.comparable_headers().items() if k != "location"
    }
    assert lane.json().keys() == whole.json().keys()

    bad = json.dumps({"software_statement": "not.a.statement"}).encode()
    lane, whole = _both(lambda: _environ("POST", REGISTER, bad, "application/json"))
    assert lane.status == whole.status == "400 Bad Request"
    assert lane.body == whole.body
    assert lane.comparable_headers() == whole.comparable_headers()


def test_the_session_call_is_answered_the_same_and_its_refusals_go_the_whole_way(handled_by, credentials):
    access_token = get_token_wsgi(credentials)
    handled_by.clear()
    lane, whole = _both(lambda: _environ("GET", SESSION, authorization=f"Bearer {access_token}"))
    assert handled_by[0] is FastLane
    assert lane.status == whole.status == "200 OK"
    assert lane.comparable_headers() == whole.comparable_headers()
    assert lane.json() == whole.json()

    for headers in ({}, {"authorization": "Bearer nonsense"}, {"authorization": "Basic abc"},
                    {"authorization": f"Bearer {access_token}", "x_device_info": "%%%"}):  # fmt: skip
        handled_by.clear()
        lane, whole = _both(lambda headers=headers: _environ("GET", SESSION, **headers))
        assert lane.status == whole.status
        assert lane.status[0] == "4", lane.body
        assert lane.comparable_headers() == whole.comparable_headers()
        # The enhanced error's `trace` is each answer's own request id.
        assert lane.json().pop("trace") == lane.headers["x-request-id"]
        assert {**lane.json(), "trace": ""} == {**whole.json(), "trace": ""}
        assert FastLane in handled_by and handled_by.count(FastLane) == 1  # tried, then the whole way


@pytest.mark.parametrize(
    "extra",
    [
        {"query": "a=%00"},  # RejectNulQueryMiddleware: 400
        {"x_big": "x" * 9000},  # RequestHeadLimitMiddleware: 431
        {"host": "evil.example.com"},  # ALLOWED_HOSTS: 400
    ],
)
def test_what_a_middleware_would_refuse_goes_the_whole_way(handled_by, credentials, extra):
    body = _token_form(credentials)
    handled_by.clear()
    answer = Answer(application, _environ("POST", TOKEN, body, FORM, **extra))
    assert answer.status[0] == "4"
    assert answer.headers["content-type"] == "application/json"
    assert FastLane not in handled_by


def test_https_rules_follow_the_settings(handled_by, credentials):
    """Under production's HTTPS settings (the whole chain reads them when it is made, so both are made here)."""
    with override_settings(
        SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=600, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
    ):
        whole = ApiWSGIHandler()
        lane = FastLane(whole)
        handled_by.clear()
        plain = Answer(lane, _environ("POST", TOKEN, _token_form(credentials), FORM))
        assert plain.status == "301 Moved Permanently"
        assert FastLane not in handled_by

        def secure() -> dict[str, Any]:
            return _environ("POST", TOKEN, _token_form(credentials), FORM, x_forwarded_proto="https")

        fast, slow = Answer(lane, secure()), Answer(whole, secure())
        assert fast.status == slow.status == "200 OK"
        assert fast.headers["strict-transport-security"] == "max-age=600"
        assert fast.comparable_headers() == slow.comparable_headers()


def test_the_lane_writes_the_request_line_and_counts_the_token(caplog, credentials):
    from core.metrics import TOKENS_ISSUED

    before = TOKENS_ISSUED._value.get()
    with caplog.at_level(logging.INFO, logger="dcr.request"):
        answer = Answer(application, _environ("POST", TOKEN, _token_form(credentials), FORM,
                                              x_request_id="trace-1234567"))  # fmt: skip
    assert answer.headers["x-request-id"] == "trace-1234567"
    lines = [record for record in caplog.records if record.name == "dcr.request"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.path, line.status, line.client_id) == ("POST", TOKEN, 200, credentials["client_id"])
    assert line.request_id == "trace-1234567"
    assert TOKENS_ISSUED._value.get() == before + 1


@override_settings(DCR_REQUEST_LOG=False)
def test_the_request_log_setting_is_followed(caplog, credentials):
    with caplog.at_level(logging.INFO, logger="dcr.request"):
        Answer(application, _environ("POST", TOKEN, _token_form(credentials), FORM))
    assert not [record for record in caplog.records if record.name == "dcr.request"]


def test_the_token_from_the_lane_works_through_the_test_client(client, credentials):
    """A token the lane issued is one the rest of the API accepts (and the reverse)."""
    access_token = get_token_wsgi(credentials)
    response = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert response.status_code == 200
    other = get_token(client, credentials)["access_token"]
    answer = Answer(application, _environ("GET", SESSION, authorization=f"Bearer {other}"))
    assert answer.status == "200 OK"


class ClosingCache(LocMemCache):
    """A cache whose close() does something (as memcached's does): the lane must call it after each request."""

    closed = 0

    def close(self, **kwargs: Any) -> None:
        ClosingCache.closed += 1


def test_a_cache_that_closes_is_closed_after_a_lane_request(credentials):
    """The lane skips close_caches while every backend's close() does nothing, worked out again when CACHES
    changes."""
    closing = {"BACKEND": f"{__name__}.ClosingCache", "LOCATION": "lane-closing"}
    with override_settings(CACHES={**settings.CACHES, "closing": closing}):
        caches["closing"].get("warm")  # Django closes the caches a thread has opened
        ClosingCache.closed = 0
        answer = Answer(application, _environ("POST", TOKEN, _token_form(credentials), FORM))
        assert answer.status.startswith("200") and ClosingCache.closed == 1


def test_a_token_over_its_application_quota_is_answered_the_same(credentials):
    """429 with Retry-After and the RateLimit fields (README "Quotas") from the lane as from the chain."""
    from registered_apps.models import RegisteredApplication
    from registered_apps.services import set_application_quota

    registered = RegisteredApplication.objects.get(pk=credentials["software_id"])
    set_application_quota(registered, actor="tests", tokens_per_hour=1)
    get_token_wsgi(credentials)  # uses it up
    lane, whole = _both(lambda: _environ("POST", TOKEN, _token_form(credentials), FORM))
    assert lane.status == whole.status == "429 Too Many Requests"
    timing = {"retry-after", "ratelimit"}  # whole seconds to the hour's end: may tick between the two
    assert {k: v for k, v in lane.comparable_headers().items() if k not in timing} == {
        k: v for k, v in whole.comparable_headers().items() if k not in timing
    }
    assert lane.headers["ratelimit-policy"] == '"tokens-hour";q=1;w=3600'
    assert lane.headers["ratelimit"] == f'"tokens-hour";r=0;t={lane.headers["retry-after"]}'
    assert lane.body == whole.body
