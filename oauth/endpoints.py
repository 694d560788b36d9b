"""The /o/client/* endpoints as plain functions of an HttpRequest (the hot paths).

They run without DRF's request wrapping, content negotiation and renderers: on the token path those
cost more than signing the token. `oauth.views` wraps them in APIView classes so that drf-spectacular
documents them. Each endpoint reads the request, asks `oauth.gate` (one Redis round trip), and calls a
service; every refusal is an `OAuthError`, turned into a response by `oauth.errors.error_response`.
"""

import logging
import re
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from registered_apps.request_ip import request_ip
from registered_apps.stamps import local_stamps, stamp_key
from software_statements.keys import verification_keys
from software_statements.models import KeyPurpose
from software_statements.verify import StatementError, software_statement_verify

from . import caches
from .device_info import DeviceInfoError, device_info_parse, platform_for_client
from .errors import OAuthError, error_response, invalid_request, json_response
from .gate import GateResult, gate_pass, gate_start, redis_health, stamps_read, usage_count
from .http import (
    ClientCredentials,
    accept_allows_json,
    client_credentials,
    credentials_plausible,
    form_parse,
    json_object_parse,
)
from .services import access_token_issue, access_token_revoke, client_last_used_touch, client_register
from .tokens import TokenError, access_token_claims_check, jwt_verify_signature
from .usage import usage_field_today

logger = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by single spaces.
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
# When Redis cannot confirm the stamps, a record read from the database this recently is trusted.
FALLBACK_FRESHNESS = 1.0


def method_not_allowed(allowed: str) -> HttpResponse:
    response = error_response(invalid_request(f"Use {allowed} on this endpoint."))
    response.status_code = 405
    response["Allow"] = allowed
    return response


def too_many_requests(gate: GateResult) -> HttpResponse:
    """SPEC "Throttling" / RFC 6585 4: 429 with Retry-After."""
    error = OAuthError(
        "too_many_requests",
        "Too many requests from this address; retry later.",
        status=429,
        headers={"Retry-After": gate.retry_after_header},
    )
    return error_response(error)


def _invalid_client(credentials: ClientCredentials | None, description: str) -> OAuthError:
    """RFC 6749 5.2: 400, or 401 with WWW-Authenticate when the client used the Authorization header."""
    if credentials is not None and credentials.basic:
        return OAuthError(
            "invalid_client", description, status=401, headers={"WWW-Authenticate": 'Basic realm="client"'}
        )
    return OAuthError("invalid_client", description)


def _refused_error(exc: OAuthError, *, scope: str, ip_address: str | None) -> HttpResponse:
    """A refused request still takes a token from the bucket (so floods of bad requests are throttled)."""
    gate = gate_pass(scope=scope, ip_address=ip_address)
    if not gate.allowed:
        return too_many_requests(gate)
    return error_response(exc)


# --- Client authentication (token, introspection, revocation) -------------------------------------


def _client_check(record: caches.ClientRecord | None, credentials: ClientCredentials) -> caches.ClientRecord:
    """RFC 6749 2.3.1 / 3.2.1: authenticate the client; a revoked client, statement or application
    means the client must register again (SPEC: `invalid_client`)."""
    if record is None or not record.secret_matches(credentials.client_secret):
        raise _invalid_client(credentials, "Client authentication failed.")
    if record.revoked:
        raise _invalid_client(credentials, f"The {_REVOKED[record.revoked]} has been revoked; register again.")
    return record


_REVOKED = {"client": "client", "statement": "software statement", "application": "application"}


def _record_lookup(client_id: str) -> caches.ClientRecord | None:
    record = caches.client_record_cached(client_id)
    if record is not None:
        return record
    if caches.client_record_known_unknown(client_id):
        return None
    return caches.client_record_load(client_id)


def _record_refresh(record: caches.ClientRecord, stale: bool | None) -> caches.ClientRecord | None:
    """Reload a record when a stamp is newer than it, or when the stamps are unknown (Redis down) and
    the record is older than FALLBACK_FRESHNESS."""
    if stale is False:
        return record
    if stale is None and time.time() - record.cached_at < FALLBACK_FRESHNESS:
        return record
    return caches.client_record_load(record.client_id)


def _scope_grant(record: caches.ClientRecord, requested: str | None) -> str:
    """RFC 6749 3.3: the requested scope must be a subset of the client's; absent means all of them."""
    if requested is None:
        return " ".join(record.scopes)
    if len(requested) > 1024 or not _SCOPE.fullmatch(requested):
        raise OAuthError("invalid_scope", "The scope parameter is malformed.")
    wanted = set(requested.split(" "))
    if not wanted <= set(record.scopes):
        raise OAuthError("invalid_scope", "The requested scope exceeds the scope granted to this client.")
    return " ".join(s for s in record.scopes if s in wanted)


# --- POST /o/client/token ---------------------------------------------------------------------------


def token(request: HttpRequest) -> HttpResponse:
    """RFC 6749 4.4 client credentials grant. The common case reads no database and makes one Redis
    round trip (throttle, revocation stamps, usage counter)."""
    if request.method != "POST":
        return method_not_allowed("POST")
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
            raise _invalid_client(credentials, "Client authentication failed.")
        requested_scope = form.get("scope")
        record = caches.client_record_cached(credentials.client_id)
        if record is not None:
            record = _client_check(record, credentials)
            scope = _scope_grant(record, requested_scope)
    except OAuthError as exc:
        return _refused_error(exc, scope="token", ip_address=ip_address)

    issued: tuple[str, dict[str, Any]] | None = None
    if record is not None:
        field = usage_field_today(application_id=record.application_id, platform=record.platform, kind="tokens")
        pending = gate_start(
            scope="token",
            ip_address=ip_address,
            stamp_keys=record.stamp_keys(),
            fresh_after=record.fresh_after,
            usage_field=field,
        )
        # Signed while Redis runs the gate; handed out only if the gate allows it below.
        issued = access_token_issue(record=record, scope=scope)
        gate = pending.result()
        if not gate.allowed:
            return too_many_requests(gate)
        counted = gate.counted
        refreshed = _record_refresh(record, gate.stale)
    else:
        gate = gate_pass(scope="token", ip_address=ip_address)
        if not gate.allowed:
            return too_many_requests(gate)
        counted = False
        refreshed = _record_lookup(credentials.client_id)
    if refreshed is None or refreshed is not record:
        # Read from the database just now: authenticate against what was read, and sign again.
        try:
            record = _client_check(refreshed, credentials)
            scope = _scope_grant(record, requested_scope)
        except OAuthError as exc:
            return error_response(exc)
        issued = None
    if not counted:
        usage_count(usage_field_today(application_id=record.application_id, platform=record.platform, kind="tokens"))

    access_token, claims = issued or access_token_issue(record=record, scope=scope)
    client_last_used_touch(record=record)
    body = {
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": claims["exp"] - claims["iat"],
        "created_at": int(time.time() * 1000),
        "id": claims["jti"],
        "scope": scope,
    }
    return json_response(body, status=201, headers=NO_STORE)


# --- POST /o/client/register ------------------------------------------------------------------------


def _registration_input(request: HttpRequest) -> tuple[str, str | None, dict[str, Any], str]:
    """SPEC "POST /o/client/register", the well-formedness checks (RFC 7591 3.1)."""
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


def _grant_verify(statement: str) -> caches.StatementGrant:
    cached_at = time.time()
    try:
        verified = software_statement_verify(statement)
    except StatementError as exc:
        caches.statement_grant_forget(statement)
        raise OAuthError(exc.code, exc.description) from None
    grant = caches.statement_grant_from(verified, cached_at=cached_at)
    caches.statement_grant_put(statement, grant)
    return grant


def register(request: HttpRequest) -> HttpResponse:
    """RFC 7591 3: exchange a software statement (the only credential) for client credentials.

    A statement verified recently by this worker is not verified again: its revocation stamps are read
    in the same round trip as the throttle, and a newer stamp sends it back to full verification."""
    if request.method != "POST":
        return method_not_allowed("POST")
    ip_address = request_ip(request)
    try:
        statement, redirect_uri, device_info, user_agent = _registration_input(request)
        grant = caches.statement_grant_cached(statement)
        platform = ""
        if grant is not None:
            platform = platform_for_client(
                device_info=device_info, user_agent=user_agent, allowed=list(grant.platforms)
            )
            if redirect_uri is not None and redirect_uri not in grant.redirect_uris:
                raise OAuthError("invalid_redirect_uri", "The redirect_uri is not registered for this application.")
    except OAuthError as exc:
        return _refused_error(exc, scope="register", ip_address=ip_address)

    counted = False
    if grant is not None:
        field = usage_field_today(application_id=grant.application_id, platform=platform, kind="registrations")
        gate = gate_pass(
            scope="register",
            ip_address=ip_address,
            stamp_keys=grant.stamp_keys(),
            fresh_after=grant.fresh_after,
            usage_field=field,
        )
        if not gate.allowed:
            return too_many_requests(gate)
        counted = gate.counted
        if not counted:
            grant = None
    else:
        gate = gate_pass(scope="register", ip_address=ip_address)
        if not gate.allowed:
            return too_many_requests(gate)
    try:
        if grant is None:
            # RFC 7591 3.2.2: invalid_software_statement / unapproved_software_statement.
            grant = _grant_verify(statement)
            platform = platform_for_client(
                device_info=device_info, user_agent=user_agent, allowed=list(grant.platforms)
            )
            if redirect_uri is not None and redirect_uri not in grant.redirect_uris:
                raise OAuthError("invalid_redirect_uri", "The redirect_uri is not registered for this application.")
    except OAuthError as exc:
        return error_response(exc)

    client, secret = client_register(
        grant=grant,
        redirect_uri=redirect_uri,
        device_info=device_info,
        user_agent=user_agent,
        platform=platform,
        ip_address=ip_address,
    )
    if not counted:
        usage_count(usage_field_today(application_id=grant.application_id, platform=platform, kind="registrations"))
    # RFC 7591 3.2.1: the registered metadata, the secret this once, and when it expires (never: 0).
    body = {
        "client_id": client.client_id,
        "client_secret": secret,
        "client_id_issued_at": int(client.created.timestamp()),
        "client_secret_expires_at": 0,
        "redirect_uris": client.redirect_uris.split(),
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
        "scopes": list(grant.scopes),
        "software_id": grant.application_id,
        "software_version": grant.software_version,
        "client_name": grant.client_name,
    }
    return json_response(body, status=201, headers=NO_STORE)


# --- Bearer token checks (introspection here; protected APIs in oauth.authentication) ---------------


_verified: dict[str, tuple[dict[str, Any], str]] = {}
_VERIFIED_MAX = 20000


def access_token_verified(token: str) -> dict[str, Any]:
    """Signature, key, type, issuer, audience and times (RFC 9068 4), with the signature check cached
    per token in this process (a client reuses its token for hours). Raises TokenError."""
    keys = verification_keys(KeyPurpose.ACCESS_TOKEN)
    cached = _verified.get(token)
    if cached is not None and cached[1] in keys:
        claims = cached[0]
    else:
        claims, kid = jwt_verify_signature(token, keys)
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[token] = (claims, kid)
    access_token_claims_check(claims, issuer=settings.DCR_ISSUER, audience=settings.DCR_ISSUER, now=time.time())
    return claims


def token_stamp_keys(claims: dict[str, Any]) -> list[str]:
    return [
        stamp_key("app", claims["software_id"]),
        stamp_key("stmt", claims["statement_jti"]),
        stamp_key("client", claims["client_id"]),
        stamp_key("token", claims["jti"]),
    ]


def token_revocation_from_stamps(claims: dict[str, Any], stamps: list[float | None]) -> str:
    """ "" when no stamp is at or after the token's `iat`; else which one (app, stmt, client, token)."""
    issued_at = float(claims["iat"])
    for kind, value in zip(("app", "stmt", "client", "token"), stamps, strict=True):
        if value is not None and value >= issued_at:
            return kind
    return ""


def token_revocation_without_stamps(claims: dict[str, Any]) -> str:
    """When Redis cannot tell: without Redis at all, this process's own revocations first (at once),
    then the database (another process's revocations, within a second)."""
    if not redis_health.configured:
        revoked = token_revocation_from_stamps(claims, local_stamps.get_many(token_stamp_keys(claims)))
        if revoked:
            return revoked
    return token_revocation_from_database(claims)


def token_revocation_from_database(claims: dict[str, Any]) -> str:
    """When the stamps cannot tell (Redis unreachable, or no Redis): the database's revocations, read
    at most once a second per token in this process (2 queries)."""
    jti = str(claims["jti"])
    verdict = caches.token_verdict_cached(jti)
    if verdict is None:
        verdict = _token_revocation_read(claims)
        caches.token_verdict_put(jti, verdict)
    return verdict


def _token_revocation_read(claims: dict[str, Any]) -> str:
    from .models import Client, DeniedToken

    if DeniedToken.objects.filter(jti=claims["jti"]).exists():
        return "token"
    row = (
        Client.objects.filter(client_id=claims["client_id"])
        .values_list("revoked_at", "statement__revoked_at", "registered_application__status")
        .first()
    )
    if row is None or row[0] is not None:
        return "client"
    if row[1] is not None:
        return "stmt"
    if row[2] != "active":
        return "app"
    return ""


# --- POST /o/client/introspect and /o/client/revoke -------------------------------------------------


def _authenticated_caller(request: HttpRequest) -> tuple[caches.ClientRecord, dict[str, str], str | None]:
    form = form_parse(request)
    credentials = client_credentials(request, form)
    token_value = form.get("token")
    if token_value is None:
        raise invalid_request("The token parameter is required.")
    if not credentials_plausible(credentials):
        raise _invalid_client(credentials, "Client authentication failed.")
    record = _client_check(_record_lookup(credentials.client_id), credentials)
    return record, form, request_ip(request)


def _token_state(record: caches.ClientRecord, token_value: str) -> tuple[caches.ClientRecord, dict[str, Any] | None]:
    """(caller, claims of an active token or None), after one MGET of the caller's and the token's stamps."""
    try:
        claims: dict[str, Any] | None = access_token_verified(token_value)
    except TokenError:
        claims = None
    keys = record.stamp_keys() + (token_stamp_keys(claims) if claims is not None else [])
    stamps = stamps_read(keys)
    if stamps is None:
        stale: bool | None = None
    else:
        stale = any(value is not None and value > record.fresh_after for value in stamps[:3])
    refreshed = _record_refresh(record, stale)
    if refreshed is None or refreshed.revoked:
        raise _invalid_client(None, "The client has been revoked; register again.")
    if claims is not None:
        if stamps is None:
            revoked = token_revocation_without_stamps(claims)
        else:
            revoked = token_revocation_from_stamps(claims, stamps[3:])
        if revoked:
            claims = None
    return refreshed, claims


def introspect(request: HttpRequest) -> HttpResponse:
    """RFC 7662: the caller authenticates as a client; tokens of another programmer read as inactive."""
    if request.method != "POST":
        return method_not_allowed("POST")
    try:
        record, form, _ = _authenticated_caller(request)
        record, claims = _token_state(record, form["token"])
    except OAuthError as exc:
        return error_response(exc)
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
    if request.method != "POST":
        return method_not_allowed("POST")
    try:
        record, form, ip_address = _authenticated_caller(request)
        record, claims = _token_state(record, form["token"])
    except OAuthError as exc:
        return error_response(exc)
    if claims is not None and claims["client_id"] == record.client_id:
        access_token_revoke(record=record, claims=claims, ip_address=ip_address)
    return json_response({}, headers=NO_STORE)
