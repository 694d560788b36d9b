"""Bearer protection (RFC 6750) and GET /api/v2/session: 401 / 403 / 400 bodies in the original's
enhanced-error-codes shape and their headers, revocations, the device headers of REST API v2."""

import base64
import json
import os
import time

import jwt
import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from core import clock, process_state
from core.redis import redis_client
from core.revocation import Revoked, stamp_key
from oauth.bearer import VERDICT_TTL
from oauth.models import Client
from oauth.services import client_revoke
from oauth.tokens import access_token_claims, jwt_encode
from registered_apps.services import registered_application_revoke
from software_statements.keys import active_signing_material, signing_key_retire, signing_key_rotate
from software_statements.models import SigningKey, SoftwareStatement
from software_statements.services import software_statement_revoke
from tests.helpers import assert_api_error, assert_json_error, requires_redis
from tests.oauth.api import SESSION, get_token, good, register, token_request
from tests.oauth.urls_device_bound import DEVICE_BOUND
from tests.software_statements.helpers import foreign_key

pytestmark = pytest.mark.django_db


def call(client, token: str | None, header: str | None = None):
    extra = {}
    if header is not None:
        extra["HTTP_AUTHORIZATION"] = header
    elif token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get(SESSION, **extra)


# The codes of the original's "Enhanced Error Codes" page (oauth/api_errors.py).
CLIENT_APPLICATION = "invalid_access_token_client_application"
SIGNATURE = "invalid_access_token_signature"
EXPIRED = "access_token_expired"


def refused(response, code: str) -> dict:
    """401 in the enhanced-error-codes shape, RFC 6750's header kept; every refused token sends the client
    through its registration phase (a new token, or a new registration if the token endpoint says so)."""
    body = assert_api_error(response, 401, code, "application-registration")
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    return body


def test_session_says_who_the_token_speaks_for(client, credentials, access_token, application):
    response = call(client, access_token)
    assert response.status_code == 200
    body = response.json()
    claims = jwt.decode(access_token, options={"verify_signature": False})
    assert body == {
        "client_id": credentials["client_id"],
        "software_id": str(application.pk),
        "application_name": "App",
        "application_version": "1.0.0",
        "programmer": "demo-networks",
        "channels": sorted(["demo-one", "demo-two", "demo-three"]),
        "scopes": ["api:client:v2"],
        "expires_at": claims["exp"],
    }


@pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="with Redis, revocations travel as stamps")
def test_revocation_by_another_process_is_seen_within_a_second_without_redis(
    client, credentials, access_token, application
):
    """A management command revokes in its own process: only the database knows (no shared stamps)."""
    from registered_apps.models import RegisteredApplication

    assert call(client, access_token).status_code == 200
    RegisteredApplication.objects.filter(pk=application.pk).update(status="revoked", revoked_at=timezone.now())
    clock.advance(VERDICT_TTL)
    refused(call(client, access_token), CLIENT_APPLICATION)
    clock.advance(1.0)
    assert_json_error(token_request(client, good(credentials)), 400, "invalid_client")


@requires_redis
def test_revocation_stamp_written_by_another_process_is_seen_within_the_stamp_cache_time(
    client, credentials, access_token, settings
):
    """Another worker's revocation reaches this one through Redis; this worker may reuse the stamps it
    read for DCR_REVOCATION_STAMP_CACHE seconds, and no longer."""
    assert settings.DCR_REVOCATION_STAMP_CACHE == 0.25
    assert call(client, access_token).status_code == 200  # stamps read and cached
    claims = jwt.decode(access_token, options={"verify_signature": False})
    # What a revocation in another process leaves behind: a stamp in Redis, nothing in this process.
    redis_client().set(stamp_key(Revoked.CLIENT, claims["client_id"]), repr(time.time()), ex=60)
    started = time.monotonic()
    while call(client, access_token).status_code == 200:
        assert time.monotonic() - started < settings.DCR_REVOCATION_STAMP_CACHE + 0.2
        time.sleep(0.02)
    assert time.monotonic() - started < 1.0
    refused(call(client, access_token), CLIENT_APPLICATION)


def _mget_calls() -> int:
    stats = redis_client().info("commandstats")
    return int(stats.get("cmdstat_mget", {}).get("calls", 0))


@pytest.mark.serial
@requires_redis
def test_a_busy_token_reads_its_stamps_from_redis_once_per_cache_period(client, access_token, settings):
    assert call(client, access_token).status_code == 200
    before = _mget_calls()
    started = time.monotonic()
    for _ in range(20):
        assert call(client, access_token).status_code == 200
    if time.monotonic() - started < settings.DCR_REVOCATION_STAMP_CACHE:
        assert _mget_calls() - before <= 1


@pytest.mark.serial
@requires_redis
def test_without_the_stamp_cache_every_bearer_call_reads_redis(client, credentials, access_token, settings):
    settings.DCR_REVOCATION_STAMP_CACHE = 0
    assert call(client, access_token).status_code == 200
    before = _mget_calls()
    assert call(client, access_token).status_code == 200
    assert _mget_calls() - before == 1
    claims = jwt.decode(access_token, options={"verify_signature": False})
    redis_client().set(stamp_key(Revoked.TOKEN, claims["jti"]), repr(time.time()), ex=60)
    assert refused(call(client, access_token), CLIENT_APPLICATION)["message"] == "The access token has been revoked."


def test_bearer_call_makes_no_database_query(client, access_token, django_assert_num_queries):
    call(client, access_token)
    with django_assert_num_queries(0):
        assert call(client, access_token).status_code == 200


def test_missing_token_is_401_invalid_access_token_client_application(client):
    refused(call(client, None), CLIENT_APPLICATION)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer", CLIENT_APPLICATION),
        ("Bearer ", CLIENT_APPLICATION),
        ("Basic abc", CLIENT_APPLICATION),
        ("Token abc", CLIENT_APPLICATION),
        ("Bearer a.b.c", SIGNATURE),
        ("Bearer not-a-jwt", SIGNATURE),
        ("Bearer " + "x" * 8000, SIGNATURE),
    ],
)
def test_malformed_authorization_is_401(client, header, code):
    refused(call(client, None, header=header), code)


def test_tampered_token_is_refused(client, access_token):
    header, payload, signature = access_token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    refused(call(client, tampered), SIGNATURE)


def _forge(claims_override=None, *, key=None, kid=None, alg="ES256", typ="at+jwt", now=None):
    real_kid, _, real_key = active_signing_material("access_token")
    now = int(now if now is not None else time.time())
    claims = access_token_claims(
        issuer="http://testserver",
        audience="http://testserver",
        client_id="c",
        software_id="00000000-0000-0000-0000-000000000000",
        statement_jti="00000000-0000-0000-0000-000000000000",
        programmer="demo-networks",
        channels=[],
        scope="api:client:v2",
        issued_at=now,
        lifetime=3600,
        jti="j",
    )
    claims.update(claims_override or {})
    if typ != "at+jwt":
        return jwt.encode(claims, key or real_key, algorithm=alg, headers={"kid": kid or real_kid, "typ": typ})
    return jwt_encode(claims, kid=kid or real_kid, algorithm=alg, private_key=key or real_key)


def test_token_signed_by_a_foreign_key_with_our_kid_is_refused(client, access_token):
    refused(call(client, _forge(key=foreign_key("ES256"))), SIGNATURE)


def test_unknown_kid_is_refused(client, access_token):
    refused(call(client, _forge(kid="nope")), SIGNATURE)


def test_hmac_token_is_refused(client, access_token):
    kid = jwt.get_unverified_header(access_token)["kid"]
    headers = {"kid": kid, "typ": "at+jwt"}
    forged = jwt.encode({"iss": "http://testserver"}, "secret" * 6, algorithm="HS256", headers=headers)
    refused(call(client, forged), SIGNATURE)


def test_wrong_type_is_refused(client, access_token):
    refused(call(client, _forge(typ="JWT")), SIGNATURE)


def test_wrong_issuer_is_refused(client, access_token):
    refused(call(client, _forge({"iss": "https://elsewhere.example.com"})), SIGNATURE)


def test_wrong_audience_is_refused(client, access_token):
    refused(call(client, _forge({"aud": "https://elsewhere.example.com"})), SIGNATURE)


def test_expired_token_is_refused_after_30_seconds_of_leeway(client, credentials, access_token):
    now = time.time()
    fine = _forge({"client_id": credentials["client_id"], "exp": int(now) - 20})
    assert call(client, fine).status_code == 200
    body = refused(call(client, _forge({"client_id": credentials["client_id"], "exp": int(now) - 40})), EXPIRED)
    assert "expired" in body["message"]


def test_token_from_the_future_is_refused(client, access_token):
    refused(call(client, _forge(now=time.time() + 600)), SIGNATURE)


def test_missing_scope_is_403_insufficient_scope(client, programmer, channels):
    from software_statements.services import software_statement_issue
    from tests.factories import make_application

    app = make_application(programmer, name="Analytics only", scopes=["analytics:client"])
    statement, _ = software_statement_issue(application=app, actor="tests")
    token = get_token(client, register(client, statement).json())["access_token"]
    response = call(client, token)
    body = assert_api_error(response, 403, "insufficient_scope", "configuration")
    assert "api:client:v2" in body["message"]
    assert response["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="api:client:v2"'


def test_rotated_key_keeps_verifying_and_retired_key_does_not(client, access_token):
    signing_key_rotate(purpose="access_token", actor="tests")
    process_state.reset()
    from software_statements.keys import clear_key_caches

    clear_key_caches()
    assert call(client, access_token).status_code == 200
    old = SigningKey.objects.get(kid=jwt.get_unverified_header(access_token)["kid"])
    signing_key_retire(key=old, actor="tests")
    clear_key_caches()
    refused(call(client, access_token), SIGNATURE)


# --- revocations ------------------------------------------------------------------------------------


def test_revoked_application_token_is_refused_with_application_registration(
    client, access_token, application, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        registered_application_revoke(application=application, reason="abuse", actor="tests")
    body = refused(call(client, access_token), CLIENT_APPLICATION)
    assert body["details"] == "The application of this access token has been revoked; register again."


def test_revoked_statement_token_is_refused(client, access_token, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        software_statement_revoke(statement=SoftwareStatement.objects.get(), reason="leak", actor="tests")
    assert "statement" in refused(call(client, access_token), CLIENT_APPLICATION)["details"]


def test_revoked_client_token_is_refused(client, credentials, access_token, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_revoke(client=Client.objects.get(client_id=credentials["client_id"]), reason="x", actor="tests")
    assert "client" in refused(call(client, access_token), CLIENT_APPLICATION)["details"]


def test_other_clients_of_the_application_are_not_hit_by_a_client_revocation(
    client, statement, django_capture_on_commit_callbacks
):

    first, second = register(client, statement).json(), register(client, statement).json()
    first_token, second_token = get_token(client, first)["access_token"], get_token(client, second)["access_token"]
    with django_capture_on_commit_callbacks(execute=True):
        client_revoke(client=Client.objects.get(client_id=first["client_id"]), reason="x", actor="tests")
    refused(call(client, first_token), CLIENT_APPLICATION)
    assert call(client, second_token).status_code == 200


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_with_redis_unreachable_the_database_decides(
    client, credentials, access_token, application, django_capture_on_commit_callbacks, caplog
):
    assert call(client, access_token).status_code == 200
    assert "Redis unreachable" in caplog.text
    registered_application_revoke(application=application, reason="abuse", actor="tests")
    clock.advance(VERDICT_TTL)  # the database is read at most once a second per token
    refused(call(client, access_token), CLIENT_APPLICATION)


@requires_redis  # the record in Redis outlives the two seconds; one in the process would be read again
def test_a_token_issued_while_the_revocation_commits_is_refused_after_the_commit(
    client, credentials, application, django_capture_on_commit_callbacks
):
    """The revocation's time is taken inside its transaction, and until the commit the token endpoint
    cannot know: a token issued meanwhile (here two seconds into a slow transaction) has an `iat` after
    the revocation's time. Its stamp must still refuse it once the revocation commits."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        registered_application_revoke(application=application, reason="Leak", actor="tests")
        clock.advance(2.0)
        issued_during_commit = get_token(client, credentials)["access_token"]
    refused(call(client, issued_during_commit), CLIENT_APPLICATION)


# --- The device headers (REST API v2) and the error shape ----------------------------------------------

DEVICE_IDENTIFIER = "fingerprint YmEyM2QxNDEtZDcxNS01NjFjLTk0ZjQtZTllNGM5NjZiMWVi"  # the original's example
DEVICE_INFO = base64.b64encode(json.dumps({"model": "SM-S901U", "osName": "Android", "osVersion": "14"}).encode())


def test_the_session_answer_is_the_same_with_the_device_headers(client, access_token):
    plain = call(client, access_token)
    with_headers = client.get(
        SESSION,
        HTTP_AUTHORIZATION=f"Bearer {access_token}",
        HTTP_AP_DEVICE_IDENTIFIER=DEVICE_IDENTIFIER,
        HTTP_X_DEVICE_INFO=DEVICE_INFO.decode(),
    )
    assert plain.status_code == with_headers.status_code == 200
    assert with_headers.json() == plain.json()


@pytest.mark.parametrize(
    "header", ["", "fingerprint", "YmEyM2QxNDE=", "uuid YmEyM2QxNDE=", "fingerprint YmEy!", "fingerprint a b"]
)
def test_a_malformed_device_identifier_is_400_invalid_header_device_identifier(client, access_token, header):
    response = client.get(
        SESSION,
        HTTP_AUTHORIZATION=f"Bearer {access_token}",
        HTTP_AP_DEVICE_IDENTIFIER=header,
        HTTP_X_REQUEST_ID="trace-of-this-call-1234",
    )
    body = assert_api_error(response, 400, "invalid_header_device_identifier", "none")
    assert body["trace"] == "trace-of-this-call-1234"


@pytest.mark.parametrize("header", ["", "not base64!", base64.b64encode(b"[1]").decode(), "e3"])
def test_a_malformed_device_info_is_400_invalid_header_device_info(client, access_token, header):
    response = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {access_token}", HTTP_X_DEVICE_INFO=header)
    assert_api_error(response, 400, "invalid_header_device_info", "none")


def test_the_token_is_judged_before_the_device_headers(client):
    response = client.get(SESSION, HTTP_AUTHORIZATION="Bearer not-a-jwt", HTTP_AP_DEVICE_IDENTIFIER="nonsense")
    refused(response, SIGNATURE)


@pytest.mark.urls("tests.oauth.urls_device_bound")
def test_a_view_that_depends_on_the_device_requires_its_identifier_and_reads_both_headers(client, access_token):
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {access_token}"}
    missing = client.get(DEVICE_BOUND, **bearer)
    assert_api_error(missing, 400, "invalid_header_device_identifier", "none")

    response = client.get(
        DEVICE_BOUND, HTTP_AP_DEVICE_IDENTIFIER=DEVICE_IDENTIFIER, HTTP_X_DEVICE_INFO=DEVICE_INFO.decode(), **bearer
    )
    assert response.status_code == 200, response.content
    assert base64.b64decode(response.json()["device_identifier"]) == b"ba23d141-d715-561c-94f4-e9e4c966b1eb"
    assert response.json()["device_info"] == json.loads(base64.b64decode(DEVICE_INFO))
    # Without X-Device-Info the view is answered (the original reads the User-Agent instead).
    assert client.get(DEVICE_BOUND, HTTP_AP_DEVICE_IDENTIFIER=DEVICE_IDENTIFIER, **bearer).json()["device_info"] is None


def test_a_bearer_call_with_the_device_headers_makes_no_database_query(client, access_token, django_assert_num_queries):
    headers = {"HTTP_AP_DEVICE_IDENTIFIER": DEVICE_IDENTIFIER, "HTTP_X_DEVICE_INFO": DEVICE_INFO.decode()}
    call(client, access_token)
    with django_assert_num_queries(0):
        assert client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {access_token}", **headers).status_code == 200


def test_another_method_on_the_protected_api_is_405_in_the_enhanced_shape(client, access_token):
    response = client.post(SESSION, HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert_api_error(response, 405, "invalid_http_method", "none")
    assert "GET" in response["Allow"]
