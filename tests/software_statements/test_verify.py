"""The verifier against every known JWS attack: each gives the documented error and changes nothing."""

import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK

from registered_apps.services import registered_application_revoke
from software_statements import keys
from software_statements.jws import MAX_TOKEN_LENGTH
from software_statements.models import SigningKey
from software_statements.services import software_statement_issue, software_statement_revoke
from software_statements.verify import INVALID, UNAPPROVED, StatementError, software_statement_verify
from tests.software_statements.helpers import (
    active_statement_key,
    b64,
    b64decode,
    claims_for,
    foreign_key,
    forge,
    random_uuid,
    world_snapshot,
)


@pytest.fixture
def issued(application):
    return software_statement_issue(application=application, actor="tests")


def refused(token, code=INVALID) -> StatementError:
    before = world_snapshot()
    with pytest.raises(StatementError) as raised:
        software_statement_verify(token)
    assert raised.value.code == code, raised.value.description
    assert raised.value.description.endswith(".")
    assert world_snapshot() == before
    return raised.value


def ours(statement, header_extra=None, **claim_overrides) -> str:
    """A token signed with our real active statement key (what only we, or a key thief, can make)."""
    key, private_key = active_statement_key()
    header = {"alg": key.algorithm, "kid": key.kid, "typ": "JWT", **(header_extra or {})}
    return forge(header, claims_for(statement, **claim_overrides), private_key)


# --- The genuine article ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_issued_statement_verifies_with_its_registry_row_and_application(issued, application):
    token, statement = issued
    verified = software_statement_verify(token)
    assert verified.statement.pk == statement.pk
    assert verified.application.pk == application.pk
    assert verified.claims["software_id"] == str(application.pk)


@pytest.mark.django_db
def test_a_hand_built_token_signed_with_our_key_verifies(issued):
    """The forging helper is faithful, so the attack tests below fail for the reason they name."""
    _, statement = issued
    assert software_statement_verify(ours(statement)).statement.pk == statement.pk


@pytest.mark.django_db
def test_iat_within_the_sixty_second_leeway_is_accepted(issued):
    _, statement = issued
    software_statement_verify(ours(statement, iat=int(time.time()) + 50))


@pytest.mark.django_db
def test_es256_statements_verify_when_configured(settings, application):
    settings.DCR_STATEMENT_ALGORITHM = "ES256"
    token, _ = software_statement_issue(application=application, actor="tests")
    assert json.loads(b64decode(token.split(".")[0])).get("alg") == "ES256"
    assert software_statement_verify(token).application.pk == application.pk


# --- Algorithm attacks --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("signature", ["", "AAAA"])
def test_alg_none_is_refused(issued, signature):
    _, statement = issued
    key, _ = active_statement_key()
    header = {"alg": "none", "kid": key.kid, "typ": "JWT"}
    token = f"{b64(header)}.{b64(claims_for(statement))}.{signature}"
    refused(token)


@pytest.mark.django_db
@pytest.mark.parametrize("alg", ["None", "NONE", "HS384", "HS512", "PS256", "RS512", "EdDSA", ""])
def test_algorithms_outside_the_allow_list_are_refused(issued, alg):
    _, statement = issued
    key, private_key = active_statement_key()
    signing_alg = "RS256" if key.algorithm == "RS256" else "ES256"
    refused(forge({"alg": alg, "kid": key.kid}, claims_for(statement), private_key, alg=signing_alg))


@pytest.mark.django_db
def test_hs256_signed_with_our_public_key_pem_is_refused(issued):
    """Algorithm confusion: an HMAC keyed with the public key every client can download."""
    _, statement = issued
    key, private_key = active_statement_key()
    pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (pem, pem.strip(), json.dumps(key.public_jwk).encode()):
        refused(forge({"alg": "HS256", "kid": key.kid, "typ": "JWT"}, claims_for(statement), secret))


@pytest.mark.django_db
def test_es256_header_on_our_rs256_key_is_refused(issued):
    _, statement = issued
    key, _ = active_statement_key()
    assert key.algorithm == "RS256"
    refused(forge({"alg": "ES256", "kid": key.kid}, claims_for(statement), foreign_key("ES256")))


# --- Key selection attacks ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_rs256_signed_by_a_foreign_key_claiming_our_kid_is_refused(issued):
    _, statement = issued
    key, _ = active_statement_key()
    error = refused(forge({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims_for(statement), foreign_key()))
    assert "signature" in error.description


@pytest.mark.django_db
def test_missing_kid_is_refused_even_with_a_valid_signature(issued):
    _, statement = issued
    key, private_key = active_statement_key()
    refused(forge({"alg": key.algorithm, "typ": "JWT"}, claims_for(statement), private_key))


@pytest.mark.django_db
@pytest.mark.parametrize("kid", ["unknown-kid", "", 42, None, ["a"], "../../etc/passwd"])
def test_unknown_or_malformed_kid_is_refused(issued, kid):
    _, statement = issued
    key, private_key = active_statement_key()
    refused(forge({"alg": key.algorithm, "kid": kid}, claims_for(statement), private_key))


@pytest.mark.django_db
def test_a_kid_of_an_access_token_key_is_refused(issued):
    """Keys of the other purpose never verify statements, even when the signature is valid."""
    _, statement = issued
    token_key = keys.signing_key_active("access_token")
    private_key = keys.signing_private_key(token_key)
    refused(forge({"alg": token_key.algorithm, "kid": token_key.kid}, claims_for(statement), private_key))


@pytest.mark.django_db
def test_retired_kid_is_refused(issued):
    token, _ = issued
    old = keys.signing_key_active("statement")
    keys.signing_key_rotate(purpose="statement", actor="tests")
    keys.signing_key_retire(key=old, actor="tests")
    refused(token)


@pytest.mark.django_db
@pytest.mark.parametrize("parameter", ["jwk", "jku", "x5c", "x5u"])
def test_a_key_supplied_in_the_header_is_refused(issued, parameter):
    _, statement = issued
    attacker = foreign_key()
    attacker_jwk = JWK.from_pyca(attacker.public_key()).export_public(as_dict=True)
    value = {
        "jwk": attacker_jwk,
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIBszCCAVmgAwIBAgIU"],
    }[parameter]
    key, _private_key = active_statement_key()
    # Signed by the attacker with the attacker's key offered in the header...
    refused(forge({"alg": "RS256", "kid": key.kid, parameter: value}, claims_for(statement), attacker))
    refused(forge({"alg": "RS256", parameter: value}, claims_for(statement), attacker))
    # ...and even a genuine signature is refused when the header offers a key.
    refused(ours(statement, header_extra={parameter: value}))


@pytest.mark.django_db
def test_crit_header_is_refused(issued):
    _, statement = issued
    refused(ours(statement, header_extra={"crit": ["exp"], "exp": 1}))


# --- Tampering ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tampered_payload_is_refused(issued):
    token, _statement = issued
    header, payload, signature = token.split(".")
    claims = json.loads(b64decode(payload))
    claims["scope"] = claims["scope"] + " mvpd:proxy:owner"
    refused(f"{header}.{b64(claims)}.{signature}")


@pytest.mark.django_db
def test_tampered_header_is_refused(issued):
    token, _ = issued
    header, payload, signature = token.split(".")
    decoded = json.loads(b64decode(header))
    decoded["typ"] = "jwt"
    refused(f"{b64(decoded)}.{payload}.{signature}")


@pytest.mark.django_db
def test_tampered_signature_is_refused(issued):
    token, _ = issued
    header, payload, signature = token.split(".")
    flipped = ("B" if signature[10] != "B" else "C").join([signature[:10], signature[11:]])
    refused(f"{header}.{payload}.{flipped}")


@pytest.mark.django_db
def test_duplicate_member_names_are_refused(issued):
    token, _ = issued
    _, payload, signature = token.split(".")
    key, _ = active_statement_key()
    header = f'{{"alg":"{key.algorithm}","kid":"{key.kid}","alg":"{key.algorithm}"}}'
    refused(f"{b64(header)}.{payload}.{signature}")


# --- Claims ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("iss", ["https://attacker.example", "http://testserver/", "", None, 1])
def test_wrong_or_missing_iss_is_refused(issued, iss):
    _, statement = issued
    token = ours(statement, iss=iss) if iss is not None else ours(statement, iss=None)
    refused(token)


@pytest.mark.django_db
# Stable ids: pytest-xdist workers must collect the same test names (the values are made per worker).
@pytest.mark.parametrize(
    "iat",
    [int(time.time()) + 3600, 10**12, "1700000000", None, True],
    ids=["an-hour-ahead", "far-future", "string", "null", "boolean"],
)
def test_iat_in_the_future_or_not_a_number_is_refused(issued, iat):
    _, statement = issued
    refused(ours(statement, iat=iat))


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["1e400", "NaN", "-Infinity"])
def test_iat_that_is_not_a_finite_number_is_refused(issued, number):
    _, statement = issued
    key, private_key = active_statement_key()
    payload = json.dumps(claims_for(statement, iat=None)).replace("{", '{"iat": ' + number + ", ", 1)
    refused(forge({"alg": key.algorithm, "kid": key.kid}, payload, private_key))


@pytest.mark.django_db
def test_expired_exp_is_refused_although_ours_carry_none(issued):
    _, statement = issued
    refused(ours(statement, exp=int(time.time()) - 3600))


@pytest.mark.django_db
def test_missing_jti_is_refused(issued):
    _, statement = issued
    refused(ours(statement, jti=None))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "jti", [random_uuid(), "not-a-uuid", 12, ""], ids=["unknown-uuid", "not-a-uuid", "number", "empty"]
)
def test_jti_never_issued_by_us_is_refused(issued, jti):
    _, statement = issued
    refused(ours(statement, jti=jti))


@pytest.mark.django_db
def test_revoked_jti_is_unapproved(issued):
    token, statement = issued
    software_statement_revoke(statement=statement, reason="leaked in a public repository", actor="tests")
    error = refused(token, UNAPPROVED)
    assert "revoked" in error.description


@pytest.mark.django_db
def test_revoked_application_is_unapproved(issued, application):
    token, _ = issued
    registered_application_revoke(application=application, reason="retired app", actor="tests")
    refused(token, UNAPPROVED)


@pytest.mark.django_db
def test_unknown_software_id_is_refused(issued):
    _, statement = issued
    error = refused(ours(statement, software_id=str(uuid.uuid4())))
    assert "no registered application" in error.description
    refused(ours(statement, software_id="not-a-uuid"))
    refused(ours(statement, software_id=None))


@pytest.mark.django_db
def test_software_id_of_another_application_is_refused(issued, programmer):
    from tests.factories import make_application

    _, statement = issued
    other = make_application(programmer, name="Other App")
    error = refused(ours(statement, software_id=str(other.pk)))
    assert "does not match" in error.description


@pytest.mark.django_db
def test_payload_that_is_not_a_json_object_is_refused(issued):
    key, private_key = active_statement_key()
    for payload in ("[1, 2]", '"a string"', "42", "null", "not json"):
        refused(forge({"alg": key.algorithm, "kid": key.kid}, payload, private_key))


# --- Not a JWS at all -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e.f",
        "!!!.???.***",
        "eyJhbGciOiJSUzI1NiJ9..sig",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
        "e.e30.AAAA",  # a one-character segment is never valid base64url
        b64("[1]") + ".e30.AAAA",  # header JSON is not an object
        b64("null") + ".e30.AAAA",
        b64("not json") + ".e30.AAAA",
        b64(b"\xff\xfe") + ".e30.AAAA",
        "eyJhbGciOiJSUzI1NiJ9=.e30=.AAAA",  # padding is not base64url
        " eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
        "ëyJhbGciOiJSUzI1NiJ9.e30.AAAA",
        None,
        b"eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
        {"software_statement": "x"},
        12,
    ],
)
def test_tokens_that_are_not_a_jws_are_refused(db, token):
    refused(token)


@pytest.mark.django_db
def test_a_jwe_instead_of_a_jws_is_refused(issued):
    token, _ = issued
    key, _ = active_statement_key()
    jwe = JWE(token.encode(), protected=json.dumps({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": key.kid}))
    # An attacker would encrypt to our published public key (its `use` says sig, so drop that).
    jwe.add_recipient(JWK(**{k: v for k, v in key.public_jwk.items() if k != "use"}))
    encrypted = jwe.serialize(compact=True)
    assert encrypted.count(".") == 4
    assert "encrypted" in refused(encrypted).description


@pytest.mark.django_db
def test_a_one_megabyte_token_is_refused_before_parsing(issued):
    _, statement = issued
    huge = ours(statement, padding="x" * (1024 * 1024))
    assert len(huge) > MAX_TOKEN_LENGTH
    assert "too long" in refused(huge).description


@pytest.mark.django_db
def test_the_error_never_repeats_the_token(issued):
    token, statement = issued
    software_statement_revoke(statement=statement, reason="test", actor="tests")
    for candidate in (token, token[:-5] + "AAAAA", token + "x"):
        with pytest.raises(StatementError) as raised:
            software_statement_verify(candidate)
        assert token.split(".")[1][:20] not in raised.value.description
        assert token.split(".")[1][:20] not in repr(raised.value)


@pytest.mark.django_db
def test_no_statement_keys_at_all_means_every_token_is_unknown(db):
    assert not SigningKey.objects.exists()
    refused(forge({"alg": "RS256", "kid": "anything"}, {"iss": "http://testserver"}, foreign_key()))
