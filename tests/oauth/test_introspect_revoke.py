"""POST /o/client/introspect (RFC 7662) and POST /o/client/revoke (RFC 7009)."""

from urllib.parse import urlencode

import pytest

from oauth.models import Client, DeniedToken
from oauth.services import client_revoke
from registered_apps.models import AuditEvent
from software_statements.services import software_statement_issue
from tests.factories import ChannelFactory, ProgrammerFactory, make_application
from tests.helpers import assert_api_error, assert_json_error
from tests.oauth.api import INTROSPECT, REVOKE, SESSION, basic, get_token, register


def post(client, path, data, **extra):
    return client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded", **extra)


def as_client(credentials, **data):
    return {"client_id": credentials["client_id"], "client_secret": credentials["client_secret"], **data}


@pytest.fixture
def issued(client, credentials):
    return get_token(client, credentials)


def test_introspection_of_an_active_token(client, credentials, issued, application):
    response = post(client, INTROSPECT, as_client(credentials, token=issued["access_token"]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert body["client_id"] == credentials["client_id"]
    assert body["scope"] == "api:client:v2"
    assert body["token_type"] == "bearer"
    assert body["jti"] == issued["id"]
    assert body["software_id"] == str(application.pk)
    assert body["exp"] - body["iat"] == 21600


def test_introspection_with_basic_authentication(client, credentials, issued):
    response = post(
        client,
        INTROSPECT,
        {"token": issued["access_token"]},
        HTTP_AUTHORIZATION=basic(credentials["client_id"], credentials["client_secret"]),
    )
    assert response.json()["active"] is True


def test_another_client_of_the_same_programmer_may_introspect(client, statement, credentials, issued):
    other = register(client, statement).json()
    assert post(client, INTROSPECT, as_client(other, token=issued["access_token"])).json()["active"] is True


def test_token_of_another_programmer_reads_inactive(client, issued, db):
    other = ProgrammerFactory(slug="rival", name="Rival")
    ChannelFactory(programmer=other, slug="rival-one")
    app = make_application(other, name="Rival app")
    statement, _ = software_statement_issue(application=app, actor="tests")
    rival = register(client, statement).json()
    assert post(client, INTROSPECT, as_client(rival, token=issued["access_token"])).json() == {"active": False}


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 10000])
def test_unknown_tokens_read_inactive(client, credentials, token):
    assert post(client, INTROSPECT, as_client(credentials, token=token)).json() == {"active": False}


def test_introspection_errors(client, credentials, issued, unchanged_db):
    with unchanged_db():
        assert_json_error(post(client, INTROSPECT, as_client(credentials)), 400, "invalid_request")
        wrong = as_client(credentials, token=issued["access_token"], client_secret="nope")
        assert_json_error(post(client, INTROSPECT, wrong), 400, "invalid_client")
        response = post(
            client,
            INTROSPECT,
            {"token": issued["access_token"]},
            HTTP_AUTHORIZATION=basic(credentials["client_id"], "x"),
        )
        assert_json_error(response, 401, "invalid_client")
        query = f"{INTROSPECT}?client_secret={credentials['client_secret']}"
        assert_json_error(post(client, query, as_client(credentials, token="t")), 400, "invalid_request")
        response = client.post(INTROSPECT, "{}", content_type="application/json")
        assert_json_error(response, 400, "invalid_request")


def test_revoked_caller_is_invalid_client(client, credentials, issued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_revoke(client=Client.objects.get(client_id=credentials["client_id"]), reason="x", actor="tests")
    response = post(client, INTROSPECT, as_client(credentials, token=issued["access_token"]))
    assert_json_error(response, 400, "invalid_client")


def test_revoking_a_token_refuses_it_everywhere(client, credentials, issued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, REVOKE, as_client(credentials, token=issued["access_token"]))
    assert response.status_code == 200
    assert DeniedToken.objects.filter(jti=issued["id"]).exists()
    assert AuditEvent.objects.filter(action="token.revoke", object_id=issued["id"]).exists()

    session = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {issued['access_token']}")
    # Not `retry` (the same request would fail again): the client gets a new token.
    body = assert_api_error(session, 401, "invalid_access_token_client_application", "application-registration")
    assert body["message"] == "The access token has been revoked."
    assert post(client, INTROSPECT, as_client(credentials, token=issued["access_token"])).json() == {"active": False}
    # the client itself keeps working
    assert get_token(client, credentials)["access_token"]


def test_revoking_twice_or_an_unknown_token_is_200(client, credentials, issued):
    assert post(client, REVOKE, as_client(credentials, token=issued["access_token"])).status_code == 200
    assert post(client, REVOKE, as_client(credentials, token=issued["access_token"])).status_code == 200
    assert post(client, REVOKE, as_client(credentials, token="not-a-token")).status_code == 200
    assert DeniedToken.objects.count() == 1


def test_a_client_cannot_revoke_another_clients_token(client, statement, credentials, issued):
    other = register(client, statement).json()
    assert post(client, REVOKE, as_client(other, token=issued["access_token"])).status_code == 200
    assert not DeniedToken.objects.exists()
    assert client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {issued['access_token']}").status_code == 200


def test_revocation_errors_change_nothing(client, credentials, issued, unchanged_db):
    with unchanged_db():
        assert_json_error(post(client, REVOKE, as_client(credentials)), 400, "invalid_request")
        bad = as_client(credentials, token=issued["access_token"], client_secret="nope")
        assert_json_error(post(client, REVOKE, bad), 400, "invalid_client")
        both = post(
            client,
            REVOKE,
            as_client(credentials, token=issued["access_token"]),
            HTTP_AUTHORIZATION=basic(credentials["client_id"], credentials["client_secret"]),
        )
        assert_json_error(both, 400, "invalid_request")


@pytest.mark.parametrize("path", [INTROSPECT, REVOKE])
def test_get_is_json_405(client, path):
    assert_json_error(client.get(path), 405, "invalid_request")
