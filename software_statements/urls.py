"""JWKS and statement download URLs."""

from django.urls import path

from . import views

app_name = "software_statements"
urlpatterns = [
    path(".well-known/jwks.json", views.jwks, name="jwks"),
    path("applications/<uuid:application_id>/statement/download", views.download, name="download"),
    path("staff/applications/<uuid:application_id>/statement/download", views.admin_download, name="admin_download"),
]
