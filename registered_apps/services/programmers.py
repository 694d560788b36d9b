"""Programmers: created by a TAM; only the display name ever changes."""

from django.db import transaction

from ..models import Programmer
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
