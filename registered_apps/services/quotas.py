"""An application's quotas (README "Quotas"): set by the TAMs, audited, published to the hot-path
store once the change commits."""

from enum import Enum

from django.core.exceptions import ValidationError
from django.db import transaction

from core.quotas import Quota, quota_publish

from ..models import RegisteredApplication
from .audit import Actor, audit_event_record

QUOTA_FIELDS = ("quota_registrations_per_hour", "quota_tokens_per_hour", "quota_tokens_per_day")
# Above this a value is a typo, not a quota (and Redis's counters stay small).
QUOTA_MAX = 1_000_000_000


class Keep(Enum):
    """A value left out of `set_application_quota`: unchanged."""

    UNCHANGED = 0


_KEEP = Keep.UNCHANGED


def application_quota(application: RegisteredApplication) -> Quota:
    """The application's own values (None: the settings' default)."""
    return Quota(
        tokens_per_hour=application.quota_tokens_per_hour,
        tokens_per_day=application.quota_tokens_per_day,
        registrations_per_hour=application.quota_registrations_per_hour,
    )


@transaction.atomic
def set_application_quota(
    application: RegisteredApplication,
    *,
    actor: Actor,
    registrations_per_hour: int | Keep | None = _KEEP,
    tokens_per_hour: int | Keep | None = _KEEP,
    tokens_per_day: int | Keep | None = _KEEP,
    ip_address: str | None = None,
) -> RegisteredApplication:
    """Set an application's quotas: an int (0: no limit), None (the settings' default), or left out
    (unchanged). Audited as `application.quota` with each changed value's [before, after]; every
    worker's next request counts against the new values (the store's copy is written on commit)."""
    wanted = {
        "quota_registrations_per_hour": registrations_per_hour,
        "quota_tokens_per_hour": tokens_per_hour,
        "quota_tokens_per_day": tokens_per_day,
    }
    errors = {
        name: "A quota is empty (the default) or a whole number from 0 (no limit) to 1000000000."
        for name, value in wanted.items()
        if value is not _KEEP
        and value is not None
        and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= QUOTA_MAX)
    }
    if errors:
        raise ValidationError(errors, code="invalid_quota")
    locked = RegisteredApplication.objects.select_for_update().get(pk=application.pk)
    changes = {
        name: [getattr(locked, name), value]
        for name, value in wanted.items()
        if value is not _KEEP and getattr(locked, name) != value
    }
    for name, (_, value) in changes.items():
        setattr(locked, name, value)
    if changes:
        locked.save(update_fields=list(changes))
        audit_event_record(
            actor=actor,
            action="application.quota",
            target=locked,
            programmer=locked.programmer,
            ip_address=ip_address,
            details=changes,
        )
        quota_publish(str(locked.pk), application_quota(locked))
    for name in QUOTA_FIELDS:
        setattr(application, name, getattr(locked, name))
    return locked
