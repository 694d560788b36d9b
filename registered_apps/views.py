"""The programmers' dashboard: thin views; who sees and manages what comes from `selectors`, every
change goes through `services`. Everything shown is of the environment picked in the menu at the top
(`dashboard_environment`); every edit is staged as a pending change there (`services.changes`), to be
reviewed and pushed (`change_views`)."""

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from functools import cached_property
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from core.request_ip import request_ip
from core.service_errors import form_add_service_error

from . import selectors, services
from .change_descriptions import change_summary
from .dashboard_environment import dashboard_environment
from .environments import EnvironmentInfo, environment_by_id
from .forms import (
    COVERAGE_ALL,
    COVERAGE_SUBSET,
    ApplicationFilterForm,
    ApplicationForm,
    ChannelCreateForm,
    ChannelSettingsForm,
    DomainAddForm,
    DomainDeleteForm,
    RevocationRequestForm,
    statement_lifetime_choices,
)
from .models import (
    ApplicationLevel,
    ApplicationStatus,
    ChangeKind,
    Channel,
    ChannelDomain,
    ChannelSettings,
    CustomScheme,
    Environment,
    Programmer,
    RegisteredApplication,
    RevocationRequest,
    UsageDaily,
)
from .services import changes as change_services

APPLICATIONS_PER_PAGE = 25
EVENTS_PER_PAGE = 50
STATEMENT_HISTORY_LENGTH = 50
USAGE_DAYS = 30

TABS = [
    ("channels", "Channels"),
    ("applications", "Registered applications"),
    ("schemes", "Custom schemes"),
    ("changes", "Changes log"),
    ("usage", "Usage"),
]


def dashboard_user(request: HttpRequest) -> User:
    # login_required guarantees an authenticated user.
    assert isinstance(request.user, User)
    return request.user


@dataclass
class Area:
    """A programmer, or one of its channels, as one user sees it: the frame of every tab."""

    user: User
    programmer: Programmer
    channel: Channel | None
    reach: selectors.Reach
    environment: EnvironmentInfo

    @property
    def kind(self) -> str:
        return "channel" if self.channel else "programmer"

    @property
    def title(self) -> str:
        return self.channel.name if self.channel else self.programmer.name

    def url(self, tab: str) -> str:
        if self.channel:
            return reverse(f"registered_apps:channel_{tab}", kwargs={"channel_slug": self.channel.slug})
        return reverse(f"registered_apps:programmer_{tab}", kwargs={"programmer_slug": self.programmer.slug})

    @cached_property
    def urls(self) -> dict[str, str]:
        """Every page of the area by name, for the templates."""
        names = ("channels", "applications", "schemes", "changes", "changes_audit", "changes_compare", "usage")
        return {name: self.url(name) for name in (*names, "changes_csv", "usage_csv")}

    def tabs(self, active: str) -> list[dict[str, Any]]:
        return [
            {
                "label": "Channel" if (self.channel and key == "channels") else label,
                "url": self.url(key),
                "active": key == active,
            }
            for key, label in TABS
        ]

    def channels(self) -> QuerySet[Channel]:
        visible = selectors.channels_visible_to(self.user).filter(programmer=self.programmer)
        return visible.filter(pk=self.channel.pk) if self.channel else visible

    def applications(self, *, every_environment: bool = False) -> QuerySet[RegisteredApplication]:
        """The applications visible here, in the dashboard's environment (or in all of them)."""
        visible = selectors.applications_visible_to(self.user).filter(programmer=self.programmer)
        if not every_environment:
            visible = visible.filter(environment_id=self.environment.id)
        return selectors.applications_covering(visible, self.channel) if self.channel else visible

    def may_change(self, channel: Channel) -> bool:
        """May this user stage changes of the channel (settings, domains, custom schemes)?"""
        return selectors.can_change(self.reach, channel_ids=[channel.pk])

    @property
    def may_add_channel(self) -> bool:
        return self.channel is None and selectors.can_change(self.reach, programmer_wide=True)

    @cached_property
    def create_url(self) -> str | None:
        """Where this user starts a new application here, when they may."""
        channel_ids = [self.channel.pk] if self.channel else []
        if not selectors.can_create(self.user, self.programmer, channel_ids=channel_ids):
            return None
        return self.url("application_create")


def _programmer_area(request: HttpRequest, programmer_slug: str) -> Area:
    user = dashboard_user(request)
    programmer = get_object_or_404(selectors.programmers_visible_to(user), slug=programmer_slug)
    reach = selectors.reach_of(user, programmer)
    if reach is None:
        raise Http404("No such programmer.")
    return Area(user=user, programmer=programmer, channel=None, reach=reach, environment=dashboard_environment(request))


def _channel_area(request: HttpRequest, channel_slug: str) -> Area:
    user = dashboard_user(request)
    channel = get_object_or_404(selectors.channels_visible_to(user).select_related("programmer"), slug=channel_slug)
    reach = selectors.reach_of(user, channel.programmer)
    if reach is None:
        raise Http404("No such channel.")
    return Area(
        user=user,
        programmer=channel.programmer,
        channel=channel,
        reach=reach,
        environment=dashboard_environment(request),
    )


def environment_row(environment: EnvironmentInfo) -> Environment:
    """The environment's row, for the services (the menu knows environments without a query)."""
    return get_object_or_404(Environment, pk=environment.id)


AreaView = Callable[[HttpRequest, Area], HttpResponse]


def for_programmer(view: AreaView, methods: tuple[str, ...] = ("GET", "HEAD")) -> Callable[..., HttpResponse]:
    @login_required
    @require_http_methods(list(methods))
    def programmer_view(request: HttpRequest, programmer_slug: str) -> HttpResponse:
        return view(request, _programmer_area(request, programmer_slug))

    programmer_view.__name__ = programmer_view.__qualname__ = f"programmer_{view.__name__}"
    return programmer_view


def for_channel(view: AreaView, methods: tuple[str, ...] = ("GET", "HEAD")) -> Callable[..., HttpResponse]:
    @login_required
    @require_http_methods(list(methods))
    def channel_view(request: HttpRequest, channel_slug: str) -> HttpResponse:
        return view(request, _channel_area(request, channel_slug))

    channel_view.__name__ = channel_view.__qualname__ = f"channel_{view.__name__}"
    return channel_view


@require_http_methods(["GET", "HEAD"])
def favicon(request: HttpRequest) -> HttpResponse:
    """`/favicon.ico`, which browsers ask for on pages that name no icon (the admin's, JSON answers):
    the static file's address (fingerprinted in production, so a day's cache, not a permanent redirect
    that would outlive a new icon)."""
    response = redirect(static("favicon.ico"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --- Home -----------------------------------------------------------------------------------------


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
    return render(request, "registered_apps/home.html", {"programmers": programmers, "environment": environment})


# --- Tabs, shared by a programmer and a channel ---------------------------------------------------


def channels(request: HttpRequest, area: Area) -> HttpResponse:
    """A programmer's channels with their settings, domains and custom schemes in the environment, and
    "Add channel"; a channel's own page edits its settings, domains and schemes. Every edit is staged."""
    if request.method == "POST":
        return _channels_post(request, area)
    return _channels_page(request, area)


def _channel_rows(area: Area) -> list[dict[str, Any]]:
    """The channels shown here with what they have in the environment (four queries for any number)."""
    here = {"environment_id": area.environment.id}
    found = (
        area.channels()
        .order_by("name")
        .prefetch_related(
            Prefetch("domains", queryset=ChannelDomain.objects.filter(**here), to_attr="domains_here"),
            Prefetch("custom_schemes", queryset=CustomScheme.objects.filter(**here), to_attr="schemes_here"),
            Prefetch("settings", queryset=ChannelSettings.objects.filter(**here), to_attr="settings_here"),
        )
    )
    rows = []
    for channel in found:
        settings_row = channel.settings_here[0] if channel.settings_here else None  # type: ignore[attr-defined]
        rows.append(
            {
                "channel": channel,
                "display_name": settings_row.display_name if settings_row else channel.name,
                "default_redirect_url": settings_row.default_redirect_url if settings_row else "",
                "domains": channel.domains_here,  # type: ignore[attr-defined]
                "schemes": channel.schemes_here,  # type: ignore[attr-defined]
                "may_change": area.may_change(channel),
            }
        )
    return rows


def _channels_page(
    request: HttpRequest, area: Area, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    bound = bound or {}
    rows = _channel_rows(area)
    context: dict[str, Any] = {"area": area, "tabs": area.tabs("channels"), "channels": rows}
    if area.channel is None:
        if area.may_add_channel:
            context["channel_form"] = bound.get("add_channel") or ChannelCreateForm()
        return render(request, "registered_apps/area_channels.html", context, status=status)
    row = rows[0]
    pending = list(selectors.pending_changes_of(area.user, area.environment.id).filter(channel=area.channel))
    pending_settings = next((c for c in pending if c.kind == ChangeKind.CHANNEL_SETTINGS), None)
    settings_initial = (
        pending_settings.payload
        if pending_settings
        else {"display_name": row["display_name"], "default_redirect_url": row["default_redirect_url"]}
    )
    context.update(
        {
            "row": row,
            "pending": [
                {"change": change, "summary": change_summary(change.kind, change.payload)} for change in pending
            ],
            "deleting": {c.payload.get("host") for c in pending if c.kind == ChangeKind.DOMAIN_DELETE},
            "settings_form": bound.get("settings") or ChannelSettingsForm(initial=settings_initial),
            "domain_form": bound.get("add_domain") or DomainAddForm(),
        }
    )
    return render(request, "registered_apps/area_channel.html", context, status=status)


def _staged(request: HttpRequest, area: Area, summary: str) -> None:
    messages.success(
        request,
        f"{summary}: pending in {area.environment.name}. It takes effect when you review and push your changes.",
    )


def _channels_post(request: HttpRequest, area: Area) -> HttpResponse:
    action = request.POST.get("action", "")
    user = dashboard_user(request)
    if action == "add_channel":
        if not area.may_add_channel:
            raise PermissionDenied("You may not add channels to this programmer.")
        form: Any = ChannelCreateForm(request.POST)
        if form.is_valid():
            try:
                change = change_services.channel_create_stage(
                    user=user,
                    environment=environment_row(area.environment),
                    programmer=area.programmer,
                    slug=form.cleaned_data["slug"],
                    name=form.cleaned_data["name"],
                )
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                _staged(
                    request,
                    area,
                    f"{change_summary(change.kind, change.payload)} (custom scheme {change.payload['scheme']})",
                )
                return redirect(area.url("channels"))
        return _channels_page(request, area, {"add_channel": form}, status=400)
    channel = area.channel
    if channel is None or action not in {"settings", "add_domain", "delete_domain", "generate_scheme"}:
        return HttpResponse("Unknown action.", status=400, content_type="text/plain")
    if not area.may_change(channel):
        raise PermissionDenied("You may not change this channel.")
    environment = environment_row(area.environment)
    if action == "settings":
        form = ChannelSettingsForm(request.POST)
        if form.is_valid():
            try:
                staged = change_services.channel_settings_stage(
                    user=user,
                    environment=environment,
                    channel=channel,
                    display_name=form.cleaned_data["display_name"],
                    default_redirect_url=form.cleaned_data["default_redirect_url"],
                )
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                if staged is None:
                    messages.info(request, "The settings are the current ones again: their pending change is dropped.")
                else:
                    _staged(request, area, change_summary(staged.kind, staged.payload))
                return redirect(area.url("channels"))
        return _channels_page(request, area, {"settings": form}, status=400)
    if action == "add_domain":
        form = DomainAddForm(request.POST)
        if form.is_valid():
            try:
                change = change_services.channel_domain_add_stage(
                    user=user, environment=environment, channel=channel, host=form.cleaned_data["host"]
                )
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                _staged(request, area, change_summary(change.kind, change.payload))
                return redirect(area.url("channels"))
        return _channels_page(request, area, {"add_domain": form}, status=400)
    try:
        if action == "delete_domain":
            form = DomainDeleteForm(request.POST)
            if not form.is_valid():
                return HttpResponse("Say which domain to delete.", status=400, content_type="text/plain")
            change = change_services.channel_domain_remove_stage(
                user=user, environment=environment, channel=channel, host=form.cleaned_data["host"]
            )
        else:
            change = change_services.custom_scheme_create_stage(user=user, environment=environment, channel=channel)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        _staged(request, area, change_summary(change.kind, change.payload))
    return redirect(area.url("channels"))


def applications(request: HttpRequest, area: Area) -> HttpResponse:
    channel_choices = None if area.channel else list(area.channels().order_by("name"))
    form = ApplicationFilterForm(request.GET or None, platforms=selectors.active_platforms(), channels=channel_choices)
    found = area.applications()
    filtering = False
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        if query:
            match = Q(name__icontains=query) | Q(version__icontains=query)
            with contextlib.suppress(ValueError):
                match |= Q(pk=uuid.UUID(query))
            found = found.filter(match)
        if form.cleaned_data["status"]:
            found = found.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["platform"]:
            found = found.filter(platforms__code=form.cleaned_data["platform"])
        if form.cleaned_data.get("channel"):
            chosen = next(c for c in channel_choices or [] if c.slug == form.cleaned_data["channel"])
            found = selectors.applications_covering(found, chosen)
        filtering = any(form.cleaned_data.values())
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
                "level": "Channel" if payload.get("level") == ApplicationLevel.CHANNEL else "Programmer",
                "all_channels": bool(payload.get("all_channels")),
                "channels": channels,
                "platforms": [platform_names.get(code, code) for code in payload.get("platforms") or []],
            }
        )
    return rows


def schemes(request: HttpRequest, area: Area) -> HttpResponse:
    scheme_list = CustomScheme.objects.filter(
        channel__in=area.channels(), environment_id=area.environment.id
    ).select_related("channel")
    return render(
        request,
        "registered_apps/area_schemes.html",
        {"area": area, "tabs": area.tabs("schemes"), "schemes": scheme_list.order_by("channel__name", "created_at")},
    )


def usage(request: HttpRequest, area: Area) -> HttpResponse:
    start, end = usage_window()
    in_window = UsageDaily.objects.filter(application__in=area.applications(), day__gte=start, day__lte=end)
    top = (
        in_window.order_by()
        .values("application_id", "application__name", "application__version", "application__status")
        .annotate(registrations=Sum("registrations"), tokens=Sum("tokens"))
        .order_by("-tokens", "-registrations")[:20]
    )
    return render(
        request,
        "registered_apps/area_usage.html",
        {"area": area, "tabs": area.tabs("usage"), "series": usage_series(in_window), "top": list(top)},
    )


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
            change = change_services.application_create_stage(user=user, environment=environment, spec=spec)
        except ValidationError as error:
            form.apply_service_errors(error)
        else:
            messages.success(
                request,
                f"“{change.payload['name']} {change.payload['version']}” is a pending change in "
                f"{area.environment.name}: review and push your changes to create it.",
            )
            return redirect(area.url("applications"))
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


programmer_channels = for_programmer(channels, ("GET", "HEAD", "POST"))
programmer_applications = for_programmer(applications)
programmer_schemes = for_programmer(schemes)
programmer_usage = for_programmer(usage)
programmer_application_create = for_programmer(application_create, ("GET", "HEAD", "POST"))
channel_channels = for_channel(channels, ("GET", "HEAD", "POST"))
channel_applications = for_channel(applications)
channel_schemes = for_channel(schemes)
channel_usage = for_channel(usage)
channel_application_create = for_channel(application_create, ("GET", "HEAD", "POST"))


# --- One application ------------------------------------------------------------------------------


def _visible_application(request: HttpRequest, application_id: uuid.UUID) -> RegisteredApplication:
    return get_object_or_404(
        selectors.applications_visible_to(dashboard_user(request)).select_related(
            "programmer", "channel", "created_by", "revoked_by"
        ),
        pk=application_id,
    )


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
    statement_rows = selectors.statements_with_client_counts(statements)[:STATEMENT_HISTORY_LENGTH]
    clients = selectors.application_client_counts(application)
    start, end = usage_window()
    manage = selectors.can_manage(user, application)
    new_version_url = None
    if manage:
        if application.channel is not None:
            base = reverse(
                "registered_apps:channel_application_create", kwargs={"channel_slug": application.channel.slug}
            )
        else:
            base = reverse(
                "registered_apps:programmer_application_create", kwargs={"programmer_slug": application.programmer.slug}
            )
        new_version_url = f"{base}?from={application.pk}"
    series = usage_series(UsageDaily.objects.filter(application=application, day__gte=start, day__lte=end))
    context = {
        "application": application,
        "environment": environment_by_id(application.environment_id or 0),
        "dashboard_environment": dashboard_environment(request),
        "covered_channels": list(selectors.application_channels(application)),
        "statements": list(statement_rows),
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
        "new_version_url": new_version_url,
        "pending_request": application.revocation_requests.filter(state=RevocationRequest.State.PENDING)
        .select_related("requested_by")
        .first(),
    }
    return render(request, "registered_apps/application_detail.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def application_revocation_request(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    user = dashboard_user(request)
    application = _visible_application(request, application_id)
    if not selectors.can_manage(user, application):
        raise PermissionDenied("You may not ask for this application's revocation.")
    if not application.is_active:
        messages.info(request, f"“{application}” is already revoked.")
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
                request, f"Revocation of “{application}” requested. The TAMs review it; it stays active until then."
            )
            return redirect("registered_apps:application_detail", application_id=application.pk)
    return render(request, "registered_apps/revocation_request_form.html", {"application": application, "form": form})


# --- Usage ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageDay:
    day: date
    registrations: int
    tokens: int


def usage_window() -> tuple[date, date]:
    """The last USAGE_DAYS UTC days, today included."""
    end = timezone.now().astimezone(UTC).date()
    return end - timedelta(days=USAGE_DAYS - 1), end


def usage_series(rows: QuerySet[UsageDaily]) -> list[UsageDay]:
    """One entry per day of the window, zeros included, summed over platforms and applications."""
    start, _ = usage_window()
    totals = {
        row["day"]: row
        for row in rows.order_by().values("day").annotate(registrations=Sum("registrations"), tokens=Sum("tokens"))
    }
    series = []
    for offset in range(USAGE_DAYS):
        day = start + timedelta(days=offset)
        row = totals.get(day, {})
        series.append(UsageDay(day=day, registrations=row.get("registrations") or 0, tokens=row.get("tokens") or 0))
    return series
