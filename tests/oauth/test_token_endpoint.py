"""Contract of POST /o/client/token (README "API walk-through with curl"; RFC 6749 4.4, 2.3.1, 5.2; RFC 9068)."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import jwt
import pytest
from django.test import override_settings

from core import clock
from oauth.models import Client
from oauth.records import REFUSED_TTL
from oauth.services import client_revoke
from registered_apps.environments import environments_all
from registered_apps.services import registered_application_restore, registered_application_revoke
from software_statements.keys import verification_keys
from software_statements.models import SoftwareStatement
from software_statements.services import software_statement_revoke
from tests.helpers import assert_json_error
from tests.hot_state import hot_state_clear
from tests.oauth.api import TOKEN, basic, get_token, good, register, token_request

ROOT = Path(__file__).resolve().parents[2]


def other_secret(secret: str) -> str:
    """The same secret with its first character changed."""
    return ("y" if secret[0] == "x" else "x") + secret[1:]


def public_key_of(token):
    kid = jwt.get_unverified_header(token)["kid"]
    return verification_keys("access_token")[kid][1]


def test_token_is_issued_with_200_and_every_documented_field(client, credentials):
    before = int(time.time() * 1000)
    response = token_request(client, good(credentials))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "created_at", "id", "scope"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 21600
    assert before <= body["created_at"] <= int(time.time() * 1000)
    assert body["scope"] == "api:client:v2"
    uuid.UUID(body["id"])


def test_access_token_is_an_rfc9068_jwt_with_the_documented_claims(client, credentials, application):
    body = get_token(client, credentials)
    token = body["access_token"]

    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    claims = jwt.decode(
        token, public_key_of(token), algorithms=["ES256"], issuer="http://testserver", audience="http://testserver"
    )
    assert claims["sub"] == claims["client_id"] == credentials["client_id"]
    assert claims["software_id"] == str(application.pk)
    assert claims["programmer"] == "demo-networks"
    assert sorted(claims["channels"]) == ["demo-one", "demo-three", "demo-two"]
    assert claims["scope"] == "api:client:v2"
    assert claims["jti"] == body["id"]
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] - claims["iat"] == 21600


@override_settings(DCR_TOKEN_SUCCESS_STATUS=201)
def test_the_setting_serves_the_originals_201_with_the_same_body(client, credentials):
    response = token_request(client, good(credentials))

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    assert set(response.json()) == {"access_token", "token_type", "expires_in", "created_at", "id", "scope"}
    schema = client.get("/api/schema/?format=json").json()
    responses = schema["paths"]["/o/client/token"]["post"]["responses"]
    assert "201" in responses and "200" not in responses
    assert set(responses["201"]["links"]) == {"session", "introspect", "revoke"}


@pytest.mark.parametrize(("value", "starts"), [("200", True), ("201", True), ("204", False), ("ok", False)])
def test_the_token_success_status_setting_is_checked_at_start(value, starts):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DCR_")}
    environment.update(DJANGO_SETTINGS_MODULE="dcr_project.settings.local", DCR_TOKEN_SUCCESS_STATUS=value)
    code = "from django.conf import settings; print(settings.DCR_TOKEN_SUCCESS_STATUS)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    if starts:
        assert result.returncode == 0 and result.stdout.strip() == value, result.stderr[-2000:]
    else:
        assert result.returncode != 0 and "DCR_TOKEN_SUCCESS_STATUS" in result.stderr, result.stderr[-2000:]


@override_settings(DCR_ACCESS_TOKEN_TTL=600)
def test_expires_in_follows_the_setting(client, credentials):
    assert get_token(client, credentials)["expires_in"] == 600


def test_http_basic_credentials_are_accepted(client, credentials):
    response = token_request(
        client,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(credentials["client_id"], credentials["client_secret"]),
    )
    assert response.status_code == 200, response.content


def test_basic_with_the_same_client_id_in_the_body_is_accepted(client, credentials):
    response = token_request(
        client,
        {"grant_type": "client_credentials", "client_id": credentials["client_id"]},
        HTTP_AUTHORIZATION=basic(credentials["client_id"], credentials["client_secret"]),
    )
    assert response.status_code == 200


def test_requested_scope_subset_is_granted(client, programmer, channels):
    from software_statements.services import software_statement_issue
    from tests.factories import make_application

    app = make_application(programmer, name="Two scopes", scopes=["api:client:v2", "analytics:client"])
    statement, _ = software_statement_issue(application=app, actor="tests")
    creds = register(client, statement).json()

    body = get_token(client, creds, scope="analytics:client")
    assert body["scope"] == "analytics:client"
    assert set(get_token(client, creds)["scope"].split()) == {"api:client:v2", "analytics:client"}


def test_common_case_makes_no_database_query(client, credentials, django_assert_num_queries):
    get_token(client, credentials)  # the first token creates the signing keys
    with django_assert_num_queries(0):
        get_token(client, credentials)


def test_a_worker_that_never_saw_the_client_reads_it_once(client, credentials, django_assert_max_num_queries):
    get_token(client, credentials)
    hot_state_clear()
    environments_all()  # a worker reads the environments once a minute, not per client
    with django_assert_max_num_queries(4):
        get_token(client, credentials)
    with django_assert_max_num_queries(0):
        get_token(client, credentials)


def test_secret_is_stored_as_a_keyed_hash(credentials):
    stored = Client.objects.get(client_id=credentials["client_id"]).client_secret
    assert stored.startswith("client_secret_hmac$")
    assert credentials["client_secret"] not in stored


# --- errors -----------------------------------------------------------------------------------------

BAD_REQUESTS = {
    "missing grant_type": (lambda c: good(c, grant_type=None), "invalid_request"),
    "unsupported grant_type": (lambda c: good(c, grant_type="password"), "unsupported_grant_type"),
    "authorization_code grant": (lambda c: good(c, grant_type="authorization_code"), "unsupported_grant_type"),
    "missing client_secret": (lambda c: good(c, client_secret=None), "invalid_request"),
    "missing client_id": (lambda c: good(c, client_id=None), "invalid_request"),
    "empty client_secret": (lambda c: good(c, client_secret=""), "invalid_request"),
    "wrong secret": (lambda c: good(c, client_secret=other_secret(c["client_secret"])), "invalid_client"),
    "unknown client": (lambda c: good(c, client_id="A" * 40), "invalid_client"),
    "odd client id": (lambda c: good(c, client_id="a b\u00e9'\""), "invalid_client"),
    "very long secret": (lambda c: good(c, client_secret="s" * 5000), "invalid_client"),
    "scope not granted": (lambda c: good(c, scope="decisions:owner"), "invalid_scope"),
    "scope partly granted": (lambda c: good(c, scope="api:client:v2 decisions:owner"), "invalid_scope"),
    "malformed scope": (lambda c: good(c, scope="api:client:v2  x"), "invalid_scope"),
    "scope with a quote": (lambda c: good(c, scope='a"b'), "invalid_scope"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=list(BAD_REQUESTS))
def test_bad_form_is_refused_with_its_error_and_changes_nothing(client, credentials, unchanged_db, case):
    make, error = BAD_REQUESTS[case]
    get_token(client, credentials)
    with unchanged_db():
        response = token_request(client, make(credentials))
    body = assert_json_error(response, 400, error)
    assert credentials["client_secret"] not in response.content.decode()
    assert set(body) == {"error", "error_description"}


RAW_BODIES = {
    "repeated grant_type": "grant_type=client_credentials&grant_type=client_credentials&{creds}",
    "repeated client_id": "grant_type=client_credentials&{creds}&client_id=x",
    "repeated empty parameter": "grant_type=client_credentials&{creds}&scope=&scope=",
    "invalid utf-8": "grant_type=client_credentials&{creds}&scope=%ff%fe",
    "too many fields": "grant_type=client_credentials&{creds}&" + "&".join(f"f{i}=1" for i in range(40)),
    "nul byte": "grant_type=client_credentials&{creds}&scope=a%00b",
}


@pytest.mark.parametrize("case", RAW_BODIES, ids=list(RAW_BODIES))
def test_malformed_form_is_invalid_request(client, credentials, unchanged_db, case):
    creds = urlencode({"client_id": credentials["client_id"], "client_secret": credentials["client_secret"]})
    with unchanged_db():
        response = token_request(client, RAW_BODIES[case].format(creds=creds))
    assert_json_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
        "application/x-www-form-urlencoded; charset=latin-1",
    ],
)
def test_wrong_content_type_is_invalid_request(client, credentials, unchanged_db, content_type):
    with unchanged_db():
        response = client.post(TOKEN, data=urlencode(good(credentials)), content_type=content_type)
    assert_json_error(response, 400, "invalid_request")


def test_charset_parameter_is_fine(client, credentials):
    response = client.post(
        TOKEN, data=urlencode(good(credentials)), content_type="application/x-www-form-urlencoded; charset=UTF-8"
    )
    assert response.status_code == 200


def test_credentials_in_the_query_string_are_refused(client, credentials, unchanged_db):
    query = urlencode({"client_id": credentials["client_id"], "client_secret": credentials["client_secret"]})
    with unchanged_db():
        response = client.post(
            f"{TOKEN}?{query}",
            data=urlencode({"grant_type": "client_credentials"}),
            content_type="application/x-www-form-urlencoded",
        )
    assert_json_error(response, 400, "invalid_request")


def test_basic_and_body_credentials_together_are_invalid_request(client, credentials, unchanged_db):
    with unchanged_db():
        response = token_request(
            client, good(credentials), HTTP_AUTHORIZATION=basic(credentials["client_id"], credentials["client_secret"])
        )
    assert_json_error(response, 400, "invalid_request")


def test_basic_with_a_different_body_client_id_is_invalid_request(client, credentials):
    response = token_request(
        client,
        {"grant_type": "client_credentials", "client_id": "other"},
        HTTP_AUTHORIZATION=basic(credentials["client_id"], credentials["client_secret"]),
    )
    assert_json_error(response, 400, "invalid_request")


def test_wrong_secret_with_basic_is_401_with_www_authenticate(client, credentials, unchanged_db):
    with unchanged_db():
        response = token_request(
            client, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(credentials["client_id"], "nope")
        )
    assert_json_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("header", ["Basic !!!", "Basic " + "YWJj", "Bearer abc", "Digest x=y"])
def test_malformed_authorization_header_is_invalid_request(client, header):
    response = token_request(client, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=header)
    assert_json_error(response, 400, "invalid_request")


def test_oversized_body_is_refused(client, credentials, unchanged_db):
    with unchanged_db():
        response = token_request(client, urlencode(good(credentials)) + "&pad=" + "a" * (64 * 1024))
    assert_json_error(response, 400, "invalid_request")


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_other_methods_are_json_405(client, method):
    response = getattr(client, method)(TOKEN)
    assert_json_error(response, 405, "invalid_request")
    assert response["Allow"] == "POST"


# --- revocation -------------------------------------------------------------------------------------


def test_revoked_client_gets_invalid_client(client, credentials, django_capture_on_commit_callbacks):
    get_token(client, credentials)
    with django_capture_on_commit_callbacks(execute=True):
        client_revoke(
            client=Client.objects.get(client_id=credentials["client_id"]), reason="compromised", actor="tests"
        )
    assert_json_error(token_request(client, good(credentials)), 400, "invalid_client")


def test_revoked_application_gets_invalid_client_then_restore_works(
    client, credentials, application, django_capture_on_commit_callbacks
):
    get_token(client, credentials)
    with django_capture_on_commit_callbacks(execute=True):
        registered_application_revoke(application=application, reason="abuse", actor="tests")
    body = assert_json_error(token_request(client, good(credentials)), 400, "invalid_client")
    assert "register again" in body["error_description"]

    registered_application_restore(application=application, actor="tests")
    clock.advance(REFUSED_TTL)
    assert token_request(client, good(credentials)).status_code == 200


def test_revoked_statement_gets_invalid_client(client, credentials, django_capture_on_commit_callbacks):
    get_token(client, credentials)
    statement = SoftwareStatement.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        software_statement_revoke(statement=statement, reason="leaked", actor="tests")
    assert_json_error(token_request(client, good(credentials)), 400, "invalid_client")
