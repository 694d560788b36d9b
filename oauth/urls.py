"""The OAuth API: /o/client/*, the session API, discovery, and the OpenAPI document and its page."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import views

app_name = "oauth"
urlpatterns = [
    path("o/client/register", views.RegisterView.as_view(), name="register"),
    path("o/client/token", views.TokenView.as_view(), name="token"),
    path("o/client/introspect", views.IntrospectView.as_view(), name="introspect"),
    path("o/client/revoke", views.RevokeView.as_view(), name="revoke"),
    path("api/v2/session", views.SessionView.as_view(), name="session"),
    path(".well-known/oauth-authorization-server", views.MetadataView.as_view(), name="metadata"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", views.api_docs, name="docs"),
]
