"""End to end over real HTTP on a live server: the whole client journey, interoperability with an
OAuth client library and a JWT library we did not write, and 50 concurrent registrations."""

import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from authlib.oauth2.rfc7591 import ClientMetadataClaims
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from django.db import connection
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from oauth.models import Client
from registered_apps.services import registered_application_revoke
from software_statements.services import software_statement_issue
from tests.factories import make_application
from tests.hot_state import hot_state_clear

# Transactional (the live server commits); tests/conftest.py puts back the catalogs that a flush removes.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_statement(programmer, channels) -> tuple[object, str]:
    application = make_application(programmer, name="Live")
    statement, _ = software_statement_issue(application=application, actor="tests")
    return application, statement


def register(base: str, statement: str, session: requests.Session | None = None) -> requests.Response:
    return (session or requests).post(
        f"{base}/o/client/register",
        json={"software_statement": statement},
        headers={"User-Agent": "LivePlayer/1.0 (iPhone; iOS 17.4)", "Accept": "application/json"},
        timeout=30,
    )


def token(base: str, credentials: dict) -> requests.Response:
    return requests.post(
        f"{base}/o/client/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        },
        timeout=30,
    )


def test_statement_register_token_session_then_revocation_within_one_second(live_server, live_statement):
    application, statement = live_statement
    base = live_server.url

    registration = register(base, statement)
    assert registration.status_code == 201, registration.text
    credentials = registration.json()

    issued = token(base, credentials)
    assert issued.status_code == 200, issued.text
    access_token = issued.json()["access_token"]

    session = requests.get(f"{base}/api/v2/session", headers={"Authorization": f"Bearer {access_token}"}, timeout=30)
    assert session.status_code == 200, session.text
    assert session.json()["client_id"] == credentials["client_id"]
    assert session.json()["software_id"] == str(application.pk)

    registered_application_revoke(application=application, reason="end-to-end test", actor="tests")
    revoked_at = time.monotonic()
    while True:
        refused = requests.get(
            f"{base}/api/v2/session", headers={"Authorization": f"Bearer {access_token}"}, timeout=30
        )
        if refused.status_code == 401 or time.monotonic() - revoked_at > 1.0:
            break
        time.sleep(0.05)
    assert refused.status_code == 401
    assert time.monotonic() - revoked_at <= 1.0
    assert refused.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert refused.json()["action"] == "application-registration"

    again = token(base, credentials)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_client"


def test_requests_oauthlib_gets_a_token_and_pyjwt_validates_it_from_the_jwks_alone(
    live_server, live_statement, monkeypatch
):
    _, statement = live_statement
    base = live_server.url
    credentials = register(base, statement).json()
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live server speaks plain HTTP

    oauth = OAuth2Session(client=BackendApplicationClient(client_id=credentials["client_id"]))
    fetched = oauth.fetch_token(
        token_url=f"{base}/o/client/token",
        client_id=credentials["client_id"],
        client_secret=credentials["client_secret"],
    )
    assert fetched["token_type"] == "bearer"
    access_token = fetched["access_token"]

    metadata = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=30).json()
    jwks_url = metadata["jwks_uri"].replace(metadata["issuer"].rstrip("/"), base)
    signing_key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(access_token)
    claims = jwt.decode(
        access_token,
        signing_key.key,
        algorithms=["ES256", "RS256"],
        issuer=metadata["issuer"],
        audience=metadata["issuer"],
        options={"require": ["exp", "iat", "iss", "sub", "jti", "client_id"]},
    )
    assert claims["client_id"] == credentials["client_id"]
    assert jwt.get_unverified_header(access_token)["typ"] == "at+jwt"

    # and the protected API accepts what the library fetched
    response = oauth.get(f"{base}/api/v2/session")
    assert response.status_code == 200


def test_authlib_accepts_the_metadata_and_the_registration_it_describes(live_server, programmer, channels, settings):
    """authlib's RFC 8414 validator (it wants https, as RFC 8414 2 does for the issuer) and its RFC 7591
    client metadata checks, with the options it derives from our metadata (scope, grant and response
    types, authentication method all among the supported ones)."""
    settings.DCR_ISSUER = "https://api.example-tv.com"
    hot_state_clear()
    application = make_application(programmer, name="Live", scopes=["api:client:v2", "analytics:client"])
    statement, _ = software_statement_issue(application=application, actor="tests")

    metadata = requests.get(f"{live_server.url}/.well-known/oauth-authorization-server", timeout=30).json()
    AuthorizationServerMetadata(metadata).validate()
    assert metadata["issuer"] == "https://api.example-tv.com"
    assert metadata["response_types_supported"] == ["none"] and "authorization_endpoint" not in metadata

    registration = register(live_server.url, statement)
    assert registration.status_code == 201, registration.text
    claims = ClientMetadataClaims(registration.json(), {}, ClientMetadataClaims.get_claims_options(metadata))
    claims.validate()
    assert registration.json()["software_statement"] == statement


@pytest.mark.serial  # fifty threads against one live server: alone, or the machine decides
def test_fifty_concurrent_registrations_with_one_statement_give_fifty_clients(live_server, live_statement):
    if connection.vendor == "sqlite":
        # Django's live server shares one in-memory SQLite connection between its threads; CI runs this
        # on PostgreSQL.
        pytest.skip("needs a database server (PostgreSQL in CI)")
    application, statement = live_statement
    base = live_server.url
    register(base, statement)  # the first registration creates nothing shared; it warms this process

    def one(_: int) -> requests.Response:
        with requests.Session() as session:
            return register(base, statement, session)

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(one, range(50)))

    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses if r.status_code != 201]
    ids = {r.json()["client_id"] for r in responses}
    assert len(ids) == 50
    assert Client.objects.filter(registered_application=application, client_id__in=ids).count() == 50
