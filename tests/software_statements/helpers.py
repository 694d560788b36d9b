"""Forging tokens for the attack tests: raw compact JWS built by hand, signed with `cryptography`."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from registered_apps.models import AuditEvent, RegisteredApplication
from software_statements import keys
from software_statements.models import SigningKey, SoftwareStatement


def b64(data: bytes | str | dict | list) -> str:
    if isinstance(data, dict | list):
        data = json.dumps(data, separators=(",", ":"))
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def sign_raw(signing_input: bytes, alg: str, key: Any) -> bytes:
    if alg == "RS256":
        return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    if alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "HS256":
        return hmac.new(key, signing_input, hashlib.sha256).digest()
    if alg == "none":
        return b""
    raise AssertionError(alg)


def forge(header: dict, claims: dict | list | str, key: Any = None, alg: str | None = None) -> str:
    """A compact JWS with exactly this header and payload, signed with `key` (any kind)."""
    signing_input = f"{b64(header)}.{b64(claims)}".encode()
    signature = sign_raw(signing_input, alg or header.get("alg", "none"), key)
    return f"{signing_input.decode()}.{b64(signature)}"


def active_statement_key() -> tuple[SigningKey, Any]:
    key = keys.signing_key_active("statement")
    return key, keys.signing_private_key(key)


def foreign_key(alg: str = "RS256") -> Any:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims_for(statement: SoftwareStatement, **overrides: Any) -> dict[str, Any]:
    application = statement.application
    claims = {
        "iss": "http://testserver",
        "iat": int(time.time()),
        "jti": str(statement.jti),
        "software_id": str(application.pk),
        "software_version": application.version,
        "client_name": application.name,
        "programmer": application.programmer.slug,
        "channels": [],
        "platforms": ["ios"],
        "scope": "api:client:v2",
        "redirect_uris": [],
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def world_snapshot() -> dict[str, Any]:
    """Everything a verification could wrongly change."""
    return {
        "statements": sorted((str(s.jti), s.revoked_at, s.kid) for s in SoftwareStatement.objects.all()),
        "audit": AuditEvent.objects.count(),
        "keys": sorted(SigningKey.objects.values_list("kid", "state")),
        "applications": sorted((str(a.pk), a.status) for a in RegisteredApplication.objects.all()),
    }


def random_uuid() -> str:
    return str(uuid.uuid4())
