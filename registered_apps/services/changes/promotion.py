"""Promoting a pushed configuration to another environment (its changes staged again there), and
dropping pending changes: one, or all of a user's in an environment."""

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext

from ... import selectors
from ...change_descriptions import change_summary
from ...models import ChangeKind, Environment, PendingChange, Push, PushStatus
from ..audit import audit_event_record
from ..change_apply import ChangeRun, change_apply, validation_text
from .common import Rehearsed, failure_message, one_programmer, touched_channels


@transaction.atomic
def push_promote(
    *, push: Push, target_environment: Environment, user: User, ip_address: str | None = None
) -> list[PendingChange]:
    """Stage the changes of a successful push again, as the user's pending changes in another
    environment (payloads copied: an application gets a new id there when pushed, domains and schemes
    are named by host and value). The person reviews and pushes them there as any other change."""
    if push.status != PushStatus.SUCCESSFUL:
        raise ValidationError(gettext("Only a successful push can be promoted."))
    if push.environment_id == target_environment.pk:
        raise ValidationError(
            gettext("This push is already in %(environment)s: choose another environment.")
            % {"environment": target_environment.name}
        )
    changes = list(push.changes.select_related("programmer").order_by("position"))
    reaches: dict[int, selectors.Reach | None] = {}
    for change, (channel_ids, all_channels, _) in zip(changes, touched_channels(changes), strict=True):
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
        programmer=one_programmer(changes),
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
                    problems.append(failure_message(position, len(waiting), change, validation_text(error)))
            raise Rehearsed
    except Rehearsed:
        pass
    return problems


# --- Removing, dismissing -------------------------------------------------------------------------


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
        programmer=one_programmer(changes),
        ip_address=ip_address,
        details={
            "environment": environment.slug,
            "count": len(changes),
            "changes": [change_summary(c.kind, c.payload) for c in changes],
        },
    )
    PendingChange.objects.filter(pk__in=[c.pk for c in changes]).delete()
    return len(changes)
