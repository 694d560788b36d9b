"""What the Lua scripts (`scripts.py`) and the flush read, written in one place: a client record's hash
fields and the usage counters' field names. Every store writes records and counts through these.

A client record is a Redis hash (`LocalStore` keeps the `StoredRecord` itself):

    r   the packed record (opaque here: `oauth.records` packs and unpacks it)
    h   the keyed hash of the current secret (`oauth.hashers`)
    w   when the record was written (wall clock, seconds; `repr` of a float)
    a   the application id          s   the software statement's jti
    p   the platform (`|` removed: it separates usage fields)
    sc  the scopes, space-separated with a space before and after (the script finds " scope ")
    lu  the client's last recorded use (unix seconds)          pk  the client's primary key
    e   the environment id (a hash without it is incomplete: `RECORD_FILL_SCRIPT` replaces it whole)
    h2, hx  the hash of the secret a rotation replaced and until when it still authenticates (absent
            when there is none)

A usage counter's field is `"<YYYY-MM-DD>|<application id>|<platform>|<kind>"` (kind `tokens` or
`registrations`): `usage_field` here, `CLIENT_SCRIPT` in Lua and `oauth.usage.usage_field_parse`
agree on it. The last-use hash maps a client's primary key to a unix time.
"""

from typing import Any

from .base import StoredRecord
from .signal_counts import NETWORKS_TTL, statement_prefix

# The fields `CLIENT_SCRIPT` reads, in the order of its HMGET.
RECORD_FIELDS = ("r", "h", "w", "a", "s", "p", "sc", "lu", "pk", "e", "h2", "hx")
ROTATED_FIELDS = ("h2", "hx")


def usage_field(day: str, application_id: str, platform: str, kind: str) -> str:
    """The counter of one day, application, platform and kind (`oauth.usage` parses it back)."""
    return f"{day}|{application_id}|{platform.replace('|', '')}|{kind}"


def record_fields(record: StoredRecord) -> dict[str, Any]:
    """A client record as the hash the Lua scripts read."""
    fields: dict[str, Any] = {
        "r": record.packed,
        "h": record.secret_hash,
        "w": repr(record.written_at),
        "a": record.application_id,
        "s": record.statement_jti,
        "p": record.platform.replace("|", ""),
        "sc": " " + " ".join(record.scopes) + " ",
        "lu": int(record.last_used),
        "pk": record.pk,
        "e": record.environment_id,
    }
    if record.previous_secret_hash:
        fields["h2"] = record.previous_secret_hash
        fields["hx"] = repr(record.previous_secret_expires)
    return fields


def record_fill_args(ttl: int, record: StoredRecord, *, usage: str, interval: int, quota: tuple[str, int]) -> list[Any]:
    """`RECORD_FILL_SCRIPT`'s arguments: what to count (`usage` "" for nothing), the quota's defaults and
    shards, the expiry, then field, value, field, value..."""
    args: list[Any] = [usage, record.pk, int(record.last_used), interval, record.application_id, *quota, ttl]
    for field, value in record_fields(record).items():
        args += [field, value]
    return args


def registration_signal_args(record: StoredRecord, hour: str, network: str, foreign_platform: str) -> list[Any]:
    """The signals' arguments of a registration's script (`scripts._SIGNALS_REGISTERED_LUA`)."""
    network_field = f"{record.application_id}|{record.statement_jti}|{network}" if network else ""
    return [
        statement_prefix(hour, record.application_id, record.statement_jti),
        foreign_platform.replace("|", ""),
        network_field,
        NETWORKS_TTL,
    ]
