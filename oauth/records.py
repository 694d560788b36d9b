"""Client records: what the token, introspection and revocation endpoints need to know about a client.

A record is written to the hot-path store at registration and read through from the database on a
miss (`client_record_load`); only active clients are stored.
"""

import datetime
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from core import clock
from core.hot_store import StoredRecord, hot_store
from core.local_caches import local_cache
from core.revocation import Revoked
from registered_apps.models import ApplicationStatus, RegisteredApplication
from registered_apps.selectors import application_channels
from registered_apps.services import application_quota

from .hashers import client_secret_compact, client_secret_verify
from .models import Client

if TYPE_CHECKING:  # rich is imported by the commands that show progress, not by every web worker
    from core.progress import ProgressMeter

# Unknown and revoked clients are remembered this long (a flood of bad ids stays cheap; a restore is
# seen within a second).
REFUSED_TTL = 1.0
_PACK_VERSION = 1


@dataclass(frozen=True)
class ClientRecord:
    pk: int
    client_id: str
    secret_encoded: str
    application_id: str
    statement_jti: str
    programmer_id: int
    programmer: str
    channels: tuple[str, ...]
    scopes: tuple[str, ...]
    platform: str
    environment_id: int
    revoked: Revoked | None = None
    last_used: float = 0.0
    # RFC 7592 2.2: the stored hash of the secret the last rotation replaced, and until when (wall clock)
    # it still authenticates (`DCR_ROTATED_SECRET_GRACE`); "" and 0 when there is none.
    previous_secret_encoded: str = ""
    previous_secret_expires: float = 0.0
    # The application's quota values as read from the database (`core.quotas`; "" when not read here:
    # the shared stores keep their own copy).
    quota: str = ""

    def previous_secret_matches(self, secret: str, *, now: float) -> bool:
        """The presented secret is the one a rotation replaced, within its grace period."""
        return (
            bool(self.previous_secret_encoded)
            and now < self.previous_secret_expires
            and client_secret_verify(secret, self.previous_secret_encoded).matches
        )

    def __repr__(self) -> str:  # never the secret hash
        return f"ClientRecord({self.client_id!r}, revoked={self.revoked!r})"

    def pack(self) -> str:
        """The client's own part, kept in the store beside the fields the store reads itself (ids, the
        secret's compact hash, scopes); the application's part is kept once per application."""
        return json.dumps([_PACK_VERSION, self.pk, list(self.scopes), self.platform], separators=(",", ":"))

    def pack_application(self) -> str:
        return json.dumps([self.programmer_id, self.programmer, list(self.channels)], separators=(",", ":"))

    @classmethod
    def unpack(
        cls,
        client_id: str,
        packed: str,
        application: str,
        *,
        application_id: str,
        statement_jti: str,
        secret_encoded: str,
        last_used: float,
        environment_id: int,
        previous_secret_encoded: str = "",
        previous_secret_expires: float = 0.0,
    ) -> "ClientRecord":
        _, pk, scopes, platform = json.loads(packed)
        programmer_id, programmer, channels = json.loads(application)
        return cls(
            pk=pk,
            client_id=client_id,
            secret_encoded=secret_encoded,
            application_id=application_id,
            statement_jti=statement_jti,
            programmer_id=programmer_id,
            programmer=programmer,
            channels=tuple(channels),
            scopes=tuple(scopes),
            platform=platform,
            last_used=last_used,
            environment_id=environment_id,
            previous_secret_encoded=previous_secret_encoded,
            previous_secret_expires=previous_secret_expires,
        )

    def stored(self, *, written_at: float) -> StoredRecord:
        return StoredRecord(
            client_id=self.client_id,
            pk=self.pk,
            packed=self.pack(),
            secret_hash=client_secret_compact(self.secret_encoded, self.client_id),
            application_id=self.application_id,
            statement_jti=self.statement_jti,
            platform=self.platform,
            scopes=self.scopes,
            written_at=written_at,
            last_used=self.last_used,
            environment_id=self.environment_id,
            previous_secret_hash=(
                client_secret_compact(self.previous_secret_encoded, self.client_id)
                if self.previous_secret_encoded
                else b""
            ),
            previous_secret_expires=self.previous_secret_expires if self.previous_secret_encoded else 0.0,
            quota=self.quota,
        )


def client_record_from(client: Client, *, channels: tuple[str, ...]) -> ClientRecord:
    application = client.registered_application
    statement = client.statement
    revoked: Revoked | None = None
    if client.revoked_at is not None:
        revoked = Revoked.CLIENT
    elif statement is None or statement.revoked_at is not None:
        revoked = Revoked.STATEMENT
    elif application is None or application.status != ApplicationStatus.ACTIVE:
        revoked = Revoked.APPLICATION
    return ClientRecord(
        pk=client.pk,
        client_id=client.client_id,
        secret_encoded=client.client_secret or "",
        application_id=str(client.registered_application_id or ""),
        statement_jti=str(client.statement_id or ""),
        programmer_id=application.programmer_id if application is not None else 0,
        programmer=application.programmer.slug if application is not None else "",
        channels=channels,
        scopes=tuple(client.scopes or ()),
        platform=client.platform,
        # Never None (the column is NOT NULL); django-stubs types a foreign key with a default as optional.
        environment_id=(application.environment_id or 0) if application is not None else 0,
        revoked=revoked,
        last_used=client.last_used_at.timestamp() if client.last_used_at else 0.0,
        quota=application_quota(application).packed() if application is not None else "",
        **_previous_secret(client.previous_client_secret, client.previous_secret_expires_at),
    )


def _previous_secret(encoded: str, expires_at: datetime.datetime | None) -> dict[str, Any]:
    """The rotated secret's fields of a record: only while its grace period lasts."""
    expires = expires_at.timestamp() if expires_at is not None else 0.0
    if not encoded or expires <= clock.wall():
        return {}
    return {"previous_secret_encoded": encoded, "previous_secret_expires": expires}


_refused = local_cache("refused-client-records", ttl=REFUSED_TTL)
_UNKNOWN = "unknown"


def client_record_load(client_id: str) -> ClientRecord | None:
    """Read a client from the database (the store's miss): an active one is written to the store, an
    unknown or revoked one remembered here for a second."""
    refused = _refused.get(client_id)
    if refused is not None:
        return None if refused == _UNKNOWN else refused
    # Taken before the read: a stamp written after it is newer, so the next use reads again.
    written_at = clock.wall()
    client = (
        Client.objects.select_related("registered_application__programmer", "statement")
        .filter(client_id=client_id)
        .first()
    )
    if client is None:
        _refused.put(client_id, _UNKNOWN)
        return None
    application = client.registered_application
    channels = tuple(c.slug for c in application_channels(application)) if application is not None else ()
    record = client_record_from(client, channels=channels)
    if record.revoked is not None:
        _refused.put(client_id, record)
        hot_store().client_record_drop(client_id)
    else:
        # Only where the store has no record: a change that committed after this read wrote its own
        # record, and the older one read here must not replace it (`RECORD_FILL_SCRIPT`).
        hot_store().client_record_fill(record.stored(written_at=written_at))
        hot_store().application_put(record.application_id, record.pack_application())
    return record


def client_record_put_on_commit(client: Client) -> None:
    """Once the current transaction commits, write the record of `client` (its row as this transaction
    left it, locked) over the store's, so that a read-through in flight, which only writes where no
    record is, cannot leave the older one. Its time is taken now, under the row's lock: a revocation
    committing after this one stamps a later time, and the gate finds this record stale."""
    written_at = clock.wall()
    application = client.registered_application
    channels = tuple(c.slug for c in application_channels(application)) if application is not None else ()
    record = client_record_from(client, channels=channels)
    if record.revoked is not None:
        transaction.on_commit(lambda: hot_store().client_record_drop(client.client_id))
        return
    transaction.on_commit(lambda: hot_store().client_record_put(record.stored(written_at=written_at)))


def application_part(application_id: str) -> str:
    """The application's part of its clients' records, from the database (then kept in the store for
    `core.hot_store.APPLICATION_TTL` seconds): read again that often, so a channel added to an "all
    channels" application reaches its clients' next tokens within that time."""
    application = RegisteredApplication.objects.select_related("programmer").get(pk=application_id)
    channels = [c.slug for c in application_channels(application)]
    packed = json.dumps([application.programmer_id, application.programmer.slug, channels], separators=(",", ":"))
    hot_store().application_put(application_id, packed)
    return packed


def client_record_forget(client_id: str) -> None:
    _refused.pop(client_id)


def usage_day() -> str:
    """Today in UTC, as the usage counters name days."""
    return datetime.datetime.fromtimestamp(clock.wall(), tz=datetime.UTC).date().isoformat()


def client_records_load_all(*, batch_size: int = 5000, progress: "ProgressMeter | None" = None) -> int:
    """Write the records of every active client to the store, in batches (keyset on the primary key);
    returns how many. For after Redis lost its data (a failover without persistence) or a bulk import:
    without it the records come back one read-through at a time. `progress` is counted once per batch.

    Its writes replace the store's records (unlike a read-through's): the database is the truth at the
    batch's read, and this is how an operator repairs records a write missed while Redis was down. A
    rotation committing between a batch's read and its write can still be undone by it (for that one
    client, until its next rotation or the record's expiry); the command runs after a data loss or an
    import, when clients are not rotating, and the window is one batch's read (tens of milliseconds)."""
    store = hot_store()
    active = Client.objects.filter(
        revoked_at__isnull=True,
        statement__revoked_at__isnull=True,
        registered_application__status=ApplicationStatus.ACTIVE,
    )
    applications: dict[str, tuple[int, str, tuple[str, ...]]] = {}
    loaded, after = 0, 0
    if progress is not None:
        progress.set_total(active.count())
    while True:
        written_at = clock.wall()
        rows = list(
            active.filter(pk__gt=after)
            .order_by("pk")
            .values_list(
                "pk",
                "client_id",
                "client_secret",
                "registered_application_id",
                "statement_id",
                "scopes",
                "platform",
                "last_used_at",
                "registered_application__environment_id",
                "previous_client_secret",
                "previous_secret_expires_at",
            )[:batch_size]
        )
        if not rows:
            return loaded
        records = []
        for row in rows:
            (pk, client_id, secret, application_id, statement_id, scopes, platform, last_used_at, environment_id) = row[
                :9
            ]
            application_key = str(application_id)
            if application_key not in applications:
                part = json.loads(application_part(application_key))
                applications[application_key] = (part[0], part[1], tuple(part[2]))
            programmer_id, programmer, channels = applications[application_key]
            record = ClientRecord(
                pk=pk,
                client_id=client_id,
                secret_encoded=secret or "",
                application_id=application_key,
                statement_jti=str(statement_id),
                programmer_id=programmer_id,
                programmer=programmer,
                channels=channels,
                scopes=tuple(scopes or ()),
                platform=platform,
                last_used=last_used_at.timestamp() if last_used_at else 0.0,
                environment_id=environment_id,
                **_previous_secret(row[9], row[10]),
            )
            records.append(record.stored(written_at=written_at))
        store.client_records_put(records)
        loaded += len(records)
        after = rows[-1][0]
        if progress is not None:
            progress.advance(len(records))
