"""Channels: a programmer's channels with their settings, domains and custom schemes in the environment,
and "Add channel"; a channel's own page edits its settings, domains and schemes; the custom schemes tab.
Every edit is staged as a pending change. The page's forms post to the page's own URL, each naming its
`action`: one view per action (`CHANNEL_ACTIONS`)."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from core.service_errors import form_add_service_error

from .. import selectors
from ..change_descriptions import change_summary
from ..forms import ChannelCreateForm, ChannelSettingsForm, DomainAddForm, DomainDeleteForm
from ..models import ChangeKind, Channel, ChannelDomain, ChannelSettings, CustomScheme, Environment
from ..services.changes import staging
from .areas import READ_WRITE, Area, dashboard_user, environment_row, for_channel, for_programmer, staged_message


def channels(request: HttpRequest, area: Area) -> HttpResponse:
    """The channels page; a POST goes to the view of its `action`."""
    if request.method != "POST":
        return _channels_page(request, area)
    action = request.POST.get("action", "")
    if action == "add_channel":
        return channel_add(request, area)
    channel, action_view = area.channel, CHANNEL_ACTIONS.get(action)
    if channel is None or action_view is None:
        return HttpResponse("Unknown action.", status=400, content_type="text/plain")
    if not area.may_change(channel):
        raise PermissionDenied("You may not change this channel.")
    return action_view(request, area, channel, environment_row(area.environment))


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
    context.update(_one_channel(area, rows[0], bound))
    return render(request, "registered_apps/area_channel.html", context, status=status)


def _one_channel(area: Area, row: dict[str, Any], bound: dict[str, Any]) -> dict[str, Any]:
    """A channel's own page: its pending changes here and its forms (bound ones shown again)."""
    pending = list(selectors.pending_changes_of(area.user, area.environment.id).filter(channel=area.channel))
    pending_settings = next((c for c in pending if c.kind == ChangeKind.CHANNEL_SETTINGS), None)
    settings_initial = (
        pending_settings.payload
        if pending_settings
        else {"display_name": row["display_name"], "default_redirect_url": row["default_redirect_url"]}
    )
    return {
        "row": row,
        "pending": [{"change": change, "summary": change_summary(change.kind, change.payload)} for change in pending],
        "deleting": {c.payload.get("host") for c in pending if c.kind == ChangeKind.DOMAIN_DELETE},
        "settings_form": bound.get("settings") or ChannelSettingsForm(initial=settings_initial),
        "domain_form": bound.get("add_domain") or DomainAddForm(),
    }


def _form_staged(
    request: HttpRequest, area: Area, action: str, form: Form, stage: Callable[[dict[str, Any]], None]
) -> HttpResponse:
    """Stage what a valid form says (`stage` says what it staged) and go back to the channels page;
    the page again with the form and its errors (400) otherwise."""
    if form.is_valid():
        try:
            stage(form.cleaned_data)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            return redirect(area.url("channels"))
    return _channels_page(request, area, {action: form}, status=400)


def channel_add(request: HttpRequest, area: Area) -> HttpResponse:
    """A new channel of the programmer, with the custom scheme it will have."""
    if not area.may_add_channel:
        raise PermissionDenied("You may not add channels to this programmer.")

    def stage(data: dict[str, Any]) -> None:
        change = staging.channel_create_stage(
            user=dashboard_user(request),
            environment=environment_row(area.environment),
            programmer=area.programmer,
            slug=data["slug"],
            name=data["name"],
        )
        summary = gettext("%(change)s (custom scheme %(scheme)s)") % {
            "change": change_summary(change.kind, change.payload),
            "scheme": change.payload["scheme"],
        }
        staged_message(request, area, summary)

    return _form_staged(request, area, "add_channel", ChannelCreateForm(request.POST), stage)


def channel_settings(request: HttpRequest, area: Area, channel: Channel, environment: Environment) -> HttpResponse:
    """The channel's display name and default redirect URL here."""

    def stage(data: dict[str, Any]) -> None:
        staged = staging.channel_settings_stage(
            user=dashboard_user(request),
            environment=environment,
            channel=channel,
            display_name=data["display_name"],
            default_redirect_url=data["default_redirect_url"],
        )
        if staged is None:
            messages.info(request, gettext("The settings are the current ones again: their pending change is dropped."))
        else:
            staged_message(request, area, change_summary(staged.kind, staged.payload))

    return _form_staged(request, area, "settings", ChannelSettingsForm(request.POST), stage)


def channel_domain_add(request: HttpRequest, area: Area, channel: Channel, environment: Environment) -> HttpResponse:
    def stage(data: dict[str, Any]) -> None:
        change = staging.channel_domain_add_stage(
            user=dashboard_user(request), environment=environment, channel=channel, host=data["host"]
        )
        staged_message(request, area, change_summary(change.kind, change.payload))

    return _form_staged(request, area, "add_domain", DomainAddForm(request.POST), stage)


def channel_domain_delete(request: HttpRequest, area: Area, channel: Channel, environment: Environment) -> HttpResponse:
    """A domain's deletion; a refusal is a message on the channels page (the form is one button per domain)."""
    form = DomainDeleteForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Say which domain to delete.", status=400, content_type="text/plain")
    try:
        change = staging.channel_domain_remove_stage(
            user=dashboard_user(request), environment=environment, channel=channel, host=form.cleaned_data["host"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        staged_message(request, area, change_summary(change.kind, change.payload))
    return redirect(area.url("channels"))


def custom_scheme_generate(
    request: HttpRequest, area: Area, channel: Channel, environment: Environment
) -> HttpResponse:
    """A new custom scheme of the channel, generated now."""
    try:
        change = staging.custom_scheme_create_stage(
            user=dashboard_user(request), environment=environment, channel=channel
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        staged_message(request, area, change_summary(change.kind, change.payload))
    return redirect(area.url("channels"))


ChannelAction = Callable[[HttpRequest, Area, Channel, Environment], HttpResponse]

# The actions on one channel's page (the person may change the channel; checked before).
CHANNEL_ACTIONS: dict[str, ChannelAction] = {
    "settings": channel_settings,
    "add_domain": channel_domain_add,
    "delete_domain": channel_domain_delete,
    "generate_scheme": custom_scheme_generate,
}


def schemes(request: HttpRequest, area: Area) -> HttpResponse:
    scheme_list = CustomScheme.objects.filter(
        channel__in=area.channels(), environment_id=area.environment.id
    ).select_related("channel")
    return render(
        request,
        "registered_apps/area_schemes.html",
        {"area": area, "tabs": area.tabs("schemes"), "schemes": scheme_list.order_by("channel__name", "created_at")},
    )


programmer_channels = for_programmer(channels, READ_WRITE)
programmer_schemes = for_programmer(schemes)
channel_channels = for_channel(channels, READ_WRITE)
channel_schemes = for_channel(schemes)
