"""Issuing and revoking software statements; each writes its audit event in the same transaction."""

import datetime
import enum
import uuid
from typing import Any, Final

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.revocation import Revoked
from core.stamps import revocation_stamp_publish
from registered_apps.environments import environment_by_id
from registered_apps.models import STATEMENT_LIFETIME_DAYS, ApplicationStatus, RegisteredApplication
from registered_apps.selectors import application_channels
from registered_apps.services import Actor, audit_event_record

from .jws import sign_compact
from .keys import signing_key_active, signing_private_key
from .models import KeyPurpose, SoftwareStatement


class ApplicationRevokedError(ValidationError):
    """A statement was asked for an application that is revoked."""


class _ProgrammerDefault(enum.Enum):
    TOKEN = "programmer default"


# The lifetime a caller passes to mean "the programmer's default" (None means "never expires").
PROGRAMMER_DEFAULT: Final = _ProgrammerDefault.TOKEN
Lifetime = int | None | _ProgrammerDefault


def statement_lifetime_check(days: object) -> int | None:
    """A lifetime in days one of STATEMENT_LIFETIME_DAYS, or None (never expires); anything else is a
    ValidationError on `lifetime` naming the choices."""
    if days is None or (isinstance(days, int) and not isinstance(days, bool) and days in STATEMENT_LIFETIME_DAYS):
        return days
    choices = ", ".join(str(choice) for choice in STATEMENT_LIFETIME_DAYS)
    raise ValidationError(
        {"lifetime": gettext("A statement lifetime is none or one of %(choices)s days.") % {"choices": choices}},
        code="invalid_lifetime",
    )


def statement_claims(
    *, application: RegisteredApplication, jti: uuid.UUID, issued_at: int, expires_at: int | None = None
) -> dict[str, Any]:
    """The claims README "Software statements and signing keys" lists (RFC 7591 2.3 and 3.1.1), and `exp`
    (RFC 7519 4.1.4) when the statement has a lifetime. The issuer is the application's environment's."""
    environment = environment_by_id(int(application.environment_id or 0))
    if environment is None:
        raise ValidationError(gettext("The application's environment no longer exists."))
    claims: dict[str, Any] = {
        "iss": environment.issuer,
        "iat": issued_at,
        "jti": str(jti),
        "software_id": str(application.pk),
        "software_version": application.version,
        "client_name": application.name,
        "programmer": application.programmer.slug,
        "channels": [channel.slug for channel in application_channels(application)],
        "platforms": sorted(application.platforms.values_list("code", flat=True)),
        "scope": " ".join(sorted(application.scopes.values_list("code", flat=True))),
        "redirect_uris": list(application.redirect_uris),
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
    }
    if expires_at is not None:
        claims["exp"] = expires_at
    return claims


@transaction.atomic
def software_statement_issue(
    *,
    application: RegisteredApplication,
    actor: Actor,
    ip_address: str | None = None,
    lifetime_days: Lifetime = PROGRAMMER_DEFAULT,
) -> tuple[str, SoftwareStatement]:
    """Sign a new statement for an active application with its environment's active statement key; returns the
    compact JWS (kept nowhere) and its registry row. Earlier statements stay valid.

    `lifetime_days`: None (never expires, the original's statement), one of STATEMENT_LIFETIME_DAYS, or
    PROGRAMMER_DEFAULT (the programmer's `statement_lifetime_days`, set by a TAM). Any other value is a
    ValidationError before anything is written."""
    if lifetime_days is not PROGRAMMER_DEFAULT:
        lifetime_days = statement_lifetime_check(lifetime_days)
    # Locked so that a concurrent revocation cannot slip between the check and the registry row.
    locked = (
        RegisteredApplication.objects.select_for_update(of=("self",))
        .select_related("programmer")
        .get(pk=application.pk)
    )
    if locked.status != ApplicationStatus.ACTIVE:
        raise ApplicationRevokedError(
            f"“{locked}” is revoked; no software statement can be issued for it.", code="application_revoked"
        )
    # Statements are rare and long-lived: read the active key fresh rather than from the hot-path cache,
    # so the recorded kid is the key that is active now.
    key = signing_key_active(KeyPurpose.STATEMENT, environment_id=locked.environment_id)
    if lifetime_days is PROGRAMMER_DEFAULT:
        lifetime_days = locked.programmer.statement_lifetime_days
    now = timezone.now().replace(microsecond=0)
    expires_at = now + datetime.timedelta(days=lifetime_days) if lifetime_days is not None else None
    jti = uuid.uuid4()
    claims = statement_claims(
        application=locked,
        jti=jti,
        issued_at=int(now.timestamp()),
        expires_at=int(expires_at.timestamp()) if expires_at is not None else None,
    )
    token = sign_compact(claims, kid=key.kid, algorithm=key.algorithm, private_key=signing_private_key(key))
    user = actor if isinstance(actor, User) else None
    statement = SoftwareStatement.objects.create(
        jti=jti,
        application=locked,
        kid=key.kid,
        issued_at=now,
        issued_by=user,
        issued_by_label=(actor if isinstance(actor, str) else "")[:255],
        expires_at=expires_at,
    )
    audit_event_record(
        actor=actor,
        action="statement.issue",
        target=statement,
        programmer=locked.programmer,
        ip_address=ip_address,
        details={
            "application": str(locked.pk),
            "jti": str(jti),
            "kid": key.kid,
            "environment": claims["iss"],
            "lifetime_days": lifetime_days,
        },
    )
    return token, statement


@transaction.atomic
def software_statement_revoke(
    *, statement: SoftwareStatement, reason: str, actor: Actor, ip_address: str | None = None
) -> SoftwareStatement:
    """Revoke one statement: it registers no new client, and clients registered with it stop working
    (the oauth layer reads `revoked_at` and the revocation stamp). Revoking twice changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": gettext("Give a reason for the revocation.")})
    locked = (
        SoftwareStatement.objects.select_for_update(of=("self",))
        .select_related("application__programmer")
        .get(pk=statement.pk)
    )
    if locked.revoked_at is not None:
        return locked
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor if isinstance(actor, User) else None
    locked.revocation_reason = reason
    locked.save(update_fields=["revoked_at", "revoked_by", "revocation_reason"])
    revocation_stamp_publish(Revoked.STATEMENT, locked.jti, locked.revoked_at.timestamp())
    audit_event_record(
        actor=actor,
        action="statement.revoke",
        target=locked,
        programmer=locked.application.programmer,
        ip_address=ip_address,
        details={"application": str(locked.application_id), "reason": reason},
    )
    for field in ("revoked_at", "revoked_by_id", "revocation_reason"):
        setattr(statement, field, getattr(locked, field))
    return locked
