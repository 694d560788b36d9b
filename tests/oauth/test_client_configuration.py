"""RFC 7592, the client configuration endpoint: registration hands out a registration access token and
the client's configuration URI; with that token the client reads its registration, rotates its secret
(the old one keeps working for DCR_ROTATED_SECRET_GRACE, the old token stops at once) and deletes itself
(its access tokens refused like a revoked client's, the usage already counted kept)."""

import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from core.hot_store import Outcome, hot_store
from oauth import usage_flush as flush
from oauth.hashers import client_secret_candidate, client_secret_verify
from oauth.models import Client
from oauth.records import client_record_load
from oauth.usage import usage_day
from registered_apps.models import AuditEvent, Environment, UsageDaily
from registered_apps.services import registered_application_revoke
from software_statements.services import software_statement_issue, software_statement_revoke
from tests.factories import make_application
from tests.helpers import assert_json_error, requires_redis
from tests.oauth.api import INTROSPECT, SESSION, basic, get_token, register, token_request

STAGING = "release-staging.localhost"


_commits: list[Any] = []


@pytest.fixture(autouse=True)
def _commits_run(django_capture_on_commit_callbacks):
    """A rotation or deletion acts after its commit (the store forgets the record); tests run in a
    transaction that never commits, so each call here runs its commit callbacks when it returns."""
    _commits.append(django_capture_on_commit_callbacks)
    yield
    _commits.clear()


def _committed(call):
    with _commits[0](execute=True):
        return call()


def _delete(client, credentials: dict[str, Any], **extra: Any):
    return _committed(lambda: client.delete(_path(credentials), **{**_bearer(credentials), **extra}))


def _path(credentials: dict[str, Any]) -> str:
    return urlsplit(credentials["registration_client_uri"]).path


def _bearer(credentials: dict[str, Any]) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {credentials['registration_access_token']}"}


def _read(client, credentials: dict[str, Any], **extra: Any):
    return client.get(_path(credentials), **{**_bearer(credentials), **extra})


def _update(client, credentials: dict[str, Any], body: dict[str, Any], **extra: Any):
    return _committed(
        lambda: client.put(
            _path(credentials),
            data=json.dumps(body),
            content_type="application/json",
            **{**_bearer(credentials), **extra},
        )
    )


def _metadata(information: dict[str, Any]) -> dict[str, Any]:
    """What a client sends back to update its registration (RFC 7592 2.2): the read without the server's members."""
    server = ("registration_access_token", "registration_client_uri", "client_secret_expires_at", "client_id_issued_at")
    return {name: value for name, value in information.items() if name not in server}


def _token_status(client, client_id: str, secret: str, **extra: Any) -> int:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return token_request(client, form, **extra).status_code


def test_registration_returns_a_registration_token_and_its_clients_configuration_uri(client, credentials):
    token = credentials["registration_access_token"]
    assert len(token) >= 43  # 256 bits in base64url
    assert credentials["registration_client_uri"] == f"http://testserver/o/client/register/{credentials['client_id']}"
    stored = Client.objects.get(client_id=credentials["client_id"]).registration_access_token
    assert stored.startswith("client_secret_hmac$") and token not in stored
    assert credentials["client_secret"] not in stored


def test_read_returns_the_registration_without_the_secret(client, credentials):
    response = _read(client, credentials)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"].startswith("no-store")
    body = response.json()
    assert "client_secret" not in body
    assert body["registration_access_token"] == credentials["registration_access_token"]
    for member in ("client_id", "client_id_issued_at", "redirect_uris", "grant_types", "software_id", "client_name"):
        assert body[member] == credentials[member], member
    assert body["scope"] == "api:client:v2" and body["scopes"] == ["api:client:v2"]
    assert body["client_secret_expires_at"] == 0


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Basic Zm9vOmJhcg==", "Bearer", "bearer a b"],
    ids=["missing", "wrong", "basic", "empty", "two-parts"],
)
def test_read_without_the_clients_token_is_invalid_token(client, credentials, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    response = client.get(_path(credentials), **extra)
    assert_json_error(response, 401, "invalid_token")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_another_clients_token_and_an_unknown_client_are_invalid_token(client, statement, credentials):
    other = register(client, statement).json()
    response = client.get(_path(credentials), **_bearer(other))
    assert_json_error(response, 401, "invalid_token")
    unknown = client.get("/o/client/register/no-such-client", **_bearer(credentials))
    assert_json_error(unknown, 401, "invalid_token")
    assert unknown.json()["error_description"] == response.json()["error_description"]


def test_update_rotates_the_secret_and_the_registration_token(client, credentials):
    old_secret, old_token = credentials["client_secret"], credentials["registration_access_token"]
    client_id = credentials["client_id"]
    response = _update(client, credentials, _metadata(_read(client, credentials).json()))
    assert response.status_code == 200, response.content
    rotated = response.json()
    assert rotated["client_id"] == client_id
    assert rotated["client_secret"] not in (old_secret, None)
    assert rotated["registration_access_token"] != old_token
    assert rotated["registration_client_uri"] == credentials["registration_client_uri"]

    # The new secret works, by body and by HTTP Basic; the old one too, during the grace period.
    assert get_token(client, {"client_id": client_id, "client_secret": rotated["client_secret"]})["access_token"]
    auth = basic(client_id, rotated["client_secret"])
    assert token_request(client, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth).status_code < 300
    assert get_token(client, credentials)["access_token"]
    # The old registration access token is refused at once, the new one works.
    assert_json_error(_read(client, credentials), 401, "invalid_token")
    assert _read(client, rotated).status_code == 200

    row = Client.objects.get(client_id=client_id)
    assert rotated["client_secret"] not in row.client_secret and old_secret not in row.previous_client_secret
    event = AuditEvent.objects.get(action="client.rotate_secret")
    assert event.actor_label == client_id and event.object_id == str(row.pk)


def test_the_old_secret_stops_after_the_grace_period(client, credentials):
    """Real time: with Redis the gate compares the expiry with Redis's clock."""
    with override_settings(DCR_ROTATED_SECRET_GRACE=1):
        rotated = _update(client, credentials, {"client_id": credentials["client_id"]}).json()
    client_id = credentials["client_id"]
    assert _token_status(client, client_id, credentials["client_secret"]) < 300
    time.sleep(1.1)
    assert_json_error(token_request(client, _form(credentials)), 400, "invalid_client")
    assert _token_status(client, client_id, rotated["client_secret"]) < 300


def _form(credentials: dict[str, Any]) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
    }


@override_settings(DCR_ROTATED_SECRET_GRACE=0)
def test_without_a_grace_period_the_old_secret_stops_at_once(client, credentials):
    rotated = _update(client, credentials, {"client_id": credentials["client_id"]}).json()
    assert_json_error(token_request(client, _form(credentials)), 400, "invalid_client")
    assert _token_status(client, credentials["client_id"], rotated["client_secret"]) < 300


@requires_redis
def test_the_rotated_secret_passes_the_token_gate_without_the_database(client, credentials, django_assert_num_queries):
    """The record in Redis carries the rotated secret's hash and its expiry: one round trip, no query."""
    rotated = _update(client, credentials, {"client_id": credentials["client_id"]}).json()
    assert _token_status(client, credentials["client_id"], rotated["client_secret"]) < 300  # reads the record
    with django_assert_num_queries(0):
        assert _token_status(client, credentials["client_id"], credentials["client_secret"]) < 300
        assert _token_status(client, credentials["client_id"], rotated["client_secret"]) < 300
        assert _token_status(client, credentials["client_id"], "wrong") == 400


def test_the_store_gate_itself_passes_the_rotated_secret_and_forgets_it_with_the_record(client, credentials):
    """The gate (the Lua script with Redis, LocalStore without) decides on the rotated secret itself:
    PASSED, so it counts the token in the same round trip, rather than UNVERIFIED and a second call. A
    record written again without a rotated secret (here as after the grace period) no longer passes it."""
    client_id, old_secret = credentials["client_id"], credentials["client_secret"]
    rotated = _update(client, credentials, {"client_id": client_id}).json()
    assert _token_status(client, client_id, rotated["client_secret"]) < 300  # the record is read into the store
    environment_id = Client.objects.get(client_id=client_id).registered_application.environment_id

    def gate(secret: str) -> Outcome:
        candidate = client_secret_candidate(secret, client_id)
        found = hot_store().client_gate(
            client_id=client_id, secret_hash=candidate, scopes=None, day=usage_day(), environment_id=environment_id
        )
        return found.outcome

    assert gate(old_secret) is Outcome.PASSED
    assert gate(rotated["client_secret"]) is Outcome.PASSED
    assert gate("wrong") is Outcome.UNVERIFIED
    Client.objects.filter(client_id=client_id).update(previous_secret_expires_at=timezone.now())
    hot_store().client_record_drop(client_id)  # a read-through writes only where no record is
    client_record_load(client_id)
    assert gate(old_secret) is Outcome.UNVERIFIED
    assert gate(rotated["client_secret"]) is Outcome.PASSED


def test_a_read_through_that_read_before_a_rotation_leaves_the_rotations_record(client, credentials):
    """A token request misses the store and reads the client from the database (`client_record_load`);
    before it writes what it read, a rotation commits and writes its record. The store keeps the
    rotation's record: the new secret passes at once (the old one for its grace period), rather than
    being refused until the read-through's stale record expires."""
    client_id, old_secret = credentials["client_id"], credentials["client_secret"]
    hot_store().client_record_drop(client_id)  # a miss: the next use reads through
    rotated: dict[str, Any] = {}
    state = {"queries": 0}

    def rotate_after_the_clients_read(execute, sql, params, many, context):
        state["queries"] += 1
        if state["queries"] == 2:  # the client row is read (the first query); the rotation commits now
            rotated.update(_update(client, credentials, {"client_id": client_id}).json())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(rotate_after_the_clients_read):
        record = client_record_load(client_id)
    assert rotated["client_secret"] and record is not None
    assert client_secret_verify(old_secret, record.secret_encoded).matches  # it did read the old row

    assert _token_status(client, client_id, rotated["client_secret"]) < 300
    assert _token_status(client, client_id, old_secret) < 300


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("redirect_uris", ["https://evil.example.com/cb"]),
        ("scope", "api:client:v2 admin"),
        ("scopes", ["admin"]),
        ("client_name", "Another name"),
        ("software_id", "00000000-0000-0000-0000-000000000000"),
        ("software_version", "9.9"),
        ("grant_types", ["authorization_code"]),
        ("token_endpoint_auth_method", "none"),
        ("redirect_uris", "https://not-a-list.example.com"),
    ],
)
def test_an_update_that_changes_the_statements_metadata_is_refused(client, credentials, member, value):
    body = {**_metadata(_read(client, credentials).json()), member: value}
    assert_json_error(_update(client, credentials, body), 400, "invalid_client_metadata")
    # Nothing changed: the secret and the registration access token still work.
    assert _token_status(client, credentials["client_id"], credentials["client_secret"]) < 300
    assert _read(client, credentials).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"client_id": "someone-else"},
        {"client_id": "<own>", "client_secret": "not-the-secret"},
        {"client_id": "<own>", "registration_access_token": "x"},
        {"client_id": "<own>", "client_id_issued_at": 1},
    ],
    ids=["no-client-id", "other-client-id", "wrong-secret", "registration-token", "issued-at"],
)
def test_a_malformed_update_is_invalid_request_and_changes_nothing(client, credentials, body):
    body = {key: credentials["client_id"] if value == "<own>" else value for key, value in body.items()}
    before = Client.objects.get(client_id=credentials["client_id"]).client_secret
    assert_json_error(_update(client, credentials, body), 400, "invalid_request")
    assert Client.objects.get(client_id=credentials["client_id"]).client_secret == before
    assert not AuditEvent.objects.filter(action="client.rotate_secret").exists()


def test_an_update_may_repeat_the_secret_and_the_statement(client, statement, credentials):
    body = {
        **_metadata(_read(client, credentials).json()),
        "client_secret": credentials["client_secret"],
        "software_statement": statement,
        "unknown_member": "ignored (RFC 7591 2)",
    }
    assert _update(client, credentials, body).status_code == 200


def test_an_update_with_another_statement_is_refused(client, application, credentials):
    other, _ = software_statement_issue(application=application, actor="tests")
    body = {"client_id": credentials["client_id"], "software_statement": other}
    assert_json_error(_update(client, credentials, body), 400, "invalid_client_metadata")


def test_delete_removes_the_client_and_refuses_its_tokens_keeping_its_usage(client, credentials, eager_tasks):
    access_token = get_token(client, credentials)["access_token"]
    client_id = credentials["client_id"]
    response = _delete(client, credentials)
    assert response.status_code == 204 and response.content == b"" and "Content-Type" not in response

    assert not Client.objects.filter(client_id=client_id).exists()
    event = AuditEvent.objects.get(action="client.delete")
    assert event.actor_label == client_id and event.details["software_id"] == credentials["software_id"]
    assert_json_error(token_request(client, _form(credentials)), 400, "invalid_client")
    refused = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert_json_error(_read(client, credentials), 401, "invalid_token")
    assert_json_error(_delete(client, credentials), 401, "invalid_token")

    flush.usage_flush()
    usage = UsageDaily.objects.get()
    assert (usage.registrations, usage.tokens) == (1, 1)


def test_a_deleted_clients_token_is_inactive_to_introspection(client, statement, credentials):
    access_token = get_token(client, credentials)["access_token"]
    other = register(client, statement).json()
    assert _delete(client, credentials).status_code == 204
    response = client.post(
        INTROSPECT,
        data=f"token={access_token}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(other["client_id"], other["client_secret"]),
    )
    assert response.json() == {"active": False}


def _revoke_client(credentials: dict[str, Any], application) -> None:
    from oauth.services import client_revoke

    client_revoke(client=Client.objects.get(client_id=credentials["client_id"]), reason="tests", actor="tests")


def _revoke_statement(credentials: dict[str, Any], application) -> None:
    statement = Client.objects.get(client_id=credentials["client_id"]).statement
    software_statement_revoke(statement=statement, reason="tests", actor="tests")


def _revoke_application(credentials: dict[str, Any], application) -> None:
    registered_application_revoke(application=application, reason="tests", actor="tests")


@pytest.mark.parametrize("revoke", [_revoke_client, _revoke_statement, _revoke_application])
def test_the_registration_token_is_refused_after_a_revocation(client, application, credentials, revoke):
    revoke(credentials, application)
    for response in (
        _read(client, credentials),
        _update(client, credentials, {"client_id": credentials["client_id"]}),
        _delete(client, credentials),
    ):
        body = assert_json_error(response, 401, "invalid_token")
        assert "register again" in body["error_description"]
    assert Client.objects.filter(client_id=credentials["client_id"]).exists()


def test_the_registration_token_works_only_on_its_environments_host(client, programmer, channels, credentials):
    staging = Environment.objects.get(slug="release-staging")
    application = make_application(programmer, name="Staging app", environment=staging)
    staging_statement, _ = software_statement_issue(application=application, actor="tests")
    staged = register(client, staging_statement, HTTP_HOST=STAGING).json()
    assert staged["registration_client_uri"] == f"http://{STAGING}/o/client/register/{staged['client_id']}"

    assert _read(client, staged, HTTP_HOST=STAGING).status_code == 200
    assert_json_error(_read(client, staged), 401, "invalid_token")
    assert_json_error(_read(client, credentials, HTTP_HOST=STAGING), 401, "invalid_token")
    assert_json_error(_delete(client, staged), 401, "invalid_token")
    assert Client.objects.filter(client_id=staged["client_id"]).exists()


def test_other_methods_are_refused_as_json(client, credentials):
    response = client.post(_path(credentials), data="{}", content_type="application/json", **_bearer(credentials))
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
