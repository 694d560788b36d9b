"""The JWKS document, rotation that never breaks a valid statement, and PyJWT interoperability."""

import jwt
import pytest

from software_statements import keys
from software_statements.models import KeyState, SigningKey
from software_statements.services import software_statement_issue
from software_statements.verify import INVALID, StatementError, software_statement_verify


def jwks_kids(client):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return {key["kid"] for key in response.json()["keys"]}


def non_retired_kids():
    return set(SigningKey.objects.exclude(state=KeyState.RETIRED).values_list("kid", flat=True))


@pytest.mark.django_db
def test_jwks_publishes_public_keys_of_both_purposes_with_cache_headers(client):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "max-age=" in response["Cache-Control"] and "public" in response["Cache-Control"]
    published = response.json()["keys"]
    by_kid = {key["kid"]: key for key in published}
    assert set(by_kid) == non_retired_kids()
    assert len(published) == 4  # an active and a next key per purpose, created on first use
    statement_key = keys.signing_key_active("statement")
    token_key = keys.signing_key_active("access_token")
    assert by_kid[statement_key.kid]["alg"] == "RS256" and by_kid[statement_key.kid]["kty"] == "RSA"
    assert by_kid[token_key.kid]["alg"] == "ES256" and by_kid[token_key.kid]["crv"] == "P-256"
    for key in published:
        assert key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "a private member was published"


@pytest.mark.django_db
def test_jwks_refuses_other_methods(client):
    assert client.post("/.well-known/jwks.json").status_code == 405


@pytest.mark.django_db
def test_statement_survives_rotation_while_retiring_and_dies_when_retired(client, application):
    token, _ = software_statement_issue(application=application, actor="tests")
    old = keys.signing_key_active("statement")
    keys.signing_key_rotate(purpose="statement", actor="tests")
    old.refresh_from_db()
    assert old.state == KeyState.RETIRING
    assert software_statement_verify(token).application.pk == application.pk
    assert old.kid in jwks_kids(client)
    assert jwks_kids(client) == non_retired_kids()

    keys.signing_key_rotate(purpose="statement", actor="tests")  # a second rotation keeps it retiring
    assert software_statement_verify(token).application.pk == application.pk

    keys.signing_key_retire(key=old, actor="tests")
    with pytest.raises(StatementError) as raised:
        software_statement_verify(token)
    assert raised.value.code == INVALID
    assert old.kid not in jwks_kids(client)
    assert jwks_kids(client) == non_retired_kids()


@pytest.mark.django_db
def test_statements_issued_after_rotation_use_the_key_that_was_next(application):
    keys.signing_key_active("statement")
    waiting = SigningKey.objects.get(purpose="statement", state=KeyState.NEXT)
    keys.signing_key_rotate(purpose="statement", actor="tests")
    _, statement = software_statement_issue(application=application, actor="tests")
    assert statement.kid == waiting.kid


@pytest.mark.django_db
@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_pyjwt_verifies_a_statement_using_only_the_jwks_document(client, settings, application, algorithm):
    settings.DCR_STATEMENT_ALGORITHM = algorithm
    token, _ = software_statement_issue(application=application, actor="tests")
    document = client.get("/.well-known/jwks.json").json()

    # What a third party does: pick the key by kid from the JWKS, nothing else.
    jwk_set = jwt.PyJWKSet.from_dict(document)
    kid = jwt.get_unverified_header(token)["kid"]
    signing_key = next(key for key in jwk_set.keys if key.key_id == kid)
    claims = jwt.decode(token, signing_key, algorithms=[algorithm], issuer="http://testserver")
    assert claims["software_id"] == str(application.pk)
    assert claims["grant_types"] == ["client_credentials"]
