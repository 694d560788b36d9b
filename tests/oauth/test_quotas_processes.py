"""A quota change bites within a second in another process: `make serve`'s server (two workers) answers
the tokens, the TAM's change is made here (README "Quotas")."""

import os
import signal
import subprocess
import time

import pytest
import requests
from django.db import connection

from registered_apps import services
from software_statements.services import software_statement_issue
from tests.factories import make_application
from tests.helpers import requires_redis
from tests.processes import ROOT, SERVE, free_port

pytestmark = [pytest.mark.django_db(transaction=True), requires_redis]


def _database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTEST_XDIST_WORKER",)}
    env |= {"DJANGO_SETTINGS_MODULE": "dcr_project.settings.test", "DATABASE_URL": _database_url()}
    process = subprocess.Popen(
        [*SERVE, "--workers", "2", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=(tmp_path / "web.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(base + "/healthz", timeout=5)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail((tmp_path / "web.log").read_text(errors="replace")[-3000:])
            time.sleep(0.2)
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def _status_within_a_second(base: str, form: dict[str, str], wanted: int) -> list[int]:
    """Token requests until one answers `wanted` (at most a second), then eight more (both workers)."""
    changed = time.monotonic()
    while requests.post(base + "/o/client/token", data=form, timeout=10).status_code != wanted:
        assert time.monotonic() - changed < 1.0, f"no {wanted} within a second of the change"
    return [requests.post(base + "/o/client/token", data=form, timeout=10).status_code for _ in range(8)]


def test_a_quota_change_reaches_the_other_processes_within_a_second(server, programmer, channels, tam):
    application = make_application(programmer, name="Quota across processes")
    statement, _ = software_statement_issue(application=application, actor="tests")
    registered = requests.post(
        server + "/o/client/register",
        json={"software_statement": statement},
        headers={"User-Agent": "MyApp/1.0 CFNetwork Darwin"},
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    credentials = registered.json()
    form = {
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
    }
    for _ in range(4):
        assert requests.post(server + "/o/client/token", data=form, timeout=10).status_code == 200

    services.set_application_quota(application, actor=tam, tokens_per_hour=4)  # used up already
    assert _status_within_a_second(server, form, 429) == [429] * 8

    services.set_application_quota(application, actor=tam, tokens_per_hour=None)  # back to the default
    assert _status_within_a_second(server, form, 200) == [200] * 8
