"""Staging (what a person does in the dashboard's forms): each edit waits as the user's pending change in
one environment. Staging checks a change the way its push will: it rehearses the user's pending changes
and the new one through the real services, then rolls the rehearsal back, so the person gets the
services' own messages next to the form fields. Payloads name everything by natural key (channel slugs,
hosts, catalog codes, scheme values), so a pushed change can be promoted to another environment."""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext

from ... import selectors
from ...models import (
    ApplicationLevel,
    ChangeKind,
    Channel,
    Environment,
    PendingChange,
    Programmer,
    generate_custom_scheme,
)
from ..application_rules import ApplicationSpec
from ..change_apply import ChangeRun, change_apply
from ..channels import channel_domain_host_clean, channel_settings_current
from .common import Rehearsed


def _rehearse(change: PendingChange, run: ChangeRun) -> None:
    """Apply the user's pending changes, then `change`, and roll it all back: raises the ValidationError
    `change` would meet at push time (after the changes already waiting; one of those that no longer
    applies is skipped here: its push reports it)."""
    problem: ValidationError | None = None
    try:
        with transaction.atomic():
            waiting = selectors.pending_changes_of(run.user, run.environment.pk).select_related("programmer")
            for earlier in waiting:
                try:
                    with transaction.atomic():
                        change_apply(earlier, run)
                except ValidationError:
                    continue
            try:
                with transaction.atomic():
                    change_apply(change, run)
            except ValidationError as error:
                problem = error
            raise Rehearsed
    except Rehearsed:
        pass
    if problem is not None:
        raise problem


def _stage(
    *,
    user: User,
    environment: Environment,
    programmer: Programmer,
    kind: str,
    payload: dict[str, Any],
    channel: Channel | None = None,
    channel_ids: Iterable[int] = (),
    all_channels: bool = False,
    programmer_wide: bool = False,
) -> PendingChange:
    """Check access (PermissionDenied), rehearse (ValidationError), then save the pending change.

    An application naming no channel passes the access check: its rules say what is missing."""
    run = ChangeRun(user=user, environment=environment)
    reach = selectors.reach_of(user, programmer)
    ids = list(channel_ids)
    no_channel_named = kind == ChangeKind.APPLICATION_CREATE and not ids and not all_channels
    allowed = (
        reach is not None and reach.read_write
        if no_channel_named
        else selectors.can_change(reach, channel_ids=ids, all_channels=all_channels, programmer_wide=programmer_wide)
    )
    if not allowed:
        raise PermissionDenied("You may not change this.")
    run.reaches[programmer.pk] = reach
    change = PendingChange(
        user=user, environment=environment, programmer=programmer, channel=channel, kind=kind, payload=payload
    )
    _rehearse(change, run)
    change.save()
    return change


def _stage_of_channel(
    user: User, environment: Environment, channel: Channel, kind: str, payload: dict[str, Any]
) -> PendingChange:
    """`_stage` for a change of one channel (its settings, a domain, a custom scheme)."""
    return _stage(
        user=user,
        environment=environment,
        programmer=channel.programmer,
        kind=kind,
        payload=payload,
        channel=channel,
        channel_ids=[channel.pk],
    )


def application_create_stage(*, user: User, environment: Environment, spec: ApplicationSpec) -> PendingChange:
    """A new registered application, waiting to be pushed (it gets its id, the software_id, then)."""
    channel = spec.channel if spec.level == ApplicationLevel.CHANNEL else None
    chosen = [] if (spec.all_channels or channel) else list(spec.channels)
    all_channels = bool(spec.all_channels) and spec.level == ApplicationLevel.PROGRAMMER
    payload: dict[str, Any] = {
        "level": spec.level,
        "channel": channel.slug if channel else None,
        "all_channels": all_channels,
        "channels": [c.slug for c in chosen],
        "platforms": list(spec.platforms),
        "scopes": list(spec.scopes),
        "domains": list(spec.domains),
        "redirect_uris": list(spec.redirect_uris),
        "name": spec.name,
        "version": spec.version,
    }
    return _stage(
        user=user,
        environment=environment,
        programmer=spec.programmer,
        kind=ChangeKind.APPLICATION_CREATE,
        payload=payload,
        channel=channel,
        channel_ids=[c.pk for c in ([channel] if channel else chosen)],
        all_channels=all_channels,
    )


def channel_create_stage(
    *, user: User, environment: Environment, programmer: Programmer, slug: str, name: str
) -> PendingChange:
    """A new channel (its slug is the requestor id) with a custom scheme generated now, so the person
    sees the value they will use (promoting the change copies it)."""
    slug, name = (slug or "").strip(), (name or "").strip()
    errors = {}
    if not slug:
        errors["slug"] = "Give the channel a requestor id."
    if not name:
        errors["name"] = "Give the channel a display name."
    if errors:
        raise ValidationError(errors)
    payload = {"slug": slug, "name": name, "scheme": generate_custom_scheme()}
    return _stage(
        user=user,
        environment=environment,
        programmer=programmer,
        kind=ChangeKind.CHANNEL_CREATE,
        payload=payload,
        programmer_wide=True,
    )


@transaction.atomic
def channel_settings_stage(
    *, user: User, environment: Environment, channel: Channel, display_name: str, default_redirect_url: str
) -> PendingChange | None:
    """New general settings of a channel here. A second edit replaces the pending one; settings equal
    to the current ones drop it (None) or, with nothing pending, are an error."""
    payload = {
        "channel": channel.slug,
        "display_name": (display_name or "").strip(),
        "default_redirect_url": (default_redirect_url or "").strip(),
    }
    current = channel_settings_current(channel, environment.pk)
    unchanged = (current.display_name, current.default_redirect_url) == (
        payload["display_name"],
        payload["default_redirect_url"],
    )
    earlier = (
        selectors.pending_changes_of(user, environment.pk)
        .filter(kind=ChangeKind.CHANNEL_SETTINGS, channel=channel)
        .first()
    )
    if unchanged:
        if not selectors.can_change(selectors.reach_of(user, channel.programmer), channel_ids=[channel.pk]):
            raise PermissionDenied("You may not change this channel.")
        if earlier is None:
            raise ValidationError(
                gettext("These are already the settings of %(channel)s in %(environment)s.")
                % {"channel": channel.slug, "environment": environment.name}
            )
        earlier.delete()
        return None
    if earlier is not None:
        # Rehearsed without the earlier edit, which this one replaces.
        earlier.delete()
    return _stage_of_channel(user, environment, channel, ChangeKind.CHANNEL_SETTINGS, payload)


def channel_domain_add_stage(*, user: User, environment: Environment, channel: Channel, host: str) -> PendingChange:
    payload = {"channel": channel.slug, "host": channel_domain_host_clean(host)}
    return _stage_of_channel(user, environment, channel, ChangeKind.DOMAIN_ADD, payload)


def channel_domain_remove_stage(*, user: User, environment: Environment, channel: Channel, host: str) -> PendingChange:
    """Delete a domain of the channel here when pushed; the applications that use it then lose it."""
    payload = {"channel": channel.slug, "host": (host or "").strip().lower()}
    return _stage_of_channel(user, environment, channel, ChangeKind.DOMAIN_DELETE, payload)


def custom_scheme_create_stage(*, user: User, environment: Environment, channel: Channel) -> PendingChange:
    """A custom scheme generated now (the person sees the value), created here when pushed."""
    payload = {"channel": channel.slug, "scheme": generate_custom_scheme()}
    return _stage_of_channel(user, environment, channel, ChangeKind.CUSTOM_SCHEME_GENERATE, payload)
