"""Contract of POST /o/client/register (README "API walk-through with curl"; RFC 7591 3.1, 3.2.1, 3.2.2)."""

import base64
import json
import time

import pytest

from oauth.models import Client
from registered_apps.models import AuditEvent
from registered_apps.services import registered_application_revoke
from software_statements.models import SoftwareStatement
from software_statements.services import software_statement_issue, software_statement_revoke
from tests.factories import make_application
from tests.helpers import assert_json_error
from tests.oauth.api import REGISTER, device_info_header, register


def test_registration_returns_201_with_every_documented_field(client, statement, application):
    before = int(time.time())
    response = register(client, statement)

    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"
    body = response.json()
    assert {"client_id", "client_secret", "client_id_issued_at", "redirect_uris", "grant_types", "scopes"} <= set(body)
    assert before <= body["client_id_issued_at"] <= int(time.time())
    assert body["grant_types"] == ["client_credentials"]
    assert body["scopes"] == ["api:client:v2"]
    assert body["redirect_uris"] == []
    assert body["client_secret_expires_at"] == 0
    assert body["software_id"] == str(application.pk)


def test_client_secret_has_at_least_256_bits_and_is_stored_hashed(client, statement):
    body = register(client, statement).json()
    raw = base64.urlsafe_b64decode(body["client_secret"] + "=" * (-len(body["client_secret"]) % 4))
    assert len(raw) >= 32
    stored = Client.objects.get(client_id=body["client_id"])
    assert stored.client_secret.startswith("client_secret_hmac$")
    assert body["client_secret"] not in stored.client_secret


def test_registration_stores_statement_application_device_info_and_user_agent(client, programmer, channels):
    application = make_application(programmer, name="Apple", platforms=["ios", "tvos"])
    statement, _ = software_statement_issue(application=application, actor="tests")
    info = {"osName": "tvOS", "model": "AppleTV11,1", "manufacturer": "Apple"}
    response = register(
        client, statement, HTTP_X_DEVICE_INFO=device_info_header(info), HTTP_USER_AGENT="Player/2 (AppleTV)"
    )
    stored = Client.objects.get(client_id=response.json()["client_id"])
    assert stored.registered_application_id == application.pk
    assert stored.statement_id == SoftwareStatement.objects.get().jti
    assert stored.device_info == info
    assert stored.user_agent == "Player/2 (AppleTV)"
    assert stored.platform == "tvos"
    assert stored.scopes == ["api:client:v2"]
    assert stored.authorization_grant_type == "client-credentials"


def test_platform_falls_back_to_the_applications_only_platform(client, statement):
    body = register(client, statement, HTTP_USER_AGENT="Roku/DVP-12.0").json()
    assert Client.objects.get(client_id=body["client_id"]).platform == "ios"


def test_platform_is_derived_from_user_agent_when_device_info_is_absent(client, programmer, channels):
    app = make_application(programmer, name="Multi", platforms=["ios", "roku"])
    statement, _ = software_statement_issue(application=app, actor="tests")
    body = register(client, statement, HTTP_USER_AGENT="Roku/DVP-12.0 (12.0.0.4182-88)").json()
    assert Client.objects.get(client_id=body["client_id"]).platform == "roku"


def test_registration_writes_an_audit_event(client, statement, application):
    body = register(client, statement, REMOTE_ADDR="10.1.2.3").json()
    event = AuditEvent.objects.get(action="client.register")
    assert event.actor_label == body["client_id"]
    assert event.programmer == application.programmer
    assert event.ip_address == "10.1.2.3"
    assert body["client_secret"] not in json.dumps(event.details)


def test_redirect_uri_of_the_application_is_accepted(client, programmer, channels):
    scheme = channels[0].custom_schemes.get().scheme
    app = make_application(programmer, name="Mobile", redirect_uris=[f"{scheme}://callback"])
    statement, _ = software_statement_issue(application=app, actor="tests")
    body = register(client, statement, body={"redirect_uri": f"{scheme}://callback"}).json()
    assert body["redirect_uris"] == [f"{scheme}://callback"]


def test_unknown_members_are_ignored(client, statement):
    """RFC 7591 2: metadata the server does not understand is ignored."""
    assert register(client, statement, body={"client_name": "mine", "logo_uri": 3}).status_code == 201


def test_registration_echoes_the_statement_unmodified_and_gives_scope_as_a_string(client, programmer, channels):
    application = make_application(programmer, name="Two scopes", scopes=["api:client:v2", "analytics:client"])
    statement, _ = software_statement_issue(application=application, actor="tests")

    body = register(client, statement).json()

    # RFC 7591 3.2.1: the statement is returned unmodified; RFC 7591 2: scope is space separated.
    assert body["software_statement"] == statement
    assert sorted(body["scope"].split(" ")) == sorted(body["scopes"]) == ["analytics:client", "api:client:v2"]
    assert body["scope"] == " ".join(body["scopes"])
    # RFC 7591 2.1: omitted would mean "code"; the metadata's response_types_supported lists "none".
    assert body["response_types"] == ["none"]


def test_same_statement_registers_many_distinct_clients(client, statement):
    ids = {register(client, statement).json()["client_id"] for _ in range(3)}
    assert len(ids) == 3


def test_charset_parameter_and_json_accept_are_fine(client, statement):
    response = client.post(
        REGISTER,
        data=json.dumps({"software_statement": statement}),
        content_type="application/json; charset=utf-8",
        HTTP_ACCEPT="text/html;q=0.9, application/json",
    )
    assert response.status_code == 201


# --- errors -----------------------------------------------------------------------------------------


def _post_raw(client, body: bytes | str, content_type="application/json", **extra):
    return client.post(REGISTER, data=body, content_type=content_type, **extra)


BAD_BODIES = {
    "invalid json": b'{"software_statement": ',
    "json array": b"[1, 2]",
    "json string": b'"eyJ"',
    "json null": b"null",
    "empty body": b"",
    "missing statement": b'{"redirect_uri": "https://x.example.com/"}',
    "statement is a number": b'{"software_statement": 42}',
    "statement is a list": b'{"software_statement": ["a"]}',
    "statement is null": b'{"software_statement": null}',
    "statement is empty": b'{"software_statement": ""}',
    "redirect_uri is a list": b'{"software_statement": "a.b.c", "redirect_uri": ["x"]}',
    "not utf-8": b'{"software_statement": "\xff\xfe"}',
    "utf-16": '{"software_statement": "a"}'.encode("utf-16"),
    "deep nesting": b'{"a": ' + b"[" * 100000 + b"]" * 100000 + b"}",
}


@pytest.mark.parametrize("case", BAD_BODIES, ids=list(BAD_BODIES))
def test_malformed_body_is_invalid_request_and_changes_nothing(client, statement, unchanged_db, case):
    with unchanged_db():
        response = _post_raw(client, BAD_BODIES[case])
    assert_json_error(response, 400, "invalid_request")


def test_repeated_key_is_invalid_request(client, statement, unchanged_db):
    body = f'{{"software_statement": "{statement}", "software_statement": "{statement}"}}'
    with unchanged_db():
        assert_json_error(_post_raw(client, body), 400, "invalid_request")


def test_oversized_body_is_refused(client, statement, unchanged_db):
    body = json.dumps({"software_statement": statement, "padding": "a" * (64 * 1024)})
    with unchanged_db():
        assert_json_error(_post_raw(client, body), 400, "invalid_request")


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "", "text/json"])
def test_wrong_content_type_is_invalid_request(client, statement, unchanged_db, content_type):
    with unchanged_db():
        response = _post_raw(client, json.dumps({"software_statement": statement}), content_type=content_type)
    assert_json_error(response, 400, "invalid_request")


@pytest.mark.parametrize("accept", ["text/html", "application/xml, text/plain", "application/json;q=0"])
def test_accept_that_excludes_json_is_invalid_request(client, statement, unchanged_db, accept):
    with unchanged_db():
        response = _post_raw(client, json.dumps({"software_statement": statement}), HTTP_ACCEPT=accept)
    assert_json_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "header",
    [
        "not base64!!",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[1,2]").decode(),
        base64.b64encode(b'"text"').decode(),
        base64.b64encode(b"\xff\xfe{}").decode(),
        "",
        "a",
        # Valid JSON that PostgreSQL cannot store (it answered 500): NUL and unpaired surrogates,
        # in values, in keys, deep inside.
        base64.b64encode(b'{"model": "a\\u0000b"}').decode(),
        base64.b64encode(b'{"\\u0000": 1}').decode(),
        base64.b64encode(b'{"model": "\\ud800"}').decode(),
        base64.b64encode(b'{"a": [{"b": ["\\udfff"]}]}').decode(),
        base64.b64encode(b'{"a": ' + b"[" * 2000 + b'"\\u0000"' + b"]" * 2000 + b"}").decode(),
        # Deeper than Python's recursion limit, yet under the header's length limit.
        base64.b64encode(b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}").decode(),
    ],
)
def test_bad_device_info_is_invalid_request(client, statement, unchanged_db, header):
    with unchanged_db():
        response = register(client, statement, HTTP_X_DEVICE_INFO=header)
    assert_json_error(response, 400, "invalid_request")


def test_device_info_with_paired_surrogates_and_escapes_is_stored(client, statement):
    info = {"model": "Pixel \U0001f4fa", "note": "tab\tand \\u0000 as text"}
    header = base64.b64encode(json.dumps(info).encode()).decode()
    response = register(client, statement, HTTP_X_DEVICE_INFO=header)
    assert response.status_code == 201
    assert Client.objects.get(client_id=response.json()["client_id"]).device_info == info


def test_nul_in_user_agent_is_dropped_not_a_server_error(client, statement):
    response = register(client, statement, HTTP_USER_AGENT="Player/1.0 \x00(iPhone)")
    assert response.status_code == 201
    assert Client.objects.get(client_id=response.json()["client_id"]).user_agent == "Player/1.0 (iPhone)"


def test_url_safe_unpadded_device_info_is_accepted(client, statement):
    header = base64.urlsafe_b64encode(json.dumps({"osName": "Android", "x": "??>>"}).encode()).decode().rstrip("=")
    assert register(client, statement, HTTP_X_DEVICE_INFO=header).status_code == 201


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 20000],
)
def test_statement_that_is_not_ours_is_invalid_software_statement(client, application, unchanged_db, token):
    with unchanged_db():
        response = register(client, token)
    assert_json_error(response, 400, "invalid_software_statement")


def test_tampered_statement_is_invalid_software_statement(client, statement, unchanged_db):
    header, payload, signature = statement.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "api:client:v2 decisions:owner"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with unchanged_db():
        response = register(client, f"{header}.{forged}.{signature}")
    assert_json_error(response, 400, "invalid_software_statement")


def test_statement_of_a_revoked_application_is_unapproved(client, statement, application, unchanged_db):
    registered_application_revoke(application=application, reason="abuse", actor="tests")
    with unchanged_db():
        response = register(client, statement)
    assert_json_error(response, 400, "unapproved_software_statement")


def test_revoked_statement_is_unapproved(client, statement, unchanged_db):
    software_statement_revoke(statement=SoftwareStatement.objects.get(), reason="leaked", actor="tests")
    with unchanged_db():
        response = register(client, statement)
    assert_json_error(response, 400, "unapproved_software_statement")


def test_revocation_after_a_cached_verification_is_seen(
    client, statement, application, django_capture_on_commit_callbacks
):
    assert register(client, statement).status_code == 201  # verified and cached by this worker
    with django_capture_on_commit_callbacks(execute=True):
        registered_application_revoke(application=application, reason="abuse", actor="tests")
    assert_json_error(register(client, statement), 400, "unapproved_software_statement")


def test_redirect_uri_not_of_the_application_is_invalid_redirect_uri(client, statement, unchanged_db):
    with unchanged_db():
        response = register(client, statement, body={"redirect_uri": "https://evil.example.com/cb"})
    assert_json_error(response, 400, "invalid_redirect_uri")
    # and again once the statement is cached by a successful registration
    register(client, statement)
    with unchanged_db():
        response = register(client, statement, body={"redirect_uri": "https://evil.example.com/cb"})
    assert_json_error(response, 400, "invalid_redirect_uri")


def test_error_bodies_never_echo_the_statement(client, statement, application):
    registered_application_revoke(application=application, reason="abuse", actor="tests")
    response = register(client, statement)
    assert statement not in response.content.decode()
    assert statement.split(".")[2] not in response.content.decode()


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_other_methods_are_json_405(client, method):
    response = getattr(client, method)(REGISTER)
    assert_json_error(response, 405, "invalid_request")
