"""Signing keys: creation on demand, rotation, retirement, and the in-process caches of the hot path.

Keys belong to one environment (each has its own keys and JWKS); every function takes the environment's
id, production's when omitted. Lifecycle (per environment and purpose): `next` -> `active` ->
`retiring` -> `retired`. The `next` key is published in the JWKS before it signs anything, so a
rotation never presents a verifier with a kid it has not seen; a `retiring` key no longer signs but
still verifies what it signed; a `retired` key verifies nothing and leaves the JWKS. Exactly one key
per environment and purpose is `active`: a partial unique constraint enforces it, and every
transition is a compare-and-set retried on conflict (RFC 7517 leaves rotation to us).

Private keys are PKCS#8 PEM encrypted with Fernet under `DCR_KEY_ENCRYPTION_KEY` (a comma-separated
list is accepted: the first key encrypts, all of them decrypt, so the key-encryption key can rotate).
"""

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from jwcrypto.jwk import JWK

from core import process_state
from core.conf import dcr
from registered_apps.environments import environment_production
from registered_apps.services import Actor, audit_event_record

from .models import KeyPurpose, KeyState, SigningKey

logger = logging.getLogger(__name__)

# RFC 7518 3.1: the asymmetric algorithms we sign with. HMAC and `none` are never used or accepted.
SUPPORTED_ALGORITHMS = ("RS256", "ES256")
RSA_KEY_BITS = 2048
ACTIVE_MATERIAL_TTL = 5.0
VERIFICATION_KEYS_TTL = 1.0
_ATTEMPTS = 5


class _Conflict(Exception):
    """Another transaction changed the keys between our read and our write; try again."""


def algorithm_for(purpose: str) -> str:
    """The configured signing algorithm of a purpose."""
    if purpose == KeyPurpose.STATEMENT:
        algorithm = dcr.statement_algorithm
    elif purpose == KeyPurpose.ACCESS_TOKEN:
        algorithm = dcr.access_token_algorithm
    else:
        raise ValueError(f"Unknown signing key purpose {purpose!r}.")
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ImproperlyConfigured(f"Signing algorithm {algorithm!r} is not one of {', '.join(SUPPORTED_ALGORITHMS)}.")
    return str(algorithm)


# --- Encryption at rest ---------------------------------------------------------------------------


def _fernet() -> MultiFernet:
    raw = str(dcr.key_encryption_key or "")
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys:
        raise ImproperlyConfigured("DCR_KEY_ENCRYPTION_KEY is not set; signing keys cannot be used.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        # Never echo the value: it is a secret.
        raise ImproperlyConfigured(
            "DCR_KEY_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes)."
        ) from None


def _encrypt_private_key(private_key: Any) -> str:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return _fernet().encrypt(pem).decode("ascii")


def signing_private_key(key: SigningKey) -> Any:
    """The decrypted private key of a signing key: for signing only, never to log or show."""
    try:
        pem = _fernet().decrypt(key.private_key_encrypted.encode("ascii"))
    except InvalidToken:
        raise ImproperlyConfigured(f"Signing key {key.kid} cannot be decrypted with DCR_KEY_ENCRYPTION_KEY.") from None
    return serialization.load_pem_private_key(pem, password=None)


# --- Key material ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Material:
    kid: str
    algorithm: str
    encrypted: str
    public_jwk: dict[str, Any]


def _generate(algorithm: str) -> _Material:
    """A fresh key pair (done outside any transaction: RSA generation takes tens of milliseconds)."""
    private_key: Any
    if algorithm == "RS256":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    elif algorithm == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ImproperlyConfigured(f"Signing algorithm {algorithm!r} is not supported.")
    kid = secrets.token_urlsafe(16)
    public = JWK.from_pyca(private_key.public_key()).export_public(as_dict=True)
    # RFC 7517 4.2-4.5: use, alg and kid published with the key.
    public.update({"kid": kid, "alg": algorithm, "use": "sig"})
    return _Material(kid=kid, algorithm=algorithm, encrypted=_encrypt_private_key(private_key), public_jwk=public)


def _environment_id(environment_id: int | None) -> int:
    return environment_production().id if environment_id is None else environment_id


def _create(purpose: str, state: str, material: _Material, environment_id: int) -> SigningKey:
    now = timezone.now()
    return SigningKey.objects.create(
        kid=material.kid,
        environment_id=environment_id,
        purpose=purpose,
        algorithm=material.algorithm,
        state=state,
        private_key_encrypted=material.encrypted,
        public_jwk=material.public_jwk,
        activated_at=now if state == KeyState.ACTIVE else None,
    )


def _audit(action: str, key: SigningKey, actor: Actor, ip_address: str | None, details: dict[str, Any]) -> None:
    audit_event_record(
        actor=actor,
        action=action,
        target=key,
        programmer=None,
        ip_address=ip_address,
        details={
            "kid": key.kid,
            "purpose": key.purpose,
            "algorithm": key.algorithm,
            "environment": key.environment_id,
            **details,
        },
    )


# --- Services -------------------------------------------------------------------------------------


def signing_key_active(purpose: str, *, environment_id: int | None = None) -> SigningKey:
    """The active key of a purpose in an environment; the first call creates it and a `next` key,
    safely under concurrency."""
    algorithm = algorithm_for(purpose)
    environment_id = _environment_id(environment_id)
    keys = SigningKey.objects.filter(environment_id=environment_id, purpose=purpose)
    key = keys.filter(state=KeyState.ACTIVE).first()
    if key is not None:
        return key
    first, second = _generate(algorithm), _generate(algorithm)
    for _ in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                return _bootstrap(purpose, environment_id, first, second)
        except (IntegrityError, _Conflict):
            key = keys.filter(state=KeyState.ACTIVE).first()
            if key is not None:
                return key
    raise RuntimeError(f"Could not create the first {purpose} signing key.")


def _bootstrap(purpose: str, environment_id: int, first: _Material, second: _Material) -> SigningKey:
    keys = SigningKey.objects.filter(environment_id=environment_id, purpose=purpose)
    existing = keys.filter(state=KeyState.ACTIVE).first()
    if existing is not None:
        return existing
    waiting = keys.filter(state=KeyState.NEXT).first()
    if waiting is not None:
        # A published `next` key is already known to verifiers: promote it rather than a brand-new one.
        if not SigningKey.objects.filter(pk=waiting.pk, state=KeyState.NEXT).update(
            state=KeyState.ACTIVE, activated_at=timezone.now()
        ):
            raise _Conflict
        active = SigningKey.objects.get(pk=waiting.pk)
        _create(purpose, KeyState.NEXT, second, environment_id)
    else:
        active = _create(purpose, KeyState.ACTIVE, first, environment_id)
        _create(purpose, KeyState.NEXT, second, environment_id)
    _audit("signing_key.create", active, "system", None, {"reason": "first use"})
    _forget_keys()
    return active


def signing_key_rotate(
    *, purpose: str, actor: Actor, ip_address: str | None = None, environment_id: int | None = None
) -> SigningKey:
    """`next` becomes active, active becomes retiring, a new `next` is created (in one environment);
    returns the new active key. Statements and tokens signed by the old key keep verifying while it is
    retiring."""
    algorithm = algorithm_for(purpose)
    environment_id = _environment_id(environment_id)
    signing_key_active(purpose, environment_id=environment_id)
    fresh, spare = _generate(algorithm), _generate(algorithm)
    for _ in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                return _rotate_once(purpose, environment_id, fresh, spare, actor, ip_address)
        except (IntegrityError, _Conflict):
            logger.info("signing key rotation for %s raced another change; retrying", purpose)
    raise RuntimeError(f"Could not rotate the {purpose} signing keys: too many concurrent changes.")


def _rotate_once(
    purpose: str, environment_id: int, fresh: _Material, spare: _Material, actor: Actor, ip_address: str | None
) -> SigningKey:
    keys = list(
        SigningKey.objects.select_for_update()
        .filter(environment_id=environment_id, purpose=purpose, state__in=[KeyState.ACTIVE, KeyState.NEXT])
        .order_by("pk")
    )
    active = next((k for k in keys if k.state == KeyState.ACTIVE), None)
    waiting = next((k for k in keys if k.state == KeyState.NEXT), None)
    if active is None:
        raise _Conflict
    now = timezone.now()
    # Compare-and-set, in this order, so the partial unique constraints hold after every statement.
    if not SigningKey.objects.filter(pk=active.pk, state=KeyState.ACTIVE).update(
        state=KeyState.RETIRING, retiring_at=now
    ):
        raise _Conflict
    details: dict[str, Any] = {"previous_kid": active.kid}
    if waiting is not None and waiting.algorithm != spare.algorithm:
        # The algorithm setting changed since `next` was made: that key never signed anything, so it is
        # retired and the new algorithm takes over with this rotation, not the one after it.
        if not SigningKey.objects.filter(pk=waiting.pk, state=KeyState.NEXT).update(
            state=KeyState.RETIRED, retired_at=now
        ):
            raise _Conflict
        details.update(replaced_next_kid=waiting.kid, algorithm=f"{waiting.algorithm} -> {spare.algorithm}")
        waiting = None
    if waiting is None:
        # The `next` key was retired by hand (or replaced just above): the new active key is one
        # verifiers have not cached yet; they refresh within VERIFICATION_KEYS_TTL.
        new_active = _create(purpose, KeyState.ACTIVE, spare, environment_id)
    else:
        if not SigningKey.objects.filter(pk=waiting.pk, state=KeyState.NEXT).update(
            state=KeyState.ACTIVE, activated_at=now
        ):
            raise _Conflict
        new_active = SigningKey.objects.get(pk=waiting.pk)
    new_next = _create(purpose, KeyState.NEXT, fresh, environment_id)
    details["next_kid"] = new_next.kid
    _audit("signing_key.rotate", new_active, actor, ip_address, details)
    _forget_keys()
    return new_active


@transaction.atomic
def signing_key_retire(*, key: SigningKey, actor: Actor, ip_address: str | None = None) -> SigningKey:
    """Retire a `retiring` or `next` key: it leaves the JWKS and verifies nothing from now on.

    The active key cannot be retired directly (rotate first): exactly one key must sign."""
    locked = SigningKey.objects.select_for_update().get(pk=key.pk)
    if locked.state == KeyState.RETIRED:
        return locked
    if locked.state == KeyState.ACTIVE:
        raise ValidationError(gettext("The active key cannot be retired; rotate the keys first, then retire it."))
    previous = locked.state
    locked.state = KeyState.RETIRED
    locked.retired_at = timezone.now()
    locked.save(update_fields=["state", "retired_at"])
    _audit("signing_key.retire", locked, actor, ip_address, {"previous_state": previous})
    _forget_keys()
    for field in ("state", "retired_at"):
        setattr(key, field, getattr(locked, field))
    return locked


# --- In-process caches of the hot path ------------------------------------------------------------


class _KeyCaches:
    """This process's signing-key caches, registered in core.process_state (its reset is `clear`)."""

    def __init__(self) -> None:
        # Re-entrant: loading the active key may create the first keys, which clears the caches.
        self.lock = threading.RLock()
        # (environment id, purpose) -> (expires at (monotonic), (kid, alg, private key)). Bounded by the
        # environments times two purposes.
        self.active: dict[tuple[int, str], tuple[float, tuple[str, str, Any]]] = {}
        # (environment id, purpose) -> (expires at, {kid: (alg, public key)}, {kid: (alg, jwcrypto JWK)})
        self.verification: dict[
            tuple[int, str], tuple[float, dict[str, tuple[str, Any]], dict[str, tuple[str, JWK]]]
        ] = {}

    def clear(self) -> None:
        with self.lock:
            self.active.clear()
            self.verification.clear()


_caches = process_state.register("signing-keys", _KeyCaches())


class NoActiveKey(LookupError):
    """No key of this purpose has been made yet (the first signature makes them)."""


def active_signing_material(
    purpose: str, *, create: bool = True, environment_id: int | None = None
) -> tuple[str, str, Any]:
    """(kid, alg, private key) of the active key, cached in-process for ACTIVE_MATERIAL_TTL seconds.

    A worker may keep signing with a just-rotated key for that long; it is `retiring`, so it verifies.
    With `create=False`, NoActiveKey is raised instead of making the first keys (a read-only caller)."""
    now = time.monotonic()
    cache_key = (_environment_id(environment_id), purpose)
    entry = _caches.active.get(cache_key)
    if entry is not None and entry[0] > now:
        return entry[1]
    with _caches.lock:
        entry = _caches.active.get(cache_key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        if create:
            key = signing_key_active(purpose, environment_id=cache_key[0])
        else:
            found = SigningKey.objects.filter(
                environment_id=cache_key[0], purpose=purpose, state=KeyState.ACTIVE
            ).first()
            if found is None:
                raise NoActiveKey(purpose)
            key = found
        material = (key.kid, key.algorithm, signing_private_key(key))
        _caches.active[cache_key] = (time.monotonic() + ACTIVE_MATERIAL_TTL, material)
        return material


def _verification_entries(
    purpose: str, environment_id: int | None
) -> tuple[dict[str, tuple[str, Any]], dict[str, tuple[str, JWK]]]:
    cache_key = (_environment_id(environment_id), purpose)
    entry = _caches.verification.get(cache_key)
    if entry is not None and entry[0] > time.monotonic():
        return entry[1], entry[2]
    with _caches.lock:
        entry = _caches.verification.get(cache_key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1], entry[2]
        if purpose not in KeyPurpose.values:
            raise ValueError(f"Unknown signing key purpose {purpose!r}.")
        rows = SigningKey.objects.filter(environment_id=cache_key[0], purpose=purpose).exclude(state=KeyState.RETIRED)
        public_keys: dict[str, tuple[str, Any]] = {}
        jwks: dict[str, tuple[str, JWK]] = {}
        for row in rows.only("kid", "algorithm", "public_jwk"):
            jwk = JWK(**row.public_jwk)
            public_keys[row.kid] = (row.algorithm, jwk.get_op_key("verify"))
            jwks[row.kid] = (row.algorithm, jwk)
        _caches.verification[cache_key] = (time.monotonic() + VERIFICATION_KEYS_TTL, public_keys, jwks)
        return public_keys, jwks


def verification_keys(purpose: str, *, environment_id: int | None = None) -> dict[str, tuple[str, Any]]:
    """kid -> (alg, public key) of every non-retired key of a purpose in an environment, cached
    in-process for at most one second, so that a retirement takes effect on every worker within a
    second. Do not mutate."""
    return _verification_entries(purpose, environment_id)[0]


def verification_jwk(purpose: str, kid: str, *, environment_id: int | None = None) -> tuple[str, JWK] | None:
    """(alg, jwcrypto JWK) of one non-retired key of the environment, or None when the kid is not one
    of its keys (another environment's key included)."""
    return _verification_entries(purpose, environment_id)[1].get(kid)


def _forget_keys() -> None:
    """This process forgets its cached keys now and again once the change commits; other workers
    follow within the TTLs above."""
    clear_key_caches()
    transaction.on_commit(clear_key_caches)


def clear_key_caches() -> None:
    """Forget the cached keys of this process (called after every key change, and by tests)."""
    _caches.clear()
