"""Building and checking access-token JWTs (pure), cross-checked with PyJWT."""

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from oauth.tokens import (
    TokenError,
    access_token_claims,
    access_token_claims_check,
    b64url_decode,
    b64url_encode,
    jwt_encode,
    jwt_verify_signature,
)

EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEYS = {"ec": ("ES256", EC_KEY.public_key()), "rsa": ("RS256", RSA_KEY.public_key())}
ISSUER = "https://dcr.example.com"


def claims(**overrides):
    base = access_token_claims(
        issuer=ISSUER,
        audience=ISSUER,
        client_id="client-1",
        software_id="app-1",
        statement_jti="stmt-1",
        programmer="demo",
        channels=["one"],
        scope="api:client:v2",
        issued_at=int(time.time()),
        lifetime=3600,
        jti="jti-1",
    )
    base.update(overrides)
    return base


def encode(kid="ec", **overrides):
    algorithm, key = ("ES256", EC_KEY) if kid == "ec" else ("RS256", RSA_KEY)
    return jwt_encode(claims(**overrides), kid=kid, algorithm=algorithm, private_key=key)


@pytest.mark.parametrize("kid,algorithm", [("ec", "ES256"), ("rsa", "RS256")])
def test_pyjwt_verifies_what_we_sign(kid, algorithm):
    token = encode(kid)
    assert jwt.get_unverified_header(token) == {"alg": algorithm, "kid": kid, "typ": "at+jwt"}
    decoded = jwt.decode(token, KEYS[kid][1], algorithms=[algorithm], audience=ISSUER, issuer=ISSUER)
    assert decoded == claims(iat=decoded["iat"], nbf=decoded["nbf"], exp=decoded["exp"])


@pytest.mark.parametrize("kid", ["ec", "rsa"])
def test_we_verify_what_we_sign(kid):
    token = encode(kid)
    decoded, found_kid = jwt_verify_signature(token, KEYS)
    assert found_kid == kid
    access_token_claims_check(decoded, issuer=ISSUER, audience=ISSUER, now=time.time())


def test_we_verify_what_pyjwt_signs():
    token = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "ec", "typ": "at+jwt"})
    assert jwt_verify_signature(token, KEYS)[0]["jti"] == "jti-1"


def reason(token, keys=KEYS):
    with pytest.raises(TokenError) as caught:
        decoded, _ = jwt_verify_signature(token, keys)
        access_token_claims_check(decoded, issuer=ISSUER, audience=ISSUER, now=time.time())
    return caught.value.reason


def resign(header, payload, key=EC_KEY, algorithm="ES256"):
    return jwt.encode(payload, key, algorithm=algorithm, headers=header)


@pytest.mark.parametrize(
    "token",
    [None, 42, "", "abc", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30.e30", "x" * 9000, "W10.e30.AAAA"],
)
def test_malformed_tokens(token):
    assert reason(token) in ("malformed", "type")


def test_alg_none_is_refused():
    header = b64url_encode(json.dumps({"alg": "none", "kid": "ec", "typ": "at+jwt"}).encode())
    payload = b64url_encode(json.dumps(claims()).encode())
    assert reason(f"{header}.{payload}.") == "algorithm"


def test_hmac_with_the_public_key_as_secret_is_refused():
    token = jwt.encode(claims(), "k" * 32, algorithm="HS256", headers={"kid": "ec", "typ": "at+jwt"})
    assert reason(token) == "algorithm"


def test_algorithm_must_match_the_key():
    token = jwt.encode(claims(), RSA_KEY, algorithm="RS256", headers={"kid": "ec", "typ": "at+jwt"})
    assert reason(token) == "algorithm"


def test_unknown_kid():
    assert reason(encode(), keys={"other": KEYS["ec"]}) == "unknown_key"


def test_wrong_type():
    assert reason(jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "ec", "typ": "JWT"})) == "type"
    token = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "ec", "typ": "application/at+jwt"})
    assert jwt_verify_signature(token, KEYS)


def test_bad_signature_and_foreign_key():
    header, payload, signature = encode().split(".")
    assert reason(f"{header}.{payload}.{signature[::-1]}") in ("signature", "malformed")
    assert reason(f"{header}.{payload}.{b64url_encode(b'x' * 64)}") == "signature"
    foreign = ec.generate_private_key(ec.SECP256R1())
    assert reason(jwt_encode(claims(), kid="ec", algorithm="ES256", private_key=foreign)) == "signature"


def test_payload_swap_breaks_the_signature():
    header, _, signature = encode().split(".")
    other_payload = encode(scope="decisions:owner").split(".")[1]
    assert reason(f"{header}.{other_payload}.{signature}") == "signature"


def test_time_and_issuer_rules():
    now = int(time.time())
    assert reason(encode(iss="https://evil.example.com")) == "issuer"
    assert reason(encode(aud="https://evil.example.com")) == "audience"
    assert reason(encode(exp=now - 31)) == "expired"
    assert reason(encode(nbf=now + 31)) == "not_yet_valid"
    assert reason(encode(client_id=None)) == "malformed"
    assert reason(encode(exp="soon")) == "malformed"
    assert reason(encode(iat=True)) == "malformed"
    decoded, _ = jwt_verify_signature(encode(exp=now - 29, nbf=now + 29), KEYS)
    access_token_claims_check(decoded, issuer=ISSUER, audience=ISSUER, now=now)


def test_audience_list_is_accepted():
    decoded, _ = jwt_verify_signature(encode(aud=["x", ISSUER]), KEYS)
    access_token_claims_check(decoded, issuer=ISSUER, audience=ISSUER, now=time.time())


def test_payload_that_is_not_an_object_is_malformed():
    token = jwt_encode(claims(), kid="ec", algorithm="ES256", private_key=EC_KEY)
    header = token.split(".")[0]
    payload = b64url_encode(b"[1]")
    signature = jwt_encode({}, kid="ec", algorithm="ES256", private_key=EC_KEY)  # any; checked after
    assert reason(f"{header}.{payload}.{signature.split('.')[2]}") == "signature"


def test_b64url_is_strict():
    assert b64url_decode(b64url_encode(b"\xff\x00abc")) == b"\xff\x00abc"
    for bad in ["", "a", "ab=", "a+b/", "abcde"]:
        with pytest.raises(ValueError):
            b64url_decode(bad)


def test_es256_signature_is_raw_r_and_s():
    signature = b64url_decode(encode().split(".")[2])
    assert len(signature) == 64


def test_unsupported_algorithm_cannot_sign():
    with pytest.raises(ValueError):
        jwt_encode({}, kid="x", algorithm="HS256", private_key=b"k")
