"""Revocation requests: a programmer's user asks, a TAM approves (the application is revoked with the
request's reason) or dismisses."""

from datetime import UTC

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

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
        raise ValidationError({"reason": gettext("Tell the TAMs why the application should be revoked.")})
    if application.status == ApplicationStatus.REVOKED:
        raise ValidationError({"reason": gettext("This application is already revoked.")})
    if len(reason) > 2000:
        raise ValidationError({"reason": gettext("Keep the reason under 2,000 characters.")})
    # The application's row lock makes a second request (a double click, two tabs) wait for the first and then
    # see it; the partial unique constraint (one pending request per application) backs that up where there is
    # no row lock (SQLite serialises writers instead).
    RegisteredApplication.objects.select_for_update().filter(pk=application.pk).first()
    pending = revocation_request_pending(application)
    if pending is not None:
        raise ValidationError({"reason": revocation_request_pending_message(pending)})
    try:
        with transaction.atomic():
            request = RevocationRequest.objects.create(application=application, reason=reason, requested_by=actor)
    except IntegrityError:
        pending = revocation_request_pending(application)
        if pending is None:
            raise
        raise ValidationError({"reason": revocation_request_pending_message(pending)}) from None
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


def revocation_request_pending(application: RegisteredApplication) -> RevocationRequest | None:
    """The application's pending revocation request (at most one: `one_pending_revocation_request_per_application`)."""
    return (
        RevocationRequest.objects.select_related("requested_by")
        .filter(application=application, state=RevocationRequest.State.PENDING)
        .first()
    )


def revocation_request_pending_message(pending: RevocationRequest) -> str:
    who = pending.requested_by.get_username() if pending.requested_by else "a user since removed"
    at = pending.requested_at.astimezone(UTC)
    when = f"{at:%b} {at.day}, {at:%Y %H:%M} UTC"
    return (
        f"A revocation of this application is already pending: requested by {who} on {when}. "
        "The TAMs review it; there is no need to ask again."
    )


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
