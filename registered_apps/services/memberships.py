"""Memberships: which users see or change a programmer's applications, on which channels."""

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from ..models import Access, Channel, Membership, Programmer
from .audit import Actor, audit_event_record
from .channels import channels_foreign_message


def membership_check(*, programmer: Programmer, access: str, channels: Sequence[Channel] = ()) -> None:
    """A ValidationError naming the field at fault, else nothing."""
    if access not in Access.values:
        raise ValidationError(
            {"access": gettext("Access must be one of: %(choices)s.") % {"choices": ", ".join(Access.values)}}
        )
    foreign = channels_foreign_message(programmer, channels)
    if foreign:
        raise ValidationError({"channels": foreign})


@transaction.atomic
def membership_set(
    *,
    user: User,
    programmer: Programmer,
    access: str,
    channels: Sequence[Channel] = (),
    actor: Actor,
    ip_address: str | None = None,
) -> Membership:
    """Create or replace a user's membership of a programmer."""
    membership_check(programmer=programmer, access=access, channels=channels)
    membership, _ = Membership.objects.update_or_create(user=user, programmer=programmer, defaults={"access": access})
    membership.channels.set(channels)
    audit_event_record(
        actor=actor,
        action="membership.set",
        target=membership,
        programmer=programmer,
        ip_address=ip_address,
        details={"user": user.get_username(), "access": access, "channels": [c.slug for c in channels]},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Actor, ip_address: str | None = None) -> None:
    audit_event_record(
        actor=actor,
        action="membership.delete",
        target=membership,
        programmer=membership.programmer,
        ip_address=ip_address,
        details={"user": membership.user.get_username(), "access": membership.access},
    )
    membership.delete()
