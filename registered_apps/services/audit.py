"""The audit trail: every service writes one event in the transaction of the change it records."""

from typing import Any

from django.contrib.auth.models import User
from django.db import models

from ..models import AuditEvent, Channel, Programmer

# A person acting (a user), or a label: a client id, "command:<name>", "system".
Actor = User | str | None


def audit_event_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model,
    programmer: Programmer | None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event. Call it inside the transaction of the change it records."""
    event = audit_event_new(
        actor=actor, action=action, target=target, programmer=programmer, ip_address=ip_address, details=details
    )
    event.save(force_insert=True)
    return event


def audit_event_new(
    *,
    actor: Actor,
    action: str,
    target: models.Model,
    programmer: Programmer | None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """An unsaved audit event, for a caller that writes it together with its target in one statement."""
    user = actor if isinstance(actor, User) else None
    label = actor if isinstance(actor, str) else ""
    return AuditEvent(
        actor_user=user,
        actor_label=label[:255],
        action=action,
        object_type=target._meta.model_name or type(target).__name__.lower(),
        object_id=str(target.pk),
        object_repr=str(target)[:255],
        programmer=programmer,
        ip_address=ip_address,
        details=details or {},
    )


def actor_user(actor: Actor) -> User | None:
    """The user an actor is, for the `*_by` columns (None for a label)."""
    return actor if isinstance(actor, User) else None


def name_change_record(
    *, target: Programmer | Channel, name: str, programmer: Programmer, actor: Actor, ip_address: str | None
) -> None:
    """Set a programmer's or channel's display name (slugs never change: statements carry them), with
    its audit event (`<model>.change`) when the name differs from the stored one. In the caller's
    transaction."""
    previous = type(target).objects.values_list("name", flat=True).get(pk=target.pk)
    target.name = name
    target.full_clean()
    if previous != name:
        target.save(update_fields=["name"])
        audit_event_record(
            actor=actor,
            action=f"{target._meta.model_name}.change",
            target=target,
            programmer=programmer,
            ip_address=ip_address,
            details={"name": [previous, name]},
        )
