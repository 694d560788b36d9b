"""What a verified software statement grants a registering client, cached per statement in this process.

A statement's claims never change (an application's configuration is fixed at creation); whether it
or its application was revoked since is asked of the store's stamps on every registration, and a stamp
newer than the cached grant sends the statement back to full verification. A statement's `exp` is kept
with its grant: once it has passed, the cached grant is not used and the full verification refuses the
statement with the time it expired (a grant cached a minute before the expiry must not outlive it).
"""

from dataclasses import dataclass
from typing import Any

from core import clock
from core.hot_store import STAMP_MARGIN
from core.local_caches import local_cache
from core.revocation import Revoked, stamp_key
from software_statements.verify import VerifiedStatement, statement_expired

GRANT_TTL = 60.0


@dataclass(frozen=True)
class StatementGrant:
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
    verified_at: float
    environment_id: int
    # The statement's `exp` (RFC 7519 4.1.4), None when it never expires.
    expires_at: float | None = None

    def stamp_keys(self) -> list[str]:
        return [stamp_key(Revoked.APPLICATION, self.application_id), stamp_key(Revoked.STATEMENT, self.statement_jti)]

    @property
    def fresh_after(self) -> float:
        return self.verified_at - STAMP_MARGIN


_grants = local_cache("statement-grants", ttl=GRANT_TTL)


def _strings(value: object) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


def statement_grant_from(verified: VerifiedStatement, *, verified_at: float) -> StatementGrant:
    claims = verified.claims
    scope = claims.get("scope")
    expires = claims.get("exp")  # a number: the verification refused any other
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
        verified_at=verified_at,
        environment_id=int(verified.application.environment_id or 0),
        expires_at=float(expires) if isinstance(expires, int | float) else None,
    )


def statement_grant_cached(statement: str, environment_id: int) -> StatementGrant | None:
    """The grant of a statement this process verified for this environment (one verified by another
    environment is verified again here, and refused), unless the statement has expired since."""
    grant: StatementGrant | None = _grants.get(statement)
    if grant is None or grant.environment_id != environment_id:
        return None
    if statement_expired(grant.expires_at, clock.wall()):
        return None  # verified again, and refused with the time it expired
    return grant


def statement_grant_put(statement: str, grant: StatementGrant) -> None:
    _grants.put(statement, grant)


def statement_grant_forget(statement: str) -> None:
    _grants.pop(statement)
