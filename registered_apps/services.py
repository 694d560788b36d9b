"""Every state change of registered_apps; each writes its audit event in the same transaction."""

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from core.revocation import Revoked
from core.stamps import revocation_stamp_publish

from .models import (
    Access,
    ApplicationLevel,
    ApplicationStatus,
    AuditEvent,
    Channel,
    ChannelDomain,
    CustomScheme,
    Membership,
    Platform,
    Programmer,
    RegisteredApplication,
    RevocationRequest,
    Scope,
)
from .tasks import application_revoked_email, revocation_requested_email, task_enqueue_on_commit

# A person acting (a user), or a label: a client id, "command:<name>", "system".
Actor = User | str | None


def audit_event_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model,
    programmer: Programmer | None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event. Call it inside the transaction of the change it records."""
    event = audit_event_new(
        actor=actor, action=action, target=target, programmer=programmer, ip_address=ip_address, details=details
    )
    event.save(force_insert=True)
    return event


def audit_event_new(
    *,
    actor: Actor,
    action: str,
    target: models.Model,
    programmer: Programmer | None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """An unsaved audit event, for a caller that writes it together with its target in one statement."""
    user = actor if isinstance(actor, User) else None
    label = actor if isinstance(actor, str) else ""
    return AuditEvent(
        actor_user=user,
        actor_label=label[:255],
        action=action,
        object_type=target._meta.model_name or type(target).__name__.lower(),
        object_id=str(target.pk),
        object_repr=str(target)[:255],
        programmer=programmer,
        ip_address=ip_address,
        details=details or {},
    )


# --- Programmers, channels, domains, memberships --------------------------------------------------


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
    previous = Programmer.objects.values_list("name", flat=True).get(pk=programmer.pk)
    programmer.name = name
    programmer.full_clean()
    if previous != name:
        programmer.save(update_fields=["name"])
        audit_event_record(
            actor=actor,
            action="programmer.change",
            target=programmer,
            programmer=programmer,
            ip_address=ip_address,
            details={"name": [previous, name]},
        )
    return programmer


@transaction.atomic
def channel_rename(*, channel: Channel, name: str, actor: Actor, ip_address: str | None = None) -> Channel:
    """Change the display name (the slug is the requestor id and never changes)."""
    previous = Channel.objects.values_list("name", flat=True).get(pk=channel.pk)
    channel.name = name
    channel.full_clean()
    if previous != name:
        channel.save(update_fields=["name"])
        audit_event_record(
            actor=actor,
            action="channel.change",
            target=channel,
            programmer=channel.programmer,
            ip_address=ip_address,
            details={"name": [previous, name]},
        )
    return channel


@transaction.atomic
def channel_create(
    *, programmer: Programmer, slug: str, name: str, actor: Actor, ip_address: str | None = None
) -> Channel:
    """Create a channel and its first generated custom scheme."""
    channel = Channel(programmer=programmer, slug=slug, name=name or slug)
    channel.full_clean()
    channel.save()
    scheme = CustomScheme.objects.create(channel=channel)
    audit_event_record(
        actor=actor,
        action="channel.create",
        target=channel,
        programmer=programmer,
        ip_address=ip_address,
        details={"slug": slug, "custom_scheme": scheme.scheme},
    )
    return channel


@transaction.atomic
def custom_scheme_create(*, channel: Channel, actor: Actor, ip_address: str | None = None) -> CustomScheme:
    scheme = CustomScheme.objects.create(channel=channel)
    audit_event_record(
        actor=actor,
        action="custom_scheme.create",
        target=scheme,
        programmer=channel.programmer,
        ip_address=ip_address,
        details={"channel": channel.slug},
    )
    return scheme


def channel_domain_host_clean(host: str) -> str:
    """The normalised host name (lowercase, no trailing dot), or a ValidationError on `host`."""
    return _validate_host(host)


def _validate_host(host: str) -> str:
    host = (host or "").strip().lower().rstrip(".")
    labels = host.split(".")
    if (
        not host
        or len(host) > 253
        or len(labels) < 2
        or any(not label or len(label) > 63 or label.startswith("-") or label.endswith("-") for label in labels)
        or any(not all(ch.isalnum() or ch == "-" for ch in label) for label in labels)
    ):
        raise ValidationError({"host": f"“{host}” is not a valid host name."})
    return host


@transaction.atomic
def channel_domain_add(*, channel: Channel, host: str, actor: Actor, ip_address: str | None = None) -> ChannelDomain:
    host = _validate_host(host)
    domain, created = ChannelDomain.objects.get_or_create(channel=channel, host=host)
    if created:
        audit_event_record(
            actor=actor,
            action="domain.create",
            target=domain,
            programmer=channel.programmer,
            ip_address=ip_address,
            details={"channel": channel.slug, "host": host},
        )
    return domain


@transaction.atomic
def membership_set(
    *,
    user: User,
    programmer: Programmer,
    access: str,
    channels: Sequence[Channel] = (),
    actor: Actor,
    ip_address: str | None = None,
) -> Membership:
    """Create or replace a user's membership of a programmer."""
    if access not in Access.values:
        raise ValidationError({"access": f"Access must be one of: {', '.join(Access.values)}."})
    foreign = [c.slug for c in channels if c.programmer_id != programmer.pk]
    if foreign:
        raise ValidationError({"channels": f"Channels {', '.join(foreign)} do not belong to {programmer.slug}."})
    membership, _ = Membership.objects.update_or_create(user=user, programmer=programmer, defaults={"access": access})
    membership.channels.set(channels)
    audit_event_record(
        actor=actor,
        action="membership.set",
        target=membership,
        programmer=programmer,
        ip_address=ip_address,
        details={"user": user.get_username(), "access": access, "channels": [c.slug for c in channels]},
    )
    return membership


@transaction.atomic
def channel_domain_remove(*, domain: ChannelDomain, actor: Actor, ip_address: str | None = None) -> None:
    """Remove a domain no application uses (an application's configuration never changes)."""
    users = list(domain.applications.values_list("name", "version")[:5])
    if users:
        names = ", ".join(f"{name} {version}" for name, version in users)
        raise ValidationError(
            {"host": f"{domain.host} is used by registered applications ({names}); revoke them instead."}
        )
    channel = domain.channel
    audit_event_record(
        actor=actor,
        action="domain.delete",
        target=domain,
        programmer=channel.programmer,
        ip_address=ip_address,
        details={"channel": channel.slug, "host": domain.host},
    )
    domain.delete()


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Actor, ip_address: str | None = None) -> None:
    audit_event_record(
        actor=actor,
        action="membership.delete",
        target=membership,
        programmer=membership.programmer,
        ip_address=ip_address,
        details={"user": membership.user.get_username(), "access": membership.access},
    )
    membership.delete()


# --- Registered applications ----------------------------------------------------------------------


def _redirect_uri_errors(uri: str, schemes: set[str], hosts: set[str]) -> str | None:
    if not isinstance(uri, str) or not uri or len(uri) > 2000 or any(ch.isspace() for ch in uri):
        return f"“{uri}” is not a valid redirect URI."
    try:
        parts = urlsplit(uri)
    except ValueError:
        return f"“{uri}” is not a valid redirect URI."
    if parts.fragment:
        return f"“{uri}”: redirect URIs must not contain a fragment."
    if parts.scheme == "https":
        if (parts.hostname or "") in hosts and not parts.username and not parts.password:
            return None
        return f"“{uri}”: an https redirect URI must use one of the application's domains."
    # Not urlsplit's scheme: it lowercases it and stops at "_", and generated custom schemes
    # (`adbe.u-` + url-safe characters) may contain both. Mobile platforms match schemes
    # case-insensitively, so we compare that way too.
    prefix, separator, _rest = uri.partition("://")
    if separator and prefix.lower() in {scheme.lower() for scheme in schemes}:
        return None
    return (
        f"“{uri}” must use a custom scheme of the application's channels (scheme://...) or https on one of its domains."
    )


def registered_application_clean(
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
) -> dict[str, Any]:
    """Check a new application's configuration; returns the resolved objects or raises a
    ValidationError whose message dict names each offending field."""
    errors: dict[str, list[str]] = {}

    def error(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    name = (name or "").strip()
    version = (version or "").strip() or "1.0.0"
    if not name:
        error("name", "Give the application a name.")
    elif len(name) > 200:
        error("name", "The name is longer than 200 characters.")
    if len(version) > 32 or any(ch.isspace() for ch in version):
        error("version", "The version must be at most 32 characters, without spaces.")

    covered: list[Channel] = []
    if level == ApplicationLevel.CHANNEL:
        if channel is None:
            error("channel", "A channel-level application needs its channel.")
        elif channel.programmer_id != programmer.pk:
            error("channel", f"Channel {channel.slug} does not belong to {programmer.slug}.")
        else:
            covered = [channel]
        if all_channels or channels:
            error("channels", "A channel-level application covers exactly its own channel.")
    elif level == ApplicationLevel.PROGRAMMER:
        if channel is not None:
            error("channel", "A programmer-level application has no single channel; choose channels instead.")
        if all_channels:
            if channels:
                error("channels", "Choose either all channels or a subset, not both.")
            covered = list(programmer.channels.all())
        elif not channels:
            error("channels", "Choose all channels or at least one channel.")
        else:
            foreign = [c.slug for c in channels if c.programmer_id != programmer.pk]
            if foreign:
                error("channels", f"Channels {', '.join(foreign)} do not belong to {programmer.slug}.")
            covered = list({c.pk: c for c in channels}.values())
    else:
        error("level", "The level must be “programmer” or “channel”.")

    platform_codes = list(dict.fromkeys(platforms))
    platform_objects = list(Platform.objects.filter(code__in=platform_codes, active=True))
    if not platform_codes:
        error("platforms", "Choose at least one platform.")
    missing = sorted(set(platform_codes) - {p.code for p in platform_objects})
    if missing:
        error("platforms", f"Unknown or retired platform: {', '.join(map(str, missing))}.")

    scope_codes = list(dict.fromkeys(scopes))
    scope_objects = list(Scope.objects.filter(code__in=scope_codes, active=True))
    if not scope_codes:
        error("scopes", "Choose at least one scope.")
    missing = sorted(set(scope_codes) - {s.code for s in scope_objects})
    if missing:
        error("scopes", f"Unknown or retired scope: {', '.join(map(str, missing))}.")

    channel_ids = [c.pk for c in covered]
    hosts = list(dict.fromkeys(h.strip().lower() for h in domains))
    domain_objects = list(ChannelDomain.objects.filter(channel_id__in=channel_ids, host__in=hosts))
    found_hosts = {d.host for d in domain_objects}
    outside = [h for h in hosts if h not in found_hosts]
    if outside:
        error("domains", f"Domains not owned by the application's channels: {', '.join(outside)}.")
    if "web" in platform_codes and not hosts:
        error("domains", "The web platform needs at least one domain.")

    schemes = set(CustomScheme.objects.filter(channel_id__in=channel_ids).values_list("scheme", flat=True))
    uris = list(dict.fromkeys(redirect_uris))
    for uri in uris:
        message = _redirect_uri_errors(uri, schemes, found_hosts)
        if message:
            error("redirect_uris", message)

    if (
        not errors.get("name")
        and RegisteredApplication.objects.filter(programmer=programmer, name=name, version=version).exists()
    ):
        error("version", f"{programmer.name} already has an application named “{name}” at version {version}.")

    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "version": version,
        "platforms": platform_objects,
        "scopes": scope_objects,
        "domains": domain_objects,
        "redirect_uris": uris,
        "channels": covered,
    }


@transaction.atomic
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
    actor: Actor,
    ip_address: str | None = None,
) -> RegisteredApplication:
    """Create an application after `registered_application_clean`; its configuration is fixed from now on."""
    clean = registered_application_clean(
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
    )
    try:
        # A savepoint, so that losing a race on the unique name and version reads as the same
        # validation error as the check above, and leaves the caller's transaction usable.
        with transaction.atomic():
            application = RegisteredApplication.objects.create(
                programmer=programmer,
                level=level,
                channel=channel if level == ApplicationLevel.CHANNEL else None,
                all_channels=bool(all_channels) and level == ApplicationLevel.PROGRAMMER,
                redirect_uris=clean["redirect_uris"],
                name=clean["name"],
                version=clean["version"],
                created_by=actor if isinstance(actor, User) else None,
            )
    except IntegrityError as exc:
        if RegisteredApplication.objects.filter(
            programmer=programmer, name=clean["name"], version=clean["version"]
        ).exists():
            raise ValidationError(
                {
                    "version": f"{programmer.name} already has an application named “{clean['name']}” at version "
                    f"{clean['version']}."
                }
            ) from exc
        raise
    if level == ApplicationLevel.PROGRAMMER and not all_channels:
        application.channels.set(clean["channels"])
    application.platforms.set(clean["platforms"])
    application.scopes.set(clean["scopes"])
    application.domains.set(clean["domains"])
    audit_event_record(
        actor=actor,
        action="application.create",
        target=application,
        programmer=programmer,
        ip_address=ip_address,
        details={
            "level": level,
            "all_channels": application.all_channels,
            "channels": sorted(c.slug for c in clean["channels"]),
            "platforms": sorted(p.code for p in clean["platforms"]),
            "scopes": sorted(s.code for s in clean["scopes"]),
            "domains": sorted(d.host for d in clean["domains"]),
            "redirect_uris": clean["redirect_uris"],
            "version": application.version,
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
        raise ValidationError({"reason": "Give a reason for the revocation."})
    locked = RegisteredApplication.objects.select_for_update().get(pk=application.pk)
    if locked.status == ApplicationStatus.REVOKED:
        return locked
    locked.status = ApplicationStatus.REVOKED
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor if isinstance(actor, User) else None
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
    for field in ("status", "revoked_at", "revoked_by_id", "revocation_reason"):
        setattr(target, field, getattr(source, field))


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
    locked.state = RevocationRequest.State.DISMISSED
    locked.decided_by = actor if isinstance(actor, User) else None
    locked.decided_at = timezone.now()
    locked.save(update_fields=["state", "decided_by", "decided_at"])
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
        locked.state = RevocationRequest.State.APPROVED
        locked.decided_by = actor if isinstance(actor, User) else None
        locked.decided_at = timezone.now()
        locked.save(update_fields=["state", "decided_by", "decided_at"])
        audit_event_record(
            actor=actor,
            action="application.revocation_request_approve",
            target=application,
            programmer=application.programmer,
            ip_address=ip_address,
            details={"request": locked.pk, "note": "the application was already revoked"},
        )
    return locked


# --- Catalogs -------------------------------------------------------------------------------------


@transaction.atomic
def catalog_entry_save(
    *, entry: Platform | Scope, actor: Actor, ip_address: str | None = None, changed: Sequence[str] = ()
) -> Platform | Scope:
    """Add a platform or scope, or change its name or active flag (codes never change: applications
    and issued statements refer to them)."""
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


# --- Users ----------------------------------------------------------------------------------------


@transaction.atomic
def dashboard_user_set(
    *,
    username: str,
    email: str = "",
    password: str | None = None,
    superuser: bool | None = None,
    actor: Actor,
    ip_address: str | None = None,
) -> tuple[User, bool]:
    """Create a dashboard user or update its email; set the password when one is given.

    The password is validated with the project's password validators and never recorded."""
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": "Give a username."})
    user = User.objects.filter(username=username).first()
    created = user is None
    if user is None:
        user = User(username=username, email=email)
        user.full_clean(exclude=["password"])
    elif email:
        user.email = email
        user.full_clean(exclude=["password"])
    if password is not None:
        password_validation.validate_password(password, user)
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    if superuser is not None:
        # TAMs are Django staff with every permission.
        user.is_staff = user.is_superuser = superuser
    user.save()
    audit_event_record(
        actor=actor,
        action="user.create" if created else "user.change",
        target=user,
        programmer=None,
        ip_address=ip_address,
        details={
            "username": username,
            "email": user.email,
            "password_set": password is not None,
            "superuser": user.is_superuser,
        },
    )
    return user, created


def user_get_or_create(*, username: str, email: str = "") -> tuple[User, bool]:
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if email and user.email != email:
        user.email = email
        user.save(update_fields=["email"])
    return user, created
