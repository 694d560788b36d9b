"""The /o/client/* endpoints as plain functions of an HttpRequest (the hot paths).

They run without DRF's request wrapping, content negotiation and renderers: on the token path those
cost more than signing the token. Each endpoint reads the request, asks the hot-path store once
(`oauth.client_auth` or a throttle), and calls a service; every refusal is an `OAuthError`, turned into
a response by `oauth.errors.error_response`.
"""

import re
from typing import Any

from django.http import HttpRequest, HttpResponse

from core import clock
from core.conf import dcr
from core.hot_store import hot_store
from core.request_ip import request_ip
from core.request_log import request_log_client
from core.token_bucket import retry_after_header
from registered_apps.environments import EnvironmentInfo, request_environment
from software_statements.keys import NoActiveKey, active_signing_material
from software_statements.models import KeyPurpose
from software_statements.verify import StatementError, software_statement_verify

from .bearer import active_claims
from .client_auth import QuotaExceeded, Throttled, client_authenticate, client_token_counted, invalid_client
from .configuration import (
    client_configuration_uri,
    client_information,
    client_update_check,
    registration_token_authenticate,
    registration_token_presented,
)
from .device_info import DeviceInfoError, device_info_parse, foreign_platform, platform_for_client
from .errors import OAuthError, error_response, invalid_request, json_response
from .grants import (
    StatementGrant,
    statement_grant_cached,
    statement_grant_forget,
    statement_grant_from,
    statement_grant_put,
)
from .http import (
    ClientCredentials,
    accept_allows_json,
    client_credentials,
    credentials_plausible,
    form_parse,
    json_object_parse,
)
from .quotas import quota_exceeded
from .records import ClientRecord
from .services import (
    access_token_issue,
    access_token_revoke,
    client_configuration_rotate,
    client_delete,
    client_register,
)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by single spaces.
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")


def too_many_requests(retry_after: float) -> HttpResponse:
    """429 with Retry-After, whole seconds, at least 1 (RFC 6585 4; README "API walk-through with curl")."""
    error = OAuthError(
        "too_many_requests",
        "Too many requests from this address; retry later.",
        status=429,
        headers={"Retry-After": retry_after_header(retry_after)},
    )
    return error_response(error)


def _refused_error(exc: OAuthError, *, scope: str, ip_address: str | None) -> HttpResponse:
    """A refused request still takes a token from the bucket (so floods of bad requests are throttled)."""
    throttle = hot_store().throttle(scope=scope, ip_address=ip_address)
    if not throttle.allowed:
        return too_many_requests(throttle.retry_after)
    return error_response(exc)


def _requested_scopes(requested: str | None) -> tuple[str, ...] | None:
    """RFC 6749 3.3: absent means all of the client's scopes; present, it must be well formed."""
    if requested is None:
        return None
    if len(requested) > 1024 or not _SCOPE.fullmatch(requested):
        raise OAuthError("invalid_scope", "The scope parameter is malformed.")
    return tuple(dict.fromkeys(requested.split(" ")))


def _granted(record: ClientRecord, requested: tuple[str, ...] | None) -> str:
    if requested is None:
        return " ".join(record.scopes)
    return " ".join(scope for scope in record.scopes if scope in requested)


# --- POST /o/client/token ---------------------------------------------------------------------------


def token(request: HttpRequest) -> HttpResponse:
    """RFC 6749 4.4 client credentials grant. The common case reads no database and makes one Redis
    round trip (throttle, client record, revocation stamps, secret, scope, usage and last use)."""
    ip_address = request_ip(request)
    credentials: ClientCredentials | None = None
    try:
        form = form_parse(request)
        credentials = client_credentials(request, form)
        grant_type = form.get("grant_type")
        if grant_type is None:
            raise invalid_request("The grant_type parameter is required.")
        if grant_type != "client_credentials":
            # RFC 6749 5.2
            raise OAuthError("unsupported_grant_type", "Only the client_credentials grant type is supported.")
        if not credentials_plausible(credentials):
            raise invalid_client(credentials, "Client authentication failed.")
        requested = _requested_scopes(form.get("scope"))
    except OAuthError as exc:
        return _refused_error(exc, scope="token", ip_address=ip_address)

    environment = request_environment(request)
    # Loaded before the token is counted, so that a failure here (the database restarting) counts
    # nothing. Before the very first token there is no key: it is made after authentication (a refused
    # request writes nothing), and that one token is counted on its own.
    try:
        signing: tuple[str, str, Any] | None = active_signing_material(
            KeyPurpose.ACCESS_TOKEN, create=False, environment_id=environment.id
        )
    except NoActiveKey:
        signing = None
    try:
        record = client_authenticate(
            credentials,
            scopes=requested,
            throttle_scope="token",
            ip_address=ip_address,
            count=signing is not None,
            environment_id=environment.id,
        )
        if signing is None:
            signing = active_signing_material(KeyPurpose.ACCESS_TOKEN, environment_id=environment.id)
            client_token_counted(record)
    except QuotaExceeded as exceeded:
        request_log_client(request, credentials.client_id)
        return quota_exceeded(exceeded.refusal)
    except Throttled as throttled:
        return too_many_requests(throttled.retry_after)
    except OAuthError as exc:
        return error_response(exc)
    request_log_client(request, record.client_id)
    scope = _granted(record, requested)
    access_token, claims = access_token_issue(record=record, scope=scope, signing=signing, issuer=environment.issuer)
    body = {
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": claims["exp"] - claims["iat"],
        "created_at": int(clock.wall() * 1000),
        "id": claims["jti"],
        "scope": scope,
    }
    # RFC 6749 5.1: 200; DCR_TOKEN_SUCCESS_STATUS=201 for clients that insist on the original's status.
    return json_response(body, status=dcr.token_success_status, headers=NO_STORE)


# --- POST /o/client/register ------------------------------------------------------------------------


def _registration_input(request: HttpRequest) -> tuple[str, str | None, dict[str, Any], str]:
    """The well-formedness checks of a registration (RFC 7591 3.1; README "API walk-through with curl")."""
    if not accept_allows_json(request):
        raise invalid_request("The Accept header must allow application/json.")
    payload = json_object_parse(request)
    statement = payload.get("software_statement")
    if not isinstance(statement, str) or not statement:
        raise invalid_request("The software_statement member is required and must be a string.")
    redirect_uri = payload.get("redirect_uri")
    if redirect_uri is not None and (not isinstance(redirect_uri, str) or not redirect_uri):
        raise invalid_request("The redirect_uri member must be a non-empty string.")
    header = request.META.get("HTTP_X_DEVICE_INFO")
    device_info: dict[str, Any] = {}
    if header is not None:
        try:
            device_info = device_info_parse(header)
        except DeviceInfoError as exc:
            raise invalid_request(str(exc)) from None
    # PostgreSQL text cannot hold NUL; a User-Agent is informational, so it is dropped rather than refused.
    user_agent = (request.META.get("HTTP_USER_AGENT") or "").replace("\x00", "")[:512]
    return statement, redirect_uri, device_info, user_agent


def _grant_verify(statement: str, environment: EnvironmentInfo) -> StatementGrant:
    verified_at = clock.wall()
    try:
        verified = software_statement_verify(statement, environment)
    except StatementError as exc:
        statement_grant_forget(statement)
        raise OAuthError(exc.code, exc.description) from None
    grant = statement_grant_from(verified, verified_at=verified_at)
    statement_grant_put(statement, grant)
    return grant


def _grant_platform(
    grant: StatementGrant, *, redirect_uri: str | None, device_info: dict[str, Any], user_agent: str
) -> str:
    """RFC 7591 3.2.2 `invalid_redirect_uri`; the platform recorded for the client."""
    if redirect_uri is not None and redirect_uri not in grant.redirect_uris:
        raise OAuthError("invalid_redirect_uri", "The redirect_uri is not registered for this application.")
    return platform_for_client(device_info=device_info, user_agent=user_agent, allowed=list(grant.platforms))


def register(request: HttpRequest) -> HttpResponse:
    """RFC 7591 3: exchange a software statement (the only credential) for client credentials.

    A statement verified recently by this worker is not verified again: the throttle's round trip also
    reads its revocation stamps, and a stamp newer than the verification (or a store that cannot tell)
    sends it back to full verification."""
    ip_address = request_ip(request)
    try:
        statement, redirect_uri, device_info, user_agent = _registration_input(request)
        environment = request_environment(request)
        grant = statement_grant_cached(statement, environment.id)
        if grant is not None:
            _grant_platform(grant, redirect_uri=redirect_uri, device_info=device_info, user_agent=user_agent)
    except OAuthError as exc:
        return _refused_error(exc, scope="register", ip_address=ip_address)

    # The registration is counted against its application's quota here when the grant is this worker's
    # and still fresh; else after the statement is verified again (a second round trip, on the path
    # that verifies a JWS anyway). Refused, nothing is written.
    throttle = hot_store().throttle(
        scope="register",
        ip_address=ip_address,
        stamp_keys=grant.stamp_keys() if grant is not None else (),
        since=grant.fresh_after if grant is not None else 0.0,
        quota_application=grant.application_id if grant is not None else "",
    )
    if not throttle.allowed:
        return quota_exceeded(throttle.quota) if throttle.quota else too_many_requests(throttle.retry_after)
    try:
        if grant is None or throttle.stale:
            # RFC 7591 3.2.2: invalid_software_statement / unapproved_software_statement.
            grant = _grant_verify(statement, environment)
        platform = _grant_platform(grant, redirect_uri=redirect_uri, device_info=device_info, user_agent=user_agent)
    except OAuthError as exc:
        return error_response(exc)
    if not throttle.quota_counted:
        counted = hot_store().throttle(
            scope="register", ip_address=ip_address, quota_application=grant.application_id, bucket=False
        )
        if counted.quota is not None:
            return quota_exceeded(counted.quota)

    client, secret, registration_token = client_register(
        grant=grant,
        redirect_uri=redirect_uri,
        device_info=device_info,
        user_agent=user_agent,
        platform=platform,
        ip_address=ip_address,
        foreign_platform=foreign_platform(device_info, grant.platforms),
    )
    request_log_client(request, client.client_id)
    # RFC 7591 3.2.1: the registered metadata, the secret this once, and when it expires (never: 0).
    body = {
        "client_id": client.client_id,
        "client_secret": secret,
        "client_id_issued_at": int(client.created.timestamp()),
        "client_secret_expires_at": 0,
        "redirect_uris": client.redirect_uris.split(),
        "grant_types": ["client_credentials"],
        # RFC 7591 2.1: an omitted (or, to validators, empty) member means "code", which this server does
        # not serve; "none" is the one that issues no credential (authorization_server_metadata).
        "response_types": ["none"],
        "token_endpoint_auth_method": "client_secret_post",
        # The original's list, and RFC 7591 2's space-separated string.
        "scopes": list(grant.scopes),
        "scope": " ".join(grant.scopes),
        "software_id": grant.application_id,
        "software_version": grant.software_version,
        "client_name": grant.client_name,
        # RFC 7591 3.2.1: a software statement used in the request is returned unmodified.
        "software_statement": statement,
        # RFC 7592 3: how the client reads, rotates and deletes its registration.
        "registration_access_token": registration_token,
        "registration_client_uri": client_configuration_uri(environment, client.client_id),
    }
    return json_response(body, status=201, headers=NO_STORE)


# --- GET, PUT, DELETE /o/client/register/<client_id> (RFC 7592) ---------------------------------------


def client_configuration(request: HttpRequest, client_id: str) -> HttpResponse:
    """RFC 7592: the client configuration endpoint, authenticated with the registration access token
    (RFC 6750 bearer). GET reads the registration, PUT with the unchanged metadata rotates the secret
    and the token, DELETE removes the client (`oauth.configuration`)."""
    ip_address = request_ip(request)
    throttle = hot_store().throttle(scope="configure", ip_address=ip_address)
    if not throttle.allowed:
        return too_many_requests(throttle.retry_after)
    environment = request_environment(request)
    try:
        client = registration_token_authenticate(request, client_id, environment)
        request_log_client(request, client.client_id)
        if request.method == "DELETE":
            client_delete(client=client, actor=client.client_id, ip_address=ip_address)
            deleted = HttpResponse(status=204, headers=NO_STORE)
            del deleted["Content-Type"]  # RFC 9110 15.3.5: no content, so no type
            return deleted
        if request.method == "PUT":
            client_update_check(client, json_object_parse(request), environment)
            client, secret, registration_token = client_configuration_rotate(client=client, ip_address=ip_address)
            body = client_information(client, environment, registration_token=registration_token, secret=secret)
            return json_response(body, headers=NO_STORE)
        body = client_information(client, environment, registration_token=registration_token_presented(request))
        return json_response(body, headers=NO_STORE)
    except OAuthError as exc:
        return error_response(exc)


# --- POST /o/client/introspect and /o/client/revoke -------------------------------------------------


def _token_operation(request: HttpRequest, environment: EnvironmentInfo) -> tuple[ClientRecord, str]:
    """The authenticated caller (RFC 7662 2.1, RFC 7009 2.1: the same client authentication as at the
    token endpoint, in the environment of the request's host) and the `token` parameter."""
    form = form_parse(request)
    credentials = client_credentials(request, form)
    token_value = form.get("token")
    if token_value is None:
        raise invalid_request("The token parameter is required.")
    if not credentials_plausible(credentials):
        raise invalid_client(credentials, "Client authentication failed.")
    record = client_authenticate(credentials, environment_id=environment.id)
    request_log_client(request, record.client_id)
    return record, token_value


def introspect(request: HttpRequest) -> HttpResponse:
    """RFC 7662: the caller authenticates as a client; tokens of another programmer (or environment) read
    as inactive."""
    environment = request_environment(request)
    try:
        record, token_value = _token_operation(request, environment)
    except OAuthError as exc:
        return error_response(exc)
    claims = active_claims(token_value, environment)
    if claims is None or claims.get("programmer") != record.programmer:
        return json_response({"active": False}, headers=NO_STORE)
    body = {
        "active": True,
        "scope": claims["scope"],
        "client_id": claims["client_id"],
        "token_type": "bearer",
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims.get("nbf", claims["iat"]),
        "sub": claims.get("sub", claims["client_id"]),
        "aud": claims.get("aud"),
        "iss": claims["iss"],
        "jti": claims["jti"],
        "software_id": claims["software_id"],
        "programmer": claims.get("programmer"),
        "channels": claims.get("channels", []),
    }
    return json_response(body, headers=NO_STORE)


def revoke(request: HttpRequest) -> HttpResponse:
    """RFC 7009: a client revokes one of its own access tokens; 200 whether or not the token was known
    (RFC 7009 2.2: an invalid token is not an error). Another client's token is left alone."""
    environment = request_environment(request)
    try:
        record, token_value = _token_operation(request, environment)
    except OAuthError as exc:
        return error_response(exc)
    claims = active_claims(token_value, environment)
    if claims is not None and claims["client_id"] == record.client_id:
        access_token_revoke(record=record, claims=dict(claims), ip_address=request_ip(request))
    return json_response({}, headers=NO_STORE)
