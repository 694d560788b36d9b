"""The JWKS document and the statement downloads (dashboard and admin); thin views over the services."""

from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.text import slugify
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from core.request_ip import request_ip
from registered_apps.environments import request_environment
from registered_apps.models import RegisteredApplication
from registered_apps.selectors import applications_visible_to, can_manage

from .forms import StatementDownloadForm
from .keys import signing_key_active
from .models import KeyPurpose, KeyState, SigningKey
from .services import ApplicationRevokedError, software_statement_issue

# Short enough that a new `next` key (published a rotation ahead of use) reaches every client in time.
JWKS_MAX_AGE = 60


# It may make the first signing keys: no error report shows that frame's private key.
@sensitive_variables()
@require_GET
def jwks(request: HttpRequest) -> HttpResponse:
    """RFC 7517 5: every public key of the host's environment that is not retired, of both purposes."""
    environment = request_environment(request)
    published = SigningKey.objects.filter(environment_id=environment.id).exclude(state=KeyState.RETIRED)
    rows = list(published.order_by("purpose", "created_at", "pk"))
    missing = set(KeyPurpose.values) - {row.purpose for row in rows if row.state == KeyState.ACTIVE}
    if missing:
        # Publish the first keys before anything is signed with them.
        for purpose in sorted(missing):
            signing_key_active(purpose, environment_id=environment.id)
        rows = list(published.order_by("purpose", "created_at", "pk"))
    response = JsonResponse({"keys": [row.public_jwk for row in rows]})
    response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return response


def statement_filename(application: RegisteredApplication, issued_at_text: str) -> str:
    """README "Software statements and signing keys": software_statement_<name>-<version>_<UTC yyyymmddThhmmssZ>.txt"""
    name = slugify(application.name) or "application"
    version = slugify(application.version.replace(".", "-")) or "0"
    return f"software_statement_{name}-{version}_{issued_at_text}.txt"


# Every frame below (the statement, the signing key) is hidden from error reports.
@sensitive_variables()
def _download(request: HttpRequest, application: RegisteredApplication) -> HttpResponse:
    user = request.user
    assert isinstance(user, User), "the decorators let only signed-in users through"
    form = StatementDownloadForm(request.POST)
    if not form.is_valid():
        # Nothing issued, nothing recorded: the page says which lifetimes there are.
        context: dict[str, Any] = {"application": application, "errors": form.errors.get("lifetime", [])}
        return render(request, "software_statements/download_invalid.html", context, status=400)
    try:
        token, statement = software_statement_issue(
            application=application,
            actor=user,
            ip_address=request_ip(request),
            lifetime_days=form.cleaned_data["lifetime"],
        )
    except ApplicationRevokedError:
        return render(request, "software_statements/download_refused.html", {"application": application}, status=409)
    filename = statement_filename(application, statement.issued_at.strftime("%Y%m%dT%H%M%SZ"))
    response = HttpResponse(token, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The statement is a credential: no shared or browser cache may keep it.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@login_required
def download(request: HttpRequest, application_id: str) -> HttpResponse:
    """A new statement for a read-write member of the application's scope (404 when the application is
    not visible to the user at all, 403 when visible but not manageable)."""
    application = get_object_or_404(
        applications_visible_to(request.user).select_related("programmer"), pk=application_id
    )
    if not can_manage(request.user, application):
        raise PermissionDenied("You may look at this application but not download its statements.")
    return _download(request, application)


@require_POST
@staff_member_required
def admin_download(request: HttpRequest, application_id: str) -> HttpResponse:
    """The same download for TAMs, from the application's admin change view."""
    if not request.user.has_perm("software_statements.add_softwarestatement"):
        raise PermissionDenied("Your admin account may not issue software statements.")
    application = get_object_or_404(RegisteredApplication.objects.select_related("programmer"), pk=application_id)
    return _download(request, application)
