"""Bearer protection for DRF views (RFC 6750), in two lines:

    authentication_classes = [AccessTokenAuthentication]
    permission_classes = [scopes_required("api:client:v2")]

`oauth.bearer` does the check: no database in the common case (`bearer_token_check`).
"""

from dataclasses import dataclass
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from registered_apps.environments import request_environment

from .bearer import AccessTokenClaims, bearer_token_check
from .errors import bearer_error


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


class AccessTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <access token>` (RFC 6750 2.1). No header: not attempted (the
    permission then answers 401)."""

    def authenticate(self, request: Request) -> tuple[TokenClient, AccessTokenClaims] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise bearer_error("Send the access token as Authorization: Bearer <token>.", action="retry")
        claims = bearer_token_check(token.strip(), request_environment(request))
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
