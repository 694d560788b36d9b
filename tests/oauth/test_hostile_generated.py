"""Hostile input at scale: every /o/client/* endpoint and GET /api/v2/session driven through the Django
test client with generated bodies and headers (tests/strategies.py). The invariant for each request:
never a 5xx; always JSON (no HTML on an API path); a 4xx is {"error", "error_description"} (on the session
API: the original's enhanced error codes, {"status", "code", "message", "action", "helpUrl", "trace"}); a success
has the documented shape; and a refused request changes no row of any table of the oauth,
registered_apps and software_statements apps.

Example counts are bounded so that the file runs in well under a minute on two cores; `make fuzz`
is where inputs are explored for longer (tests/fuzz/)."""

import json
import os
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from software_statements.keys import active_signing_material
from software_statements.models import KeyPurpose
from tests.oauth.api import INTROSPECT, REGISTER, REVOKE, SESSION, TOKEN, basic, db_snapshot
from tests.strategies import (
    accept_headers,
    authorization_headers,
    b64url,
    content_types,
    device_identifier_headers,
    device_info_headers,
    form_bodies,
    hostile_device_identifier_headers,
    jws_like,
    registration_bodies,
)

pytestmark = pytest.mark.django_db

# HOSTILE_EXAMPLES=5000 for a long run; 200 keeps the file near 30 s on two cores.
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "200"))
_GENERATED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

_NO_HEALTH = {"deadline": None, "suppress_health_check": list(HealthCheck)}
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_REGISTRATION_FIELDS = {
    "client_id",
    "client_secret",
    "client_id_issued_at",
    "client_secret_expires_at",
    "redirect_uris",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "scopes",
    "scope",
    "software_id",
    "software_version",
    "client_name",
    "software_statement",
    # RFC 7592 3
    "registration_access_token",
    "registration_client_uri",
}
_ENHANCED_FIELDS = {"status", "code", "message", "action", "helpUrl", "trace"}
_TOKEN_FIELDS = {"access_token", "token_type", "expires_in", "created_at", "id", "scope"}
_SESSION_FIELDS = {
    "client_id",
    "software_id",
    "application_name",
    "application_version",
    "programmer",
    "channels",
    "scopes",
    "expires_at",
}


def _success_shape_holds(path: str, status: int, body: Any) -> bool:
    """The documented success answer of each endpoint (oauth/serializers.py)."""
    if path == REGISTER:
        return status == 201 and set(body) == _REGISTRATION_FIELDS
    if path == TOKEN:
        return status == 200 and set(body) == _TOKEN_FIELDS and body["token_type"] == "bearer"
    if path == INTROSPECT:
        return status == 200 and (body == {"active": False} or body.get("active") is True)
    if path == REVOKE:
        return status == 200 and body == {}
    return path == SESSION and status == 200 and set(body) == _SESSION_FIELDS


def _send(client, method: str, path: str, *, body: bytes, headers: dict[str, str | None], query: str = ""):
    extra = {f"HTTP_{name}": value for name, value in headers.items() if value is not None and name != "CONTENT_TYPE"}
    content_type = headers.get("CONTENT_TYPE") or ""
    target = f"{path}?{query}" if query else path
    return client.generic(method, target, data=body, content_type=content_type, **extra)


def _assert_invariant(client, method: str, path: str, **request: Any) -> int:
    """Send the request; check the invariant; return the status."""
    before = db_snapshot()
    response = _send(client, method, path, **request)
    status = response.status_code
    assert status < 500, (status, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), (status, response["Content-Type"])
    body = json.loads(response.content)
    # Shown by `pytest --hypothesis-show-statistics`: which outcomes the generated requests reached.
    event(f"{status} {body.get('error', body.get('code', '')) if isinstance(body, dict) else ''}".strip())
    if 400 <= status < 500 and path == SESSION:
        assert isinstance(body, dict) and set(body) - {"details"} == _ENHANCED_FIELDS, body
        assert body["status"] == status and body["trace"] == response["X-Request-ID"], body
        assert all(isinstance(body[name], str) and body[name] for name in ("code", "message", "action")), body
        assert db_snapshot() == before, f"a refused request ({status} {body['code']}) changed the database"
    elif 400 <= status < 500:
        assert isinstance(body, dict), body
        assert isinstance(body.get("error"), str) and body["error"], body
        assert isinstance(body.get("error_description"), str) and body["error_description"], body
        assert db_snapshot() == before, f"a refused request ({status} {body['error']}) changed the database"
    else:
        assert method == ("GET" if path == SESSION else "POST"), (method, status)
        assert _success_shape_holds(path, status, body), (status, body)
        if path in (INTROSPECT, SESSION):
            assert db_snapshot() == before, "reading a token changed the database"
    return status


class Request:
    """One generated request. Each draws a few hostile axes (method, query, body, Content-Type, Accept,
    Authorization, ...) and keeps the others valid, so that hostility in one part is not hidden by the
    first check refusing another (a request hostile everywhere is refused by its Content-Type)."""

    AXES = (
        "method",
        "query",
        "body",
        "content_type",
        "accept",
        "authorization",
        "device_info",
        "device_identifier",
        "user_agent",
    )

    def __init__(self, data: st.DataObject):
        self.data = data
        self.hostile = data.draw(st.sets(st.sampled_from(self.AXES), max_size=3), label="hostile axes")

    def part(self, axis: str, valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]) -> Any:
        return self.data.draw(hostile if axis in self.hostile else valid, label=axis)


_other_methods = st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
_queries = st.sampled_from(["client_secret=x", "a=%zz", "grant_type=client_credentials&&", "%00", "token=x"])


def _access_header() -> str:
    kid, algorithm, _ = active_signing_material(KeyPurpose.ACCESS_TOKEN)
    return b64url(json.dumps({"alg": algorithm, "kid": kid, "typ": "at+jwt"}))


def _tampered(token: str) -> st.SearchStrategy[str]:
    """A real token, then the same token cut, extended, with a character or a part changed."""
    header, payload, signature = token.split(".")
    return st.one_of(
        st.just(token),
        st.integers(1, len(token) - 1).map(lambda n: token[:n]),
        st.sampled_from(["A", ".", "é", "\x00", "=", " x"]).map(lambda tail: token + tail),
        st.integers(0, len(token) - 1).map(lambda i: token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]),
        st.just(f"{header}.{payload}.{signature[::-1]}"),
        st.just(f"{header}.{b64url('{}')}.{signature}"),
    )


# --- POST /o/client/token ---------------------------------------------------------------------------


def _form_request(client, data: st.DataObject, path: str, real: dict[str, st.SearchStrategy[str]], credentials) -> int:
    """A form request to `path`: the real parameters (and real Basic credentials) when an axis is valid."""
    request = Request(data)
    valid_body = st.fixed_dictionaries(real).map(lambda form: urlencode(form).encode())
    real_basic = st.just(basic(credentials["client_id"], credentials["client_secret"]))
    # Valid without Authorization (credentials in the body); hostile Basic alone is refused as "both".
    return _assert_invariant(
        client,
        request.part("method", st.just("POST"), _other_methods),
        path,
        body=request.part("body", valid_body, form_bodies(real=real)),
        query=request.part("query", st.just(""), _queries),
        headers={
            "CONTENT_TYPE": request.part("content_type", st.just(FORM), content_types(FORM)),
            "ACCEPT": request.part("accept", st.none(), accept_headers()),
            "AUTHORIZATION": request.part("authorization", st.none(), authorization_headers(real_basic)),
            "X_DEVICE_INFO": request.part("device_info", st.none(), device_info_headers()),
            "USER_AGENT": request.part("user_agent", st.none(), _user_agents),
        },
    )


_user_agents = st.text(st.characters(max_codepoint=0xFF), max_size=40) | st.just("x\x00" * 400)


@_GENERATED
@given(data=st.data())
def test_token_endpoint_survives_generated_requests(client, credentials, data):
    real = {
        "grant_type": st.just("client_credentials"),
        "client_id": st.just(credentials["client_id"]),
        "client_secret": st.just(credentials["client_secret"]),
    }
    if data.draw(st.booleans(), label="with scope"):
        real["scope"] = st.sampled_from(["api:client:v2", "api:client:v2 api:client:v2", "other", "a\x7fb"])
    _form_request(client, data, TOKEN, real, credentials)


# --- POST /o/client/introspect and /o/client/revoke -------------------------------------------------


def _token_operation_parameters(credentials, access_token: str) -> dict[str, st.SearchStrategy[str]]:
    return {
        "client_id": st.just(credentials["client_id"]),
        "client_secret": st.just(credentials["client_secret"]),
        "token": st.one_of(_tampered(access_token), jws_like(access_header=st.just(_access_header()))),
    }


@_GENERATED
@given(data=st.data())
def test_introspection_survives_generated_requests(client, credentials, access_token, data):
    _form_request(client, data, INTROSPECT, _token_operation_parameters(credentials, access_token), credentials)


@_GENERATED
@given(data=st.data())
def test_revocation_survives_generated_requests(client, credentials, access_token, data):
    _form_request(client, data, REVOKE, _token_operation_parameters(credentials, access_token), credentials)


# --- POST /o/client/register ------------------------------------------------------------------------


@_GENERATED
@given(data=st.data())
def test_registration_survives_generated_requests(client, statement, data):
    request = Request(data)
    valid_body = st.just(json.dumps({"software_statement": statement}).encode())
    _assert_invariant(
        client,
        request.part("method", st.just("POST"), _other_methods),
        REGISTER,
        body=request.part("body", valid_body, registration_bodies(statement=st.just(statement))),
        query=request.part("query", st.just(""), _queries),
        headers={
            "CONTENT_TYPE": request.part(
                "content_type", st.just("application/json"), content_types("application/json")
            ),
            "ACCEPT": request.part("accept", st.none(), accept_headers()),
            "AUTHORIZATION": request.part("authorization", st.none(), authorization_headers()),
            "X_DEVICE_INFO": request.part("device_info", st.none(), device_info_headers()),
            "USER_AGENT": request.part("user_agent", st.none(), _user_agents),
        },
    )


# --- GET /api/v2/session ----------------------------------------------------------------------------


@_GENERATED
@given(data=st.data())
def test_session_survives_generated_requests(client, access_token, data):
    request = Request(data)
    bearer = st.one_of(
        _tampered(access_token).map(lambda token: f"Bearer {token}"),
        jws_like(access_header=st.just(_access_header())).map(lambda token: f"Bearer {token}"),
        st.sampled_from(["bearer ", "BEARER ", "Bearer  ", "Bearer\t"]).map(lambda scheme: scheme + access_token),
        authorization_headers(),
        st.none(),
    )
    _assert_invariant(
        client,
        request.part("method", st.just("GET"), _other_methods | st.just("POST")),
        SESSION,
        body=request.part("body", st.just(b""), form_bodies()),
        query=request.part("query", st.just(""), _queries),
        headers={
            "CONTENT_TYPE": request.part("content_type", st.none(), content_types(FORM)),
            "ACCEPT": request.part("accept", st.none(), accept_headers()),
            "AUTHORIZATION": request.part("authorization", st.just(f"Bearer {access_token}"), bearer),
            "X_DEVICE_INFO": request.part("device_info", st.none(), device_info_headers()),
            "AP_DEVICE_IDENTIFIER": request.part(
                "device_identifier",
                st.none() | device_identifier_headers().map(lambda written: written[0]),
                hostile_device_identifier_headers(),
            ),
            "USER_AGENT": request.part("user_agent", st.none(), _user_agents),
        },
    )


# --- The strategies reach past the first check -------------------------------------------------------


def test_generated_requests_reach_every_outcome(client, credentials, access_token):
    """The invariant above would hold trivially if every request were refused by its first check: the
    generators also produce requests that succeed (seen here with a fixed seed)."""
    seen: dict[str, set[int]] = {TOKEN: set(), SESSION: set()}

    @settings(max_examples=40, database=None, derandomize=True, **_NO_HEALTH)
    @given(data=st.data())
    def sample(data):
        real = {
            "grant_type": st.just("client_credentials"),
            "client_id": st.just(credentials["client_id"]),
            "client_secret": st.just(credentials["client_secret"]),
        }
        body = data.draw(form_bodies(real=real))
        response = client.post(TOKEN, data=body, content_type=FORM)
        seen[TOKEN].add(response.status_code)
        response = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {data.draw(_tampered(access_token))}")
        seen[SESSION].add(response.status_code)

    sample()
    assert {200, 400} <= seen[TOKEN], seen
    assert {200, 401} <= seen[SESSION], seen
