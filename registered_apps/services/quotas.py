"""An application's quotas (README "Quotas"): set by the TAMs, audited, published to the hot-path
store once the change commits."""

from enum import Enum
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.hot_store import hot_store
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
    for name, (_before, value) in changes.items():
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


_LABELS = (
    ("registrations_per_hour", _("registrations per hour")),
    ("tokens_per_hour", _("tokens per hour")),
    ("tokens_per_day", _("tokens per day")),
)


def quota_rows(application: RegisteredApplication) -> list[dict[str, Any]]:
    """What the application page and the admin show: each quota's name, label, effective limit (0: no
    limit) and whether it is the settings' default."""
    own = application_quota(application)
    effective = own.effective()
    return [
        {"name": name, "label": label, "limit": getattr(effective, name), "default": getattr(own, name) is None}
        for name, label in _LABELS
    ]


def application_quotas_republish() -> int:
    """Write again the store's copy of every application's own quota values (the periodic stamps
    republish calls this: a Redis that lost its data has them back within a minute). Returns how many."""
    store = hot_store()
    rows = RegisteredApplication.objects.filter(
        Q(quota_registrations_per_hour__isnull=False)
        | Q(quota_tokens_per_hour__isnull=False)
        | Q(quota_tokens_per_day__isnull=False)
    ).only("pk", *QUOTA_FIELDS)
    written = 0
    for application in rows.iterator():
        store.quota_put(str(application.pk), application_quota(application).packed())
        written += 1
    return written
