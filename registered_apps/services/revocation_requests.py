"""Revocation requests: a programmer's user asks, a TAM approves (the application is revoked with the
request's reason) or dismisses."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import ApplicationStatus, RegisteredApplication, RevocationRequest
from ..tasks import revocation_requested_email, task_enqueue_on_commit
from .applications import registered_application_revoke
from .audit import Actor, actor_user, audit_event_record


@transaction.atomic
def revocation_request_create(
    *, application: RegisteredApplication, reason: str, actor: User, ip_address: str | None = None
) -> RevocationRequest:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Tell the TAMs why the application should be revoked."})
    if application.status == ApplicationStatus.REVOKED:
        raise ValidationError({"reason": "This application is already revoked."})
    if len(reason) > 2000:
        raise ValidationError({"reason": "Keep the reason under 2,000 characters."})
    request = RevocationRequest.objects.create(application=application, reason=reason, requested_by=actor)
    audit_event_record(
        actor=actor,
        action="application.revocation_request",
        target=application,
        programmer=application.programmer,
        ip_address=ip_address,
        details={"reason": reason},
    )
    task_enqueue_on_commit(revocation_requested_email, request.pk)
    return request


@transaction.atomic
def revocation_request_dismiss(
    *, revocation_request: RevocationRequest, actor: Actor, ip_address: str | None = None
) -> RevocationRequest:
    locked = RevocationRequest.objects.select_for_update().get(pk=revocation_request.pk)
    if locked.state != RevocationRequest.State.PENDING:
        return locked
    _decide(locked, RevocationRequest.State.DISMISSED, actor)
    audit_event_record(
        actor=actor,
        action="application.revocation_request_dismiss",
        target=locked.application,
        programmer=locked.application.programmer,
        ip_address=ip_address,
    )
    return locked


@transaction.atomic
def revocation_request_approve(
    *, revocation_request: RevocationRequest, actor: Actor, ip_address: str | None = None
) -> RevocationRequest:
    """Approve a pending request: revoke its application with the request's reason.

    When the application was revoked meanwhile, the request is marked approved without a second
    revocation. A decided request stays as it is."""
    locked = RevocationRequest.objects.select_for_update().get(pk=revocation_request.pk)
    if locked.state != RevocationRequest.State.PENDING:
        return locked
    application = locked.application
    if application.status == ApplicationStatus.ACTIVE:
        # The revoke service marks every pending request of the application approved.
        registered_application_revoke(
            application=application,
            reason=locked.reason,
            actor=actor,
            ip_address=ip_address,
        )
        locked.refresh_from_db()
    if locked.state == RevocationRequest.State.PENDING:
        _decide(locked, RevocationRequest.State.APPROVED, actor)
        audit_event_record(
            actor=actor,
            action="application.revocation_request_approve",
            target=application,
            programmer=application.programmer,
            ip_address=ip_address,
            details={"request": locked.pk, "note": "the application was already revoked"},
        )
    return locked


def _decide(revocation_request: RevocationRequest, state: str, actor: Actor) -> None:
    revocation_request.state = state
    revocation_request.decided_by = actor_user(actor)
    revocation_request.decided_at = timezone.now()
    revocation_request.save(update_fields=["state", "decided_by", "decided_at"])
