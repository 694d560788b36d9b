"""RFC 7592, the client configuration endpoint: who may call it, what it answers, what an update may say.

A client manages its own registration at `registration_client_uri` with the registration access token
it got at registration (RFC 7592 3), sent as an RFC 6750 bearer token. The token is stored as a keyed
hash (`oauth.hashers`, the client secrets' keyring, with a salt of its own), so like the client secret
it is shown only when it is issued.

django-oauth-toolkit 3.4 (no longer a dependency) has RFC 7591/7592 views; they do not fit the statement
rules: they register from free client metadata (no software statement), keep the registration token as
an AccessToken row found by an unkeyed SHA-256 (not our rotating HMAC keys, and a table per token), let
PUT replace the metadata instead of holding it to the statement, rotate no client secret, know no
environment, and delete the row without an audit event or the revocation stamp that refuses the
client's access tokens within a second.
"""

from typing import Any

from django.http import HttpRequest

from registered_apps.environments import EnvironmentInfo
from registered_apps.models import ApplicationStatus
from software_statements.verify import StatementError, software_statement_verify

from .errors import OAuthError, invalid_request
from .hashers import client_secret_encode, client_secret_verify
from .models import Client

# A registration access token is 43 characters; anything much longer is not one of ours.
_MAX_TOKEN_LENGTH = 512
# RFC 7592 2.2: members of the client information response that an update request must not carry.
_SERVER_MEMBERS = (
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
)
# The metadata the software statement fixes (RFC 7591 2 and 2.3): an update may repeat them, never change them.
_FIXED_MEMBERS = (
    "redirect_uris",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "scope",
    "scopes",
    "software_id",
    "software_version",
    "client_name",
)
_SET_VALUED = ("redirect_uris", "grant_types", "response_types", "scopes")


def _invalid_token(description: str, *, presented: bool = True) -> OAuthError:
    """RFC 6750 3.1 / RFC 7592 2.1: 401. Without a token the challenge carries no error code."""
    challenge = 'Bearer error="invalid_token"' if presented else 'Bearer realm="client-configuration"'
    return OAuthError("invalid_token", description, status=401, headers={"WWW-Authenticate": challenge})


def client_configuration_uri(environment: EnvironmentInfo, client_id: str) -> str:
    """RFC 7592 3 `registration_client_uri`: on the host of the client's environment."""
    return f"{environment.issuer}/o/client/register/{client_id}"


def registration_token_presented(request: HttpRequest) -> str:
    """The bearer token of the Authorization header (RFC 6750 2.1; never the body or the query)."""
    # RFC 7235 2.1: the scheme is case-insensitive; RFC 6750 2.1: one token68, so no whitespace inside it.
    parts = request.META.get("HTTP_AUTHORIZATION", "").split(maxsplit=2)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise _invalid_token("A registration access token is required (Authorization: Bearer).", presented=False)
    return parts[1]


def registration_token_authenticate(request: HttpRequest, client_id: str, environment: EnvironmentInfo) -> Client:
    """The client whose registration access token the request carries, or 401 `invalid_token`: an
    unknown client, a wrong or rotated token, a deleted client (RFC 7592 2.1, 2.3), a revoked client,
    statement or application (the client must register again), or a client of another environment
    than the request's host serves. Reads the database (this endpoint is rare next to tokens)."""
    token = registration_token_presented(request)
    client = (
        Client.objects.select_related("registered_application", "statement").filter(client_id=client_id).first()
        if len(token) <= _MAX_TOKEN_LENGTH and len(client_id) <= 255
        else None
    )
    check = client_secret_verify(token, client.registration_access_token) if client is not None else None
    if client is None or check is None or not check.matches:
        raise _invalid_token("The registration access token is not valid for this client.")
    application = client.registered_application
    if application is None or application.environment_id != environment.id:
        raise _invalid_token("This client is registered in another environment; use that environment's host.")
    if client.revoked_at is not None:
        raise _invalid_token("The client has been revoked; register again.")
    if client.statement is None or client.statement.revoked_at is not None:
        raise _invalid_token("The software statement of this client has been revoked; register again.")
    if application.status != ApplicationStatus.ACTIVE:
        raise _invalid_token("The application of this client has been revoked; register again.")
    if check.needs_rehash:
        # Hashed under an older key of DCR_CLIENT_SECRET_KEYS: stored again under the current one.
        rehashed = client_secret_encode(token)
        Client.objects.filter(pk=client.pk, registration_access_token=client.registration_access_token).update(
            registration_access_token=rehashed
        )
        client.registration_access_token = rehashed
    return client


def client_information(
    client: Client, environment: EnvironmentInfo, *, registration_token: str, secret: str | None = None
) -> dict[str, Any]:
    """RFC 7592 3: the client information response (RFC 7591 3.2.1's members and RFC 7592's two).

    `client_secret` only when one was just issued (an update): the stored secret is a keyed hash, so
    a read cannot return it (RFC 7591 3.2.1 makes it optional). `software_statement` is left out for
    the same reason: the statement itself is not stored, only its registry row."""
    application = client.registered_application
    scopes = list(client.scopes or [])
    body: dict[str, Any] = {"client_id": client.client_id}
    if secret is not None:
        body["client_secret"] = secret
    body.update(
        {
            "client_id_issued_at": int(client.created.timestamp()),
            "client_secret_expires_at": 0,
            "redirect_uris": client.redirect_uris.split(),
            "grant_types": ["client_credentials"],
            "response_types": ["none"],  # as registration says it (oauth.endpoints.register)
            "token_endpoint_auth_method": "client_secret_post",
            "scope": " ".join(scopes),
            "scopes": scopes,
            "software_id": str(client.registered_application_id or ""),
            "software_version": application.version if application is not None else "",
            "client_name": application.name if application is not None else "",
            "registration_access_token": registration_token,
            "registration_client_uri": client_configuration_uri(environment, client.client_id),
        }
    )
    return body


def _same(member: str, sent: Any, registered: Any) -> bool:
    if member in _SET_VALUED:
        return isinstance(sent, list) and all(isinstance(v, str) for v in sent) and set(sent) == set(registered)
    if member == "scope":
        return isinstance(sent, str) and set(sent.split()) == set(registered.split())
    return bool(sent == registered)


def client_update_check(client: Client, payload: dict[str, Any], environment: EnvironmentInfo) -> None:
    """RFC 7592 2.2: an update request for `client`. It names the client (`client_id`), may carry the
    current secret (which must then match), must not carry the server's members, and may repeat the
    registered metadata but not change it: the software statement fixes it (`invalid_client_metadata`;
    a new statement means registering again). Omitted or null members are ignored, as RFC 7592 2.2
    allows; members we do not know are ignored (RFC 7591 2)."""
    server_members = [name for name in _SERVER_MEMBERS if name in payload]
    if server_members:
        raise invalid_request(f"An update request must not include {', '.join(server_members)} (RFC 7592 2.2).")
    if payload.get("client_id") != client.client_id:
        raise invalid_request("The client_id member is required and must be this client's id.")
    secret = payload.get("client_secret")
    if secret is not None and (
        not isinstance(secret, str) or not client_secret_verify(secret, client.client_secret).matches
    ):
        raise invalid_request("The client_secret member must be the client's current secret, or be left out.")
    registered = client_information(client, environment, registration_token="")
    changed = [
        member
        for member in _FIXED_MEMBERS
        if payload.get(member) is not None and not _same(member, payload[member], registered[member])
    ]
    if changed:
        raise OAuthError(
            "invalid_client_metadata",
            f"The software statement fixes {', '.join(changed)}; to change them, register again with a new statement.",
        )
    statement = payload.get("software_statement")
    if statement is not None:
        try:
            verified = software_statement_verify(statement, environment)
        except StatementError as exc:
            raise OAuthError(exc.code, exc.description) from None
        if str(verified.statement.pk) != str(client.statement_id):
            raise OAuthError(
                "invalid_client_metadata",
                "The software_statement is not the one this client registered with; register again with it.",
            )
