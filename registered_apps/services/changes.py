"""Pending changes, pushes and promotions (README "Dashboard", pending changes and the changes log).

What a programmer edits in the dashboard waits as a pending change of that user in one environment
until they review it and push. Staging checks a change the way its push will: it rehearses the user's
pending changes and the new one through the real services, then rolls the rehearsal back, so the
person gets the services' own messages next to the form fields. A push applies every change through
those same services in one transaction (all or nothing) and writes the changes log (`Push`,
`PushedChange`). Payloads name everything by natural key (channel slugs, hosts, catalog codes, scheme
values), so a successful push can be promoted: its changes staged again in another environment.

Call `pending_changes_push` outside any transaction: it commits the push as `pending` before it starts.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction

from .. import selectors
from ..change_descriptions import change_entity, change_summary, changes_describe
from ..models import (
    ApplicationLevel,
    ChangeKind,
    Channel,
    Environment,
    PendingChange,
    Programmer,
    Push,
    PushedChange,
    PushStatus,
    generate_custom_scheme,
)
from .application_rules import ApplicationSpec
from .audit import audit_event_record
from .change_apply import Applied, ChangeRun, change_apply, validation_text
from .channels import channel_domain_host_clean, channel_settings_current

# --- Staging --------------------------------------------------------------------------------------


class _Rehearsed(Exception):
    """Raised at the end of a rehearsal to roll it back."""


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
            raise _Rehearsed
    except _Rehearsed:
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
            raise ValidationError(f"These are already the settings of {channel.slug} in {environment.name}.")
        earlier.delete()
        return None
    if earlier is not None:
        # Rehearsed without the earlier edit, which this one replaces.
        earlier.delete()
    return _stage(
        user=user,
        environment=environment,
        programmer=channel.programmer,
        kind=ChangeKind.CHANNEL_SETTINGS,
        payload=payload,
        channel=channel,
        channel_ids=[channel.pk],
    )


def channel_domain_add_stage(*, user: User, environment: Environment, channel: Channel, host: str) -> PendingChange:
    payload = {"channel": channel.slug, "host": channel_domain_host_clean(host)}
    return _stage(
        user=user,
        environment=environment,
        programmer=channel.programmer,
        kind=ChangeKind.DOMAIN_ADD,
        payload=payload,
        channel=channel,
        channel_ids=[channel.pk],
    )


def channel_domain_remove_stage(*, user: User, environment: Environment, channel: Channel, host: str) -> PendingChange:
    """Delete a domain of the channel here when pushed; the applications that use it then lose it."""
    payload = {"channel": channel.slug, "host": (host or "").strip().lower()}
    return _stage(
        user=user,
        environment=environment,
        programmer=channel.programmer,
        kind=ChangeKind.DOMAIN_DELETE,
        payload=payload,
        channel=channel,
        channel_ids=[channel.pk],
    )


def custom_scheme_create_stage(*, user: User, environment: Environment, channel: Channel) -> PendingChange:
    """A custom scheme generated now (the person sees the value), created here when pushed."""
    payload = {"channel": channel.slug, "scheme": generate_custom_scheme()}
    return _stage(
        user=user,
        environment=environment,
        programmer=channel.programmer,
        kind=ChangeKind.CUSTOM_SCHEME_GENERATE,
        payload=payload,
        channel=channel,
        channel_ids=[channel.pk],
    )


# --- Removing, dismissing -------------------------------------------------------------------------


def _one_programmer(changes: Sequence[PendingChange] | Sequence[PushedChange]) -> Programmer | None:
    programmers = {change.programmer_id for change in changes}
    return changes[0].programmer if len(programmers) == 1 else None


@transaction.atomic
def pending_change_remove(*, user: User, change_id: int, ip_address: str | None = None) -> PendingChange:
    """Drop one of the user's pending changes (a 404-worthy DoesNotExist for anyone else's)."""
    change = PendingChange.objects.select_related("programmer", "environment").get(pk=change_id, user=user)
    audit_event_record(
        actor=user,
        action="pending_change.remove",
        target=change.environment,
        programmer=change.programmer,
        ip_address=ip_address,
        details={
            "environment": change.environment.slug,
            "kind": change.kind,
            "change": change_summary(change.kind, change.payload),
        },
    )
    change.delete()
    return change


@transaction.atomic
def pending_changes_dismiss(*, user: User, environment: Environment, ip_address: str | None = None) -> int:
    """Drop every pending change of the user in the environment; returns how many there were."""
    changes = list(selectors.pending_changes_of(user, environment.pk).select_related("programmer"))
    if not changes:
        return 0
    audit_event_record(
        actor=user,
        action="pending_changes.dismiss",
        target=environment,
        programmer=_one_programmer(changes),
        ip_address=ip_address,
        details={
            "environment": environment.slug,
            "count": len(changes),
            "changes": [change_summary(c.kind, c.payload) for c in changes],
        },
    )
    PendingChange.objects.filter(pk__in=[c.pk for c in changes]).delete()
    return len(changes)


# --- Pushing --------------------------------------------------------------------------------------


class _PushFailed(Exception):
    """A change did not apply: the push's transaction rolls back and the message is recorded."""


def _touched_channels(
    changes: Sequence[PendingChange] | Sequence[PushedChange],
) -> list[tuple[list[int], bool, int | None]]:
    """Per change, the channels it is about as they exist now (one query): their ids, whether it covers
    all channels, and its own channel (channel-level changes)."""
    wanted: list[tuple[list[str], bool, str | None]] = []
    for change in changes:
        payload = change.payload
        if change.kind == ChangeKind.APPLICATION_CREATE:
            own = payload.get("channel")
            slugs = [own] if own else list(payload.get("channels") or [])
            wanted.append((slugs, bool(payload.get("all_channels")), own))
        elif change.kind == ChangeKind.CHANNEL_CREATE:
            wanted.append(([payload.get("slug", "")], False, payload.get("slug")))
        else:
            wanted.append(([payload.get("channel", "")], False, payload.get("channel")))
    all_slugs = {slug for slugs, _, _ in wanted for slug in slugs}
    ids = {
        (programmer_id, slug): pk
        for slug, pk, programmer_id in Channel.objects.filter(slug__in=all_slugs).values_list(
            "slug", "pk", "programmer_id"
        )
    }
    touched = []
    for position, (slugs, all_channels, own) in enumerate(wanted):
        programmer_id = changes[position].programmer_id
        found = [ids[(programmer_id, s)] for s in slugs if (programmer_id, s) in ids]
        touched.append((found, all_channels, ids.get((programmer_id, own)) if own else None))
    return touched


def _record(push: Push, changes: Sequence[PendingChange], applied: Sequence[Applied | None]) -> None:
    """The changes log's rows of a push: one per change, with its channels (for the channel logs); a
    change not applied (None) as the review page describes it, without an id."""
    touched = _touched_channels(changes)
    described = {d.change.pk: d for d in changes_describe(changes, push.environment_id)} if None in applied else {}
    rows = []
    for position, (change, result, (_ids, all_channels, own)) in enumerate(
        zip(changes, applied, touched, strict=True), start=1
    ):
        if result is None:
            # Not applied (not yet, or the push failed): what it would do, as the review page said it.
            entity_type, entity_label = change_entity(change.kind, change.payload)
            result = Applied(entity_type, "", entity_label, described[change.pk].properties)
        rows.append(
            PushedChange(
                push=push,
                position=position,
                programmer_id=change.programmer_id,
                channel_id=own,
                kind=change.kind,
                entity_type=result.entity_type,
                entity_id=result.entity_id[:64],
                entity_label=result.entity_label[:255],
                properties=result.properties,
                payload=change.payload,
                all_channels=all_channels,
                pending_change_id=change.pk,
            )
        )
    created = PushedChange.objects.bulk_create(rows)
    PushedChange.channels.through.objects.bulk_create(
        PushedChange.channels.through(pushedchange_id=row.pk, channel_id=channel_id)
        for row, (channel_ids, _, _) in zip(created, touched, strict=True)
        for channel_id in dict.fromkeys(channel_ids)
    )


def _failure_message(position: int, count: int, change: PendingChange, reason: str) -> str:
    return f"Change {position} of {count} ({change_summary(change.kind, change.payload)}): {reason}"


def pending_changes_push(
    *,
    user: User,
    environment: Environment,
    description: str,
    ip_address: str | None = None,
    reviewed: Sequence[int] | None = None,
) -> Push:
    """Apply the user's pending changes in the environment, all or none, and log the push.

    The push is committed as `pending` first, with the changes it attempts (as the review page showed
    them, without ids), so the log shows a push in flight, or one a crash stopped. Then one transaction
    applies every change in order through the services (each checks again: a domain deleted meanwhile,
    a name and version taken, write access lost), records the pushed changes as they happened and an
    audit event, marks the push `successful` and drops the pending changes. When a change fails,
    everything rolls back; the push is marked `failed` with a message naming the change, keeps the
    attempted changes, and the pending changes stay for the person to fix or dismiss. `reviewed`: the
    ids of the changes the person saw; a push of anything else is refused (ValidationError), as is an
    empty description or nothing to push."""
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": "Describe this configuration before you push it."})
    waiting = list(selectors.pending_changes_of(user, environment.pk).select_related("programmer"))
    if not waiting:
        raise ValidationError(f"You have no pending changes in {environment.name}.")
    if reviewed is not None and sorted(reviewed) != sorted(c.pk for c in waiting):
        raise ValidationError("Your pending changes changed since you opened this page: review them again.")
    sources = {c.promoted_from_id for c in waiting}
    with transaction.atomic():
        push = Push.objects.create(
            environment=environment,
            description=description,
            pushed_by=user,
            status=PushStatus.PENDING,
            promoted_from_id=sources.pop() if len(sources) == 1 else None,
        )
        _record(push, waiting, [None] * len(waiting))
    run = ChangeRun(user=user, environment=environment, ip_address=ip_address)
    try:
        with transaction.atomic():
            locked = list(
                selectors.pending_changes_of(user, environment.pk)
                .select_related("programmer")
                .select_for_update(of=("self",))
            )
            if [c.pk for c in locked] != [c.pk for c in waiting]:
                raise _PushFailed("The pending changes were pushed or changed meanwhile; nothing was applied.")
            applied: list[Applied | None] = []
            for position, change in enumerate(locked, start=1):
                try:
                    with transaction.atomic():
                        applied.append(change_apply(change, run))
                except ValidationError as error:
                    raise _PushFailed(
                        _failure_message(position, len(locked), change, validation_text(error))
                    ) from error
                except DatabaseError as error:
                    raise _PushFailed(
                        _failure_message(position, len(locked), change, "the database refused it; try again.")
                    ) from error
            push.changes.all().delete()
            _record(push, locked, applied)
            push.status = PushStatus.SUCCESSFUL
            push.save(update_fields=["status"])
            audit_event_record(
                actor=user,
                action="push",
                target=push,
                programmer=_one_programmer(locked),
                ip_address=ip_address,
                details={
                    "push": push.pk,
                    "environment": environment.slug,
                    "count": len(locked),
                    "description": description,
                    "promoted_from": push.promoted_from_id,
                },
            )
            PendingChange.objects.filter(pk__in=[c.pk for c in locked]).delete()
    except _PushFailed as failure:
        _push_failed(push, waiting, str(failure), user=user, ip_address=ip_address)
    except Exception:
        _push_failed(push, waiting, "The push stopped on an unexpected error; nothing was applied.", user=user)
        raise
    return push


@transaction.atomic
def _push_failed(
    push: Push, changes: Sequence[PendingChange], failure: str, *, user: User, ip_address: str | None = None
) -> None:
    push.status = PushStatus.FAILED
    push.failure = failure
    push.save(update_fields=["status", "failure"])
    audit_event_record(
        actor=user,
        action="push.failed",
        target=push,
        programmer=_one_programmer(changes),
        ip_address=ip_address,
        details={
            "push": push.pk,
            "environment": push.environment.slug,
            "count": len(changes),
            "failure": failure,
        },
    )


# --- Promoting ------------------------------------------------------------------------------------


@transaction.atomic
def push_promote(
    *, push: Push, target_environment: Environment, user: User, ip_address: str | None = None
) -> list[PendingChange]:
    """Stage the changes of a successful push again, as the user's pending changes in another
    environment (payloads copied: an application gets a new id there when pushed, domains and schemes
    are named by host and value). The person reviews and pushes them there as any other change."""
    if push.status != PushStatus.SUCCESSFUL:
        raise ValidationError("Only a successful push can be promoted.")
    if push.environment_id == target_environment.pk:
        raise ValidationError(f"This push is already in {target_environment.name}: choose another environment.")
    changes = list(push.changes.select_related("programmer").order_by("position"))
    reaches: dict[int, selectors.Reach | None] = {}
    for change, (channel_ids, all_channels, _) in zip(changes, _touched_channels(changes), strict=True):
        if change.programmer_id not in reaches:
            reaches[change.programmer_id] = selectors.reach_of(user, change.programmer)
        if not selectors.can_change(
            reaches[change.programmer_id],
            channel_ids=channel_ids,
            all_channels=all_channels,
            programmer_wide=change.kind == ChangeKind.CHANNEL_CREATE,
        ):
            raise PermissionDenied("You may not stage every change of this push.")
    staged = PendingChange.objects.bulk_create(
        PendingChange(
            user=user,
            environment=target_environment,
            programmer_id=change.programmer_id,
            channel_id=change.channel_id,
            kind=change.kind,
            payload=dict(change.payload),
            promoted_from=push,
        )
        for change in changes
    )
    audit_event_record(
        actor=user,
        action="push.promote",
        target=push,
        programmer=_one_programmer(changes),
        ip_address=ip_address,
        details={
            "push": push.pk,
            "from": push.environment.slug,
            "environment": target_environment.slug,
            "count": len(staged),
        },
    )
    return staged


def pending_changes_problems(*, user: User, environment: Environment) -> list[str]:
    """Rehearse the user's pending changes in order and roll back: the message of each one that would not
    apply now (after those before it), as a push would word it. For a warning after a promotion."""
    run = ChangeRun(user=user, environment=environment)
    problems: list[str] = []
    try:
        with transaction.atomic():
            waiting = list(selectors.pending_changes_of(user, environment.pk).select_related("programmer"))
            for position, change in enumerate(waiting, start=1):
                try:
                    with transaction.atomic():
                        change_apply(change, run)
                except ValidationError as error:
                    problems.append(_failure_message(position, len(waiting), change, validation_text(error)))
            raise _Rehearsed
    except _Rehearsed:
        pass
    return problems
