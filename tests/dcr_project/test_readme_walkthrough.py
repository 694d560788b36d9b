"""The README's API walk-through, as a new user runs it: `make run PORT=<not 8000>` on the embedded
default (SQLite, in-process cache, eager tasks), then the walk-through's shell block twice in a row with
bash (`set -euo pipefail`). Discovery, `iss` and `aud` name the port actually served, the second run
works like the first (step 6 revoked the demo application of the first), and the e-mails go to files
in mail/, not into the terminal."""

import base64
import json
import os
import re
import subprocess
import urllib.request

import pytest

from tests.processes import ROOT, free_port, stop_group, wait_for

pytestmark = pytest.mark.serial

README = ROOT / "README.md"
MAIL = ROOT / "mail"


def walkthrough_script() -> str:
    """The first ```sh block of the README's "API walk-through with curl" section."""
    text = README.read_text()
    section = text[text.index("## API walk-through with curl") :]
    section = section[: section.index("\n## ", 1)]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the walk-through's shell block is missing"
    return match.group(1)


def get_json(url: str, host: str | None = None) -> dict:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def user_environment(tmp_path):
    """What a new user's shell has: none of the test run's database, Redis or settings (make run is the
    embedded default), a SQLite file of the test's own."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "REDIS_SENTINELS", "DJANGO_SETTINGS_MODULE", "DCR_ISSUER"}
        and not name.startswith(("PYTEST", "EMAIL_", "DCR_"))
    }
    environment["DATABASE_URL"] = f"sqlite:///{tmp_path / 'walkthrough.sqlite3'}"
    return environment


def test_the_readme_walkthrough_runs_twice_against_make_run_on_another_port(tmp_path, user_environment):
    port = free_port()
    assert port != 8000
    mail_before = set(MAIL.glob("*")) if MAIL.exists() else set()
    log = tmp_path / "make-run.log"
    # As the README says; `-o` keeps make from reinstalling the (shared) virtualenv.
    server = subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.installed-stamp", "run", f"PORT={port}"],
        cwd=ROOT,
        env=user_environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    # A directory of the user's: the walk-through leaves client.json and token.json where it runs.
    shell_dir = tmp_path / "shell"
    shell_dir.mkdir()
    (shell_dir / ".venv").symlink_to(ROOT / ".venv")
    (shell_dir / "manage.py").symlink_to(ROOT / "manage.py")
    try:
        wait_for(
            lambda: get_json(f"{base}/.well-known/oauth-authorization-server"),
            "make run",
            process=server,
            log=log,
            timeout=180,
        )

        discovery = get_json(f"{base}/.well-known/oauth-authorization-server")
        assert discovery["issuer"] == base
        assert discovery["token_endpoint"].startswith(f"{base}/")
        staging = get_json(f"{base}/.well-known/oauth-authorization-server", host=f"release-staging.localhost:{port}")
        assert staging["issuer"] == f"http://release-staging.localhost:{port}"

        script = "set -euo pipefail\n" + walkthrough_script()
        outputs = []
        for run in (1, 2):
            done = subprocess.run(
                ["bash", "-c", script],
                cwd=shell_dir,
                env={**user_environment, "PORT": str(port)},
                capture_output=True,
                text=True,
                timeout=300,
            )
            output = done.stdout + done.stderr
            assert done.returncode == 0, f"run {run} of the walk-through failed:\n{output}"
            outputs.append(output)

            claims = jwt_claims(json.loads((shell_dir / "token.json").read_text())["access_token"])
            assert claims["iss"] == base
            assert base in ([claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"])
            # Step 4, the session API; step 5, introspection then the revoked token; step 6, the revoked
            # application's client; step 7, the statement of another environment.
            for expected in (
                r'"application_name":\s*"Demo Player"',
                r'"active":\s*true',
                r'"invalid_token"',
                r'"invalid_client"',
                r'"invalid_software_statement"',
            ):
                assert re.search(expected, output), f"run {run}: no {expected} in:\n{output}"
            # No e-mail and no kombu warning in the user's terminal.
            assert "multipart" not in output and "No hostname was supplied" not in output
        assert outputs[0] != outputs[1]  # a new client, token and application the second time

        server_log = log.read_text()
        assert "multipart" not in server_log and "No hostname was supplied" not in server_log
        # The revocation e-mails (step 6, twice) went to files in mail/.
        new_mail = set(MAIL.glob("*")) - mail_before
        assert sum("was revoked" in path.read_text() for path in new_mail) >= 2
    finally:
        stop_group(server)
        for path in (set(MAIL.glob("*")) if MAIL.exists() else set()) - mail_before:
            path.unlink()
