"""What every dashboard page shares: the signed-in user, the area (a programmer, or one of its channels,
as that user sees it), the environment's row for the services, and the wrappers that turn a view of an
area into the programmer's and the channel's URL views."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from .. import selectors
from ..dashboard_environment import dashboard_environment
from ..environments import EnvironmentInfo, environment_by_slug
from ..models import Channel, Environment, Programmer, RegisteredApplication

TABS = [
    ("channels", _("Channels")),
    ("applications", _("Registered applications")),
    ("schemes", _("Custom schemes")),
    ("changes", _("Changes log")),
    ("usage", _("Usage")),
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

    @property
    def slug(self) -> str:
        """The channel's slug, or the programmer's: names the CSV downloads."""
        return self.channel.slug if self.channel else self.programmer.slug

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
                "label": _("Channel") if (self.channel and key == "channels") else label,
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


def log_environment(request: HttpRequest) -> EnvironmentInfo | None:
    """The changes log's environment filter (`?environment=<slug>`); None: all environments."""
    return environment_by_slug(request.GET.get("environment", ""))


def staged_message(request: HttpRequest, area: Area, summary: str) -> None:
    """Say that a change waits in the area's environment until it is pushed."""
    messages.success(
        request,
        gettext("%(summary)s: pending in %(environment)s. It takes effect when you review and push your changes.")
        % {"summary": summary, "environment": area.environment.name},
    )


AreaView = Callable[[HttpRequest, Area], HttpResponse]
READ = ("GET", "HEAD")
READ_WRITE = ("GET", "HEAD", "POST")


def _area_view(
    view: AreaView, methods: tuple[str, ...], kind: str, area_of: Callable[[HttpRequest, str], Area]
) -> Callable[..., HttpResponse]:
    """The URL view of a tab for a programmer or a channel: signed in, the allowed methods, the area
    found (404 when the person may not see it), then `view`."""

    @login_required
    @require_http_methods(list(methods))
    def area_view(request: HttpRequest, **slug: str) -> HttpResponse:
        return view(request, area_of(request, slug[f"{kind}_slug"]))

    area_view.__name__ = area_view.__qualname__ = f"{kind}_{view.__name__}"
    return area_view


def for_programmer(view: AreaView, methods: tuple[str, ...] = READ) -> Callable[..., HttpResponse]:
    return _area_view(view, methods, "programmer", _programmer_area)


def for_channel(view: AreaView, methods: tuple[str, ...] = READ) -> Callable[..., HttpResponse]:
    return _area_view(view, methods, "channel", _channel_area)
