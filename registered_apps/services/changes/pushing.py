"""Pushing: the user's pending changes in an environment applied through the services in one
transaction (all or nothing), written to the changes log (`Push`, `PushedChange`).

Call `pending_changes_push` outside any transaction: it commits the push as `pending` before it starts.
"""

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import translation
from django.utils.translation import gettext

from ... import selectors
from ...change_descriptions import change_entity, changes_describe
from ...models import Environment, PendingChange, Push, PushedChange, PushStatus
from ...push_failures import (
    FAILURE_MEANWHILE,
    FAILURE_UNEXPECTED,
    REASON_DATABASE,
    change_failure,
    failure_encode,
    failure_text_english,
    reasons_of,
)
from ..audit import audit_event_record
from ..change_apply import Applied, ChangeRun, change_apply
from .common import one_programmer, touched_channels


class _PushFailed(Exception):
    """A change did not apply: the push's transaction rolls back and the message is recorded."""


def _record(push: Push, changes: Sequence[PendingChange], applied: Sequence[Applied | None]) -> None:
    """The changes log's rows of a push: one per change, with its channels (for the channel logs); a
    change not applied (None) as the review page describes it, without an id."""
    touched = touched_channels(changes)
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
    waiting = _waiting_changes(user, environment, description, reviewed)
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
            _apply_all(push, waiting, run)
    except _PushFailed as failure:
        _push_failed(push, waiting, str(failure), user=user, ip_address=ip_address)
    except Exception:
        _push_failed(push, waiting, failure_encode(FAILURE_UNEXPECTED), user=user)
        raise
    return push


def _waiting_changes(
    user: User, environment: Environment, description: str, reviewed: Sequence[int] | None
) -> list[PendingChange]:
    """The user's pending changes to push; ValidationError without a description, without changes, or
    when they are not the ones the person reviewed."""
    if not description:
        raise ValidationError({"description": gettext("Describe this configuration before you push it.")})
    waiting = list(selectors.pending_changes_of(user, environment.pk).select_related("programmer"))
    if not waiting:
        raise ValidationError(
            gettext("You have no pending changes in %(environment)s.") % {"environment": environment.name}
        )
    if reviewed is not None and sorted(reviewed) != sorted(c.pk for c in waiting):
        raise ValidationError(gettext("Your pending changes changed since you opened this page: review them again."))
    return waiting


def _apply_one(change: PendingChange, run: ChangeRun, position: int, count: int) -> Applied:
    """Apply one change in a savepoint; _PushFailed naming it when it does not apply. It applies with no
    language active: what it records reads in English, and the messages of a change that fails are kept
    by their msgids (`push_failures`), for the changes log to write in its reader's language."""
    try:
        with transaction.atomic(), translation.override(None):
            return change_apply(change, run)
    except ValidationError as error:
        reasons = reasons_of(error)
        raise _PushFailed(change_failure(position, count, change.kind, change.payload, reasons)) from error
    except DatabaseError as error:
        reasons = [{"message": REASON_DATABASE, "params": {}}]
        raise _PushFailed(change_failure(position, count, change.kind, change.payload, reasons)) from error


def _apply_all(push: Push, waiting: Sequence[PendingChange], run: ChangeRun) -> None:
    """Inside the push's transaction: lock the pending changes, apply each in order, log them as applied,
    mark the push successful with its audit event and drop the pending changes."""
    user, environment = run.user, run.environment
    locked = list(
        selectors.pending_changes_of(user, environment.pk).select_related("programmer").select_for_update(of=("self",))
    )
    if [c.pk for c in locked] != [c.pk for c in waiting]:
        raise _PushFailed(failure_encode(FAILURE_MEANWHILE))
    applied: list[Applied | None] = [
        _apply_one(change, run, position, len(locked)) for position, change in enumerate(locked, start=1)
    ]
    push.changes.all().delete()
    _record(push, locked, applied)
    push.status = PushStatus.SUCCESSFUL
    push.save(update_fields=["status"])
    audit_event_record(
        actor=user,
        action="push",
        target=push,
        programmer=one_programmer(locked),
        ip_address=run.ip_address,
        details={
            "push": push.pk,
            "environment": environment.slug,
            "count": len(locked),
            "description": push.description,
            "promoted_from": push.promoted_from_id,
        },
    )
    PendingChange.objects.filter(pk__in=[c.pk for c in locked]).delete()


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
        programmer=one_programmer(changes),
        ip_address=ip_address,
        details={
            "push": push.pk,
            "environment": push.environment.slug,
            "count": len(changes),
            "failure": failure_text_english(failure),
        },
    )
