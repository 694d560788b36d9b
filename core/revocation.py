"""The revocation vocabulary: what can be revoked, the key of its stamp, and how long stamps live.

A stamp is the time (wall clock, seconds) of the latest revocation of one application, statement,
client or access token, kept where every worker reads it (Redis; this process without Redis). An
access token issued at or before a stamp of its application, statement, client or its own is refused;
a client record written before a stamp of its application, statement or client is read again.
"""

from enum import StrEnum

from .conf import dcr

PREFIX = "dcr:revoked:"
# Client records stay in Redis this long after they were written (then they are read again).
RECORD_TTL = 2 * 24 * 3600
# A stamp outlives every access token issued before it and every client record written before it.
MARGIN_SECONDS = 3600


class Revoked(StrEnum):
    """What was revoked; the value is the stamp kind in the key."""

    APPLICATION = "app"
    STATEMENT = "stmt"
    CLIENT = "client"
    TOKEN = "token"

    @property
    def label(self) -> str:
        return {"app": "application", "stmt": "software statement", "client": "client", "token": "access token"}[
            self.value
        ]


def stamp_key(kind: Revoked, ident: object) -> str:
    return f"{PREFIX}{kind.value}:{ident}"


def stamp_lifetime() -> int:
    return max(int(dcr.access_token_ttl), RECORD_TTL) + MARGIN_SECONDS
