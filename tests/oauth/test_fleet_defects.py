"""Two defects of the token and bearer paths found at fleet scale (a million clients, README "Against the floor: `make
bench`"), each shown by a test that failed on the code before the hot-path store:

1. A fault between sending the gate script to Redis and reading its reply left the reply on the
   connection; the next command read it as its own, and a revoked token could pass.
2. Caches cleared whole when full: at fleet size every worker dropped everything at once.

The other two defects have their own files: `test_client_secret_keys.py` (SECRET_KEY rotation) and
`test_embedded_scheduler.py` (the busy usage-flush thread).
"""

from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from core import clock
from core.local_caches import local_cache
from oauth.bearer import bearer_token_check
from oauth.tokens import access_token_claims, jwt_encode
from registered_apps.environments import environment_production
from software_statements.keys import active_signing_material, clear_key_caches
from software_statements.models import KeyPurpose
from tests.helpers import requires_redis
from tests.oauth.api import REVOKE, SESSION, get_token, register, token_request

pytestmark = pytest.mark.django_db


def _session(client, token: str):
    return client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {token}")


@requires_redis
@override_settings(DCR_REVOCATION_STAMP_CACHE=0)
def test_a_fault_while_a_token_is_issued_leaves_nothing_for_the_next_redis_command(
    client, statement, django_capture_on_commit_callbacks
):
    """Uses only the HTTP API, so that it ran unchanged against the old code (where the second session
    call answered 500 and the revoked token was then accepted)."""
    first = register(client, statement).json()
    second = register(client, statement).json()
    live = get_token(client, first)["access_token"]
    revoked = get_token(client, second)["access_token"]
    body = {"client_id": second["client_id"], "client_secret": second["client_secret"], "token": revoked}
    form = "application/x-www-form-urlencoded"
    with django_capture_on_commit_callbacks(execute=True):  # the stamp is written on commit
        assert client.post(REVOKE, data=urlencode(body), content_type=form).status_code == 200
    assert _session(client, revoked).status_code == 401

    # The signing key cannot be decrypted (a wrong key-encryption key; the database restarting does
    # the same): the token request fails in the middle.
    clear_key_caches()
    with override_settings(DCR_KEY_ENCRYPTION_KEY=Fernet.generate_key().decode()):
        failed = token_request(
            client,
            {
                "grant_type": "client_credentials",
                "client_id": first["client_id"],
                "client_secret": first["client_secret"],
            },
        )
    assert failed.status_code == 500
    assert failed.json()["error"] == "server_error"

    # The next calls on this thread read their own replies.
    clear_key_caches()
    assert _session(client, live).status_code == 200
    assert _session(client, revoked).status_code == 401
    assert _session(client, live).status_code == 200


def _tokens(count: int) -> list[str]:
    kid, algorithm, private_key = active_signing_material(KeyPurpose.ACCESS_TOKEN)
    tokens = []
    for n in range(count):
        claims = access_token_claims(
            issuer="http://testserver",
            audience="http://testserver",
            client_id=f"client-{n}",
            software_id="00000000-0000-0000-0000-000000000000",
            statement_jti="00000000-0000-0000-0000-000000000001",
            programmer="demo-networks",
            channels=[],
            scope="api:client:v2",
            issued_at=int(clock.wall()),
            lifetime=3600,
            jti=f"jti-{n}",
        )
        tokens.append(jwt_encode(claims, kid=kid, algorithm=algorithm, private_key=private_key))
    return tokens


@override_settings(DCR_LOCAL_CACHE_ENTRIES=100)
def test_a_full_cache_drops_its_least_recently_used_entries_not_everything():
    verified = local_cache("verified-access-tokens")
    tokens = _tokens(151)
    for token in tokens[:100]:
        bearer_token_check_claims(token)
    assert len(verified) == 100
    bearer_token_check_claims(tokens[0])  # used again: now the most recent
    for token in tokens[100:]:
        bearer_token_check_claims(token)
    # Full, and what was used last is still there; the cache before kept 1 entry after its limit.
    assert len(verified) == 100
    assert verified.get(tokens[0]) is not None
    assert verified.get(tokens[150]) is not None
    assert verified.get(tokens[1]) is None


def bearer_token_check_claims(token: str) -> None:
    """Verify (and cache) a token; these tokens name clients that do not exist, so the revocation check
    refuses them after the signature was verified and cached."""
    try:
        bearer_token_check(token, environment_production())
    except Exception as exc:
        assert getattr(exc, "code", "") == "invalid_access_token_client_application"
