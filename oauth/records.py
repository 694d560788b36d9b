"""Client records: what the token, introspection and revocation endpoints need to know about a client.

A record is written to the hot-path store at registration and read through from the database on a
miss (`client_record_load`); only active clients are stored.
"""

import datetime
import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.db import connections, router, transaction

from core import clock, process_state
from core.hot_store import StoredRecord, hot_store
from core.local_caches import local_cache
from core.quotas import Quota
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


def _revoked(*, client_revoked: bool, statement_usable: bool, application_status: str | None) -> Revoked | None:
    """What stops a client: itself, its statement (or none), its application (or none, or not active)."""
    if client_revoked:
        return Revoked.CLIENT
    if not statement_usable:
        return Revoked.STATEMENT
    if application_status != ApplicationStatus.ACTIVE:
        return Revoked.APPLICATION
    return None


def client_record_from(client: Client, *, channels: tuple[str, ...]) -> ClientRecord:
    application = client.registered_application
    statement = client.statement
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
        revoked=_revoked(
            client_revoked=client.revoked_at is not None,
            statement_usable=statement is not None and statement.revoked_at is None,
            application_status=application.status if application is not None else None,
        ),
        last_used=client.last_used_at.timestamp() if client.last_used_at else 0.0,
        quota=_quota_packed(application),
        **_previous_secret(client.previous_client_secret, client.previous_secret_expires_at),
    )


def _quota_packed(application: RegisteredApplication | None) -> str:
    return application_quota(application).packed() if application is not None else ""


def _previous_secret(encoded: str, expires_at: datetime.datetime | None) -> dict[str, Any]:
    """The rotated secret's fields of a record: only while its grace period lasts."""
    expires = expires_at.timestamp() if expires_at is not None else 0.0
    if not encoded or expires <= clock.wall():
        return {}
    return {"previous_secret_encoded": encoded, "previous_secret_expires": expires}


_refused = local_cache("refused-client-records", ttl=REFUSED_TTL)
_UNKNOWN = "unknown"

# What a read-through reads of a client, its statement and its application (one row, LEFT JOINs).
_ROW = (
    "pk",
    "client_id",
    "client_secret",
    "registered_application_id",
    "statement_id",
    "scopes",
    "platform",
    "last_used_at",
    "revoked_at",
    "previous_client_secret",
    "previous_secret_expires_at",
    "statement__revoked_at",
    "registered_application__status",
    "registered_application__environment_id",
    "registered_application__programmer_id",
    "registered_application__programmer__slug",
    "registered_application__quota_tokens_per_hour",
    "registered_application__quota_tokens_per_day",
    "registered_application__quota_registrations_per_hour",
)
_MARK = "\x00client-id\x00"


@dataclass(frozen=True)
class _RowQuery:
    sql: str
    params: tuple[Any, ...]
    mark: int
    # (column index, the fields' converters, their expression) as the compiler applies them.
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]


@process_state.memoized("client-record-query", maxsize=None)
def _row_query(alias: str) -> _RowQuery:
    """The read-through's query, compiled by the ORM once per process: compiling it (a select of four
    joined tables) cost more CPU than everything else in a read-through together."""
    compiler = Client.objects.using(alias).filter(client_id=_MARK).values_list(*_ROW).query.get_compiler(alias)
    sql, params = compiler.as_sql()
    converters = compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]])
    return _RowQuery(
        sql=sql,
        params=tuple(params),
        mark=list(params).index(_MARK),
        converters=tuple((index, tuple(found), expression) for index, (found, expression) in converters.items()),
    )


def _client_row(client_id: str) -> dict[str, Any] | None:
    """The client's row (`_ROW`) as the ORM's values_list() would give it, or None."""
    alias = router.db_for_read(Client)
    query = _row_query(alias)
    params = list(query.params)
    params[query.mark] = client_id
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(query.sql, params)
        found = cursor.fetchone()
    if found is None:
        return None
    row = list(found)
    for index, converters, expression in query.converters:
        for converter in converters:
            row[index] = converter(row[index], expression, connection)
    return dict(zip(_ROW, row, strict=True))


def _record_from_row(row: dict[str, Any]) -> ClientRecord:
    application_id = row["registered_application_id"]
    revoked = _revoked(
        client_revoked=row["revoked_at"] is not None,
        statement_usable=row["statement_id"] is not None and row["statement__revoked_at"] is None,
        application_status=row["registered_application__status"],
    )
    channels: tuple[str, ...] = ()
    if revoked is None:
        channels = tuple(json.loads(application_part(str(application_id)))[2])
    last_used_at = row["last_used_at"]
    return ClientRecord(
        pk=row["pk"],
        client_id=row["client_id"],
        secret_encoded=row["client_secret"] or "",
        application_id=str(application_id or ""),
        statement_jti=str(row["statement_id"] or ""),
        programmer_id=row["registered_application__programmer_id"] or 0,
        programmer=row["registered_application__programmer__slug"] or "",
        channels=channels,
        scopes=tuple(row["scopes"] or ()),
        platform=row["platform"],
        environment_id=row["registered_application__environment_id"] or 0,
        revoked=revoked,
        last_used=last_used_at.timestamp() if last_used_at else 0.0,
        quota=Quota(
            tokens_per_hour=row["registered_application__quota_tokens_per_hour"],
            tokens_per_day=row["registered_application__quota_tokens_per_day"],
            registrations_per_hour=row["registered_application__quota_registrations_per_hour"],
        ).packed(),
        **_previous_secret(row["previous_client_secret"], row["previous_secret_expires_at"]),
    )


def client_record_read(client_id: str) -> tuple[ClientRecord, float | None] | None:
    """Read a client from the database (the store's miss): None for an unknown one, else the record and
    the time to write it to the store with (`client_record_fill`), None for a revoked one (dropped from
    the store). Unknown and revoked clients are remembered here for a second. One query
    (`_row_query`); the channels come from its application's part (`application_part`)."""
    refused = _refused.get(client_id)
    if refused is not None:
        return None if refused == _UNKNOWN else (refused, None)
    # Taken before the read: a stamp written after it is newer, so the next use reads again.
    written_at = clock.wall()
    row = _client_row(client_id)
    if row is None:
        _refused.put(client_id, _UNKNOWN)
        return None
    record = _record_from_row(row)
    if record.revoked is not None:
        _refused.put(client_id, record)
        hot_store().client_record_drop(client_id)
        return record, None
    return record, written_at


def client_record_fill(record: ClientRecord, *, written_at: float, count_day: str | None = None) -> ClientRecord:
    """Write a record read through (`client_record_read`) to the store, only where the store has no
    record: a change that committed after the read wrote its own record, and the older one read here
    must not replace it (`RECORD_FILL_SCRIPT`). With `count_day`, a token issued to the client is
    counted in the same call (`client_token_counted`'s count)."""
    last_used = hot_store().client_record_fill(record.stored(written_at=written_at), count_day=count_day)
    return replace(record, last_used=last_used) if count_day is not None else record


def client_record_load(client_id: str) -> ClientRecord | None:
    """`client_record_read`, and the record written to the store (an active one)."""
    found = client_record_read(client_id)
    if found is None:
        return None
    record, written_at = found
    return record if written_at is None else client_record_fill(record, written_at=written_at)


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


# An application's part as this process last read it from the database, reused for a second: a burst of
# read-throughs (a fleet after Redis lost its data) reads an application's channels once a second per
# process instead of once per client.
APPLICATION_PART_LOCAL_TTL = 1.0
_application_parts = local_cache("application-parts", ttl=APPLICATION_PART_LOCAL_TTL)


def application_part(application_id: str) -> str:
    """The application's part of its clients' records, from the database (then kept in the store for
    `core.hot_store.APPLICATION_TTL` seconds): read again that often, so a channel added to an "all
    channels" application reaches its clients' next tokens within that time. A part this process read
    less than `APPLICATION_PART_LOCAL_TTL` ago is reused, and not written to the store again (the
    store's copy is then never older than its lifetime)."""
    packed: str | None = _application_parts.get(application_id)
    if packed is not None:
        return packed
    application = RegisteredApplication.objects.select_related("programmer").get(pk=application_id)
    channels = [c.slug for c in application_channels(application)]
    packed = json.dumps([application.programmer_id, application.programmer.slug, channels], separators=(",", ":"))
    _application_parts.put(application_id, packed)
    hot_store().application_put(application_id, packed)
    return packed


def client_record_forget(client_id: str) -> None:
    _refused.pop(client_id)


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
