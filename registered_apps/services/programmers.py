"""Programmers: created by a TAM; only the display name and the default statement lifetime ever change."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from ..models import STATEMENT_LIFETIME_DAYS, Programmer
from .audit import Actor, audit_event_record, name_change_record


@transaction.atomic
def programmer_create(*, slug: str, name: str, actor: Actor, ip_address: str | None = None) -> Programmer:
    programmer = Programmer(slug=slug, name=name)
    programmer.full_clean()
    programmer.save()
    audit_event_record(
        actor=actor,
        action="programmer.create",
        target=programmer,
        programmer=programmer,
        ip_address=ip_address,
        details={"slug": slug, "name": name},
    )
    return programmer


@transaction.atomic
def programmer_rename(*, programmer: Programmer, name: str, actor: Actor, ip_address: str | None = None) -> Programmer:
    """Change the display name (the slug never changes: statements carry it)."""
    name_change_record(target=programmer, name=name, programmer=programmer, actor=actor, ip_address=ip_address)
    return programmer


@transaction.atomic
def programmer_statement_lifetime_set(
    *, programmer: Programmer, days: int | None, actor: Actor, ip_address: str | None = None
) -> Programmer:
    """The lifetime pre-selected when the programmer's members download a statement (None: never
    expires), with its audit event when it changes. Statements issued before keep their own `exp`."""
    if days is not None and days not in STATEMENT_LIFETIME_DAYS:
        choices = ", ".join(str(choice) for choice in STATEMENT_LIFETIME_DAYS)
        raise ValidationError(
            {
                "statement_lifetime_days": gettext("A statement lifetime is none or one of %(choices)s days.")
                % {"choices": choices}
            },
            code="invalid_lifetime",
        )
    locked = Programmer.objects.select_for_update().get(pk=programmer.pk)
    previous = locked.statement_lifetime_days
    programmer.statement_lifetime_days = days
    if previous != days:
        locked.statement_lifetime_days = days
        locked.save(update_fields=["statement_lifetime_days"])
        audit_event_record(
            actor=actor,
            action="programmer.statement_lifetime",
            target=locked,
            programmer=locked,
            ip_address=ip_address,
            details={"statement_lifetime_days": [previous, days]},
        )
    return programmer
