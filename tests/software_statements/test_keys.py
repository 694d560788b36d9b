"""Signing keys: first use, rotation, retirement, encryption at rest and the in-process caches."""

import threading

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection

from registered_apps.models import AuditEvent
from software_statements import keys
from software_statements.models import KeyState, SigningKey


def states(purpose):
    return sorted(SigningKey.objects.filter(purpose=purpose).values_list("state", flat=True))


@pytest.mark.django_db
def test_first_use_creates_an_active_and_a_next_key_once():
    first = keys.signing_key_active("statement")
    again = keys.signing_key_active("statement")
    assert first.pk == again.pk
    assert first.state == KeyState.ACTIVE
    assert states("statement") == ["active", "next"]
    assert AuditEvent.objects.filter(action="signing_key.create", object_id=str(first.pk)).count() == 1


@pytest.mark.django_db
def test_algorithms_follow_the_settings(settings):
    settings.DCR_STATEMENT_ALGORITHM = "ES256"
    statement = keys.signing_key_active("statement")
    token = keys.signing_key_active("access_token")
    assert statement.algorithm == "ES256"
    assert token.algorithm == "ES256"
    kid, alg, private_key = keys.active_signing_material("statement")
    assert (kid, alg) == (statement.kid, "ES256")
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)


@pytest.mark.django_db
def test_a_changed_algorithm_takes_over_at_the_next_rotation(settings, client):
    """The waiting `next` key was made with the old algorithm: the first rotation after the change
    retires it (it never signed) and activates a key of the new algorithm; the old active key retires
    as usual, so what it signed keeps verifying."""
    old_active = keys.signing_key_active("statement")
    old_next = SigningKey.objects.get(purpose="statement", state=KeyState.NEXT)
    assert old_active.algorithm == old_next.algorithm == "RS256"
    settings.DCR_STATEMENT_ALGORITHM = "ES256"
    new_active = keys.signing_key_rotate(purpose="statement", actor="tests")
    assert new_active.algorithm == "ES256"
    assert keys.active_signing_material("statement")[1] == "ES256"
    old_active.refresh_from_db()
    old_next.refresh_from_db()
    assert (old_active.state, old_next.state) == (KeyState.RETIRING, KeyState.RETIRED)
    assert SigningKey.objects.get(purpose="statement", state=KeyState.NEXT).algorithm == "ES256"
    published = {key["kid"]: key["alg"] for key in client.get("/.well-known/jwks.json").json()["keys"]}
    assert published[new_active.kid] == "ES256" and published[old_active.kid] == "RS256"
    assert old_next.kid not in published
    event = AuditEvent.objects.filter(action="signing_key.rotate").latest("pk")
    assert event.details["replaced_next_kid"] == old_next.kid
    assert event.details["algorithm"] == "RS256 -> ES256"


@pytest.mark.django_db
def test_default_statement_algorithm_is_rs256_with_an_rsa_key():
    _kid, alg, private_key = keys.active_signing_material("statement")
    assert alg == "RS256"
    assert isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size >= 2048


@pytest.mark.django_db
def test_unsupported_algorithm_setting_is_refused(settings):
    settings.DCR_ACCESS_TOKEN_ALGORITHM = "HS256"
    with pytest.raises(ImproperlyConfigured):
        keys.signing_key_active("access_token")
    assert not SigningKey.objects.exists()


@pytest.mark.django_db
def test_private_key_is_encrypted_at_rest_and_public_jwk_has_no_private_part():
    key = keys.signing_key_active("access_token")
    assert "PRIVATE" not in key.private_key_encrypted
    assert key.private_key_encrypted.startswith("gAAAA")  # a Fernet token
    assert set(key.public_jwk) >= {"kid", "alg", "use", "kty", "crv", "x", "y"}
    assert "d" not in key.public_jwk
    assert key.public_jwk["kid"] == key.kid and key.public_jwk["use"] == "sig"


@pytest.mark.django_db
def test_a_wrong_key_encryption_key_fails_without_revealing_anything(settings):
    keys.signing_key_active("statement")
    settings.DCR_KEY_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(ImproperlyConfigured) as raised:
        keys.active_signing_material("statement")
    assert settings.DCR_KEY_ENCRYPTION_KEY not in str(raised.value)


@pytest.mark.django_db
def test_key_encryption_key_can_rotate_with_a_comma_separated_list(settings):
    old = settings.DCR_KEY_ENCRYPTION_KEY
    keys.signing_key_active("statement")
    settings.DCR_KEY_ENCRYPTION_KEY = f"{Fernet.generate_key().decode()},{old}"
    keys.clear_key_caches()
    assert keys.active_signing_material("statement")[0]


@pytest.mark.django_db
def test_rotation_promotes_next_and_keeps_the_old_key_verifying():
    active = keys.signing_key_active("statement")
    waiting = SigningKey.objects.get(purpose="statement", state=KeyState.NEXT)
    new_active = keys.signing_key_rotate(purpose="statement", actor="tests")
    assert new_active.pk == waiting.pk
    active.refresh_from_db()
    assert active.state == KeyState.RETIRING and active.retiring_at is not None
    assert states("statement") == ["active", "next", "retiring"]
    assert set(keys.verification_keys("statement")) == set(
        SigningKey.objects.filter(purpose="statement").values_list("kid", flat=True)
    )
    assert keys.active_signing_material("statement")[0] == waiting.kid
    event = AuditEvent.objects.get(action="signing_key.rotate")
    assert event.details["previous_kid"] == active.kid and event.actor_label == "tests"


@pytest.mark.django_db
def test_rotation_of_one_purpose_leaves_the_other_alone():
    token_key = keys.signing_key_active("access_token")
    keys.signing_key_rotate(purpose="statement", actor="tests")
    token_key.refresh_from_db()
    assert token_key.state == KeyState.ACTIVE
    assert states("access_token") == ["active", "next"]


@pytest.mark.django_db
def test_retired_key_leaves_the_verification_set_and_the_active_key_cannot_be_retired():
    old = keys.signing_key_active("statement")
    with pytest.raises(ValidationError):
        keys.signing_key_retire(key=old, actor="tests")
    keys.signing_key_rotate(purpose="statement", actor="tests")
    assert old.kid in keys.verification_keys("statement")
    keys.signing_key_retire(key=old, actor="tests")
    assert old.state == KeyState.RETIRED
    assert old.kid not in keys.verification_keys("statement")
    assert AuditEvent.objects.filter(action="signing_key.retire", object_id=str(old.pk)).count() == 1


@pytest.mark.django_db
def test_rotation_after_the_next_key_was_retired_still_leaves_one_active_and_one_next():
    keys.signing_key_active("statement")
    waiting = SigningKey.objects.get(purpose="statement", state=KeyState.NEXT)
    keys.signing_key_retire(key=waiting, actor="tests")
    new_active = keys.signing_key_rotate(purpose="statement", actor="tests")
    assert new_active.state == KeyState.ACTIVE and new_active.pk != waiting.pk
    assert states("statement") == ["active", "next", "retired", "retiring"]


@pytest.mark.django_db
def test_many_rotations_keep_exactly_one_active_key():
    for _ in range(4):
        keys.signing_key_rotate(purpose="access_token", actor="tests")
    assert SigningKey.objects.filter(purpose="access_token", state=KeyState.ACTIVE).count() == 1
    assert SigningKey.objects.filter(purpose="access_token", state=KeyState.NEXT).count() == 1
    assert SigningKey.objects.filter(purpose="access_token", state=KeyState.RETIRING).count() == 4


@pytest.mark.django_db
def test_cached_material_answers_without_a_database_query(django_assert_num_queries):
    keys.active_signing_material("access_token")
    keys.verification_keys("access_token")
    with django_assert_num_queries(0):
        for _ in range(50):
            keys.active_signing_material("access_token")
            keys.verification_keys("access_token")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises writers; the race needs PostgreSQL")
def test_concurrent_first_use_and_rotations_leave_exactly_one_active_key():
    errors = []

    def work(index):
        try:
            if index % 2:
                keys.signing_key_active("access_token")
            else:
                keys.signing_key_rotate(purpose="access_token", actor="tests")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert SigningKey.objects.filter(purpose="access_token", state=KeyState.ACTIVE).count() == 1
    assert SigningKey.objects.filter(purpose="access_token", state=KeyState.NEXT).count() == 1
