"""Scope checks for bearer-protected DRF views (RFC 6750 3.1: 403 `insufficient_scope`, in the
enhanced-error-codes body of `oauth.api_errors`)."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .api_errors import scope_missing
from .authentication import TokenClient, token_missing


class TokenHasScopes(BasePermission):
    """Allows a request whose access token carries every scope in `required_scopes` (on the
    permission, or on the view as `required_scopes`). No token: 401 `invalid_token`."""

    required_scopes: tuple[str, ...] = ()

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, TokenClient):
            raise token_missing()
        required = set(self.required_scopes) | set(getattr(view, "required_scopes", ()) or ())
        if not required <= user.scopes:
            raise scope_missing(" ".join(sorted(required)))
        return True


def scopes_required(*scopes: str) -> type[TokenHasScopes]:
    """`permission_classes = [scopes_required("api:client:v2")]`."""
    return type(f"TokenHasScopes_{'_'.join(scopes)}", (TokenHasScopes,), {"required_scopes": tuple(scopes)})
