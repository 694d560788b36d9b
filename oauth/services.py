"""Every state change of the oauth layer: registering and revoking clients, issuing and revoking
access tokens. Database changes write their audit event in the same transaction."""

import datetime
import secrets
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core import clock
from core.conf import dcr
from core.hot_store import hot_store
from core.hot_store.signal_counts import network_of
from core.random_ids import random_uuid
from core.revocation import Revoked
from core.stamps import client_record_drop_on_commit, revocation_stamp_publish
from registered_apps.models import Programmer
from registered_apps.services import Actor, audit_event_new, audit_event_record

from .bearer import token_verdict_forget
from .grants import StatementGrant
from .hashers import client_secret_encode, client_secret_verify
from .inserts import client_with_audit_insert
from .models import Client, DeniedToken, client_id_generate
from .records import ClientRecord, client_record_forget, client_record_put_on_commit
from .tokens import access_token_claims, jwt_encode
from .usage import usage_day

# RFC 7591 2: the only grant and authentication methods our clients use.
GRANT_TYPES = ("client_credentials",)
SECRET_BYTES = 32  # 256 bits of randomness (README "API walk-through with curl", what `/o/client/*` accepts)


def client_secret_generate() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def registration_access_token_generate() -> str:
    """RFC 7592 3: a bearer credential for the client configuration endpoint, 256 bits from the OS."""
    return secrets.token_urlsafe(SECRET_BYTES)


def client_register(
    *,
    grant: StatementGrant,
    redirect_uri: str | None,
    device_info: dict[str, Any],
    user_agent: str,
    platform: str,
    ip_address: str | None = None,
    foreign_platform: str = "",
) -> tuple[Client, str, str]:
    """RFC 7591 3.2.1: create a client for a verified statement; returns (client, plaintext secret,
    plaintext registration access token).

    The secret is returned this once and stored as a keyed HMAC salted with the client id
    (`oauth.hashers`); the registration access token (RFC 7592 3) the same way with a salt of its own.
    Then the client's record goes to the hot-path store with the registration counted (one round
    trip; for the abuse signals too: the network of `ip_address`, and `foreign_platform`, a platform
    the device named that the application was not made for), so its first token request reads no database."""
    secret = client_secret_generate()
    registration_token = registration_access_token_generate()
    redirect_uris = [redirect_uri] if redirect_uri else list(grant.redirect_uris)
    written_at = clock.wall()
    client_id = client_id_generate()
    client = Client(
        client_id=client_id,
        name=f"{grant.client_name} {grant.software_version}"[:255],
        client_type=Client.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Client.GRANT_CLIENT_CREDENTIALS,
        client_secret=client_secret_encode(secret, salt=client_id),
        hash_client_secret=True,
        redirect_uris=" ".join(redirect_uris),
        registration_source="dcr",
        registered_application_id=uuid.UUID(grant.application_id),
        statement_id=uuid.UUID(grant.statement_jti),
        scopes=list(grant.scopes),
        platform=platform[:64],
        device_info=device_info,
        user_agent=user_agent[:512],
        registration_access_token=client_secret_encode(registration_token),
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
        channels=grant.channels,
        scopes=grant.scopes,
        platform=client.platform,
        environment_id=grant.environment_id,
    )
    # After the insert committed (registration runs in no outer transaction).
    hot_store().client_registered(
        record=record.stored(written_at=written_at),
        day=usage_day(),
        application=record.pack_application(),
        network=network_of(ip_address),
        foreign_platform=foreign_platform,
    )
    return client, secret, registration_token


def client_secret_rehash(*, client_pk: int, secret: str, old_encoded: str, salt: str | None = None) -> str | None:
    """Store a secret that just verified under an old key (or the legacy format) under the current key
    (salted with `salt`: the client id, see `oauth.hashers.client_secret_candidate`).

    Compare-and-set: the row changes only if it still holds `old_encoded`. Returns the new stored
    value, or None when the row holds something else (another worker re-hashed it first, or the
    client is gone). No audit event: the secret is unchanged, only its storage key moves, and after a
    rotation this runs once per active device. `secret` must be the one that matched `old_encoded`."""
    if not client_secret_verify(secret, old_encoded).matches:
        raise ValueError("Only a secret that matches the stored hash can be re-hashed.")
    new_encoded = client_secret_encode(secret, salt=salt)
    updated = Client.objects.filter(pk=client_pk, client_secret=old_encoded).update(client_secret=new_encoded)
    return new_encoded if updated else None


def access_token_issue(
    *, record: ClientRecord, scope: str, signing: tuple[str, str, Any], issuer: str
) -> tuple[str, dict[str, Any]]:
    """RFC 6749 4.4.3 / RFC 9068 2: sign an access token for an authenticated, usable client with
    `signing` = (kid, algorithm, private key) of its environment, whose `issuer` is issuer and
    audience, loaded by the caller before the token was counted.

    No database write: tokens are self-contained and counted in the usage counters (an audit row per
    token would cost a write per request; usage is the record)."""
    kid, algorithm, private_key = signing
    claims = access_token_claims(
        issuer=issuer,
        audience=issuer,
        client_id=record.client_id,
        software_id=record.application_id,
        statement_jti=record.statement_jti,
        programmer=record.programmer,
        channels=list(record.channels),
        scope=scope,
        issued_at=int(clock.wall()),
        lifetime=int(dcr.access_token_ttl),
        jti=random_uuid(),
    )
    return jwt_encode(claims, kid=kid, algorithm=algorithm, private_key=private_key), claims


@transaction.atomic
def client_revoke(*, client: Client, reason: str, actor: Actor, ip_address: str | None = None) -> Client:
    """Revoke a client: its token requests answer `invalid_client` and its access tokens are refused
    on every worker within a second (its stamp, and its record dropped from the store). Revoking twice
    changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": gettext("Give a reason for the revocation.")})
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
    revocation_stamp_publish(Revoked.CLIENT, locked.client_id, locked.revoked_at.timestamp())
    client_record_drop_on_commit(locked.client_id)
    application = locked.registered_application
    audit_event_record(
        actor=actor,
        action="client.revoke",
        target=locked,
        programmer=application.programmer if application is not None else None,
        ip_address=ip_address,
        details={"reason": reason, "software_id": str(locked.registered_application_id or "")},
    )
    transaction.on_commit(lambda: client_record_forget(locked.client_id))
    client.revoked_at, client.revocation_reason = locked.revoked_at, locked.revocation_reason
    return locked


@transaction.atomic
def access_token_revoke(*, record: ClientRecord, claims: dict[str, Any], ip_address: str | None = None) -> DeniedToken:
    """RFC 7009 2.1: the client revokes one of its own access tokens. The denylist row is the truth
    (used while Redis is down); its stamp makes every worker refuse it within a second."""
    jti = str(claims["jti"])
    expires_at = datetime.datetime.fromtimestamp(float(claims["exp"]), tz=datetime.UTC)
    denied, created = DeniedToken.objects.get_or_create(
        jti=jti, defaults={"client_id": record.pk, "expires_at": expires_at}
    )
    if created:
        revocation_stamp_publish(Revoked.TOKEN, jti, clock.wall())
        transaction.on_commit(lambda: token_verdict_forget(jti))
        audit_event_record(
            actor=record.client_id,
            action="token.revoke",
            target=denied,
            programmer=Programmer(pk=record.programmer_id) if record.programmer_id else None,
            ip_address=ip_address,
            details={"client_id": record.client_id, "software_id": record.application_id},
        )
    return denied


@transaction.atomic
def client_configuration_rotate(*, client: Client, ip_address: str | None = None) -> tuple[Client, str, str]:
    """RFC 7592 2.2: the client updated its registration (with its unchanged metadata: the statement
    fixes it). It gets a new secret and a new registration access token; returns (client, secret,
    registration access token), both shown this once.

    The old secret keeps authenticating for `DCR_ROTATED_SECRET_GRACE` seconds (its hash moves to
    `previous_client_secret`; the hot-path record carries both, so the token gate still decides in one
    round trip); the old registration access token is refused at once (its hash is replaced). The
    client is the actor of its own audit event."""
    locked = (
        Client.objects.select_for_update(of=("self",))
        .select_related("registered_application__programmer")
        .get(pk=client.pk)
    )
    secret, registration_token = client_secret_generate(), registration_access_token_generate()
    grace = int(dcr.rotated_secret_grace)
    if grace > 0:
        locked.previous_client_secret = locked.client_secret
        locked.previous_secret_expires_at = timezone.now() + datetime.timedelta(seconds=grace)
    else:
        locked.previous_client_secret, locked.previous_secret_expires_at = "", None
    locked.client_secret = client_secret_encode(secret, salt=locked.client_id)
    locked.registration_access_token = client_secret_encode(registration_token)
    locked.save(
        update_fields=[
            "client_secret",
            "previous_client_secret",
            "previous_secret_expires_at",
            "registration_access_token",
            "updated",
        ]
    )
    application = locked.registered_application
    audit_event_record(
        actor=locked.client_id,
        action="client.rotate_secret",
        target=locked,
        programmer=application.programmer if application is not None else None,
        ip_address=ip_address,
        details={"software_id": str(locked.registered_application_id or ""), "grace_seconds": grace},
    )
    # The new record replaces the store's once this commits (a read-through in flight does not write
    # over it: README "Client records").
    client_record_put_on_commit(locked)
    return locked, secret, registration_token


@transaction.atomic
def client_delete(*, client: Client, actor: Actor, ip_address: str | None = None) -> None:
    """RFC 7592 2.3: remove a client. Its token requests answer `invalid_client` (no row) and its access
    tokens are refused on every worker within a second, as for a revoked client (a client stamp, and its
    record dropped from the store). The usage already counted stays (daily rows per application and
    platform, and the counters the next flush moves); the audit event keeps who, what and when."""
    locked = (
        Client.objects.select_for_update(of=("self",))
        .select_related("registered_application__programmer")
        .get(pk=client.pk)
    )
    application = locked.registered_application
    audit_event_record(
        actor=actor,
        action="client.delete",
        target=locked,
        programmer=application.programmer if application is not None else None,
        ip_address=ip_address,
        details={
            "software_id": str(locked.registered_application_id or ""),
            "statement": str(locked.statement_id or ""),
            "platform": locked.platform,
        },
    )
    revocation_stamp_publish(Revoked.CLIENT, locked.client_id, timezone.now().timestamp())
    client_record_drop_on_commit(locked.client_id)
    locked.delete()
