"""In-process caches of the hot paths: client records, verified statements, application names.

Each entry remembers `cached_at` (wall clock, comparable with revocation stamps). A caller that sees a
stamp newer than `cached_at - STAMP_MARGIN` reloads from the database: that is how revocation and
restore reach every worker. The margin covers the gap between a revocation's timestamp (taken inside
its transaction) and its commit, during which a reload could still read the old row.

Sync gunicorn workers are single-threaded; under threads (the test live server) the dict operations
used here are atomic, and a lost race only costs one extra database read.
"""

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import check_password
from django.utils.crypto import constant_time_compare

from registered_apps.models import ApplicationStatus, RegisteredApplication
from registered_apps.selectors import application_channels
from registered_apps.stamps import stamp_key
from software_statements.verify import VerifiedStatement

from .hashers import ClientSecretHMACHasher, client_secret_digest
from .models import Client

# Active records live this long; a stamp check on every use makes revocation immediate anyway.
RECORD_TTL = 60.0
# Refused (revoked or unknown) records live this long, so that a restore is seen within a second.
REFUSED_TTL = 1.0
STAMP_MARGIN = 5.0
MAX_ENTRIES = 20000


@dataclass
class ClientRecord:
    """What the token, introspection and revocation endpoints need to know about a client."""

    pk: int
    client_id: str
    secret_encoded: str
    application_id: str
    statement_jti: str
    programmer_id: int
    programmer: str
    channels: list[str]
    scopes: tuple[str, ...]
    platform: str
    grant_types: tuple[str, ...]
    # "" when usable, else which of client, statement or application is revoked.
    revoked: str
    cached_at: float
    expires_at: float
    last_used_at: float | None = None
    _salt_digest: tuple[str, str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        parts = self.secret_encoded.split("$")
        if len(parts) == 3 and parts[0] == ClientSecretHMACHasher.algorithm:
            self._salt_digest = (parts[1], parts[2])

    def secret_matches(self, secret: str) -> bool:
        """RFC 6749 2.3.1: compare the presented secret with the stored keyed hash, in constant time."""
        if self._salt_digest is not None:
            salt, digest = self._salt_digest
            return constant_time_compare(client_secret_digest(secret, salt), digest)
        return bool(self.secret_encoded) and check_password(secret, self.secret_encoded)

    def stamp_keys(self) -> list[str]:
        return [
            stamp_key("app", self.application_id),
            stamp_key("stmt", self.statement_jti),
            stamp_key("client", self.client_id),
        ]

    @property
    def fresh_after(self) -> float:
        return self.cached_at - STAMP_MARGIN

    def __repr__(self) -> str:  # never the secret hash
        return f"ClientRecord({self.client_id!r}, revoked={self.revoked!r})"


_records: dict[str, ClientRecord | None] = {}
_unknown_until: dict[str, float] = {}


def _trim(cache: dict[Any, Any]) -> None:
    if len(cache) >= MAX_ENTRIES:
        cache.clear()


def client_record_cached(client_id: str) -> ClientRecord | None:
    """The cached record if it has not expired (no database)."""
    record = _records.get(client_id)
    if record is not None and record.expires_at > time.monotonic():
        return record
    return None


def client_record_known_unknown(client_id: str) -> bool:
    """True when a recent database read found no such client (so floods of bad ids stay cheap)."""
    until = _unknown_until.get(client_id)
    return until is not None and until > time.monotonic()


def client_record_from_client(client: Any, *, cached_at: float, channels: list[str]) -> ClientRecord:
    application = client.registered_application
    statement = client.statement
    if client.revoked_at is not None:
        revoked = "client"
    elif statement is None or statement.revoked_at is not None:
        revoked = "statement"
    elif application is None or application.status != ApplicationStatus.ACTIVE:
        revoked = "application"
    else:
        revoked = ""
    ttl = REFUSED_TTL if revoked else RECORD_TTL
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
        grant_types=("client_credentials",),
        revoked=revoked,
        cached_at=cached_at,
        expires_at=time.monotonic() + ttl,
        last_used_at=client.last_used_at.timestamp() if client.last_used_at else None,
    )


def client_record_load(client_id: str) -> ClientRecord | None:
    """Read a client from the database (and cache what was read). Two or three queries."""
    # Taken before the read: a stamp written after it is newer, so the next use reloads.
    cached_at = time.time()
    client = (
        Client.objects.select_related("registered_application__programmer", "statement")
        .filter(client_id=client_id)
        .first()
    )
    if client is None:
        _records.pop(client_id, None)
        _trim(_unknown_until)
        _unknown_until[client_id] = time.monotonic() + REFUSED_TTL
        return None
    application = client.registered_application
    channels = [c.slug for c in application_channels(application)] if application is not None else []
    record = client_record_from_client(client, cached_at=cached_at, channels=channels)
    _trim(_records)
    _records[client_id] = record
    _unknown_until.pop(client_id, None)
    return record


def client_record_put(record: ClientRecord) -> None:
    _trim(_records)
    _records[record.client_id] = record
    _unknown_until.pop(record.client_id, None)


def client_record_forget(client_id: str) -> None:
    _records.pop(client_id, None)


# --- Verified statements (registration) -----------------------------------------------------------


@dataclass(frozen=True)
class StatementGrant:
    """What a verified statement grants a registering client (its claims are immutable: an
    application's configuration never changes; revocation is checked with stamps on every use)."""

    application_id: str
    statement_jti: str
    programmer: Any
    programmer_slug: str
    client_name: str
    software_version: str
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    platforms: tuple[str, ...]
    channels: tuple[str, ...]
    cached_at: float
    expires_at: float

    def stamp_keys(self) -> list[str]:
        return [stamp_key("app", self.application_id), stamp_key("stmt", self.statement_jti)]

    @property
    def fresh_after(self) -> float:
        return self.cached_at - STAMP_MARGIN


_grants: dict[str, StatementGrant] = {}


def _strings(value: object) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


def statement_grant_from(verified: VerifiedStatement, *, cached_at: float) -> StatementGrant:
    claims = verified.claims
    scope = claims.get("scope")
    return StatementGrant(
        application_id=str(verified.application.pk),
        statement_jti=str(verified.statement.pk),
        programmer=verified.application.programmer,
        programmer_slug=verified.application.programmer.slug,
        client_name=verified.application.name,
        software_version=verified.application.version,
        scopes=tuple(scope.split()) if isinstance(scope, str) else (),
        redirect_uris=_strings(claims.get("redirect_uris")),
        platforms=_strings(claims.get("platforms")),
        channels=_strings(claims.get("channels")),
        cached_at=cached_at,
        expires_at=time.monotonic() + RECORD_TTL,
    )


def statement_grant_cached(statement: str) -> StatementGrant | None:
    grant = _grants.get(statement)
    if grant is not None and grant.expires_at > time.monotonic():
        return grant
    return None


def statement_grant_put(statement: str, grant: StatementGrant) -> None:
    _trim(_grants)
    _grants[statement] = grant


def statement_grant_forget(statement: str) -> None:
    _grants.pop(statement, None)


# --- Application names (the session endpoint) ----------------------------------------------------

_application_names: dict[str, tuple[str, str]] = {}


def application_name_version(application_id: str) -> tuple[str, str]:
    """(name, version) of an application: immutable after creation, so cached without expiry."""
    found = _application_names.get(application_id)
    if found is None:
        try:
            pk = uuid.UUID(application_id)
        except ValueError:
            return ("", "")
        row = RegisteredApplication.objects.filter(pk=pk).values_list("name", "version").first()
        if row is None:
            return ("", "")
        _trim(_application_names)
        found = _application_names[application_id] = (row[0], row[1])
    return found


# --- Database verdicts on tokens (when the stamps cannot tell) --------------------------------------

TOKEN_VERDICT_TTL = 1.0
_token_verdicts: dict[str, tuple[float, str]] = {}


def token_verdict_cached(jti: str) -> str | None:
    """ "" (not revoked) or what is revoked, as the database said less than a second ago; else None."""
    found = _token_verdicts.get(jti)
    if found is not None and found[0] > time.monotonic():
        return found[1]
    return None


def token_verdict_put(jti: str, verdict: str) -> None:
    _trim(_token_verdicts)
    _token_verdicts[jti] = (time.monotonic() + TOKEN_VERDICT_TTL, verdict)


def token_verdict_forget(jti: str) -> None:
    _token_verdicts.pop(jti, None)


def caches_clear() -> None:
    """Forget everything (tests, and after bulk changes made outside the services)."""
    _token_verdicts.clear()
    _records.clear()
    _unknown_until.clear()
    _grants.clear()
    _application_names.clear()
