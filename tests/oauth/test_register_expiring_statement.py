"""Registering with a statement that has a lifetime (RFC 7519 4.1.4 `exp`; README "Software statements
and signing keys"): accepted until it expires, then `invalid_software_statement` naming when, even when
this worker cached its verification before; clients registered before keep getting tokens."""

import datetime

import pytest

from core import clock
from oauth.grants import GRANT_TTL
from software_statements.keys import signing_key_active, signing_private_key
from software_statements.models import SoftwareStatement
from software_statements.services import software_statement_issue
from software_statements.verify import IAT_LEEWAY_SECONDS
from tests.helpers import assert_json_error
from tests.oauth.api import SESSION, get_token, register
from tests.software_statements.helpers import b64decode, forge

pytestmark = pytest.mark.django_db
DAY = 86400


@pytest.fixture(autouse=True)
def _clock_back():
    clock.reset()
    yield
    clock.reset()


def iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_statement_registers_until_it_expires_then_is_refused_with_when(client, application, unchanged_db):
    token, row = software_statement_issue(application=application, actor="tests", lifetime_days=30)
    assert register(client, token).status_code == 201
    clock.advance(29 * DAY)
    assert register(client, token).status_code == 201
    clock.advance(DAY + IAT_LEEWAY_SECONDS + 1)
    with unchanged_db():
        response = register(client, token)
    body = assert_json_error(response, 400, "invalid_software_statement")
    assert body["error_description"] == f"The software statement expired at {iso(row.expires_at)}; download a new one."
    assert token not in response.content.decode()


def test_an_expired_statement_is_refused_even_when_its_verification_was_cached(client, application, unchanged_db):
    """A grant cached while the statement was still accepted must not outlive its `exp`: the statement
    expired 30 s ago (still inside the leeway) when this worker verified and cached it; 31 s later, well
    within the cache's lifetime, it is refused."""
    _, row = software_statement_issue(application=application, actor="tests")
    key = signing_key_active("statement")
    claims = {
        "iss": "http://testserver",
        "iat": int(clock.wall()) - 3600,
        "exp": int(clock.wall()) - (IAT_LEEWAY_SECONDS - 30),
        "jti": str(row.jti),
        "software_id": str(application.pk),
        "software_version": application.version,
        "client_name": application.name,
        "programmer": application.programmer.slug,
        "channels": [],
        "platforms": ["ios"],
        "scope": "api:client:v2",
        "redirect_uris": [],
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
    }
    token = forge({"alg": key.algorithm, "kid": key.kid, "typ": "JWT"}, claims, signing_private_key(key))
    assert register(client, token).status_code == 201  # verified, and its grant cached
    assert register(client, token).status_code == 201  # from the cache
    clock.advance(31)
    assert GRANT_TTL > 31  # the cached grant itself is still fresh
    with unchanged_db():
        response = register(client, token)
    body = assert_json_error(response, 400, "invalid_software_statement")
    expired_at = datetime.datetime.fromtimestamp(claims["exp"], datetime.UTC)
    assert body["error_description"] == f"The software statement expired at {iso(expired_at)}; download a new one."


def test_clients_registered_before_the_expiry_keep_getting_tokens(client, application):
    token, _ = software_statement_issue(application=application, actor="tests", lifetime_days=30)
    credentials = register(client, token).json()
    get_token(client, credentials)
    clock.advance(31 * DAY)
    assert_json_error(register(client, token), 400, "invalid_software_statement")
    access = get_token(client, credentials)
    assert access["token_type"] == "bearer"
    session = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {access['access_token']}")
    assert session.status_code == 200, session.content
    assert session.json()["client_id"] == credentials["client_id"]


def test_a_statement_that_never_expires_registers_years_later(client, application):
    token, row = software_statement_issue(application=application, actor="tests", lifetime_days=None)
    assert "exp" not in b64decode(token.split(".")[1]).decode()
    clock.advance(3650 * DAY)
    assert register(client, token).status_code == 201
    assert SoftwareStatement.objects.get(pk=row.pk).status == "active"
