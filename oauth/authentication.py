"""Bearer protection for DRF views (RFC 6750), in two lines:

    authentication_classes = [AccessTokenAuthentication]
    permission_classes = [scopes_required("api:client:v2")]

`oauth.bearer` does the check: no database in the common case (`bearer_token_check`). The device
headers of REST API v2 are read here too, after the token (pure parsing: `oauth.device_info`). Every
refusal is an `oauth.api_errors.ApiError`: the original's enhanced-error-codes body.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from core.local_caches import local_cache
from registered_apps.environments import request_environment

from .api_errors import (
    BEARER_INVALID_TOKEN,
    INVALID_ACCESS_TOKEN_CLIENT_APPLICATION,
    INVALID_HEADER_DEVICE_IDENTIFIER,
    INVALID_HEADER_DEVICE_INFO,
    ApiError,
    header_invalid,
    token_refused,
)
from .bearer import AccessTokenClaims, bearer_token_check
from .device_info import DeviceIdentifierError, DeviceInfoError, device_identifier_parse, device_info_parse


def token_missing() -> ApiError:
    """No usable `Authorization: Bearer` header: 401, and the client gets a token (registration phase)."""
    return token_refused(
        INVALID_ACCESS_TOKEN_CLIENT_APPLICATION, "An access token is required: send Authorization: Bearer <token>."
    )


@dataclass(frozen=True)
class TokenClient:
    """The client an access token speaks for (`request.user`); `request.auth` holds the claims. The device
    it calls from, as its REST API v2 headers say: `device_identifier` (AP-Device-Identifier, decoded) and
    `device_info` (X-Device-Info, decoded), each None when the header was not sent."""

    client_id: str
    software_id: str
    programmer: str
    scopes: frozenset[str]
    device_identifier: bytes | None = None
    device_info: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)

    is_authenticated = True
    is_anonymous = False

    def __str__(self) -> str:
        return self.client_id


# A device sends the same two headers on every call: each is parsed once per process (decoding X-Device-Info
# costs about as much as the rest of a bearer check). Values up to CACHED_HEADER_LENGTH characters only, so
# that the cache stays small whatever is sent; read-only, since every request of the device shares them.
_device_headers = local_cache("device-headers", maxsize=4096)
CACHED_HEADER_LENGTH = 2048


class AccessTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <access token>` (RFC 6750 2.1), then the device headers. No Authorization
    header: not attempted (the permission then answers 401).

    `device_identifier_required`: a view whose answers depend on the device (the original's profiles and
    decisions) sets it, and a missing AP-Device-Identifier is then 400 `invalid_header_device_identifier`;
    elsewhere a missing one is allowed, as is a missing X-Device-Info (README "Protected API")."""

    # Errors of the views this class protects take the enhanced-error-codes shape (oauth.errors).
    enhanced_errors = True
    device_identifier_required = False

    def authenticate(self, request: Request) -> tuple[TokenClient, AccessTokenClaims] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise token_missing()
        claims = bearer_token_check(token.strip(), request_environment(request))
        principal = TokenClient(
            client_id=claims["client_id"],
            software_id=claims["software_id"],
            programmer=str(claims.get("programmer", "")),
            scopes=frozenset(claims["scope"].split()),
            device_identifier=self._device_identifier(request),
            device_info=_device_info(request),
        )
        return principal, claims

    def _device_identifier(self, request: Request) -> bytes | None:
        header = request.META.get("HTTP_AP_DEVICE_IDENTIFIER")
        if header is None:
            if self.device_identifier_required:
                raise header_invalid(INVALID_HEADER_DEVICE_IDENTIFIER, "The AP-Device-Identifier header is required.")
            return None
        found: bytes | None = _device_headers.get(("identifier", header))
        if found is None:
            try:
                found = device_identifier_parse(header)
            except DeviceIdentifierError as exc:
                raise header_invalid(INVALID_HEADER_DEVICE_IDENTIFIER, str(exc)) from None
            _device_headers.put(("identifier", header), found)
        return found

    def authenticate_header(self, request: Request) -> str:
        return BEARER_INVALID_TOKEN


def _device_info(request: Request) -> Mapping[str, Any] | None:
    """X-Device-Info, decoded; None when absent (the original then reads what the User-Agent says)."""
    header = request.META.get("HTTP_X_DEVICE_INFO")
    if header is None:
        return None
    found: Mapping[str, Any] | None = _device_headers.get(("info", header))
    if found is None:
        try:
            found = MappingProxyType(device_info_parse(header))
        except DeviceInfoError as exc:
            raise header_invalid(INVALID_HEADER_DEVICE_INFO, str(exc)) from None
        if len(header) <= CACHED_HEADER_LENGTH:
            _device_headers.put(("info", header), found)
    return found


class AccessTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme of `AccessTokenAuthentication` (drf-spectacular)."""

    target_class = AccessTokenAuthentication
    name = "accessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (RFC 9068)"}
