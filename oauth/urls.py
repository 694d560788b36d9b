"""The OAuth API: /o/client/*, the session API, discovery, and the OpenAPI document and its page."""

from collections.abc import Callable
from typing import Any

from django.urls import path
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from drf_spectacular.views import SpectacularAPIView

from . import views


def secret_bearing(view: Callable[..., Any]) -> Callable[..., Any]:
    """An endpoint whose input or output holds a secret (statement, client secret, access token).

    An error report (the 500 email, Django's technical page) then shows none of its form fields and no
    local variable of any frame it runs: `sensitive_variables()` with no names hides every local of the
    frames below the wrapper, so the endpoints' own functions need no decorator each. The wrapper keeps
    the view's attributes (csrf_exempt, DRF's cls for the OpenAPI document)."""
    return sensitive_post_parameters()(sensitive_variables()(view))


app_name = "oauth"
urlpatterns = [
    path("o/client/register", secret_bearing(views.RegisterView.as_view()), name="register"),
    path(
        "o/client/register/<str:client_id>",
        secret_bearing(views.ClientConfigurationView.as_view()),
        name="client-configuration",
    ),
    path("o/client/token", secret_bearing(views.TokenView.as_view()), name="token"),
    path("o/client/introspect", secret_bearing(views.IntrospectView.as_view()), name="introspect"),
    path("o/client/revoke", secret_bearing(views.RevokeView.as_view()), name="revoke"),
    path("api/v2/session", secret_bearing(views.SessionView.as_view()), name="session"),
    path(".well-known/oauth-authorization-server", views.MetadataView.as_view(), name="metadata"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", views.api_docs, name="docs"),
]
