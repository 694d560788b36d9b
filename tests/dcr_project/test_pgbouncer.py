"""PgBouncer in transaction pooling mode between the web server and PostgreSQL (README "PgBouncer").

The test starts Debian's pgbouncer on a free port in front of pytest-django's test database and a real
the production server (2 workers, DATABASE_PGBOUNCER=1) against it, then drives the API over HTTP: the whole client
journey, the dashboard's statement download, a usage flush and an application revocation; and keeps
registering and issuing tokens while the PostgreSQL connections are cut (pgbouncer's KILL, then
pg_terminate_backend on the server): errors while the connections are gone, never a wrong answer, and
everything back within seconds.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client as DjangoClient

from registered_apps.models import UsageDaily
from software_statements.services import software_statement_issue
from tests.processes import ROOT, SERVE, free_port, stop_group, wait_for

_PGBOUNCER = shutil.which("pgbouncer", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin")
_DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = [
    # Cuts the test database's connections and owns a server: nothing else may run meanwhile.
    pytest.mark.serial,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(_PGBOUNCER is None, reason="needs Debian's pgbouncer (apt-get install pgbouncer)"),
    pytest.mark.skipif(not _DATABASE_URL.startswith("postgres"), reason="needs DATABASE_URL on PostgreSQL"),
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="needs REDIS_URL: the usage counters reach the flush through Redis"
    ),
]


class Stack:
    """pgbouncer (transaction mode) in front of the test database, the web server in front of pgbouncer."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.db = connection.settings_dict["NAME"]
        self.pg_host = connection.settings_dict["HOST"] or "127.0.0.1"
        self.pg_port = int(connection.settings_dict["PORT"] or 5432)
        self.port = free_port()
        self.web_port = free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dcr_project.settings.test",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.port}/{self.db}",
            "DATABASE_PGBOUNCER": "1",
            "REDIS_URL": settings.REDIS_URL,
        }
        self.env.pop("CONN_MAX_AGE", None)

    def start(self) -> None:
        (self.base / "userlist.txt").write_text('"postgres" ""\n')
        (self.base / "pgbouncer.ini").write_text(
            f"[databases]\n{self.db} = host={self.pg_host} port={self.pg_port} dbname={self.db} user=postgres\n\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.base / 'userlist.txt'}\nadmin_users = postgres\n"
            "pool_mode = transaction\ndefault_pool_size = 3\nmax_client_conn = 200\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            "server_login_retry = 1\n"
        )
        as_user = ["-u", "postgres"] if os.geteuid() == 0 else []  # pgbouncer refuses to run as root
        if os.geteuid() == 0:
            for path in (self.base, *self.base.iterdir()):
                shutil.chown(path, "postgres")
        self.pgbouncer = subprocess.Popen(
            [str(_PGBOUNCER), *as_user, str(self.base / "pgbouncer.ini")],
            stdout=(self.base / "pgbouncer.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(
            lambda: self.admin("SHOW VERSION"),
            "pgbouncer",
            process=self.pgbouncer,
            log=self.base / "pgbouncer.log",
            errors=(OSError, subprocess.CalledProcessError),
        )
        self.web = subprocess.Popen(
            [
                *SERVE,
                "--port",
                str(self.web_port),
                "--workers",
                "2",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=(self.base / "web.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(
            lambda: requests.get(self.url + "/healthz", timeout=5),
            "the web server",
            process=self.web,
            log=self.base / "web.log",
            errors=(OSError, requests.RequestException),
        )

    def admin(self, command: str) -> str:
        """One command on pgbouncer's admin console."""
        return subprocess.run(
            [
                "psql",
                "-X",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-At",
                "-c",
                command,
                "pgbouncer",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout

    def manage(self, *args: str) -> str:
        """A management command (or Python code) in another process, through pgbouncer."""
        return subprocess.run(
            [sys.executable, *args], env=self.env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=120
        ).stdout

    def stop(self) -> None:
        for process in (getattr(self, "web", None), getattr(self, "pgbouncer", None)):
            stop_group(process)

    def log_text(self) -> str:
        return (self.base / "web.log").read_text()


@pytest.fixture
def stack(application):
    # Not under pytest's tmp dir: the postgres user must be able to read the config.
    base = Path(tempfile.mkdtemp(prefix="dcr-pgbouncer-"))
    running = Stack(base)
    try:
        running.start()
        yield running
    finally:
        # Before pytest-django drops the test database: pgbouncer's server connections would block it.
        running.stop()
        shutil.rmtree(base, ignore_errors=True)


# --- the API over HTTP ----------------------------------------------------------------------------------


def register(stack: Stack, statement: str) -> requests.Response:
    return requests.post(f"{stack.url}/o/client/register", json={"software_statement": statement}, timeout=30)


def token(stack: Stack, credentials: dict) -> requests.Response:
    return requests.post(
        f"{stack.url}/o/client/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        },
        timeout=30,
    )


def session(stack: Stack, access_token: str) -> requests.Response:
    return requests.get(f"{stack.url}/api/v2/session", headers={"Authorization": f"Bearer {access_token}"}, timeout=30)


def as_client(stack: Stack, path: str, credentials: dict, access_token: str) -> requests.Response:
    data = {"client_id": credentials["client_id"], "client_secret": credentials["client_secret"], "token": access_token}
    return requests.post(f"{stack.url}{path}", data=data, timeout=30)


def test_the_settings_switch_turns_off_what_transaction_pooling_cannot_carry():
    code = (
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['DISABLE_SERVER_SIDE_CURSORS'], d['CONN_MAX_AGE'], d['OPTIONS'])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dcr_project.settings.test", "DATABASE_PGBOUNCER": "1"}
    env.pop("CONN_MAX_AGE", None)
    shown = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    assert shown == "True 0 {'prepare_threshold': None}"


def test_the_whole_api_flow_through_pgbouncer_in_transaction_mode(stack, application, rw_user):
    statement, _ = software_statement_issue(application=application, actor="tests")
    assert "transaction" in stack.admin("SHOW CONFIG")

    registration = register(stack, statement)
    assert registration.status_code == 201, registration.text
    credentials = registration.json()
    issued = [token(stack, credentials) for _ in range(3)]
    assert [r.status_code for r in issued] == [200, 200, 200], issued[-1].text
    access_token = issued[-1].json()["access_token"]
    assert session(stack, access_token).status_code == 200

    introspected = as_client(stack, "/o/client/introspect", credentials, access_token)
    assert introspected.status_code == 200 and introspected.json()["active"] is True, introspected.text
    assert as_client(stack, "/o/client/revoke", credentials, access_token).status_code == 200
    # The other worker may have read the token's stamps within DCR_REVOCATION_STAMP_CACHE: refused within a second.
    # Each request may reach either worker (fresh connections): the second may still hold the stamps it
    # read a moment before the revocation, so the refusals are awaited, then must hold on both.
    revoked_at = time.monotonic()
    while session(stack, access_token).status_code == 200:
        assert time.monotonic() - revoked_at < 1.0, "a revoked token still accepted after 1 s"
        time.sleep(0.02)
    time.sleep(max(0.0, 1.0 - (time.monotonic() - revoked_at)))
    for _ in range(4):
        assert session(stack, access_token).status_code == 401
        assert as_client(stack, "/o/client/introspect", credentials, access_token).json() == {"active": False}

    # The dashboard: a signed-in programmer downloads a new statement, which registers.
    django_client = DjangoClient()
    django_client.force_login(rw_user)
    browser = requests.Session()
    browser.cookies.set("sessionid", django_client.cookies["sessionid"].value)
    page = browser.get(f"{stack.url}/applications/{application.pk}/", timeout=30)
    assert page.status_code == 200, page.text[:500]
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf is not None
    downloaded = browser.post(
        f"{stack.url}/applications/{application.pk}/statement/download",
        data={"csrfmiddlewaretoken": csrf.group(1)},
        timeout=30,
    )
    assert downloaded.status_code == 200, downloaded.text[:500]
    assert downloaded.headers["Content-Disposition"].startswith("attachment")
    second = register(stack, downloaded.text.strip())
    assert second.status_code == 201, second.text
    assert token(stack, second.json()).status_code == 200

    # The usage flush (what the Celery task runs) through pgbouncer: every registration and token counted once.
    stack.manage("-c", "import django; django.setup(); from oauth.usage_flush import usage_flush; usage_flush()")
    rows = UsageDaily.objects.filter(application=application)
    assert sum(row.registrations for row in rows) == 2
    assert sum(row.tokens for row in rows) == 4

    # A TAM's revocation (the management command, through pgbouncer) is refused within a second.
    fresh = token(stack, credentials).json()["access_token"]
    assert session(stack, fresh).status_code == 200
    stack.manage("manage.py", "revoke_registered_app", str(application.pk), "--reason", "Leak")
    revoked_at = time.monotonic()
    while session(stack, fresh).status_code == 200:
        assert time.monotonic() - revoked_at < 1.0, "a revoked application's token still accepted after 1 s"
        time.sleep(0.02)
    assert session(stack, fresh).json()["action"] == "application-registration"
    assert token(stack, credentials).status_code in (400, 401)
    assert register(stack, statement).status_code in (400, 401, 403)
    assert "Traceback" not in stack.log_text()


# --- connections cut under load -------------------------------------------------------------------------


class Load:
    """Threads registering, issuing tokens and checking them until stopped; every answer classified."""

    def __init__(self, stack: Stack, statement: str, threads: int = 4) -> None:
        self.stack, self.statement = stack, statement
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.outcomes: list[tuple[float, str, str]] = []  # (time, request, ok | error | wrong)
        self.wrong: list[tuple[str, int, str]] = []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _note(self, name: str, response: requests.Response | None, expected: int) -> bool:
        if response is None or response.status_code >= 500:
            verdict = "error"  # the request failed loudly: the client retries
        elif response.status_code == expected:
            verdict = "ok"
        else:
            verdict = "wrong"  # a refusal of valid credentials, or any other answer we did not expect
            self.wrong.append((name, response.status_code, response.text[:300]))
        with self.lock:
            self.outcomes.append((time.monotonic(), name, verdict))
        return verdict == "ok"

    def _call(self, name: str, expected: int, send) -> requests.Response | None:
        try:
            response = send()
        except requests.RequestException:
            response = None
        return response if self._note(name, response, expected) else None

    def _run(self) -> None:
        while not self.stop.is_set():
            registration = self._call("register", 201, lambda: register(self.stack, self.statement))
            if registration is None:
                continue
            credentials = registration.json()
            issued = self._call("token", 200, lambda c=credentials: token(self.stack, c))
            if issued is None:
                continue
            access_token = issued.json()["access_token"]
            self._call("session", 200, lambda t=access_token: session(self.stack, t))
            revoked = self._call(
                "revoke", 200, lambda c=credentials, t=access_token: as_client(self.stack, "/o/client/revoke", c, t)
            )
            if revoked is None:
                continue  # the revocation itself failed (an error while the connections were cut): nothing to check
            # A worker that checked the token just before may accept it for up to a second (README: revocations
            # bite within a second): refused within that second is right, accepted after it is wrong.
            revoked_at = time.monotonic()
            while True:
                try:
                    answer: requests.Response | None = session(self.stack, access_token)
                except requests.RequestException:
                    answer = None
                if answer is None or answer.status_code != 200 or time.monotonic() - revoked_at > 1.0:
                    break
                time.sleep(0.05)
            self._note("revoked session", answer, 401)

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def _terminate_server_connections(db: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [db],
        )
        return cursor.fetchone()[0]


def test_postgresql_connections_cut_under_load_never_give_a_wrong_answer_and_recover(stack, application, capsys):
    statement, _ = software_statement_issue(application=application, actor="tests")
    cuts: dict[str, float] = {}
    with Load(stack, statement) as load:
        time.sleep(2)
        cuts["pgbouncer KILL + RESUME"] = time.monotonic()
        stack.admin(f"KILL {stack.db}")
        time.sleep(0.5)
        stack.admin(f"RESUME {stack.db}")
        time.sleep(2.5)
        cuts["pg_terminate_backend"] = time.monotonic()
        terminated = _terminate_server_connections(stack.db)
        time.sleep(2.5)
        cuts["pgbouncer RECONNECT"] = time.monotonic()
        stack.admin(f"RECONNECT {stack.db}")
        time.sleep(3)
    ends = [*list(cuts.values())[1:], time.monotonic()]

    lines = [f"pg_terminate_backend ended {terminated} server connections"]
    for (name, at), end in zip(cuts.items(), ends, strict=True):
        window = [(t, verdict) for t, _, verdict in load.outcomes if at <= t < end]
        counted = Counter(verdict for _, verdict in window)
        failures = [t for t, verdict in window if verdict != "ok"]
        recovery = (max(failures) - at) if failures else 0.0
        lines.append(
            f"{name}: sent {len(window)}, failed {counted['error']}, wrong {counted['wrong']}, "
            f"recovered in {recovery:.2f} s"
        )
    counted = Counter(verdict for _, _, verdict in load.outcomes)
    lines.append(f"total: sent {len(load.outcomes)}, failed {counted['error']}, wrong {counted['wrong']}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))

    assert counted["wrong"] == 0, load.wrong[:5]
    # Back to normal: the last second of each window answered without a single failure.
    for at, end in zip(cuts.values(), ends, strict=True):
        assert [t for t, _, verdict in load.outcomes if end - 1 <= t < end and verdict != "ok"] == []
        assert any(at <= t < end and verdict == "ok" for t, _, verdict in load.outcomes)
    assert counted["error"] <= len(load.outcomes) // 10
    # And the database is consistent with what the clients were told: no client lost or doubled.
    registered = sum(1 for _, name, verdict in load.outcomes if name == "register" and verdict == "ok")
    from oauth.models import Client

    assert Client.objects.filter(registered_application=application).count() >= registered
