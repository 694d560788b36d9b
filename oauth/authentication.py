"""Bearer protection for DRF views (RFC 6750), in two lines:

    authentication_classes = [AccessTokenAuthentication]
    permission_classes = [scopes_required("api:client:v2")]

The check needs no database in the common case: the signature with the cached public keys (and a
per-process cache of verified tokens), then ONE Redis MGET of the application, statement, client and
token revocation stamps compared with the token's `iat` (a stamp at or after it means revoked). When
Redis is unreachable the database answers instead (`oauth.endpoints.token_revocation_from_database`).
"""

from dataclasses import dataclass
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from .endpoints import (
    access_token_verified,
    token_revocation_from_stamps,
    token_revocation_without_stamps,
    token_stamp_keys,
)
from .errors import bearer_error
from .gate import stamps_read
from .tokens import TokenError


@dataclass(frozen=True)
class TokenClient:
    """The client an access token speaks for (`request.user`); `request.auth` holds the claims."""

    client_id: str
    software_id: str
    programmer: str
    scopes: frozenset[str]

    is_authenticated = True
    is_anonymous = False

    def __str__(self) -> str:
        return self.client_id


def bearer_token_check(token: str) -> dict[str, Any]:
    """The claims of a valid, unrevoked access token, or an `invalid_token` OAuthError (401)."""
    try:
        claims = access_token_verified(token)
    except TokenError as exc:
        raise bearer_error(exc.description, action="retry") from None
    stamps = stamps_read(token_stamp_keys(claims))
    if stamps is None:
        revoked = token_revocation_without_stamps(claims)
    else:
        revoked = token_revocation_from_stamps(claims, stamps)
    if revoked == "token":
        raise bearer_error("The access token has been revoked.", action="retry")
    if revoked:
        what = {"app": "application", "stmt": "software statement", "client": "client"}[revoked]
        raise bearer_error(
            f"The {what} of this access token has been revoked; register again.", action="application-registration"
        )
    return claims


class AccessTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <access token>` (RFC 6750 2.1). No header: not attempted (the
    permission then answers 401)."""

    def authenticate(self, request: Request) -> tuple[TokenClient, dict[str, Any]] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise bearer_error("Send the access token as Authorization: Bearer <token>.", action="retry")
        claims = bearer_token_check(token.strip())
        principal = TokenClient(
            client_id=claims["client_id"],
            software_id=claims["software_id"],
            programmer=str(claims.get("programmer", "")),
            scopes=frozenset(claims["scope"].split()),
        )
        return principal, claims

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer error="invalid_token"'


class AccessTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme of `AccessTokenAuthentication` (drf-spectacular)."""

    target_class = AccessTokenAuthentication
    name = "accessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (RFC 9068)"}
