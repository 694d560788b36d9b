"""A fast keyed hasher for client secrets, with keys of its own that rotate.

Client secrets are 256-bit random values, so a slow password hash buys nothing and costs a third
of a second per token request. HMAC-SHA256 keyed with a server-side key plus a per-secret salt keeps
a database dump useless without the key.

Stored formats (the secret itself never appears in either):

- ``client_secret_hmac$<key id>$<salt>$<hex digest>``: current. The key comes from
  ``DCR_CLIENT_SECRET_KEYS`` (the first one hashes new secrets, every one verifies); when that list
  is empty, from ``SECRET_KEY``. The key id is the first 8 hex characters of a SHA-256 over the
  derived HMAC key (``client_secret_key_id`` prints a configured key's id).
- ``client_secret_hmac$<salt>$<hex digest>``: legacy, keyed by a pepper derived from ``SECRET_KEY``.
  It verifies under ``SECRET_KEY`` and every ``SECRET_KEY_FALLBACKS`` entry, and always asks for a
  re-hash.

The digest is HMAC-SHA256(key, salt + "$" + secret) in both formats.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash

from core import process_state
from core.conf import dcr

ALGORITHM = "client_secret_hmac"
_KEY_ID_LENGTH = 8


@dataclass(frozen=True, slots=True)
class SecretCheck:
    """What checking a presented secret against a stored hash found.

    `needs_rehash` is True only for a match under a key other than the current one (or in the
    legacy format): store `client_secret_encode(secret)` in its place. Truthy exactly when it matches.
    """

    matches: bool
    needs_rehash: bool

    def __bool__(self) -> bool:
        return self.matches


NO_MATCH = SecretCheck(matches=False, needs_rehash=False)
_MATCH_CURRENT = SecretCheck(matches=True, needs_rehash=False)
_MATCH_REHASH = SecretCheck(matches=True, needs_rehash=True)


def _pepper(secret_key: str) -> bytes:
    """The HMAC key derived from a SECRET_KEY (unchanged, so hashes made before key rotation existed verify)."""
    return hashlib.sha256(b"dcr-client-secret-pepper:" + secret_key.encode()).digest()


def _configured_key(key: str) -> bytes:
    return hashlib.sha256(b"dcr-client-secret-key:" + key.encode()).digest()


def _key_id(hmac_key: bytes) -> str:
    return hashlib.sha256(b"dcr-client-secret-key-id:" + hmac_key).hexdigest()[:_KEY_ID_LENGTH]


def client_secret_key_id(key: str) -> str:
    """The id stored with every hash made under this `DCR_CLIENT_SECRET_KEYS` entry (reveals nothing of it)."""
    return _key_id(_configured_key(key))


class _Keyring:
    """Prepared HMACs (copied per use) for every key that verifies; never shows a key."""

    __slots__ = ("by_id", "current", "current_id", "legacy")

    def __init__(self, configured: tuple[str, ...], secret_key: str, fallbacks: tuple[str, ...]) -> None:
        derived = [_configured_key(key) for key in configured]
        derived += [_pepper(key) for key in (secret_key, *fallbacks) if key]
        if not derived:
            raise ValueError("Client secrets need DCR_CLIENT_SECRET_KEYS or SECRET_KEY.")
        by_id: dict[str, hmac.HMAC] = {}
        for hmac_key in derived:  # on an id collision the earlier (more current) key wins
            by_id.setdefault(_key_id(hmac_key), hmac.new(hmac_key, digestmod=hashlib.sha256))
        self.by_id = by_id
        self.current_id = _key_id(derived[0])
        self.current = by_id[self.current_id]
        self.legacy = tuple(hmac.new(_pepper(key), digestmod=hashlib.sha256) for key in (secret_key, *fallbacks) if key)

    def __repr__(self) -> str:
        return f"<client secret keyring: {len(self.by_id)} keys>"


@process_state.memoized("client-secret-keyrings", maxsize=8)
def _keyring_for(configured: tuple[str, ...], secret_key: str, fallbacks: tuple[str, ...]) -> _Keyring:
    return _Keyring(configured, secret_key, fallbacks)


def _keyring() -> _Keyring:
    # Keyed on the settings' values, so override_settings (and a reloaded configuration) is seen at once.
    return _keyring_for(
        dcr.client_secret_keys,
        dcr.secret_key,
        dcr.secret_key_fallbacks,
    )


def _hexdigest(prepared: hmac.HMAC, secret: bytes, salt: str) -> bytes:
    mac = prepared.copy()
    mac.update(salt.encode() + b"$" + secret)
    return mac.hexdigest().encode()


def client_secret_salt() -> str:
    """128 random bits in one call (Django's default draws 22 characters one by one)."""
    return secrets.token_urlsafe(16)


def client_secret_current_key() -> tuple[str, bytes]:
    """(key id, HMAC key) of the current key: for tools that hash in bulk outside Python (the
    benchmark's fleet, in SQL). Never log or show the key."""
    keyring = _keyring()
    configured = dcr.client_secret_keys
    hmac_key = _configured_key(configured[0]) if configured else _pepper(dcr.secret_key)
    if _key_id(hmac_key) != keyring.current_id:
        raise RuntimeError("the current client-secret key could not be derived")
    return keyring.current_id, hmac_key


def client_secret_encode(secret: str, *, salt: str | None = None) -> str:
    """The stored form of a secret under the current key. Registration passes the client id as the
    salt (unique, random, 240 bits): the hot-path store can then compare the hash of a presented
    secret without reading the salt first (`client_secret_candidate`). Without one, a fresh salt."""
    return _encode(secret, salt or client_secret_salt())


def client_secret_candidate(secret: str, client_id: str) -> bytes:
    """The compact form (`client_secret_compact`) of the hash `client_id`'s secret has if it was made
    under the current key with the client id as salt (the common case): the hot-path store compares it
    with the stored one, no salt read first. A client id with '$' has no such hash (matches nothing)."""
    if not client_id or "$" in client_id:
        return b""
    keyring = _keyring()
    return keyring.current_id.encode() + bytes.fromhex(_hexdigest(keyring.current, secret.encode(), client_id).decode())


_COMPACT_LENGTH = _KEY_ID_LENGTH + 32


def client_secret_compact(encoded: str, client_id: str) -> bytes:
    """What the hot-path store keeps of a stored hash: for one in the current format salted with the
    client id, its key id and raw digest (40 bytes, small enough for Redis's compact hash encoding);
    any other (legacy, another salt) as it is, which no candidate matches (checked in Python instead)."""
    parts = encoded.split("$")
    if len(parts) == 4 and parts[0] == ALGORITHM and parts[2] == client_id and len(parts[1]) == _KEY_ID_LENGTH:
        try:
            return parts[1].encode() + bytes.fromhex(parts[3])
        except ValueError:
            pass
    return encoded.encode()


def client_secret_expand(compact: bytes, client_id: str) -> str:
    """The stored hash back from `client_secret_compact`."""
    if len(compact) == _COMPACT_LENGTH and not compact.startswith(ALGORITHM.encode()):
        return f"{ALGORITHM}${compact[:_KEY_ID_LENGTH].decode()}${client_id}${compact[_KEY_ID_LENGTH:].hex()}"
    return compact.decode()


def _encode(secret: str, salt: str) -> str:
    if not salt or "$" in salt:
        raise ValueError("A salt without '$' is required.")
    keyring = _keyring()
    digest = _hexdigest(keyring.current, secret.encode(), salt).decode()
    return f"{ALGORITHM}${keyring.current_id}${salt}${digest}"


def client_secret_verify(secret: str, encoded: str) -> SecretCheck:
    """RFC 6749 2.3.1: does the presented secret match the stored hash, and should it be re-hashed?

    Constant-time comparison; an unknown key id, a malformed encoding or an unencodable secret does
    not match (never raises)."""
    parts = encoded.split("$")
    if parts[0] != ALGORITHM or not 3 <= len(parts) <= 4 or not parts[-2]:
        return NO_MATCH
    try:
        presented = secret.encode()
        stored = parts[-1].encode()
    except UnicodeEncodeError:
        return NO_MATCH
    keyring = _keyring()
    salt = parts[-2]
    if len(parts) == 4:
        prepared = keyring.by_id.get(parts[1])
        if prepared is None or not hmac.compare_digest(_hexdigest(prepared, presented, salt), stored):
            return NO_MATCH
        return _MATCH_CURRENT if prepared is keyring.current else _MATCH_REHASH
    for prepared in keyring.legacy:
        if hmac.compare_digest(_hexdigest(prepared, presented, salt), stored):
            return _MATCH_REHASH
    return NO_MATCH


class ClientSecretHMACHasher(BasePasswordHasher):
    """Django's view of the same hashes (make_password, check_password).

    The hot path calls `client_secret_verify` directly instead of dispatching through Django."""

    algorithm = ALGORITHM

    def salt(self) -> str:
        return client_secret_salt()

    def encode(self, password: str, salt: str) -> str:
        if password is None:
            raise ValueError("A secret is required.")
        return _encode(password, salt)

    def decode(self, encoded: str) -> dict[str, str]:
        parts = encoded.split("$")
        if parts[0] != self.algorithm or not 3 <= len(parts) <= 4:
            raise ValueError("Not a client secret hash.")
        return {
            "algorithm": parts[0],
            "key_id": parts[1] if len(parts) == 4 else "",
            "salt": parts[-2],
            "hash": parts[-1],
        }

    def verify(self, password: str, encoded: str) -> bool:
        return client_secret_verify(password, encoded).matches

    def safe_summary(self, encoded: str) -> dict[str, Any]:  # type: ignore[override]
        decoded = self.decode(encoded)
        return {
            "algorithm": decoded["algorithm"],
            "key id": decoded["key_id"] or "(SECRET_KEY, legacy)",
            "salt": mask_hash(decoded["salt"]),
            "hash": mask_hash(decoded["hash"]),
        }

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None

    def must_update(self, encoded: str) -> bool:
        """A hash under another key than the current one (or legacy) is re-hashed after a successful check."""
        parts = encoded.split("$")
        return len(parts) != 4 or parts[1] != _keyring().current_id
