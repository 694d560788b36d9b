"""Celery tasks of registered_apps (emails, audit retention) and `task_enqueue_on_commit`, the one way
every layer enqueues work that follows a database change."""

import logging
import smtplib
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.db import transaction
from django.utils import timezone

from core.conf import dcr

from . import emails
from .models import AuditEvent

logger = logging.getLogger(__name__)

# Network trouble worth another attempt; a template or data error is not.
EMAIL_RETRY_ERRORS = (smtplib.SMTPException, ConnectionError, TimeoutError, OSError)
EMAIL_TASK_OPTIONS: dict[str, Any] = {
    "autoretry_for": EMAIL_RETRY_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
}
AUDIT_PURGE_BATCH = 5000


def task_enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Enqueue `task` once the current transaction commits (at once outside a transaction).

    The change that asked for the task is committed by then, so a broker outage must not turn it into
    an error page: the failure is logged and the caller carries on."""

    def enqueue() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except Exception:
            # kombu, redis and (eagerly) the task's own errors: none may undo a committed change.
            logger.exception("task %s could not be run or enqueued; it is lost", task.name)

    transaction.on_commit(enqueue)


@shared_task(name="registered_apps.revocation_requested_email", **EMAIL_TASK_OPTIONS)
def revocation_requested_email(revocation_request_id: int) -> int:
    return emails.revocation_requested_email_send(revocation_request_id)


@shared_task(name="registered_apps.application_revoked_email", **EMAIL_TASK_OPTIONS)
def application_revoked_email(application_id: str, revoked_at: float) -> int:
    return emails.application_revoked_email_send(application_id, revoked_at)


@shared_task(name="registered_apps.password_reset_email", **EMAIL_TASK_OPTIONS)
def password_reset_email(**kwargs: Any) -> int:
    return emails.password_reset_email_send(**kwargs)


def audit_events_purge_old(*, retention_days: int, now: Any = None) -> int:
    """Delete audit events older than `retention_days` (0 keeps everything); returns how many.

    Runs in batches so a first purge of a large table does not hold one long transaction; the purge
    itself is recorded as an audit event."""
    if retention_days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=retention_days)
    deleted = 0
    while True:
        ids = list(AuditEvent.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:AUDIT_PURGE_BATCH])
        if not ids:
            break
        deleted += AuditEvent.objects.filter(pk__in=ids).delete()[0]
    if deleted:
        AuditEvent.objects.create(
            actor_label="system",
            action="audit.purge",
            object_type="auditevent",
            object_id="-",
            object_repr=f"{deleted} audit events older than {retention_days} days",
            details={"deleted": deleted, "before": cutoff.isoformat(), "retention_days": retention_days},
        )
    return deleted


@shared_task(name="registered_apps.audit_events_purge")
def audit_events_purge() -> int:
    return audit_events_purge_old(retention_days=dcr.audit_retention_days)
