"""Bearer checks of access tokens (RFC 6750, RFC 9068 4): the signature, the claims, and revocation.

The common case reads no database: the signature is checked once per token and process (a client
reuses its token for hours), then the store answers whether a stamp of the token's application,
statement, client or the token itself is at or after its `iat`. When the store cannot tell (Redis
unreachable; without Redis, another process's revocation), the database answers, at most once a
second per token and process.
"""

from typing import TypedDict, cast

from core import clock
from core.hot_store import hot_store
from core.local_caches import local_cache
from core.revocation import Revoked, stamp_key
from registered_apps.environments import EnvironmentInfo
from software_statements.keys import verification_keys
from software_statements.models import KeyPurpose

from .api_errors import (
    ACCESS_TOKEN_EXPIRED,
    INVALID_ACCESS_TOKEN_CLIENT_APPLICATION,
    INVALID_ACCESS_TOKEN_SIGNATURE,
    ApiError,
    token_refused,
)
from .models import Client, DeniedToken
from .tokens import TokenError, access_token_claims_check, jwt_verify_signature

# The order stamps are read and reported in.
TOKEN_STAMPS = (Revoked.APPLICATION, Revoked.STATEMENT, Revoked.CLIENT, Revoked.TOKEN)
VERDICT_TTL = 1.0


class AccessTokenClaims(TypedDict):
    """RFC 9068 2.2 claims, plus ours (`oauth.tokens.access_token_claims` builds them)."""

    iss: str
    sub: str
    aud: str
    client_id: str
    software_id: str
    statement_jti: str
    programmer: str
    channels: list[str]
    scope: str
    iat: int
    nbf: int
    exp: int
    jti: str


_verified = local_cache("verified-access-tokens")
_verdicts = local_cache("token-verdicts", ttl=VERDICT_TTL)
_NOT_REVOKED = ""


def access_token_verified(token: str, environment: EnvironmentInfo) -> AccessTokenClaims:
    """Signature, key, type, issuer, audience and times (RFC 9068 4) as `environment` issues them (its
    own keys only: another environment's token fails at its key); the signature check is cached per
    token in this process while its key verifies. Raises TokenError."""
    keys = verification_keys(KeyPurpose.ACCESS_TOKEN, environment_id=environment.id)
    cached = _verified.get(token)
    if cached is not None and cached[1] in keys:
        claims = cached[0]
    else:
        claims, kid = jwt_verify_signature(token, keys)
        _verified.put(token, (claims, kid))
    access_token_claims_check(claims, issuer=environment.issuer, audience=environment.issuer, now=clock.wall())
    return cast(AccessTokenClaims, claims)


def token_stamp_keys(claims: AccessTokenClaims) -> list[str]:
    idents = (claims["software_id"], claims["statement_jti"], claims["client_id"], claims["jti"])
    return [stamp_key(kind, ident) for kind, ident in zip(TOKEN_STAMPS, idents, strict=True)]


def token_revocation(claims: AccessTokenClaims) -> Revoked | None:
    """What revoked this token (its application, statement, client or itself), or None."""
    index = hot_store().revoked_since(token_stamp_keys(claims), float(claims["iat"]))
    if index is None:
        return token_revocation_from_database(claims)
    return TOKEN_STAMPS[index] if index >= 0 else None


def token_revocation_from_database(claims: AccessTokenClaims) -> Revoked | None:
    """The database's answer (2 queries), remembered for a second per token in this process."""
    jti = str(claims["jti"])
    verdict = _verdicts.get(jti)
    if verdict is None:
        verdict = _revocation_read(claims) or _NOT_REVOKED
        _verdicts.put(jti, verdict)
    return Revoked(verdict) if verdict else None


def _revocation_read(claims: AccessTokenClaims) -> Revoked | None:
    if DeniedToken.objects.filter(jti=claims["jti"]).exists():
        return Revoked.TOKEN
    row = (
        Client.objects.filter(client_id=claims["client_id"])
        .values_list("revoked_at", "statement__revoked_at", "registered_application__status")
        .first()
    )
    if row is None or row[0] is not None:
        return Revoked.CLIENT
    if row[1] is not None:
        return Revoked.STATEMENT
    if row[2] != "active":
        return Revoked.APPLICATION
    return None


def token_verdict_forget(jti: str) -> None:
    _verdicts.pop(jti)


def bearer_token_check(token: str, environment: EnvironmentInfo) -> AccessTokenClaims:
    """The claims of a valid, unrevoked access token of `environment`, or a 401 ApiError with the
    original's code (`oauth.api_errors`): expired, not verifiable here (signature, key, type, issuer,
    audience, times: another environment's token lands here), or revoked."""
    try:
        claims = access_token_verified(token, environment)
    except TokenError as exc:
        code = ACCESS_TOKEN_EXPIRED if exc.reason == "expired" else INVALID_ACCESS_TOKEN_SIGNATURE
        raise token_refused(code, exc.description) from None
    revoked = token_revocation(claims)
    if revoked is Revoked.TOKEN:
        raise token_refused(INVALID_ACCESS_TOKEN_CLIENT_APPLICATION, "The access token has been revoked.")
    if revoked is not None:
        raise token_refused(
            INVALID_ACCESS_TOKEN_CLIENT_APPLICATION,
            "The access token is invalid due to invalid client application.",
            details=f"The {revoked.label} of this access token has been revoked; register again.",
        )
    return claims


def active_claims(token: str, environment: EnvironmentInfo) -> AccessTokenClaims | None:
    """For introspection and revocation (RFC 7662 2.2, RFC 7009 2.2): the claims of a token that is
    valid and not revoked in `environment`, else None (never an error)."""
    try:
        return bearer_token_check(token, environment)
    except ApiError:
        return None
