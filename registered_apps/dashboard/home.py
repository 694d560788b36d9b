"""The dashboard's home (the programmers and channels a person sees, with their applications counted in
the environment), the environment menu and `/favicon.ico`."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from core.next_path import next_redirect

from .. import selectors
from ..dashboard_environment import dashboard_environment, dashboard_environment_set
from ..models import ApplicationStatus, Channel
from .areas import dashboard_user
from .signals import open_signals


@require_http_methods(["GET", "HEAD"])
def favicon(request: HttpRequest) -> HttpResponse:
    """`/favicon.ico`, which browsers ask for on pages that name no icon (the admin's, JSON answers):
    the static file's address (fingerprinted in production, so a day's cache, not a permanent redirect
    that would outlive a new icon)."""
    response = redirect(static("favicon.ico"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


@login_required
@require_http_methods(["GET", "HEAD"])
def home(request: HttpRequest) -> HttpResponse:
    user = dashboard_user(request)
    channels_by_programmer: dict[int, list[Channel]] = {}
    for channel in selectors.channels_visible_to(user).order_by("name"):
        channels_by_programmer.setdefault(channel.programmer_id, []).append(channel)
    environment = dashboard_environment(request)
    counts = {
        row["programmer_id"]: row
        for row in selectors.applications_visible_to(user)
        .filter(environment_id=environment.id)
        .order_by()
        .values("programmer_id")
        .annotate(total=Count("id"), active=Count("id", filter=Q(status=ApplicationStatus.ACTIVE)))
    }
    programmers = [
        {
            "programmer": programmer,
            "channels": channels_by_programmer.get(programmer.pk, []),
            "applications": counts.get(programmer.pk, {"total": 0, "active": 0}),
        }
        for programmer in selectors.programmers_visible_to(user).order_by("name")
    ]
    signals = open_signals(selectors.applications_visible_to(user).filter(environment_id=environment.id))
    context = {"programmers": programmers, "environment": environment, "signals": signals}
    return render(request, "registered_apps/home.html", context)


@login_required
@require_POST
def environment_choose(request: HttpRequest) -> HttpResponse:
    """The environment menu: remember the choice in the session and go back where the person was."""
    if dashboard_environment_set(request, request.POST.get("environment", "")) is None:
        messages.error(request, gettext("There is no such environment."))
    return next_redirect(request, reverse("registered_apps:home"))
