"""The project's URLs plus one that exists only in the benchmark's settings: the floor view."""

from django.urls import include, path

from .views import floor

FLOOR_PATH = "/bench/floor"

urlpatterns = [
    path(FLOOR_PATH.lstrip("/"), floor, name="bench-floor"),
    path("", include("dcr_project.urls")),
]
