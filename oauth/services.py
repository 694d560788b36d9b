"""Every state change of the oauth layer: registering and revoking clients, issuing and revoking
access tokens. Database changes write their audit event in the same transaction."""

import datetime
import secrets
import time
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from registered_apps.services import Actor, audit_event_new, audit_event_record
from registered_apps.stamps import revocation_stamp_publish
from software_statements.keys import active_signing_material
from software_statements.models import KeyPurpose

from .caches import (
    ClientRecord,
    StatementGrant,
    client_record_forget,
    client_record_from_client,
    client_record_put,
    token_verdict_forget,
)
from .hashers import client_secret_encode, client_secret_verify
from .inserts import client_with_audit_insert
from .models import Client, DeniedToken
from .tokens import access_token_claims, jwt_encode

# RFC 7591 2: the only grant and authentication methods our clients use.
GRANT_TYPES = ("client_credentials",)
SECRET_BYTES = 32  # 256 bits (SPEC: at least 256 bits of randomness)


def client_secret_generate() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def client_id_generate() -> str:
    """40 characters from the OS random source (django-oauth-toolkit's default draws them one by one)."""
    return secrets.token_urlsafe(30)


def client_register(
    *,
    grant: StatementGrant,
    redirect_uri: str | None,
    device_info: dict[str, Any],
    user_agent: str,
    platform: str,
    ip_address: str | None = None,
) -> tuple[Client, str]:
    """RFC 7591 3.2.1: create a client for a verified statement; returns (client, plaintext secret).

    The secret is returned this once and stored as a keyed HMAC (`oauth.hashers`). The new client's
    record is put in this process's cache, so its first token request needs no database read."""
    secret = client_secret_generate()
    redirect_uris = [redirect_uri] if redirect_uri else list(grant.redirect_uris)
    cached_at = time.time()
    client = Client(
        client_id=client_id_generate(),
        name=f"{grant.client_name} {grant.software_version}"[:255],
        client_type=Client.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Client.GRANT_CLIENT_CREDENTIALS,
        client_secret=client_secret_encode(secret),
        hash_client_secret=True,
        redirect_uris=" ".join(redirect_uris),
        registration_source="dcr",
        registered_application_id=uuid.UUID(grant.application_id),
        statement_id=uuid.UUID(grant.statement_jti),
        scopes=list(grant.scopes),
        platform=platform[:64],
        device_info=device_info,
        user_agent=user_agent[:512],
    )
    event = audit_event_new(
        actor=client.client_id,
        action="client.register",
        target=client,
        programmer=grant.programmer,
        ip_address=ip_address,
        details={"software_id": grant.application_id, "statement": grant.statement_jti, "platform": client.platform},
    )
    # One statement on PostgreSQL (the hot path's only write), one transaction elsewhere.
    client_with_audit_insert(client, event)
    record = ClientRecord(
        pk=client.pk,
        client_id=client.client_id,
        secret_encoded=client.client_secret,
        application_id=grant.application_id,
        statement_jti=grant.statement_jti,
        programmer_id=grant.programmer.pk,
        programmer=grant.programmer_slug,
        channels=list(grant.channels),
        scopes=tuple(grant.scopes),
        platform=client.platform,
        grant_types=GRANT_TYPES,
        revoked="",
        cached_at=cached_at,
        expires_at=time.monotonic() + 60.0,
    )
    client_record_put(record)
    return client, secret


def client_secret_rehash(*, client_pk: int, secret: str, old_encoded: str) -> str | None:
    """Store a secret that just verified under an old key (or the legacy format) under the current key.

    Compare-and-set: the row changes only if it still holds `old_encoded`. Returns the new stored
    value, or None when the row holds something else (another worker re-hashed it first, or the
    client is gone). No audit event: the secret is unchanged, only its storage key moves, and after a
    rotation this runs once per active device. `secret` must be the one that matched `old_encoded`."""
    if not client_secret_verify(secret, old_encoded).matches:
        raise ValueError("Only a secret that matches the stored hash can be re-hashed.")
    new_encoded = client_secret_encode(secret)
    updated = Client.objects.filter(pk=client_pk, client_secret=old_encoded).update(client_secret=new_encoded)
    return new_encoded if updated else None


def access_token_issue(*, record: ClientRecord, scope: str) -> tuple[str, dict[str, Any]]:
    """RFC 6749 4.4.3 / RFC 9068 2: sign an access token for an authenticated, usable client.

    No database write: tokens are self-contained and counted in the usage counters (an audit row per
    token would cost a write per request; usage is the record)."""
    kid, algorithm, private_key = active_signing_material(KeyPurpose.ACCESS_TOKEN)
    claims = access_token_claims(
        issuer=settings.DCR_ISSUER,
        audience=settings.DCR_ISSUER,
        client_id=record.client_id,
        software_id=record.application_id,
        statement_jti=record.statement_jti,
        programmer=record.programmer,
        channels=record.channels,
        scope=scope,
        issued_at=int(time.time()),
        lifetime=int(settings.DCR_ACCESS_TOKEN_TTL),
        jti=str(uuid.uuid4()),
    )
    return jwt_encode(claims, kid=kid, algorithm=algorithm, private_key=private_key), claims


LAST_USED_EVERY = 3600.0


def client_last_used_touch(*, record: ClientRecord) -> None:
    """Record that a client was used, at most once an hour per client and process (one UPDATE)."""
    now = time.time()
    if record.last_used_at is not None and now - record.last_used_at < LAST_USED_EVERY:
        return
    record.last_used_at = now
    Client.objects.filter(pk=record.pk).update(last_used_at=timezone.now(), idle_since=None)


@transaction.atomic
def client_revoke(*, client: Client, reason: str, actor: Actor, ip_address: str | None = None) -> Client:
    """Revoke a client: its token requests answer `invalid_client` and its access tokens are refused
    on every worker within a second (stamp "client"). Revoking twice changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give a reason for the revocation."})
    locked = (
        Client.objects.select_for_update(of=("self",))
        .select_related("registered_application__programmer")
        .get(pk=client.pk)
    )
    if locked.revoked_at is not None:
        return locked
    locked.revoked_at = timezone.now()
    locked.revocation_reason = reason
    locked.save(update_fields=["revoked_at", "revocation_reason", "updated"])
    revocation_stamp_publish("client", locked.client_id, locked.revoked_at.timestamp())
    application = locked.registered_application
    audit_event_record(
        actor=actor,
        action="client.revoke",
        target=locked,
        programmer=application.programmer if application is not None else None,
        ip_address=ip_address,
        details={"reason": reason, "software_id": str(locked.registered_application_id or "")},
    )
    client_record_forget(locked.client_id)
    transaction.on_commit(lambda: client_record_forget(locked.client_id))
    client.revoked_at, client.revocation_reason = locked.revoked_at, locked.revocation_reason
    return locked


@transaction.atomic
def access_token_revoke(*, record: ClientRecord, claims: dict[str, Any], ip_address: str | None = None) -> DeniedToken:
    """RFC 7009 2.1: the client revokes one of its own access tokens. The denylist row is the truth
    (used while Redis is down); stamp "token" makes every worker refuse it within a second."""
    jti = str(claims["jti"])
    expires_at = datetime.datetime.fromtimestamp(float(claims["exp"]), tz=datetime.UTC)
    denied, created = DeniedToken.objects.get_or_create(
        jti=jti, defaults={"client_id": record.pk, "expires_at": expires_at}
    )
    if created:
        revocation_stamp_publish("token", jti, time.time())
        transaction.on_commit(lambda: token_verdict_forget(jti))
        audit_event_record(
            actor=record.client_id,
            action="token.revoke",
            target=denied,
            programmer=_programmer_ref(record),
            ip_address=ip_address,
            details={"client_id": record.client_id, "software_id": record.application_id},
        )
    return denied


def _programmer_ref(record: ClientRecord) -> Any:
    from registered_apps.models import Programmer

    return Programmer(pk=record.programmer_id) if record.programmer_id else None


def client_record_reload_from(client: Client) -> ClientRecord:
    """A record for a client object already loaded (admin and tests)."""
    from registered_apps.selectors import application_channels

    application = client.registered_application
    channels = [c.slug for c in application_channels(application)] if application is not None else []
    return client_record_from_client(client, cached_at=time.time(), channels=channels)


def actor_label(actor: Actor) -> str:
    if isinstance(actor, User):
        return actor.get_username()
    return actor or "system"
