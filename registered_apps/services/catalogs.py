"""The platform and scope catalogs: entries are added, renamed, retired and brought back, never
re-coded (applications and issued statements refer to the codes)."""

from collections.abc import Sequence

from django.db import transaction

from ..models import Platform, Scope
from .audit import Actor, audit_event_record


@transaction.atomic
def catalog_entry_save(
    *, entry: Platform | Scope, actor: Actor, ip_address: str | None = None, changed: Sequence[str] = ()
) -> Platform | Scope:
    """Add a platform or scope, or change its name or active flag."""
    adding = entry._state.adding
    entry.full_clean()
    entry.save()
    audit_event_record(
        actor=actor,
        action=f"{entry._meta.model_name}.{'create' if adding else 'change'}",
        target=entry,
        programmer=None,
        ip_address=ip_address,
        details={"code": entry.code, "name": entry.name, "active": entry.active, "changed": list(changed)},
    )
    return entry


@transaction.atomic
def catalog_entry_set_active(
    *, entry: Platform | Scope, active: bool, actor: Actor, ip_address: str | None = None
) -> Platform | Scope:
    """Retire an entry (new applications cannot choose it; existing ones keep it) or bring it back."""
    if entry.active == active:
        return entry
    entry.active = active
    entry.save(update_fields=["active"])
    audit_event_record(
        actor=actor,
        action=f"{entry._meta.model_name}.{'reactivate' if active else 'retire'}",
        target=entry,
        programmer=None,
        ip_address=ip_address,
        details={"code": entry.code},
    )
    return entry
