"""Each environment is its own service: the API serves the environment of the request's host, with that
environment's issuer and keys, and refuses the statements, clients and tokens of every other one with
the documented error (README "Environments")."""

from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from django.test import override_settings

from oauth import usage_flush as flush
from registered_apps.environments import environment_by_slug, environment_production, environments_forget
from registered_apps.models import UsageDaily
from software_statements.services import software_statement_issue
from tests.factories import make_application
from tests.helpers import assert_api_error, assert_json_error
from tests.oauth.api import INTROSPECT, SESSION, register, token_request

STAGING = "release-staging.localhost"
PRODUCTION = "testserver"


@pytest.fixture
def staging_statement(programmer, channels, staging) -> str:
    application = make_application(programmer, name="Staging app", environment=staging)
    token, _ = software_statement_issue(application=application, actor="tests")
    return token


def _introspect(client, form: dict[str, str], host: str):
    return client.post(
        INTROSPECT, data=urlencode(form), content_type="application/x-www-form-urlencoded", HTTP_HOST=host
    )


def _registered(client, statement: str, host: str) -> dict[str, Any]:
    response = register(client, statement, HTTP_HOST=host)
    assert response.status_code == 201, response.content
    return response.json()


def _token(client, credentials: dict[str, Any], host: str):
    data = {
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
    }
    return token_request(client, data, HTTP_HOST=host)


def test_a_staging_statement_registers_on_the_staging_host_only(client, staging_statement):
    refused = register(client, staging_statement, HTTP_HOST=PRODUCTION)
    assert_json_error(refused, 400, "invalid_software_statement")
    assert "environment" in refused.json()["error_description"]
    assert _registered(client, staging_statement, STAGING)["client_id"]


def test_a_production_statement_is_refused_on_the_staging_host(client, statement):
    assert_json_error(register(client, statement, HTTP_HOST=STAGING), 400, "invalid_software_statement")
    assert register(client, statement).status_code == 201


def test_a_statement_verified_in_one_environment_is_verified_again_in_another(client, staging_statement):
    """The worker's cache of verified statements must not carry a staging grant to production."""
    _registered(client, staging_statement, STAGING)
    assert_json_error(register(client, staging_statement, HTTP_HOST=PRODUCTION), 400, "invalid_software_statement")


def test_statements_and_tokens_carry_their_environments_issuer(client, staging_statement):
    staging_issuer = environment_by_slug("release-staging").issuer
    assert staging_issuer == "http://release-staging.localhost"
    assert jwt.decode(staging_statement, options={"verify_signature": False})["iss"] == staging_issuer
    credentials = _registered(client, staging_statement, STAGING)
    issued = _token(client, credentials, STAGING)
    assert issued.status_code == 200, issued.content
    claims = jwt.decode(issued.json()["access_token"], options={"verify_signature": False})
    assert claims["iss"] == claims["aud"] == staging_issuer


def test_a_staging_client_is_invalid_client_in_production_and_nothing_is_counted(
    client, staging_statement, eager_tasks
):
    credentials = _registered(client, staging_statement, STAGING)
    # Twice: the first answer comes from the database, the second from what the first left in the store.
    for _ in range(2):
        refused = _token(client, credentials, PRODUCTION)
        assert_json_error(refused, 400, "invalid_client")
        assert "another environment" in refused.json()["error_description"]
    assert _token(client, credentials, STAGING).status_code == 200
    assert _token(client, credentials, STAGING).status_code == 200
    flush.usage_flush()
    rows = UsageDaily.objects.filter(application_id=credentials["software_id"])
    assert sum(row.tokens for row in rows) == 2
    assert sum(row.registrations for row in rows) == 1


def test_a_wrong_secret_reads_the_same_in_every_environment(client, staging_statement):
    """Whoever lacks the secret learns nothing, not even that the client exists elsewhere."""
    credentials = _registered(client, staging_statement, STAGING)
    wrong = {**credentials, "client_secret": "x" * 43}
    refused = _token(client, wrong, PRODUCTION)
    assert_json_error(refused, 400, "invalid_client")
    assert refused.json()["error_description"] == "Client authentication failed."


def test_a_staging_token_is_invalid_token_in_production(client, staging_statement):
    credentials = _registered(client, staging_statement, STAGING)
    access_token = _token(client, credentials, STAGING).json()["access_token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {access_token}"}
    assert client.get(SESSION, HTTP_HOST=STAGING, **bearer).status_code == 200
    refused = client.get(SESSION, HTTP_HOST=PRODUCTION, **bearer)
    # Another environment's keys cannot verify it (the original's code for a signature it cannot check).
    assert_api_error(refused, 401, "invalid_access_token_signature", "application-registration")
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]


def test_introspection_in_production_reads_a_staging_token_as_inactive(client, staging_statement, credentials):
    staging_credentials = _registered(client, staging_statement, STAGING)
    access_token = _token(client, staging_credentials, STAGING).json()["access_token"]
    form = {
        "token": access_token,
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
    }
    response = _introspect(client, form, PRODUCTION)
    assert response.status_code == 200
    assert response.json() == {"active": False}
    # The staging client cannot introspect in production either: it is not a client there.
    form.update(client_id=staging_credentials["client_id"], client_secret=staging_credentials["client_secret"])
    assert_json_error(_introspect(client, form, PRODUCTION), 400, "invalid_client")
    assert _introspect(client, form, STAGING).json()["active"] is True


def test_each_environment_publishes_its_own_keys_and_metadata(client, staging_statement):
    production_keys = {key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]}
    staging_keys = {key["kid"] for key in client.get("/.well-known/jwks.json", HTTP_HOST=STAGING).json()["keys"]}
    assert production_keys and staging_keys and not production_keys & staging_keys
    assert jwt.get_unverified_header(staging_statement)["kid"] in staging_keys
    metadata = client.get("/.well-known/oauth-authorization-server", HTTP_HOST=STAGING).json()
    assert metadata["issuer"] == "http://release-staging.localhost"
    assert metadata["token_endpoint"] == "http://release-staging.localhost/o/client/token"
    assert client.get("/.well-known/oauth-authorization-server").json()["issuer"] == "http://testserver"


@override_settings(
    DCR_ENVIRONMENT_HOSTS={"release-staging": "api-staging.example.com"},
    ALLOWED_HOSTS=["testserver", "api-staging.example.com", ".localhost"],
)
def test_a_configured_host_serves_its_environment_and_unlisted_hosts_serve_production(client, staging_statement):
    """The statement was issued before the setting changed; its issuer was the .localhost one, so it is
    refused on the configured host too: the issuer is part of what a statement is checked against."""
    environments_forget()
    staging = environment_by_slug("release-staging")
    assert staging is not None and staging.issuer == "http://api-staging.example.com"
    metadata = client.get("/.well-known/oauth-authorization-server", HTTP_HOST="api-staging.example.com").json()
    assert metadata["issuer"] == "http://api-staging.example.com"
    production = client.get("/.well-known/oauth-authorization-server", HTTP_HOST="testserver").json()
    assert production["issuer"] == environment_production().issuer
    assert_json_error(
        register(client, staging_statement, HTTP_HOST="api-staging.example.com"), 400, "invalid_software_statement"
    )


def test_an_explicit_issuer_set_by_a_tam_is_used(client, staging, programmer, channels):
    staging.issuer = "https://staging.dcr.example/"
    staging.save()
    environments_forget()
    application = make_application(programmer, name="Explicit", environment=staging)
    token, _ = software_statement_issue(application=application, actor="tests")
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == "https://staging.dcr.example"
    assert _registered(client, token, STAGING)["client_id"]


def _form(credentials: dict[str, Any]) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
    }


def test_unknown_environment_subdomain_of_localhost_serves_production(client, credentials):
    response = token_request(client, _form(credentials), HTTP_HOST="nowhere.localhost")
    assert response.status_code == 200
