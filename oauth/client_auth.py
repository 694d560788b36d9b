"""Client authentication (RFC 6749 2.3.1) over the hot-path store.

One question to the store (`core.hot_store`: throttle, record, stamps, the secret's keyed hash under
the current key, scope, counting) settles the common case. What the store cannot settle (no record, a
stamp newer than the record, a hash under an older key or in the legacy format) is settled here from
the database, the same way whichever store answered.
"""

from dataclasses import replace

from core import clock
from core.hot_store import ClientGate, Outcome, QuotaRefusal, QuotaRefused, hot_store

from .errors import OAuthError
from .hashers import SecretCheck, client_secret_candidate, client_secret_expand, client_secret_verify
from .http import ClientCredentials
from .records import ClientRecord, application_part, client_record_fill, client_record_read
from .services import client_secret_rehash
from .usage import usage_day

# A match on the rotated secret: authenticates, and is not re-hashed (the row holds the new secret).
MATCH_PREVIOUS = SecretCheck(matches=True, needs_rehash=False)


class Throttled(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__("throttled")
        self.retry_after = retry_after


class QuotaExceeded(Throttled):
    """An application's quota is used up (README "Quotas"); nothing was counted."""

    def __init__(self, refusal: QuotaRefusal) -> None:
        super().__init__(refusal.retry_after)
        self.refusal = refusal


def invalid_client(credentials: ClientCredentials | None, description: str) -> OAuthError:
    """RFC 6749 5.2: 400, or 401 with WWW-Authenticate when the client used the Authorization header."""
    if credentials is not None and credentials.basic:
        return OAuthError(
            "invalid_client", description, status=401, headers={"WWW-Authenticate": 'Basic realm="client"'}
        )
    return OAuthError("invalid_client", description)


def _scope_exceeded() -> OAuthError:
    return OAuthError("invalid_scope", "The requested scope exceeds the scope granted to this client.")


def client_authenticate(
    credentials: ClientCredentials,
    *,
    scopes: tuple[str, ...] | None = None,
    throttle_scope: str | None = None,
    ip_address: str | None = None,
    count: bool = False,
    environment_id: int,
) -> ClientRecord:
    """RFC 6749 2.3.1 / 3.2.1: the authenticated, usable client, or an `invalid_client` OAuthError
    (a revoked client, statement or application means the client must register again). With `scopes`,
    they must be the client's (`invalid_scope`). With `throttle_scope`, the request takes a token from
    that bucket (`Throttled`); with `count`, a token issued to the client is counted. A client of
    another environment than `environment_id` (the one the request's host serves) is `invalid_client`,
    and nothing is counted for it."""
    store = hot_store()
    day = usage_day()
    gate: ClientGate = store.client_gate(
        client_id=credentials.client_id,
        secret_hash=client_secret_candidate(credentials.client_secret, credentials.client_id),
        scopes=scopes,
        day=day,
        throttle_scope=throttle_scope,
        ip_address=ip_address,
        count=count,
        environment_id=environment_id,
    )
    _refuse_early(gate)
    if gate.outcome is Outcome.PASSED and gate.packed is not None:
        return _unpacked(credentials.client_id, gate, environment_id)
    return _settled_here(credentials, gate, scopes=scopes, count=count, day=day, environment_id=environment_id)


def _settled_here(
    credentials: ClientCredentials,
    gate: ClientGate,
    *,
    scopes: tuple[str, ...] | None,
    count: bool,
    day: str,
    environment_id: int,
) -> ClientRecord:
    """What the gate could not settle: the record it read (the secret unverified there) or the one read
    through from the database, checked here; a record read through is written to the store whatever the
    answer, with the token counted in the same call when it is issued."""
    record, fill_at = _gate_record(credentials.client_id, gate, environment_id)
    if record is None:
        raise invalid_client(credentials, "Client authentication failed.")
    check = _secret_check(credentials, record)
    refusal = _refusal(credentials, record, check, environment_id)
    in_scope = scopes is None or set(scopes) <= set(record.scopes)
    # Counted with the read-through's write (one call) when nothing else is to be written first.
    counted = count and fill_at is not None and refusal is None and in_scope and not check.needs_rehash
    if fill_at is not None:
        try:
            record = client_record_fill(record, written_at=fill_at, count_day=day if counted else None)
        except QuotaRefused as refused:  # the record is written; the token is not counted
            raise QuotaExceeded(refused.refusal) from None
    if refusal is not None:
        raise refusal
    if check.needs_rehash:
        record = _rehash(record, credentials.client_secret)
    if not in_scope:
        raise _scope_exceeded()
    return client_token_counted(record) if count and not counted else record


def _refusal(
    credentials: ClientCredentials, record: ClientRecord, check: SecretCheck, environment_id: int
) -> OAuthError | None:
    """Why a client read from the database (or whose secret the gate could not verify) is refused."""
    if record.environment_id != environment_id:
        # Checked after the secret would be wrong too: an unknown client and another environment's
        # client read the same to whoever does not hold the secret.
        return invalid_client(
            credentials,
            "This client is registered in another environment; use that environment's host."
            if check.matches
            else "Client authentication failed.",
        )
    if not check.matches:
        return invalid_client(credentials, "Client authentication failed.")
    if record.revoked is not None:
        return invalid_client(credentials, f"The {record.revoked.label} has been revoked; register again.")
    return None


def _refuse_early(gate: ClientGate) -> None:
    """What the gate refused on its own: the IP's bucket, the application's quota, the scope."""
    if gate.outcome is Outcome.THROTTLED:
        raise Throttled(gate.retry_after)
    if gate.outcome is Outcome.QUOTA and gate.quota is not None:
        raise QuotaExceeded(gate.quota)
    if gate.outcome is Outcome.SCOPE:
        raise _scope_exceeded()


def _gate_record(client_id: str, gate: ClientGate, environment_id: int) -> tuple[ClientRecord | None, float | None]:
    """The record the gate read but could not verify the secret of, else the one read from the database
    with the time to write it to the store with (None: not to be written)."""
    if gate.outcome is Outcome.UNVERIFIED and gate.packed is not None:
        return _unpacked(client_id, gate, environment_id), None
    found = client_record_read(client_id)
    return (None, None) if found is None else found


def _secret_check(credentials: ClientCredentials, record: ClientRecord) -> SecretCheck:
    """The client secret checked against the record's, then against the one a rotation replaced."""
    check = client_secret_verify(credentials.client_secret, record.secret_encoded)
    if not check.matches and record.previous_secret_matches(credentials.client_secret, now=clock.wall()):
        # RFC 7592 2.2: the secret a rotation replaced, within DCR_ROTATED_SECRET_GRACE (never re-hashed).
        check = MATCH_PREVIOUS
    return check


def _unpacked(client_id: str, gate: ClientGate, environment_id: int) -> ClientRecord:
    """The record the gate read (the gate compared its environment with `environment_id`)."""
    application = gate.application or application_part(gate.application_id)
    return ClientRecord.unpack(
        client_id,
        gate.packed or "",
        application,
        application_id=gate.application_id,
        statement_jti=gate.statement_jti,
        secret_encoded=client_secret_expand(gate.secret_hash, client_id),
        last_used=gate.last_used,
        environment_id=environment_id,
        previous_secret_encoded=(
            client_secret_expand(gate.previous_secret_hash, client_id) if gate.previous_secret_hash else ""
        ),
        previous_secret_expires=gate.previous_secret_expires,
    )


def client_token_counted(record: ClientRecord) -> ClientRecord:
    """Count a token issued to an authenticated client, and its use (when the gate did not);
    `QuotaExceeded` (nothing counted) when a token quota of its application is used up."""
    try:
        last_used = hot_store().token_counted(record=record.stored(written_at=clock.wall()), day=usage_day())
    except QuotaRefused as refused:
        raise QuotaExceeded(refused.refusal) from None
    return replace(record, last_used=last_used)


def _rehash(record: ClientRecord, secret: str) -> ClientRecord:
    """A hash made under an older key (or in the legacy format) is stored again under the current key,
    unless another worker did first; the store's record follows the database."""
    written_at = clock.wall()
    rehashed = client_secret_rehash(
        client_pk=record.pk, secret=secret, old_encoded=record.secret_encoded, salt=record.client_id
    )
    if rehashed is None:
        return record
    record = replace(record, secret_encoded=rehashed)
    hot_store().client_record_put(record.stored(written_at=written_at))
    return record
