"""Client-secret keys (README "Configuration" and "Rotating keys"): DCR_CLIENT_SECRET_KEYS, the key id in each hash,
legacy hashes under SECRET_KEY and SECRET_KEY_FALLBACKS, re-hashing by compare-and-set, production checks."""

import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.hashers import check_password, get_hasher, identify_hasher, make_password
from django.test import override_settings

from core.hot_store import hot_store
from oauth.hashers import SecretCheck, client_secret_encode, client_secret_key_id, client_secret_verify
from oauth.models import Client
from oauth.services import client_secret_rehash
from tests.helpers import assert_json_error
from tests.oauth.api import get_token, register, token_request

ROOT = Path(__file__).resolve().parents[2]

OLD_SECRET_KEY = "old-secret-key-" + "a1b2c3d4" * 6
NEW_SECRET_KEY = "new-secret-key-" + "e5f6a7b8" * 6
KEY_ONE = "client-secret-key-one-" + "0123456789abcdef" * 3
KEY_TWO = "client-secret-key-two-" + "fedcba9876543210" * 3
SECRET = secrets.token_urlsafe(32)

MATCH = SecretCheck(matches=True, needs_rehash=False)
MATCH_REHASH = SecretCheck(matches=True, needs_rehash=True)
NO_MATCH = SecretCheck(matches=False, needs_rehash=False)


def legacy_encode(secret: str, secret_key: str, salt: str = "c2FsdHNhbHRzYWx0c2FsdA") -> str:
    """The format stored before client-secret keys existed, written out here so that it stays pinned."""
    pepper = hashlib.sha256(b"dcr-client-secret-pepper:" + secret_key.encode()).digest()
    digest = hmac.new(pepper, salt.encode() + b"$" + secret.encode(), hashlib.sha256).hexdigest()
    return f"client_secret_hmac${salt}${digest}"


def other_secret(secret: str) -> str:
    return ("y" if secret[0] == "x" else "x") + secret[1:]


# --- encode and verify ------------------------------------------------------------------------------


@override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_ONE, KEY_TWO])
def test_a_new_secret_is_stored_with_the_first_keys_id_and_verifies_without_rehash():
    encoded = client_secret_encode(SECRET)

    algorithm, key_id, salt, digest = encoded.split("$")
    assert (algorithm, key_id) == ("client_secret_hmac", client_secret_key_id(KEY_ONE))
    assert len(salt) >= 22 and len(digest) == 64
    assert SECRET not in encoded and KEY_ONE not in encoded
    assert client_secret_verify(SECRET, encoded) == MATCH
    assert client_secret_verify(other_secret(SECRET), encoded) == NO_MATCH
    assert client_secret_encode(SECRET) != encoded  # a fresh salt each time


def test_a_check_is_truthy_exactly_when_the_secret_matches():
    encoded = client_secret_encode(SECRET)
    assert client_secret_verify(SECRET, encoded)
    assert not client_secret_verify(other_secret(SECRET), encoded)


def test_key_ids_are_short_distinct_and_reveal_nothing_of_the_key():
    one, two = client_secret_key_id(KEY_ONE), client_secret_key_id(KEY_TWO)
    assert len(one) == len(two) == 8 and one != two
    assert one not in KEY_ONE and two not in KEY_TWO


def test_a_hash_under_an_older_key_still_in_the_list_verifies_and_asks_for_a_rehash():
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_ONE]):
        encoded = client_secret_encode(SECRET)
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_TWO, KEY_ONE]):
        assert client_secret_verify(SECRET, encoded) == MATCH_REHASH
        assert client_secret_verify(other_secret(SECRET), encoded) == NO_MATCH
        rehashed = client_secret_encode(SECRET)
        assert rehashed.split("$")[1] == client_secret_key_id(KEY_TWO)
        assert client_secret_verify(SECRET, rehashed) == MATCH


def test_a_hash_under_a_key_dropped_from_the_list_no_longer_verifies():
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_ONE]):
        encoded = client_secret_encode(SECRET)
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_TWO]):
        assert client_secret_verify(SECRET, encoded) == NO_MATCH
        assert not check_password(SECRET, encoded)


@override_settings(SECRET_KEY=OLD_SECRET_KEY, SECRET_KEY_FALLBACKS=[], DCR_CLIENT_SECRET_KEYS=[])
def test_without_configured_keys_the_key_is_derived_from_secret_key_and_follows_its_rotation():
    encoded = client_secret_encode(SECRET)
    assert client_secret_verify(SECRET, encoded) == MATCH
    with override_settings(SECRET_KEY=NEW_SECRET_KEY):
        assert client_secret_verify(SECRET, encoded) == NO_MATCH
    with override_settings(SECRET_KEY=NEW_SECRET_KEY, SECRET_KEY_FALLBACKS=[OLD_SECRET_KEY]):
        assert client_secret_verify(SECRET, encoded) == MATCH_REHASH
    # Configuring client-secret keys later keeps these hashes verifying while SECRET_KEY does.
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_ONE]):
        assert client_secret_verify(SECRET, encoded) == MATCH_REHASH


@override_settings(SECRET_KEY=OLD_SECRET_KEY, SECRET_KEY_FALLBACKS=[], DCR_CLIENT_SECRET_KEYS=[])
def test_a_legacy_hash_verifies_under_secret_key_and_always_asks_for_a_rehash():
    legacy = legacy_encode(SECRET, OLD_SECRET_KEY)
    assert client_secret_verify(SECRET, legacy) == MATCH_REHASH
    assert client_secret_verify(other_secret(SECRET), legacy) == NO_MATCH
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_ONE]):
        assert client_secret_verify(SECRET, legacy) == MATCH_REHASH


@override_settings(SECRET_KEY=OLD_SECRET_KEY, SECRET_KEY_FALLBACKS=[], DCR_CLIENT_SECRET_KEYS=[])
def test_a_legacy_hash_verifies_after_secret_key_rotation_only_with_the_old_key_in_fallbacks():
    legacy = legacy_encode(SECRET, OLD_SECRET_KEY)
    with override_settings(SECRET_KEY=NEW_SECRET_KEY, SECRET_KEY_FALLBACKS=[OLD_SECRET_KEY]):
        assert client_secret_verify(SECRET, legacy) == MATCH_REHASH
        assert client_secret_verify(other_secret(SECRET), legacy) == NO_MATCH
    with override_settings(SECRET_KEY=NEW_SECRET_KEY, SECRET_KEY_FALLBACKS=[]):
        assert client_secret_verify(SECRET, legacy) == NO_MATCH


@override_settings(SECRET_KEY=OLD_SECRET_KEY, SECRET_KEY_FALLBACKS=[], DCR_CLIENT_SECRET_KEYS=[])
def test_defect_rotating_secret_key_with_the_old_one_in_fallbacks_keeps_todays_hashes_verifying():
    """A defect found at fleet scale. Only Django's public API, so it runs unchanged on the code before the fix
    (where it fails: the pepper came from SECRET_KEY alone)."""
    stored = legacy_encode(SECRET, OLD_SECRET_KEY)
    assert check_password(SECRET, stored)
    with override_settings(SECRET_KEY=NEW_SECRET_KEY, SECRET_KEY_FALLBACKS=[OLD_SECRET_KEY]):
        assert check_password(SECRET, stored)
        assert not check_password(other_secret(SECRET), stored)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "client_secret_hmac",
        "client_secret_hmac$",
        "client_secret_hmac$$",
        "client_secret_hmac$$$",
        "client_secret_hmac$salt$",
        "client_secret_hmac$00000000$salt$" + "0" * 64,
        "client_secret_hmac$a$b$c$d",
        "client_secret_hmac$salt$\u00e9\u00e9",
        "client_secret_hmac2$00000000$salt$" + "0" * 64,
        "pbkdf2_sha256$1000000$salt$hash",
    ],
    ids=repr,
)
def test_unknown_key_ids_and_malformed_encodings_do_not_match_and_do_not_raise(encoded):
    assert client_secret_verify(SECRET, encoded) == NO_MATCH


def test_a_secret_that_cannot_be_encoded_does_not_match_and_does_not_raise():
    assert client_secret_verify("\ud800", client_secret_encode(SECRET)) == NO_MATCH
    assert client_secret_verify("\ud800", legacy_encode(SECRET, "any")) == NO_MATCH


# --- the Django hasher (make_password, check_password) ----------------------------------------------


@override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_TWO, KEY_ONE], SECRET_KEY=OLD_SECRET_KEY, SECRET_KEY_FALLBACKS=[])
def test_the_django_hasher_makes_the_new_format_and_checks_both():
    made = make_password(SECRET, hasher="client_secret_hmac")
    assert made.split("$")[1] == client_secret_key_id(KEY_TWO)
    assert identify_hasher(made).algorithm == "client_secret_hmac"
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_ONE]):
        under_key_one = make_password(SECRET, hasher="client_secret_hmac")
    legacy = legacy_encode(SECRET, OLD_SECRET_KEY)
    hasher = get_hasher("client_secret_hmac")
    for encoded in (made, under_key_one, legacy):
        assert check_password(SECRET, encoded)
        assert not check_password(other_secret(SECRET), encoded)
        summary = json.dumps(hasher.safe_summary(encoded))
        assert encoded.split("$")[-1] not in summary and encoded.split("$")[-2] not in summary
    assert [hasher.must_update(encoded) for encoded in (made, under_key_one, legacy)] == [False, True, True]


# --- re-hashing by compare-and-set, on real rows ----------------------------------------------------


def store(credentials, encoded: str) -> Client:
    row = Client.objects.get(client_id=credentials["client_id"])
    Client.objects.filter(pk=row.pk).update(client_secret=encoded)
    row.refresh_from_db()
    return row


def test_registration_stores_the_secret_under_the_first_configured_key(client, statement):
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_ONE, KEY_TWO]):
        body = register(client, statement).json()
        stored = Client.objects.get(client_id=body["client_id"]).client_secret
        assert stored.split("$")[1] == client_secret_key_id(KEY_ONE)
        assert client_secret_verify(body["client_secret"], stored) == MATCH
        assert get_token(client, body)["token_type"] == "bearer"


def test_rehash_replaces_a_hash_under_an_old_key_with_one_under_the_current_key(credentials):
    secret = credentials["client_secret"]
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_ONE]):
        old = store(credentials, client_secret_encode(secret))
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_TWO, KEY_ONE]):
        new = client_secret_rehash(client_pk=old.pk, secret=secret, old_encoded=old.client_secret)

        assert new is not None and new != old.client_secret
        assert Client.objects.get(pk=old.pk).client_secret == new
        assert new.split("$")[1] == client_secret_key_id(KEY_TWO)
        assert client_secret_verify(secret, new) == MATCH
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_TWO]):  # the old key can go now
        assert client_secret_verify(secret, Client.objects.get(pk=old.pk).client_secret) == MATCH


@override_settings(SECRET_KEY=NEW_SECRET_KEY, SECRET_KEY_FALLBACKS=[OLD_SECRET_KEY], DCR_CLIENT_SECRET_KEYS=[KEY_ONE])
def test_rehash_upgrades_a_legacy_hash_made_under_a_rotated_secret_key(credentials):
    secret = credentials["client_secret"]
    old = store(credentials, legacy_encode(secret, OLD_SECRET_KEY))

    new = client_secret_rehash(client_pk=old.pk, secret=secret, old_encoded=old.client_secret)

    assert new is not None and Client.objects.get(pk=old.pk).client_secret == new
    with override_settings(SECRET_KEY_FALLBACKS=[]):
        assert client_secret_verify(secret, new) == MATCH


def test_rehash_loses_to_a_worker_that_got_there_first_and_leaves_its_hash(credentials):
    secret = credentials["client_secret"]
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_ONE]):
        old = store(credentials, client_secret_encode(secret)).client_secret
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_TWO, KEY_ONE]):
        pk = Client.objects.get(client_id=credentials["client_id"]).pk
        first = client_secret_rehash(client_pk=pk, secret=secret, old_encoded=old)
        second = client_secret_rehash(client_pk=pk, secret=secret, old_encoded=old)

        assert first is not None and second is None
        assert Client.objects.get(pk=pk).client_secret == first


def test_rehash_of_a_client_that_is_gone_changes_nothing(credentials):
    row = Client.objects.get(client_id=credentials["client_id"])
    assert (
        client_secret_rehash(
            client_pk=row.pk + 1000, secret=credentials["client_secret"], old_encoded=row.client_secret
        )
        is None
    )
    assert Client.objects.get(pk=row.pk).client_secret == row.client_secret


def test_rehash_refuses_a_secret_that_does_not_match_without_showing_it(credentials):
    row = Client.objects.get(client_id=credentials["client_id"])
    wrong = other_secret(credentials["client_secret"])
    with pytest.raises(ValueError) as raised:
        client_secret_rehash(client_pk=row.pk, secret=wrong, old_encoded=row.client_secret)
    assert wrong not in str(raised.value) and row.client_secret not in str(raised.value)
    assert Client.objects.get(pk=row.pk).client_secret == row.client_secret


# --- over HTTP --------------------------------------------------------------------------------------


def test_a_client_hashed_under_an_older_key_still_in_the_list_gets_tokens(client, credentials):
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_ONE]):
        store(credentials, client_secret_encode(credentials["client_secret"]))
    hot_store().client_record_drop(credentials["client_id"])  # as if this record were never stored
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_TWO, KEY_ONE]):
        assert get_token(client, credentials)["token_type"] == "bearer"


def test_a_client_hashed_under_a_dropped_key_is_an_invalid_client(client, credentials):
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_ONE]):
        store(credentials, client_secret_encode(credentials["client_secret"]))
    hot_store().client_record_drop(credentials["client_id"])  # as if this record were never stored
    with override_settings(DCR_CLIENT_SECRET_KEYS=[KEY_TWO]):
        response = token_request(
            client,
            {
                "grant_type": "client_credentials",
                "client_id": credentials["client_id"],
                "client_secret": credentials["client_secret"],
            },
        )
    assert_json_error(response, 400, "invalid_client")  # form credentials: 400 (Basic would be 401)


@override_settings(SECRET_KEY=OLD_SECRET_KEY, SECRET_KEY_FALLBACKS=[], DCR_CLIENT_SECRET_KEYS=[])
def test_defect_token_endpoint_accepts_a_legacy_secret_after_secret_key_rotation_and_rehashes_it(client, credentials):
    secret = credentials["client_secret"]
    legacy = store(credentials, legacy_encode(secret, OLD_SECRET_KEY)).client_secret
    hot_store().client_record_drop(credentials["client_id"])  # as if this record were never stored
    with override_settings(
        SECRET_KEY=NEW_SECRET_KEY, SECRET_KEY_FALLBACKS=[OLD_SECRET_KEY], DCR_CLIENT_SECRET_KEYS=[KEY_ONE]
    ):
        assert get_token(client, credentials)["token_type"] == "bearer"
        stored = Client.objects.get(client_id=credentials["client_id"]).client_secret
        assert stored != legacy and stored.split("$")[1] == client_secret_key_id(KEY_ONE)
        assert client_secret_verify(secret, stored) == MATCH


# --- production settings ----------------------------------------------------------------------------


def import_production_settings(**environment: str) -> subprocess.CompletedProcess[str]:
    """Import the production settings in a fresh interpreter (they read the environment once, at import)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DCR_", "SECRET_KEY"))}
    env.update(SECRET_KEY=secrets.token_urlsafe(48), DCR_KEY_ENCRYPTION_KEY=Fernet.generate_key().decode())
    env.update(environment)
    code = (
        "import json, dcr_project.settings.production as s; "
        "print(json.dumps([s.DCR_CLIENT_SECRET_KEYS, s.SECRET_KEY_FALLBACKS]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


GOOD_KEY = secrets.token_urlsafe(48)
SHORT_KEY = secrets.token_urlsafe(12)
BAD_CLIENT_SECRET_KEYS = {
    "too short": SHORT_KEY,
    "too few distinct characters": "ab" * 20,
    "a Django insecure key": "django-insecure-" + secrets.token_urlsafe(32),
    "a short old key after a good one": f"{GOOD_KEY},{SHORT_KEY}",
    "an empty entry": f"{GOOD_KEY},",
    "the same key twice": f"{GOOD_KEY}, {GOOD_KEY}",
}


@pytest.mark.parametrize("value", BAD_CLIENT_SECRET_KEYS.values(), ids=BAD_CLIENT_SECRET_KEYS.keys())
def test_production_settings_refuse_a_malformed_client_secret_key_list_without_showing_it(value):
    result = import_production_settings(DCR_CLIENT_SECRET_KEYS=value)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DCR_CLIENT_SECRET_KEYS" in result.stderr, result.stderr[-2000:]
    for key in value.split(","):
        if key.strip():
            assert key.strip() not in result.stderr


def test_production_settings_read_both_key_lists_from_the_environment():
    other, old = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    result = import_production_settings(
        DCR_CLIENT_SECRET_KEYS=f" {GOOD_KEY} , {other}", SECRET_KEY_FALLBACKS=f"{old}, {old[::-1]}"
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == [[GOOD_KEY, other], [old, old[::-1]]]


def test_production_settings_start_without_client_secret_keys():
    result = import_production_settings()

    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == [[], []]
