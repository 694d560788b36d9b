"""Fuzz target: software_statements.jws.parse_compact and software_statements.verify.
software_statement_verify, against a real registry (SQLite) holding one application, one statement and
our statement key. Invariant: parse_compact raises only JWSFormatError, the verifier only
StatementError (with an RFC 7591 code), and whatever it accepts is a statement we issued.

The first input byte picks a shape, so that mutations reach every step of the verifier:
  0  the bytes as the token text
  1  our real header, the bytes as the payload, a real signature (reaches the signature check)
  2  the bytes as the payload, signed with our real key (reaches the claims and the registry checks)
  3  the bytes as the header, with the real payload and signature (reaches the header checks)

    make fuzz FUZZ_TARGETS=statement FUZZ_SECONDS=60
"""

import base64
import contextlib
import json
import sys

import atheris

from tests.fuzz.harness import INSTRUMENTED, django_setup, run

django_setup()

with atheris.instrument_imports(include=INSTRUMENTED):
    from jwcrypto.jwk import JWK
    from jwcrypto.jws import JWS

    from software_statements.jws import JWSFormatError, parse_compact
    from software_statements.keys import active_signing_material
    from software_statements.models import KeyPurpose
    from software_statements.services import software_statement_issue
    from software_statements.verify import INVALID, UNAPPROVED, StatementError, software_statement_verify
    from tests.factories import ProgrammerFactory, make_application


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


STATEMENT, ROW = software_statement_issue(
    application=make_application(ProgrammerFactory(slug="fuzz", name="Fuzz")), actor="fuzz"
)
HEADER, PAYLOAD, SIGNATURE = STATEMENT.split(".")
KID, ALGORITHM, PRIVATE_KEY = active_signing_material(KeyPurpose.STATEMENT)
SIGNING_KEY = JWK.from_pyca(PRIVATE_KEY)
PROTECTED = base64.urlsafe_b64decode(HEADER + "=" * (-len(HEADER) % 4)).decode()


def _signed(payload: bytes) -> str:
    jws = JWS(payload)
    jws.add_signature(SIGNING_KEY, alg=ALGORITHM, protected=PROTECTED)
    return str(jws.serialize(compact=True))


def token_from(data: bytes) -> str:
    shape, rest = (data[0] % 4, data[1:]) if data else (0, b"")
    if shape == 1:
        return f"{HEADER}.{_b64url(rest)}.{SIGNATURE}"
    if shape == 2:
        return _signed(rest)
    if shape == 3:
        return f"{_b64url(rest)}.{PAYLOAD}.{SIGNATURE}"
    return rest.decode("utf-8", "surrogateescape")


def target(data: bytes) -> None:
    token = token_from(data)
    with contextlib.suppress(JWSFormatError):
        parse_compact(token)
    try:
        verified = software_statement_verify(token)
    except StatementError as error:
        assert error.code in (INVALID, UNAPPROVED), error.code
        assert isinstance(error.description, str) and error.description
        return
    # Accepted: it can only be the statement we issued (same registry row and key).
    assert verified.statement.pk == ROW.pk and verified.statement.kid == KID


_CLAIMS = json.loads(base64.urlsafe_b64decode(PAYLOAD + "=" * (-len(PAYLOAD) % 4)))
SEEDS = {
    "real": b"\x00" + STATEMENT.encode(),
    "payload-unsigned": b"\x01" + json.dumps(_CLAIMS).encode(),
    "payload-signed": b"\x02" + json.dumps(_CLAIMS).encode(),
    "payload-signed-times": b"\x02" + json.dumps({**_CLAIMS, "iat": 1e308, "exp": -1, "nbf": "x"}).encode(),
    "header": b"\x03" + PROTECTED.encode(),
    "header-crit": b"\x03" + json.dumps({"alg": ALGORITHM, "kid": KID, "crit": ["b64"], "b64": False}).encode(),
}

if __name__ == "__main__":
    run(target, SEEDS)
    sys.exit(0)
