"""Strict third-party OAuth client libraries, unmodified and pinned, against a live server in two
environments: discovery (RFC 8414), registration (RFC 7591), client_credentials with client_secret_post
and client_secret_basic, RFC 9068 validation of the access token from the JWKS, the protected API,
introspection (RFC 7662), revocation (RFC 7009), RFC 7592 read, rotate and delete, and every refusal
across the two environments. No mock on either side: the server is pytest-django's live server, the
clients are the libraries' own HTTP code.

- JavaScript: openid-client (over oauth4webapi) and jose, pinned in tests/conformance/js/package-lock.json
  and installed here with `npm ci` from the registry; `conformance.mjs` is the client. Skipped, with the
  reason, when node (20 or newer) or npm is missing.
- Python: authlib (pinned in requirements.lock): its requests client, its RFC 8414 and RFC 7591
  validators and its RFC 9068 resource-server validator.

Neither library has a client for RFC 7592, so those calls are plain HTTP through the library's own
bearer-token client (openid-client's `fetchProtectedResource`, authlib's `OAuth2Session` holding the
registration access token as its token).

Two environments on one live server: production on `localhost:<port>` (DCR_ISSUER) and Release Staging on
`127.0.0.1:<port>` (DCR_ENVIRONMENT_HOSTS, its issuer set as a TAM would). README "Environments" serves
`<slug>.localhost` too, but neither Node's resolver nor Python's resolves `*.localhost` on this machine,
and a client library must be driven through names the system resolves.
"""

import gc
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import authlib
import pytest
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import ClientMetadataClaims
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator

from oauth.models import Client
from registered_apps.environments import environments_forget
from registered_apps.models import AuditEvent, Environment
from software_statements.services import software_statement_issue
from tests.factories import make_application

pytestmark = pytest.mark.django_db(transaction=True)

JS_DIR = Path(__file__).parent / "js"
AUTHLIB = f"authlib {authlib.__version__}"
SCOPE = "api:client:v2"


@pytest.fixture
def environments(live_server, programmer, channels, settings, monkeypatch) -> list[dict[str, str]]:
    """Production and Release Staging, each on its own host of the live server, each with a statement."""
    port = urlsplit(live_server.url).port
    production, staging = f"http://localhost:{port}", f"http://127.0.0.1:{port}"
    settings.DCR_ISSUER = production
    settings.DCR_ENVIRONMENT_HOSTS = {"release-staging": "127.0.0.1"}
    Environment.objects.filter(slug="release-staging").update(issuer=staging)
    environments_forget()
    # authlib refuses plain http unless told it is a development machine (production issuers are https).
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    found = []
    for slug, issuer in (("release-production", production), ("release-staging", staging)):
        environment = Environment.objects.get(slug=slug)
        application = make_application(programmer, name=f"Conformance {slug}", environment=environment)
        statement, _ = software_statement_issue(application=application, actor="tests")
        found.append({"name": slug, "issuer": issuer, "statement": statement})
    yield found
    environments_forget()
    _live_server_requests_finished()


def _live_server_requests_finished() -> None:
    """The clients' keep-alive connections closed (authlib's sessions when collected, node's at exit) and
    the live server's request threads done before the test's database goes away: a thread that closes its
    connection after that fails inside Django (its in-memory SQLite connection is no longer shared)."""
    gc.collect()
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(timeout=5)


def _table(results: list[dict[str, Any]]) -> str:
    lines = ["| check | environment | library | result | detail |", "| --- | --- | --- | --- | --- |"]
    for row in results:
        detail = str(row["detail"]).replace("|", "/")[:120]
        result = "pass" if row["ok"] else "FAIL"
        lines.append(f"| {row['check']} | {row['environment']} | {row['library']} | {result} | {detail} |")
    return "\n".join(lines)


def _assert_all_passed(results: list[dict[str, Any]], expected: int) -> None:
    table = _table(results)
    print(f"\n{table}")  # the conformance table (pytest -s shows it)
    assert len(results) == expected, f"{len(results)} checks ran, {expected} expected\n{table}"
    assert all(row["ok"] for row in results), f"\n{table}"


# --- JavaScript -------------------------------------------------------------------------------------


def _node_ready() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("The JavaScript client libraries need node (20 or newer) and npm on the PATH.")
    major = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if int(major.lstrip("v").split(".")[0]) < 20:
        pytest.skip(f"The JavaScript client libraries need node 20 or newer (found {major}).")
    installed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=JS_DIR, capture_output=True, text=True
    )
    assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}\n{installed.stderr}"
    return node, npm


def test_javascript_client_libraries(environments):
    node, _ = _node_ready()
    run = subprocess.run(
        [node, "conformance.mjs"],
        cwd=JS_DIR,
        env={**os.environ, "CONFORMANCE_CONFIG": json.dumps({"environments": environments})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    _assert_all_passed(results, expected=2 * 8 + 2 * 4 + 2 * 4)


# --- The README's snippets, as they stand ------------------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_snippet(language: str) -> str:
    """The first ```<language> block of the README's "Standard clients" section."""
    section = README.read_text().split("\n## Standard clients\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert match, f"no {language} snippet in README 'Standard clients'"
    return match.group(1)


def _snippet_env(environment: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "DCR_ISSUER": environment["issuer"],
        "SOFTWARE_STATEMENT": environment["statement"],
        "AUTHLIB_INSECURE_TRANSPORT": "1",
    }


def _assert_snippet_ran(run: subprocess.CompletedProcess[str], programmer) -> None:
    """It registered a client, called the API, rotated the client's secret and deleted the client."""
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert "client_id" in run.stdout and "expires_at" in run.stdout, run.stdout  # the session API's answer
    events = AuditEvent.objects.filter(programmer=programmer)
    assert [
        events.filter(action=action).count() for action in ("client.register", "client.rotate_secret", "client.delete")
    ] == [1, 1, 1]
    assert not Client.objects.exists()


def test_the_readme_javascript_snippet_runs(environments, programmer):
    node, _ = _node_ready()
    run = subprocess.run(
        [node, "--input-type=module", "--eval", _readme_snippet("js")],
        cwd=JS_DIR,
        env=_snippet_env(environments[1]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    _assert_snippet_ran(run, programmer)


def test_the_readme_python_snippet_runs(environments, programmer):
    run = subprocess.run(
        [sys.executable, "-c", _readme_snippet("python")],
        env=_snippet_env(environments[0]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    _assert_snippet_ran(run, programmer)


# --- Python (authlib) -------------------------------------------------------------------------------


class _Checks:
    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []

    def run(self, name: str, environment: str, body: Callable[[], Any]) -> None:
        try:
            detail = body()
        except Exception as exc:  # a failed check is a row of the table, not the end of the run
            self.results.append(
                {"check": name, "environment": environment, "library": AUTHLIB, "ok": False, "detail": repr(exc)}
            )
        else:
            self.results.append(
                {"check": name, "environment": environment, "library": AUTHLIB, "ok": True, "detail": detail or ""}
            )


def _refused(call: Callable[[], Any]) -> str:
    """A refusal as authlib reports it: its OAuthError (an error response of the token endpoint) or
    InvalidTokenError (its RFC 9068 validator) raised, or a 4xx response."""
    try:
        response = call()
    except (OAuthError, InvalidTokenError) as exc:
        return f"{type(exc).__name__} {getattr(exc, 'error', '')}"
    if isinstance(response, requests.Response) and 400 <= response.status_code < 500:
        return f"HTTP {response.status_code} {response.json().get('error', '')}"
    where = f" from {response.request.method} {response.url}" if isinstance(response, requests.Response) else ""
    raise AssertionError(f"expected a refusal, got {response!r}{where}")


def _refused_within(call: Callable[[], Any], seconds: float = 1.5) -> str:
    """An access token of a deleted or revoked client is refused "within a second" (README, Protected API):
    each worker may hold the client's revocation stamp as read a moment before, so ask again until then."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return _refused(call)
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


class _Validator(JWTBearerTokenValidator):
    """authlib's RFC 9068 resource-server validator, with the environment's JWKS."""

    def __init__(self, issuer: str, jwks_uri: str) -> None:
        super().__init__(issuer=issuer, resource_server=issuer)
        self.jwks_uri = jwks_uri

    def get_jwks(self) -> dict[str, Any]:
        return requests.get(self.jwks_uri, timeout=10).json()


def _session(env: dict[str, Any], method: str, secret: str | None = None) -> OAuth2Session:
    return OAuth2Session(
        env["registered"]["client_id"], secret or env["registered"]["client_secret"], token_endpoint_auth_method=method
    )


def _bearer_session(token: str) -> OAuth2Session:
    """authlib's client holding a bearer token: it sends `Authorization: Bearer` on every call."""
    return OAuth2Session(token={"access_token": token, "token_type": "Bearer"})


def test_python_client_library(environments):
    checks, envs = _Checks(), {}
    for given in environments:
        name, issuer = given["name"], given["issuer"]
        env: dict[str, Any] = {"issuer": issuer}
        envs[name] = env

        def discovery(env=env, issuer=issuer) -> str:
            metadata = AuthorizationServerMetadata(
                OAuth2Session().get(f"{issuer}/.well-known/oauth-authorization-server", withhold_token=True).json()
            )
            env["as"] = metadata  # the later checks run even when the validator refuses it
            metadata.validate()
            assert metadata["issuer"] == issuer, metadata["issuer"]
            return "validated by AuthorizationServerMetadata"

        def registration(env=env, statement=given["statement"]) -> str:
            response = OAuth2Session().post(
                env["as"]["registration_endpoint"], json={"software_statement": statement}, withhold_token=True
            )
            assert response.status_code == 201, response.text
            env["registered"] = body = response.json()
            ClientMetadataClaims(body, {}).validate()
            assert body["software_statement"] == statement and body["registration_access_token"]
            return "validated by ClientMetadataClaims"

        def token_post(env=env) -> str:
            env["tokens"] = _session(env, "client_secret_post").fetch_token(
                env["as"]["token_endpoint"], grant_type="client_credentials"
            )
            return f"expires_in {env['tokens']['expires_in']}"

        def token_basic(env=env) -> str:
            env["basic_tokens"] = _session(env, "client_secret_basic").fetch_token(
                env["as"]["token_endpoint"], grant_type="client_credentials"
            )
            return f"scope {env['basic_tokens']['scope']}"

        def rfc9068(env=env, issuer=issuer) -> str:
            validator = _Validator(issuer, env["as"]["jwks_uri"])
            env["validator"] = validator
            claims = validator.authenticate_token(env["tokens"]["access_token"])
            validator.validate_token(claims, [SCOPE], None)
            assert claims["client_id"] == env["registered"]["client_id"]
            return "JWTBearerTokenValidator"

        def protected_api(env=env, issuer=issuer) -> str:
            response = _bearer_session(env["tokens"]["access_token"]).get(f"{issuer}/api/v2/session")
            assert response.status_code == 200, response.text
            return "200"

        def introspection(env=env) -> str:
            response = _session(env, "client_secret_basic").introspect_token(
                env["as"]["introspection_endpoint"], token=env["tokens"]["access_token"]
            )
            body = response.json()
            assert body["active"] is True and body["client_id"] == env["registered"]["client_id"], body
            return "active"

        for check, body in (
            ("discovery (RFC 8414)", discovery),
            ("registration (RFC 7591)", registration),
            ("client_credentials, client_secret_post", token_post),
            ("client_credentials, client_secret_basic", token_basic),
            ("RFC 9068 access token from the JWKS", rfc9068),
            ("protected API with the token", protected_api),
            ("introspection (RFC 7662)", introspection),
        ):
            checks.run(check, name, body)

    first, second = (given["name"] for given in environments)
    for source, target in ((first, second), (second, first)):
        a, b = envs[source], envs[target]
        checks.run(
            f"token of {source} refused by {target}'s JWKS and issuer",
            target,
            lambda a=a, b=b: _refused(lambda: b["validator"].authenticate_token(a["tokens"]["access_token"])),
        )

        def inactive(a=a, b=b) -> str:
            response = _session(b, "client_secret_post").introspect_token(
                b["as"]["introspection_endpoint"], token=a["tokens"]["access_token"]
            )
            assert response.json() == {"active": False}, response.text
            return "inactive"

        checks.run(f"token of {source} inactive to {target}'s introspection", target, inactive)
        checks.run(
            f"client of {source} refused by {target}'s token endpoint",
            target,
            lambda a=a, b=b: _refused(
                lambda: _session(a, "client_secret_post").fetch_token(
                    b["as"]["token_endpoint"], grant_type="client_credentials"
                )
            ),
        )
        checks.run(
            f"registration access token of {source} refused by {target}",
            target,
            lambda a=a, b=b: _refused(
                lambda: _bearer_session(a["registered"]["registration_access_token"]).get(
                    f"{b['issuer']}/o/client/register/{a['registered']['client_id']}"
                )
            ),
        )

    for name in (first, second):
        env = envs[name]
        uri = env.get("registered", {}).get("registration_client_uri", "")

        def revocation(env=env) -> str:
            revoked = _session(env, "client_secret_post").revoke_token(
                env["as"]["revocation_endpoint"], token=env["tokens"]["access_token"]
            )
            assert revoked.status_code == 200, revoked.text
            response = _session(env, "client_secret_basic").introspect_token(
                env["as"]["introspection_endpoint"], token=env["tokens"]["access_token"]
            )
            assert response.json() == {"active": False}, response.text
            return "revoked, then inactive"

        def read(env=env, uri=uri) -> str:
            assert uri.startswith(env["issuer"] + "/"), uri
            response = _bearer_session(env["registered"]["registration_access_token"]).get(uri)
            assert response.status_code == 200, response.text
            env["read"] = response.json()
            assert env["read"]["client_id"] == env["registered"]["client_id"] and "client_secret" not in env["read"]
            ClientMetadataClaims(env["read"], {}).validate()
            return "no client_secret in a read"

        def rotate(env=env, uri=uri) -> str:
            server = {"registration_access_token", "registration_client_uri", "client_secret_expires_at"}
            metadata = {k: v for k, v in env["read"].items() if k not in server | {"client_id_issued_at"}}
            response = _bearer_session(env["registered"]["registration_access_token"]).put(uri, json=metadata)
            assert response.status_code == 200, response.text
            env["rotated"] = rotated = response.json()
            assert rotated["client_secret"] != env["registered"]["client_secret"]
            token_endpoint = env["as"]["token_endpoint"]
            _session(env, "client_secret_basic", rotated["client_secret"]).fetch_token(
                token_endpoint, grant_type="client_credentials"
            )
            _session(env, "client_secret_post").fetch_token(token_endpoint, grant_type="client_credentials")
            _refused(lambda: _bearer_session(env["registered"]["registration_access_token"]).get(uri))
            return "new secret works, old secret in its grace period, old registration token refused"

        def delete(env=env, uri=uri) -> str:
            secret = env["rotated"]["client_secret"]
            token_endpoint = env["as"]["token_endpoint"]
            live = _session(env, "client_secret_post", secret).fetch_token(
                token_endpoint, grant_type="client_credentials"
            )
            response = _bearer_session(env["rotated"]["registration_access_token"]).delete(uri)
            assert response.status_code == 204, response.text
            _refused(
                lambda: _session(env, "client_secret_post", secret).fetch_token(
                    token_endpoint, grant_type="client_credentials"
                )
            )
            _refused_within(lambda: _bearer_session(live["access_token"]).get(f"{env['issuer']}/api/v2/session"))
            _refused(lambda: _bearer_session(env["rotated"]["registration_access_token"]).get(uri))
            return "token endpoint, its access token and its registration token refused"

        for check, body in (
            ("revocation (RFC 7009)", revocation),
            ("RFC 7592 read", read),
            ("RFC 7592 rotate (PUT)", rotate),
            ("RFC 7592 delete", delete),
        ):
            checks.run(check, name, body)

    _assert_all_passed(checks.results, expected=2 * 7 + 2 * 4 + 2 * 4)
