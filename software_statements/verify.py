"""Verifying a software statement presented at registration (RFC 7591 2.3 and 3.2.2).

The checks run in the order README "Software statements and signing keys" lists them (Verifying); the
first failure decides the error:
`invalid_software_statement` for anything wrong with the token, `unapproved_software_statement` for a
genuine statement whose application or registry row is revoked (RFC 7591 3.2.2). Nothing here writes.
"""

import datetime
import math
import uuid
from dataclasses import dataclass
from typing import Any, TypeGuard

from jwcrypto.jwk import JWK

from core import clock
from registered_apps.environments import EnvironmentInfo, environment_production
from registered_apps.models import ApplicationStatus, RegisteredApplication

from .jws import KEY_CARRYING_HEADERS, JWSFormatError, json_object, parse_compact, verify_signature
from .keys import SUPPORTED_ALGORITHMS, verification_jwk
from .models import KeyPurpose, SoftwareStatement

INVALID = "invalid_software_statement"
UNAPPROVED = "unapproved_software_statement"
# README "Software statements and signing keys": `iat` at most this far in the future (clock skew between
# us and ourselves across workers).
IAT_LEEWAY_SECONDS = 60


class StatementError(Exception):
    """Why a statement was refused: `code` is the RFC 7591 error, `description` one human sentence
    that never repeats the token or any key material."""

    def __init__(self, code: str, description: str):
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class VerifiedStatement:
    statement: SoftwareStatement
    application: RegisteredApplication
    claims: dict[str, Any]


def _invalid(description: str) -> StatementError:
    return StatementError(INVALID, description)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def statement_expired(expires: float | None, now: float) -> bool:
    """RFC 7519 4.1.4: refused on or after `exp`, with the leeway `iat` has for clock skew between workers.
    The one rule, for the verification and for the grants cached from it (`oauth.grants`)."""
    return expires is not None and expires <= now - IAT_LEEWAY_SECONDS


def expired_error(expires: float) -> StatementError:
    """`invalid_software_statement` saying when (ISO 8601, UTC): the programmer downloads a new one."""
    when = datetime.datetime.fromtimestamp(int(expires), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _invalid(f"The software statement expired at {when}; download a new one.")


def software_statement_verify(token: object, environment: EnvironmentInfo | None = None) -> VerifiedStatement:
    """Verify a compact JWS statement presented to `environment` (production when None) and return its
    registry row, application and claims. Each step below raises the first failure it finds; the steps
    run in the order the README lists them. A statement of another environment fails at its key (each environment
    verifies with its own keys only), its issuer, and its application's environment."""
    environment = environment or environment_production()
    # Shape first, with a length cap, so nothing large or odd reaches JSON or cryptography.
    try:
        parsed = parse_compact(token)
    except JWSFormatError as exc:
        raise _invalid(str(exc)) from None
    algorithm, kid = _header_checked(parsed.header)
    key = _signing_key(algorithm, kid, environment)
    try:
        verify_signature(parsed, key=key, algorithm=algorithm)
        claims = json_object(parsed.payload_segment, "payload")
    except JWSFormatError as exc:
        raise _invalid(str(exc)) from None
    _claims_checked(claims, environment)
    statement = _registry_row(claims, kid)
    if statement.application.environment_id != environment.id:
        raise _invalid("The software statement was issued for another environment.")

    application = statement.application
    if application.status != ApplicationStatus.ACTIVE:
        raise StatementError(UNAPPROVED, "The application of this software statement has been revoked.")
    if statement.revoked_at is not None:
        raise StatementError(UNAPPROVED, "This software statement has been revoked.")
    return VerifiedStatement(statement=statement, application=application, claims=claims)


def _header_checked(header: dict[str, Any]) -> tuple[str, str]:
    """The header's algorithm and key id, once the header asks for nothing we do not do."""
    if KEY_CARRYING_HEADERS & header.keys():
        raise _invalid("The software statement header carries a key; statements are verified with our keys only.")
    if "crit" in header or "b64" in header:
        # RFC 7515 4.1.11: we understand no extension, so a critical one must be refused.
        raise _invalid("The software statement header uses an extension this server does not support.")

    # RFC 8725 3.1 and 2.1: an explicit allow-list; `none` and HMAC are never accepted.
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in SUPPORTED_ALGORITHMS:
        raise _invalid("The software statement is not signed with an accepted algorithm.")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.upper() not in ("JWT", "APPLICATION/JWT")):
        raise _invalid("The software statement has the wrong type.")

    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _invalid("The software statement does not name its signing key.")
    return algorithm, kid


def _signing_key(algorithm: str, kid: str, environment: EnvironmentInfo) -> JWK:
    """The environment's statement key `kid`, when the header's algorithm is that key's."""
    known = verification_jwk(KeyPurpose.STATEMENT, kid, environment_id=environment.id)
    if known is None:
        raise _invalid(
            f"The software statement is signed with a key {environment.name} does not know "
            "(a statement works only in the environment it was downloaded from)."
        )
    key_algorithm, key = known
    if algorithm != key_algorithm:
        # RFC 8725 3.1: the algorithm must match the key, whatever the header says.
        raise _invalid("The software statement algorithm does not match its signing key.")
    return key


def _claims_checked(claims: dict[str, Any], environment: EnvironmentInfo) -> None:
    """The environment's issuer, and the times: issued (not in the future), and any `exp` or `nbf`."""
    if claims.get("iss") != environment.issuer:
        raise _invalid("The software statement was not issued by this server.")
    issued_at = claims.get("iat")
    now = clock.wall()
    if not _is_number(issued_at):
        raise _invalid("The software statement has no valid issue time.")
    if issued_at > now + IAT_LEEWAY_SECONDS:
        raise _invalid("The software statement is issued in the future.")
    # Ours carry `exp` when downloaded with a lifetime, never `nbf`; RFC 7519 4.1.4-4.1.5 bind us to both.
    expires = claims.get("exp")
    if expires is not None and not _is_number(expires):
        raise _invalid("The software statement has no valid expiry time.")
    if _is_number(expires) and statement_expired(expires, now):
        raise expired_error(expires)
    not_before = claims.get("nbf")
    if not_before is not None and (not _is_number(not_before) or not_before > now + IAT_LEEWAY_SECONDS):
        raise _invalid("The software statement is not valid yet.")


def _registry_row(claims: dict[str, Any], kid: str) -> SoftwareStatement:
    """The statement row the `jti` names, issued for the `software_id` application with key `kid`."""
    jti = claims.get("jti")
    try:
        jti_value = uuid.UUID(jti) if isinstance(jti, str) else None
    except ValueError:
        jti_value = None
    statement = (
        SoftwareStatement.objects.select_related("application__programmer").filter(pk=jti_value).first()
        if jti_value is not None
        else None
    )
    if statement is None:
        raise _invalid("The software statement was not issued by this server (unknown jti).")

    software_id = claims.get("software_id")
    if software_id != str(statement.application_id):
        try:
            exists = isinstance(software_id, str) and (
                RegisteredApplication.objects.filter(pk=uuid.UUID(software_id)).exists()
            )
        except ValueError:
            exists = False
        if not exists:
            raise _invalid("The software statement names no registered application.")
        raise _invalid("The software statement does not match the application it was issued for.")
    if statement.kid != kid:
        raise _invalid("The software statement is not signed with the key it was issued with.")
    return statement
