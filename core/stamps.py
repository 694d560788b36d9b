"""Publishing revocation stamps (`core.revocation` says what they are; `core.hot_store` keeps them).

The lower layers publish a stamp when they revoke something, once the transaction commits; `oauth`
compares stamps with token and record times. The database stays the truth: when the store cannot
tell, readers ask it, and `oauth.tasks.revocation_stamps_republish` writes recent stamps again.
"""

from django.db import transaction

from . import clock
from .hot_store import hot_store
from .revocation import Revoked, stamp_key


def revocation_stamp_write(kind: Revoked, ident: object, at: float) -> bool:
    """Write a stamp now; False (logged) when Redis cannot be reached."""
    return hot_store().stamp_write(stamp_key(kind, ident), at)


def revocation_stamp_publish(kind: Revoked, ident: object, at: float) -> None:
    """Write a stamp once the current transaction commits (at once outside one), dated the later of
    `at` (the revocation's time, taken inside the transaction) and the moment it is written. Until the
    commit nothing refuses the revoked thing's clients, so a token issued in between has an `iat` after
    `at`: dated `at`, the stamp would let that token through for its whole lifetime (the cluster test
    caught one such token). Dated at the write, it is at or after the `iat` of every token issued before
    anyone could see the revocation."""
    transaction.on_commit(lambda: revocation_stamp_write(kind, ident, max(at, clock.wall())))


def client_record_drop_on_commit(client_id: str) -> None:
    """Forget a revoked client's record everywhere once the revocation commits (its stamp, written
    in the same transaction's commit, covers a failure here)."""
    transaction.on_commit(lambda: hot_store().client_record_drop(client_id))
