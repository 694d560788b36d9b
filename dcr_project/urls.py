"""Top-level URLs: the dashboard, Django auth, the admin, the statements endpoints and the OAuth API."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dcr_project.operations import healthz, metrics, readyz
from dcr_project.sign_in import SignInView, SignOutView

# dcr_project.two_factor loads dcr_project.admin_site, which makes the admin site require a second factor.
from dcr_project.two_factor import two_factor
from registered_apps.forms import QueuedPasswordResetForm

urlpatterns = [
    # First: the API is what clients hit millions of times, and its paths are exact (no catch-all).
    path("", include("oauth.urls")),
    # Probes and the Prometheus scrape (dcr_project.operations).
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path(settings.ADMIN_URL, admin.site.urls),
    # Ahead of Django's auth URLs: the reset email is sent by a task, not inside the request.
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=QueuedPasswordResetForm),
        name="password_reset",
    ),
    path("accounts/two-factor/", two_factor, name="two_factor"),
    # Ahead of Django's auth URLs: `next` is read through core.next_path.
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("software_statements.urls")),
    path("", include("registered_apps.urls")),
]
