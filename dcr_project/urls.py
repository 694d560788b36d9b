"""Top-level URLs: the dashboard, Django auth, the admin, the statements endpoints and the OAuth API."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("oauth.urls")),
    path("", include("software_statements.urls")),
    path("", include("registered_apps.urls")),
]
