"""Staying up when Redis or PostgreSQL fail.

- Redis unreachable (REDIS_URL pointed at a closed port): registration and token issue still answer
  201 and 200 and the log says so, bearer checks fall back to the database, throttling falls back to
  per-process buckets, and a revocation still commits although its stamp and email task cannot leave.
- PostgreSQL restarted under a running server (a throwaway cluster this test owns): the next requests
  succeed without restarting the server.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from core.hot_store import hot_store
from registered_apps import services
from registered_apps.models import ApplicationStatus
from tests.hot_state import hot_state_clear
from tests.oauth.api import REGISTER, SESSION, get_token, register
from tests.processes import ROOT, SERVE, OwnPostgres, free_port, own_postgres_missing

# Restarts PostgreSQL and stops Redis clients: nothing else may run meanwhile.
pytestmark = pytest.mark.serial


def _clear_process_state() -> None:
    hot_store.cache_clear()
    hot_state_clear()


@pytest.fixture
def redis_down(settings):
    """Every Redis client of the API points at a port where nothing listens."""
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    _clear_process_state()
    yield
    settings.REDIS_URL = os.environ.get("REDIS_URL", "")
    _clear_process_state()


def test_with_redis_unreachable_registration_and_token_issue_still_answer_201_and_200_and_log_it(
    redis_down, statement, client, caplog
):
    with caplog.at_level(logging.WARNING):
        registered = register(client, statement)
        assert registered.status_code == 201, registered.content
        token = get_token(client, registered.json())

    assert token["token_type"] == "bearer" and token["access_token"]
    assert "Redis unreachable" in caplog.text


def test_with_redis_unreachable_bearer_checks_fall_back_to_the_database(
    redis_down, statement, client, application, tam, caplog, django_capture_on_commit_callbacks
):
    credentials = register(client, statement).json()
    access_token = get_token(client, credentials)["access_token"]
    assert client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {access_token}").status_code == 200

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        services.registered_application_revoke(application=application, reason="Leak", actor=tam)
    assert "not published" in caplog.text  # the stamp could not reach Redis...

    # ...and the database refuses the token anyway, within a second (README "API walk-through with curl", step 6; the
    # database answer is cached for at most a second per token while Redis is down).
    deadline = time.monotonic() + 1.5
    while True:
        response = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {access_token}")
        if response.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert response.status_code == 401
    assert response.json()["action"] == "application-registration"


def test_with_redis_unreachable_throttling_falls_back_to_per_process_buckets(redis_down, settings, db, client):
    settings.DCR_THROTTLE_RATE = 0.001
    settings.DCR_THROTTLE_BURST = 3
    statuses = [
        client.post(REGISTER, data="{}", content_type="application/json", REMOTE_ADDR="198.51.100.7").status_code
        for _ in range(4)
    ]
    assert statuses[:3] == [400, 400, 400]
    assert statuses[3] == 429
    # Another address has its own bucket.
    assert (
        client.post(REGISTER, data="{}", content_type="application/json", REMOTE_ADDR="198.51.100.8").status_code == 400
    )


@pytest.fixture
def dead_broker():
    """The Celery app publishes to a Redis port where nothing listens (and not eagerly)."""
    from dcr_project.celery import app

    def forget_connections() -> None:
        # What Celery itself does after a fork: the next publish opens a pool for the current URL.
        app._pool = None
        app.amqp._producer_pool = None

    previous = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    app.conf.task_always_eager = False
    forget_connections()
    yield
    app.conf.broker_url, app.conf.task_always_eager = previous
    forget_connections()


def test_a_revocation_commits_even_when_the_broker_cannot_take_its_email_task(
    redis_down, dead_broker, application, tam, caplog, django_capture_on_commit_callbacks
):
    from registered_apps.tasks import application_revoked_email

    started = time.monotonic()
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        services.registered_application_revoke(application=application, reason="Leak", actor=tam)
    elapsed = time.monotonic() - started

    application.refresh_from_db()
    assert application.status == ApplicationStatus.REVOKED
    assert f"task {application_revoked_email.name} could not be run or enqueued" in caplog.text
    assert elapsed < 15, f"publishing to a dead broker held the request for {elapsed:.1f}s"


# --- PostgreSQL restarted under a running server -----------------------------------------------------


@pytest.fixture
def own_postgres():
    """A PostgreSQL cluster of our own on a free port, removed afterwards."""
    missing = own_postgres_missing()
    if missing:
        pytest.skip(missing)
    cluster = OwnPostgres()
    try:
        cluster.start()
        cluster.createdb("dcr")
        yield cluster
    finally:
        cluster.stop()


def _request(url: str, data: bytes | None = None, content_type: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type} if content_type else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_after_postgresql_restarts_the_next_requests_succeed_without_a_server_restart(own_postgres, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "DJANGO_SETTINGS_MODULE": "dcr_project.settings.test",
        "DATABASE_URL": own_postgres.url("dcr"),
        "CONN_MAX_AGE": "600",  # persistent connections: the ones the restart breaks
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=300)
    subprocess.run(
        [*manage, "create_programmer", "restart-networks", "--name", "Restart Networks", "--channel", "restart-one"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
        capture_output=True,
    )
    created = subprocess.run(
        [
            *manage,
            "create_registered_app",
            "--programmer",
            "restart-networks",
            "--all-channels",
            "--name",
            "Restart",
            "--platform",
            "ios",
            "--scope",
            "api:client:v2",
            "--statement",
        ],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    statement = created.stdout.strip().splitlines()[-1]
    web_port = free_port()
    server = subprocess.Popen(
        [
            *SERVE,
            "--port",
            str(web_port),
            "--workers",
            "1",
            "--threads",
            "1",
        ],
        env=env,
        cwd=ROOT,
        stdout=(tmp_path / "web.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{web_port}"

    def register_and_get_token() -> None:
        status, body = _request(
            base_url + "/o/client/register",
            json.dumps({"software_statement": statement}).encode(),
            "application/json",
        )
        assert status == 201, body[:500]
        credentials = json.loads(body)
        status, body = _request(
            base_url + "/o/client/token",
            urllib.parse.urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": credentials["client_id"],
                    "client_secret": credentials["client_secret"],
                }
            ).encode(),
            "application/x-www-form-urlencoded",
        )
        assert status == 200, body[:500]

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _request(base_url + "/accounts/login/")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "web.log").read_text()
                time.sleep(0.2)
        register_and_get_token()  # the server now holds a persistent database connection

        own_postgres.restart()

        register_and_get_token()
        register_and_get_token()
        assert server.poll() is None
        assert "Internal Server Error" not in (tmp_path / "web.log").read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
