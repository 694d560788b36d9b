"""The project's URLs plus two that exist only in the benchmark's settings: the floor view and
django-oauth-toolkit's stock token view (the peer we compare our token endpoint with)."""

from django.urls import include, path
from oauth2_provider.views import TokenView

from .views import floor

FLOOR_PATH = "/bench/floor"
DOT_TOKEN_PATH = "/bench/dot/token/"

urlpatterns = [
    path(FLOOR_PATH.lstrip("/"), floor, name="bench-floor"),
    path(DOT_TOKEN_PATH.lstrip("/"), TokenView.as_view(), name="bench-dot-token"),
    path("", include("dcr_project.urls")),
]
