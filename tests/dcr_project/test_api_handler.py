"""The API's paths through the shorter middleware chain (dcr_project.api_handler, dispatched by path in
dcr_project/wsgi.py): the same status, headers and error bodies as through the whole chain, the same
request log line and metrics; the pages still get the whole chain.

Requests go through the real WSGI callables (`dcr_project.wsgi.application`, and
`pages_application` for the whole chain), as the HTTP server calls them."""

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from prometheus_client import REGISTRY

from dcr_project.wsgi import application, pages_application
from tests.oauth.api import INTROSPECT, REGISTER, SESSION, TOKEN, get_token

FORM = "application/x-www-form-urlencoded"
REQUEST_ID = "fixed-request-id-0001"
# The one header the whole chain adds and the API's does not: the session middleware's, for a session
# the API never reads.
ONLY_IN_THE_WHOLE_CHAIN = {"vary"}


def call(app: Any, method: str, path: str, body: str = "", content_type: str = FORM, **headers: str):
    """One request through a WSGI callable: (status code, {lowercase header: value}, body bytes)."""
    environ = (
        RequestFactory()
        .generic(
            method, path, data=body.encode(), content_type=content_type, headers={"X-Request-ID": REQUEST_ID, **headers}
        )
        .environ
    )
    answered: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answered["status"] = int(status.split(" ", 1)[0])
        answered["headers"] = response_headers

    # As Django's test client does: neither the start nor the end of a request may close the connection
    # that holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = app(environ, start_response)
        content = b"".join(result)
        if hasattr(result, "close"):  # optional in WSGI (PEP 3333); Django's response has it, the lane's list not
            result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    names = [name.lower() for name, _ in answered["headers"]]
    assert len(names) == len(set(names)), names
    return answered["status"], {name.lower(): value for name, value in answered["headers"]}, content


def same_answer(method: str, path: str, body: str = "", *, same_body: bool = True, **headers: str) -> dict:
    """The request through the API's chain and through the whole one: equal but for ONLY_IN_THE_WHOLE_CHAIN."""
    lean = call(application, method, path, body, **headers)
    whole = call(pages_application, method, path, body, **headers)
    assert lean[0] == whole[0], (lean, whole)
    whole_headers = {name: value for name, value in whole[1].items() if name not in ONLY_IN_THE_WHOLE_CHAIN}
    assert lean[1] == whole_headers, (lean[1], whole[1])
    if same_body:
        assert lean[2] == whole[2]
    else:  # a new token or client each time: the same fields
        assert json.loads(lean[2]).keys() == json.loads(whole[2]).keys()
    return {"status": lean[0], "headers": lean[1], "body": lean[2]}


def test_token_introspection_and_session_answer_as_through_the_whole_chain(client, credentials):
    secret = {"client_id": credentials["client_id"], "client_secret": credentials["client_secret"]}
    grant = urlencode({"grant_type": "client_credentials", **secret})
    issued = same_answer("POST", TOKEN, grant, same_body=False)
    assert issued["status"] == 200 and issued["headers"]["cache-control"] == "no-store"
    assert issued["headers"]["x-request-id"] == REQUEST_ID
    assert issued["headers"]["x-content-type-options"] == "nosniff"
    assert "vary" not in issued["headers"] and "set-cookie" not in issued["headers"]
    # No session middleware: a session cookie changes nothing and none is set.
    with_cookie = call(application, "POST", TOKEN, grant, Cookie="sessionid=whatever; csrftoken=x")
    assert with_cookie[0] == 200 and "set-cookie" not in with_cookie[1] and "vary" not in with_cookie[1]

    access_token = get_token(client, credentials)["access_token"]
    bearer = {"Authorization": f"Bearer {access_token}"}
    assert same_answer("GET", SESSION, **bearer)["status"] == 200
    assert same_answer("POST", INTROSPECT, urlencode({"token": access_token, **secret}))["status"] == 200
    assert same_answer("GET", SESSION)["status"] == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", TOKEN, "grant_type=password", 400),
        ("GET", TOKEN, "", 405),
        ("POST", TOKEN, "grant_type=client_credentials&client_id=nobody&client_secret=nothing", 400),
        ("GET", "/o/client/nothing", "", 404),
        ("GET", "/.well-known/nothing", "", 404),
        ("GET", "/.well-known/jwks.json?a=%00", "", 400),
        ("GET", "/.well-known/jwks.json", "", 200),
        ("GET", "/.well-known/oauth-authorization-server", "", 200),
        ("POST", REGISTER, "{not json", 400),
    ],
)
def test_errors_and_documents_answer_as_through_the_whole_chain(db, method, path, body, status):
    content_type = "application/json" if path == REGISTER else FORM
    answer = same_answer(method, path, body, content_type=content_type)
    assert answer["status"] == status
    assert answer["headers"]["content-type"].startswith("application/json")


def test_a_header_over_the_limit_answers_as_through_the_whole_chain(db):
    answer = same_answer("GET", "/.well-known/jwks.json", **{"X-Padding": "a" * 9000})
    assert answer["status"] == 431 and json.loads(answer["body"])["error"] == "invalid_request"


def test_registration_answers_as_through_the_whole_chain(statement):
    body = json.dumps({"software_statement": statement})
    answer = same_answer("POST", REGISTER, body, content_type="application/json", same_body=False)
    assert answer["status"] == 201


def test_the_request_log_line_and_the_metrics_of_the_shorter_chain(credentials, caplog):
    route = {"route": "oauth:token"}
    counted = REGISTRY.get_sample_value("dcr_http_request_duration_seconds_count", route) or 0.0
    issued = REGISTRY.get_sample_value("dcr_tokens_issued_total") or 0.0
    grant = urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        }
    )
    with caplog.at_level(logging.INFO, logger="dcr.request"):
        status, _, _ = call(application, "POST", TOKEN, grant)
    assert status == 200
    [line] = [record for record in caplog.records if record.name == "dcr.request"]
    assert (line.method, line.path, line.status) == ("POST", TOKEN, 200)
    assert line.client_id == credentials["client_id"] and line.request_id == REQUEST_ID
    assert REGISTRY.get_sample_value("dcr_http_request_duration_seconds_count", route) == counted + 1
    assert REGISTRY.get_sample_value("dcr_tokens_issued_total") == issued + 1


def test_the_pages_keep_the_whole_chain(db):
    status, headers, _ = call(application, "GET", "/accounts/login/")
    assert status == 200
    assert "csrftoken=" in headers.get("set-cookie", "")  # CSRF middleware
    assert "Cookie" in headers["vary"]
    status, headers, _ = call(application, "GET", "/admin/")
    assert status == 302 and "/login/" in headers["location"]  # authentication
    # /api/docs/ is a page: the whole chain too.
    status, headers, _ = call(application, "GET", "/api/docs/")
    assert status == 200 and "Cookie" in headers.get("vary", "")


def test_the_content_security_policy_follows_the_settings_as_through_the_whole_chain(db, settings):
    """The API's chain builds its Content-Security-Policy once per policy (dcr_project.middleware.
    ApiContentSecurityPolicyMiddleware): a changed policy, a report-only one and an excluded prefix still
    give the headers django-csp's middleware gives the pages' chain."""
    before = same_answer("GET", "/.well-known/jwks.json")["headers"]["content-security-policy"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"]}}
    changed = same_answer("GET", "/.well-known/jwks.json")["headers"]
    assert changed["content-security-policy"] != before
    assert sorted(changed["content-security-policy"].split("; ")) == ["default-src 'none'", "frame-ancestors 'none'"]
    assert changed["content-security-policy-report-only"] == "default-src 'self'"
    settings.CONTENT_SECURITY_POLICY = {
        "EXCLUDE_URL_PREFIXES": ["/.well-known/"],
        "DIRECTIVES": {"default-src": ["'none'"]},
    }
    excluded = same_answer("GET", "/.well-known/jwks.json")["headers"]
    assert "content-security-policy" not in excluded and "content-security-policy-report-only" in excluded


@pytest.mark.parametrize("path", [TOKEN, INTROSPECT, "/o/client/revoke", REGISTER])
def test_a_post_to_a_client_endpoint_answers_with_drf_s_allow_header(db, path):
    """The /o/client/* POSTs skip DRF's dispatch (oauth.views._ClientEndpoint.as_view): their answers
    still carry the Allow header DRF added, and a GET still gets DRF's 405."""
    content_type = "application/json" if path == REGISTER else FORM
    posted = call(application, "POST", path, "{}" if path == REGISTER else "token=x", content_type=content_type)
    assert posted[0] in (400, 401) and posted[1]["allow"] == "POST"
    refused = call(application, "GET", path)
    assert refused[0] == 405 and refused[1]["allow"] == "POST"
    assert json.loads(refused[2])["error"] == "invalid_request"
