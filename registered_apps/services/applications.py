"""Registered applications: created from an `ApplicationSpec` that passed every rule (its configuration
is fixed from then on: a new version is a new application), revoked with a reason, restored."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.revocation import Revoked
from core.stamps import revocation_stamp_publish

from ..models import (
    ApplicationLevel,
    ApplicationStatus,
    Channel,
    Environment,
    Programmer,
    RegisteredApplication,
    RevocationRequest,
)
from ..tasks import application_revoked_email, task_enqueue_on_commit
from .application_rules import ApplicationSpec, registered_application_check, registered_application_taken_message
from .audit import Actor, actor_user, audit_event_record


def registered_application_create(
    *,
    programmer: Programmer,
    level: str,
    channel: Channel | None = None,
    all_channels: bool = False,
    channels: Sequence[Channel] = (),
    platforms: Sequence[str],
    scopes: Sequence[str],
    domains: Sequence[str] = (),
    redirect_uris: Sequence[str] = (),
    name: str,
    version: str = "1.0.0",
    environment: Environment | None = None,
    actor: Actor,
    ip_address: str | None = None,
) -> RegisteredApplication:
    """`registered_application_create_from` with the spec's parts as arguments (commands, seeds, tests)."""
    spec = ApplicationSpec(
        programmer=programmer,
        level=level,
        channel=channel,
        all_channels=all_channels,
        channels=channels,
        platforms=platforms,
        scopes=scopes,
        domains=domains,
        redirect_uris=redirect_uris,
        name=name,
        version=version,
        environment=environment,
    )
    return registered_application_create_from(spec=spec, actor=actor, ip_address=ip_address)


@transaction.atomic
def registered_application_create_from(
    *, spec: ApplicationSpec, actor: Actor, ip_address: str | None = None
) -> RegisteredApplication:
    """Create an application after `registered_application_check`; its configuration is fixed from now on."""
    rows = registered_application_check(spec)
    try:
        # A savepoint, so that losing a race on the unique name and version reads as the same
        # validation error as the check above, and leaves the caller's transaction usable.
        with transaction.atomic():
            application = RegisteredApplication.objects.create(
                programmer=spec.programmer,
                environment_id=spec.environment_id,
                level=spec.level,
                channel=spec.channel if spec.level == ApplicationLevel.CHANNEL else None,
                all_channels=bool(spec.all_channels) and spec.level == ApplicationLevel.PROGRAMMER,
                redirect_uris=spec.redirect_uris,
                name=spec.name,
                version=spec.version,
                created_by=actor_user(actor),
            )
    except IntegrityError as exc:
        if RegisteredApplication.objects.filter(
            programmer=spec.programmer, environment_id=spec.environment_id, name=spec.name, version=spec.version
        ).exists():
            raise ValidationError({"version": registered_application_taken_message(spec)}) from exc
        raise
    if spec.level == ApplicationLevel.PROGRAMMER and not spec.all_channels:
        application.channels.set(rows.channels)
    application.platforms.set(rows.platforms)
    application.scopes.set(rows.scopes)
    application.domains.set(rows.domains)
    audit_event_record(
        actor=actor,
        action="application.create",
        target=application,
        programmer=spec.programmer,
        ip_address=ip_address,
        details={
            "level": spec.level,
            "all_channels": application.all_channels,
            "channels": sorted(c.slug for c in rows.channels),
            "platforms": sorted(p.code for p in rows.platforms),
            "scopes": sorted(s.code for s in rows.scopes),
            "domains": sorted(d.host for d in rows.domains),
            "redirect_uris": spec.redirect_uris,
            "version": application.version,
            "environment": spec.environment_id,
        },
    )
    return application


@transaction.atomic
def registered_application_revoke(
    *, application: RegisteredApplication, reason: str, actor: Actor, ip_address: str | None = None
) -> RegisteredApplication:
    """Revoke an application: its statements and clients stop working (the oauth layer reads
    `status` and `revoked_at`). Revoking a revoked application changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": gettext("Give a reason for the revocation.")})
    locked = RegisteredApplication.objects.select_for_update().get(pk=application.pk)
    if locked.status == ApplicationStatus.REVOKED:
        return locked
    locked.status = ApplicationStatus.REVOKED
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor_user(actor)
    locked.revocation_reason = reason
    locked.save(update_fields=["status", "revoked_at", "revoked_by", "revocation_reason"])
    RevocationRequest.objects.filter(application=locked, state=RevocationRequest.State.PENDING).update(
        state=RevocationRequest.State.APPROVED,
        decided_by=locked.revoked_by,
        decided_at=locked.revoked_at,
    )
    revocation_stamp_publish(Revoked.APPLICATION, locked.pk, locked.revoked_at.timestamp())
    audit_event_record(
        actor=actor,
        action="application.revoke",
        target=locked,
        programmer=locked.programmer,
        ip_address=ip_address,
        details={"reason": reason},
    )
    task_enqueue_on_commit(application_revoked_email, str(locked.pk), locked.revoked_at.timestamp())
    _copy_state(locked, application)
    return locked


@transaction.atomic
def registered_application_restore(
    *, application: RegisteredApplication, actor: Actor, ip_address: str | None = None
) -> RegisteredApplication:
    """Make a revoked application active again. Tokens issued before the revocation stay dead."""
    locked = RegisteredApplication.objects.select_for_update().get(pk=application.pk)
    if locked.status == ApplicationStatus.ACTIVE:
        return locked
    previous = {
        "revoked_at": locked.revoked_at.isoformat() if locked.revoked_at else None,
        "reason": locked.revocation_reason,
    }
    locked.status = ApplicationStatus.ACTIVE
    locked.revoked_at = None
    locked.revoked_by = None
    locked.revocation_reason = ""
    locked.save(update_fields=["status", "revoked_at", "revoked_by", "revocation_reason"])
    audit_event_record(
        actor=actor,
        action="application.restore",
        target=locked,
        programmer=locked.programmer,
        ip_address=ip_address,
        details=previous,
    )
    _copy_state(locked, application)
    return locked


def _copy_state(source: RegisteredApplication, target: RegisteredApplication) -> None:
    """The caller's instance follows the locked row it passed in."""
    for field in ("status", "revoked_at", "revoked_by_id", "revocation_reason"):
        setattr(target, field, getattr(source, field))
