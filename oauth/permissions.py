"""Scope checks for bearer-protected DRF views (RFC 6750 3.1: 403 `insufficient_scope`)."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .authentication import TokenClient
from .errors import bearer_error, insufficient_scope


class TokenHasScopes(BasePermission):
    """Allows a request whose access token carries every scope in `required_scopes` (on the
    permission, or on the view as `required_scopes`). No token: 401 `invalid_token`."""

    required_scopes: tuple[str, ...] = ()

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, TokenClient):
            raise bearer_error("An access token is required.", action="retry")
        required = set(self.required_scopes) | set(getattr(view, "required_scopes", ()) or ())
        if not required <= user.scopes:
            raise insufficient_scope(f"This resource needs the scope {' '.join(sorted(required))}.")
        return True


def scopes_required(*scopes: str) -> type[TokenHasScopes]:
    """`permission_classes = [scopes_required("api:client:v2")]`."""
    return type(f"TokenHasScopes_{'_'.join(scopes)}", (TokenHasScopes,), {"required_scopes": tuple(scopes)})
