"""Hostile input found by a probe of a running server: each shape answered 500 before; now a 4xx in the
documented shape, and nothing written. Hypothesis generates the same families (deep nesting, non-ASCII
in each JWS part, non-finite numbers) so that their relatives stay closed too."""

import base64
import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from software_statements.keys import active_signing_material
from software_statements.models import KeyPurpose
from tests.helpers import assert_api_error, assert_json_error
from tests.oauth.api import INTROSPECT, REVOKE, SESSION, register
from tests.strategies import deep_json, device_info_headers, jws_like

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000


def _b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _access_header() -> str:
    kid, algorithm, _ = active_signing_material(KeyPurpose.ACCESS_TOKEN)
    return _b64url(json.dumps({"alg": algorithm, "kid": kid, "typ": "at+jwt"}))


def _token_operation(client, path: str, credentials, token: str):
    body = {"client_id": credentials["client_id"], "client_secret": credentials["client_secret"], "token": token}
    return client.post(path, data=urlencode(body), content_type="application/x-www-form-urlencoded")


# --- The four 500s of the probe --------------------------------------------------------------------


def test_bearer_with_a_header_nested_1000_deep_is_invalid_token(client):
    token = _b64url(DEEP) + ".e30.AA"
    response = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_api_error(response, 401, "invalid_access_token_signature", "application-registration")


def test_statement_with_a_header_nested_1000_deep_is_invalid_software_statement(client, unchanged_db):
    with unchanged_db():
        response = register(client, _b64url(DEEP) + ".e30.AA")
    assert_json_error(response, 400, "invalid_software_statement")


def test_introspecting_a_token_nested_1000_deep_reads_inactive(client, credentials):
    response = _token_operation(client, INTROSPECT, credentials, _b64url(DEEP) + ".e30.AA")
    assert response.status_code == 200
    assert response.json() == {"active": False}


@pytest.mark.parametrize("middle", ["\xc3\xa9", "é", "\u2603"])
def test_bearer_with_a_real_kid_and_non_ascii_payload_is_invalid_token(client, middle):
    token = f"{_access_header()}.{middle}.AA"
    response = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_api_error(response, 401, "invalid_access_token_signature", "application-registration")


@pytest.mark.parametrize("path", [INTROSPECT, REVOKE])
def test_introspecting_a_non_ascii_token_with_a_real_kid_is_not_an_error(client, credentials, path):
    token = f"{_access_header()}.é.AA"
    response = _token_operation(client, path, credentials, token)
    assert response.status_code == 200
    assert response.json() in ({"active": False}, {})


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_device_info_with_a_non_finite_number_is_invalid_request(client, statement, unchanged_db, number):
    header = base64.b64encode(f'{{"osName": "iOS", "screen": {number}}}'.encode()).decode()
    with unchanged_db():
        response = register(client, statement, HTTP_X_DEVICE_INFO=header)
    assert_json_error(response, 400, "invalid_request")


# --- Their families, generated ---------------------------------------------------------------------

_HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@_HYPOTHESIS
@given(token=jws_like(access_header=st.deferred(lambda: st.just(_access_header()))))
def test_any_jws_like_bearer_is_a_401_in_json(client, token):
    response = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_api_error(response, 401, "invalid_access_token_signature", "application-registration")


@_HYPOTHESIS
@given(token=jws_like(access_header=st.deferred(lambda: st.just(_access_header()))))
def test_any_jws_like_token_introspects_inactive(client, credentials, token):
    response = _token_operation(client, INTROSPECT, credentials, token)
    assert response.status_code in (200, 400), response.content
    assert response["Content-Type"].startswith("application/json")
    if response.status_code == 200:
        assert response.json() == {"active": False}
    else:
        assert response.json()["error"] == "invalid_request"


@_HYPOTHESIS
@given(statement=jws_like())
def test_any_jws_like_statement_is_refused_and_writes_nothing(client, unchanged_db, statement):
    with unchanged_db():
        response = register(client, statement)
    assert response.status_code == 400, response.content
    assert response.json()["error"] in ("invalid_software_statement", "invalid_request")


@_HYPOTHESIS
@given(header=device_info_headers())
def test_any_device_info_registers_or_is_invalid_request(client, statement, header):
    response = register(client, statement, HTTP_X_DEVICE_INFO=header)
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert response.json()["error"] == "invalid_request"


@_HYPOTHESIS
@given(value=deep_json())
def test_any_deep_json_body_is_invalid_request(client, value):
    response = client.post("/o/client/register", data=value, content_type="application/json")
    assert_json_error(response, 400, "invalid_request")


def _decoded_header(token: str) -> str:
    header = token.partition(".")[0]
    try:
        return base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)).decode()
    except ValueError:
        return ""


@pytest.mark.parametrize(
    "shape",
    [
        lambda token: _decoded_header(token).startswith("[" * 200),
        lambda token: _decoded_header(token).startswith('{"a":' * 200),
        lambda token: any(w in _decoded_header(token) for w in ("NaN", "Infinity", "1e999")),
        lambda token: not token.partition(".")[0].isascii(),
        lambda token: not token.split(".")[1].isascii() if token.count(".") == 2 else False,
        lambda token: not token.rpartition(".")[2].isascii(),
    ],
    ids=["deep-array", "deep-object", "non-finite", "non-ascii-header", "non-ascii-payload", "non-ascii-signature"],
)
def test_the_strategy_generates_each_probe_shape(shape):
    """So that the generated tests above cannot pass by never producing the shapes that failed."""
    find(jws_like(), shape, settings=settings(max_examples=2000, database=None))
