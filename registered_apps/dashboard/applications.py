"""Applications: an area's list (search, filters, the person's staged applications first), the create
form (staged as a pending change), one application's page and its revocation request."""

import contextlib
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from core.request_ip import request_ip
from core.service_errors import form_add_service_error

from .. import selectors, services
from ..dashboard_environment import dashboard_environment
from ..environments import environment_by_id
from ..forms import (
    COVERAGE_ALL,
    COVERAGE_SUBSET,
    ApplicationFilterForm,
    ApplicationForm,
    RevocationRequestForm,
    statement_lifetime_choices,
)
from ..models import (
    ApplicationLevel,
    ChangeKind,
    Channel,
    ChannelDomain,
    CustomScheme,
    RegisteredApplication,
    RevocationRequest,
    UsageDaily,
)
from ..services.changes.staging import application_create_stage
from ..services.quotas import quota_rows
from .areas import READ_WRITE, Area, dashboard_user, environment_row, for_channel, for_programmer
from .signals import application_signals, statement_days
from .usage_days import usage_series, usage_window

APPLICATIONS_PER_PAGE = 25
STATEMENT_HISTORY_LENGTH = 50

# --- An area's applications -----------------------------------------------------------------------


def applications(request: HttpRequest, area: Area) -> HttpResponse:
    channel_choices = None if area.channel else list(area.channels().order_by("name"))
    form = ApplicationFilterForm(request.GET or None, platforms=selectors.active_platforms(), channels=channel_choices)
    found, filtering = _filtered(area.applications(), form, channel_choices)
    found = found.select_related("channel").prefetch_related("platforms", "channels").order_by("-created_at", "pk")
    page = Paginator(found, APPLICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "registered_apps/area_applications.html",
        {
            "area": area,
            "tabs": area.tabs("applications"),
            "form": form,
            "page": page,
            "filtering": filtering,
            "pending_applications": [] if filtering or page.number > 1 else _pending_applications(area),
        },
    )


def _filtered(
    found: QuerySet[RegisteredApplication], form: ApplicationFilterForm, channel_choices: list[Channel] | None
) -> tuple[QuerySet[RegisteredApplication], bool]:
    """The applications the filter form keeps, and whether it filters at all."""
    if not form.is_valid():
        return found, False
    data = form.cleaned_data
    query = data["q"].strip()
    if query:
        match = Q(name__icontains=query) | Q(version__icontains=query)
        with contextlib.suppress(ValueError):
            match |= Q(pk=uuid.UUID(query))
        found = found.filter(match)
    if data["status"]:
        found = found.filter(status=data["status"])
    if data["platform"]:
        found = found.filter(platforms__code=data["platform"])
    if data.get("channel"):
        chosen = next(c for c in channel_choices or [] if c.slug == data["channel"])
        found = selectors.applications_covering(found, chosen)
    return found, any(data.values())


def _pending_applications(area: Area) -> list[dict[str, Any]]:
    """The person's own staged, not yet pushed, applications here (they get their id when pushed)."""
    staged = list(
        selectors.pending_changes_of(area.user, area.environment.id).filter(
            kind=ChangeKind.APPLICATION_CREATE, programmer=area.programmer
        )
    )
    if not staged:
        return []
    platform_names = dict(selectors.active_platforms().values_list("code", "name"))
    rows = []
    for change in staged:
        payload = change.payload
        channels = [payload["channel"]] if payload.get("channel") else list(payload.get("channels") or [])
        if area.channel and not (payload.get("all_channels") or area.channel.slug in channels):
            continue
        rows.append(
            {
                "change": change,
                "name": payload.get("name", ""),
                "version": payload.get("version", ""),
                "level": ApplicationLevel.CHANNEL.label
                if payload.get("level") == ApplicationLevel.CHANNEL
                else ApplicationLevel.PROGRAMMER.label,
                "all_channels": bool(payload.get("all_channels")),
                "channels": channels,
                "platforms": [platform_names.get(code, code) for code in payload.get("platforms") or []],
            }
        )
    return rows


# --- A new application ----------------------------------------------------------------------------


def application_create(request: HttpRequest, area: Area) -> HttpResponse:
    """A new application (or "new version from this one"), staged as a pending change in the environment."""
    user = dashboard_user(request)
    level = ApplicationLevel.CHANNEL if area.channel else ApplicationLevel.PROGRAMMER
    if area.create_url is None:
        raise PermissionDenied("You may not create applications here.")
    visible_channels = list(area.channels().order_by("name"))
    allow_all = level == ApplicationLevel.PROGRAMMER and selectors.can_create(user, area.programmer, all_channels=True)
    source = _source_application(request, area)
    here = {"channel__in": visible_channels, "environment_id": area.environment.id}
    form = ApplicationForm(
        request.POST if request.method == "POST" else None,
        initial=_initial_from(source, allow_all) if source else {"coverage": COVERAGE_ALL if allow_all else None},
        channels=None if area.channel else visible_channels,
        allow_all_channels=allow_all,
        platforms=selectors.active_platforms(),
        scopes=selectors.active_scopes(),
        domains=ChannelDomain.objects.filter(**here).select_related("channel"),
    )
    if request.method == "POST" and form.is_valid():
        staged = _application_stage(request, area, form, level)
        if staged is not None:
            return staged
    schemes = CustomScheme.objects.filter(**here).select_related("channel")
    return render(
        request,
        "registered_apps/application_form.html",
        {
            "area": area,
            "form": form,
            "level": level,
            "source": source,
            "schemes": schemes.order_by("channel__name"),
            "cancel_url": area.url("applications"),
        },
    )


def _application_stage(request: HttpRequest, area: Area, form: ApplicationForm, level: str) -> HttpResponse | None:
    """Stage the valid form's application and go to the list; None (the errors on the form) when the
    services refuse it."""
    user = dashboard_user(request)
    data = form.cleaned_data
    all_channels = form.covers_all_channels
    chosen = [] if (all_channels or area.channel) else list(data["channels"])
    if not selectors.can_create(
        user,
        area.programmer,
        all_channels=all_channels,
        channel_ids=[area.channel.pk] if area.channel else [c.pk for c in chosen],
    ):
        raise PermissionDenied("You may not create an application for these channels.")
    environment = environment_row(area.environment)
    try:
        spec = services.ApplicationSpec(
            programmer=area.programmer,
            level=level,
            channel=area.channel,
            all_channels=all_channels,
            channels=chosen,
            platforms=data["platforms"],
            scopes=data["scopes"],
            domains=data["domains"],
            redirect_uris=data["redirect_uris"],
            name=data["name"],
            version=data["version"],
            environment=environment,
        )
        change = application_create_stage(user=user, environment=environment, spec=spec)
    except ValidationError as error:
        form.apply_service_errors(error)
        return None
    messages.success(
        request,
        gettext(
            "“%(name)s %(version)s” is a pending change in %(environment)s: review and push your changes to create it."
        )
        % {"name": change.payload["name"], "version": change.payload["version"], "environment": area.environment.name},
    )
    return redirect(area.url("applications"))


def _source_application(request: HttpRequest, area: Area) -> RegisteredApplication | None:
    """The application a "new version from this one" starts from (`?from=<id>`), if visible here."""
    wanted = request.GET.get("from")
    if not wanted:
        return None
    try:
        pk = uuid.UUID(wanted)
    except ValueError:
        raise Http404("No such application.") from None
    return get_object_or_404(
        area.applications(every_environment=True).prefetch_related("channels", "platforms", "scopes", "domains"), pk=pk
    )


def _next_major(version: str) -> str:
    major, _, rest = version.partition(".")
    if not major.isdigit():
        return version
    return ".".join([str(int(major) + 1), *("0" for _ in rest.split(".") if rest)])


def _initial_from(source: RegisteredApplication, allow_all: bool) -> dict[str, Any]:
    if source.all_channels and allow_all:
        coverage, channel_slugs = COVERAGE_ALL, []
    elif source.channel_id is not None:
        coverage, channel_slugs = COVERAGE_SUBSET, [source.channel.slug] if source.channel else []
    else:
        coverage, channel_slugs = COVERAGE_SUBSET, [c.slug for c in source.channels.all()]
    return {
        "name": source.name,
        "version": _next_major(source.version),
        "coverage": coverage,
        "channels": channel_slugs,
        "platforms": [p.code for p in source.platforms.all()],
        "scopes": [s.code for s in source.scopes.all()],
        "domains": [d.host for d in source.domains.all()],
        "redirect_uris": "\n".join(source.redirect_uris),
    }


programmer_applications = for_programmer(applications)
programmer_application_create = for_programmer(application_create, READ_WRITE)
channel_applications = for_channel(applications)
channel_application_create = for_channel(application_create, READ_WRITE)


# --- One application ------------------------------------------------------------------------------


def _new_version_url(application: RegisteredApplication) -> str:
    """The create form of the application's channel (or programmer), started from this application."""
    if application.channel is not None:
        base = reverse("registered_apps:channel_application_create", kwargs={"channel_slug": application.channel.slug})
    else:
        base = reverse(
            "registered_apps:programmer_application_create", kwargs={"programmer_slug": application.programmer.slug}
        )
    return f"{base}?from={application.pk}"


@login_required
@require_http_methods(["GET", "HEAD"])
def application_detail(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    user = dashboard_user(request)
    application = get_object_or_404(
        selectors.applications_visible_to(user)
        .select_related("programmer", "channel", "created_by", "revoked_by")
        .prefetch_related(
            "platforms", "scopes", Prefetch("domains", queryset=ChannelDomain.objects.select_related("channel"))
        ),
        pk=application_id,
    )
    statements = application.statements.select_related("issued_by").order_by("-issued_at")
    statement_rows = list(selectors.statements_with_client_counts(statements)[:STATEMENT_HISTORY_LENGTH])
    days = statement_days(application, statement_rows)
    clients = selectors.application_client_counts(application)
    start, end = usage_window()
    manage = selectors.can_manage(user, application)
    series = usage_series(UsageDaily.objects.filter(application=application, day__gte=start, day__lte=end))
    context = {
        "application": application,
        "environment": environment_by_id(application.environment_id or 0),
        "dashboard_environment": dashboard_environment(request),
        "covered_channels": list(selectors.application_channels(application)),
        "statements": statement_rows,
        "statement_days": days,
        "signals": application_signals(application),
        "lifetime_choices": statement_lifetime_choices(application.programmer.statement_lifetime_days),
        "statement_count": statements.count(),
        "clients": {"total": clients.total, "active": clients.active},
        # Counted up to a limit: "10,000+" past it.
        "clients_more": {"total": clients.total_more, "active": clients.active_more},
        "series": series,
        "usage_totals": {
            "registrations": sum(day.registrations for day in series),
            "tokens": sum(day.tokens for day in series),
        },
        "can_manage": manage and application.is_active,
        "new_version_url": _new_version_url(application) if manage else None,
        "quotas": quota_rows(application),
        "pending_request": application.revocation_requests.filter(state=RevocationRequest.State.PENDING)
        .select_related("requested_by")
        .first(),
    }
    return render(request, "registered_apps/application_detail.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def application_revocation_request(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    user = dashboard_user(request)
    application = get_object_or_404(
        selectors.applications_visible_to(user).select_related("programmer", "channel", "created_by", "revoked_by"),
        pk=application_id,
    )
    if not selectors.can_manage(user, application):
        raise PermissionDenied("You may not ask for this application's revocation.")
    if not application.is_active:
        messages.info(request, gettext("“%(application)s” is already revoked.") % {"application": application})
        return redirect("registered_apps:application_detail", application_id=application.pk)
    form = RevocationRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.revocation_request_create(
                application=application,
                reason=form.cleaned_data["reason"],
                actor=user,
                ip_address=request_ip(request),
            )
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(
                request,
                gettext("Revocation of “%(application)s” requested. The TAMs review it; it stays active until then.")
                % {"application": application},
            )
            return redirect("registered_apps:application_detail", application_id=application.pk)
    return render(request, "registered_apps/revocation_request_form.html", {"application": application, "form": form})
