"""Compact JWS (RFC 7515) building and strict parsing; pure, no database.

Parsing here is deliberately stricter than RFC 7515 requires: a statement is something we issued, so
anything we would never produce (padding, whitespace, duplicate member names, non-object JSON, a
key carried in the header, `crit`) is refused before any cryptography runs.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from core import untrusted_json

# Large enough for any statement we issue (a few KiB), small enough that parsing costs nothing.
MAX_TOKEN_LENGTH = 16 * 1024

# RFC 7515 4.1.2-4.1.6: header parameters that carry or point to a key. We choose the key by `kid`
# among our own keys only, so a token offering its own key is an attack or a mistake.
KEY_CARRYING_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c"})

_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


class JWSFormatError(ValueError):
    """The token is not a compact JWS we could have issued; the message is one human sentence."""


@dataclass(frozen=True)
class CompactJWS:
    header: dict[str, Any]
    payload_segment: str
    token: str


def b64url_decode(segment: str) -> bytes:
    """RFC 7515 2: base64url without padding; anything else is refused."""
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise JWSFormatError("The software statement is not valid base64url.")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise JWSFormatError("The software statement is not valid base64url.") from None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            # RFC 7515 5.2 step 4: duplicate header parameter names must be rejected.
            raise JWSFormatError(f"The software statement repeats the member “{name[:40]}”.")
        result[name] = value
    return result


def json_object(segment: str, what: str) -> dict[str, Any]:
    """Decode a segment as a JSON object with unique member names."""
    raw = b64url_decode(segment)
    try:
        value = untrusted_json.loads(raw, object_pairs_hook=_reject_duplicates)
    except ValueError as exc:
        if isinstance(exc, JWSFormatError):
            raise
        raise JWSFormatError(f"The software statement {what} is not JSON.") from None
    if not isinstance(value, dict):
        raise JWSFormatError(f"The software statement {what} is not a JSON object.")
    return value


def parse_compact(token: object) -> CompactJWS:
    """Split and decode the header of a compact JWS (RFC 7515 7.1); the signature is not checked."""
    if not isinstance(token, str) or not token:
        raise JWSFormatError("The software statement is missing or empty.")
    if len(token) > MAX_TOKEN_LENGTH:
        raise JWSFormatError("The software statement is too long.")
    if not token.isascii():
        raise JWSFormatError("The software statement is not a compact JWS.")
    parts = token.split(".")
    if len(parts) == 5:
        # RFC 7516 7.1: five segments is a JWE; statements are signed, never encrypted.
        raise JWSFormatError("The software statement is encrypted (a JWE); a signed JWS is expected.")
    if len(parts) != 3:
        raise JWSFormatError("The software statement is not a compact JWS (three dot-separated parts).")
    header_segment, payload_segment, signature_segment = parts
    if not header_segment or not payload_segment or not signature_segment:
        raise JWSFormatError("The software statement has an empty part.")
    b64url_decode(signature_segment)
    header = json_object(header_segment, "header")
    if "enc" in header:
        raise JWSFormatError("The software statement is encrypted (a JWE); a signed JWS is expected.")
    return CompactJWS(header=header, payload_segment=payload_segment, token=token)


def verify_signature(parsed: CompactJWS, *, key: JWK, algorithm: str) -> None:
    """Check the signature with one key and one algorithm, both chosen by us (RFC 7515 5.2 step 8)."""
    jws = JWS()
    jws.allowed_algs = [algorithm]
    try:
        jws.deserialize(parsed.token)
        jws.verify(key, alg=algorithm)
    except Exception:
        # jwcrypto raises several types (InvalidJWSSignature, InvalidJWSObject, ValueError...);
        # all mean the same to a caller, and the detail must not leak.
        raise JWSFormatError("The software statement signature does not verify.") from None


def sign_compact(claims: dict[str, Any], *, kid: str, algorithm: str, private_key: Any) -> str:
    """Sign claims as a compact JWS with header {alg, kid, typ: JWT} (RFC 7519 5.1)."""
    jws = JWS(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    jws.add_signature(
        JWK.from_pyca(private_key),
        alg=algorithm,
        protected=json.dumps({"alg": algorithm, "kid": kid, "typ": "JWT"}, separators=(",", ":")),
    )
    return str(jws.serialize(compact=True))
