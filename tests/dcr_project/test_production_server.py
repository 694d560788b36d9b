"""The production server as README "Production deployment" tells operators to run it (`make serve`:
`python -m dcr_project.serve`, production settings, 2 workers) against 1,000 clients that send their
request headers a byte a second: a health probe and token requests answer as fast as without them.

Under gunicorn's sync workers two such clients stalled the whole server (each held a worker while its
headers trickled in); here a slow client holds a socket of the server's Rust I/O, not a worker.

The server runs on a SQLite file of its own and the in-process stores (no REDIS_URL): what is measured
is the HTTP server, and the token path reads no database once the client is known."""

import http.client
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.processes import ROOT, SERVE, free_port, wait_for

pytestmark = pytest.mark.serial  # 1,000 sockets and a server of its own, measured against time

SLOW_CLIENTS = 1000
SAMPLES = 40
TIMEOUT = 5.0
# Requests over plain http to a production server: its proxy would have said https.
HTTPS = {"X-Forwarded-Proto": "https"}


def _fd_limit(needed: int) -> None:
    """Raise this process's soft limit on open files (the server started from it inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"the hard limit on open files ({hard}) is below {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


class Server:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("REDIS_URL", "DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "PYTEST_XDIST_WORKER")
        }
        self.env |= {
            "DJANGO_SETTINGS_MODULE": "dcr_project.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DCR_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DATABASE_URL": f"sqlite:///{base / 'db.sqlite3'}",
            # One address sends every request here: its token bucket must not be what is measured.
            "DCR_THROTTLE_RATE": "1000000",
            "DCR_THROTTLE_BURST": "1000000",
            "LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def manage(self, *arguments: str) -> str:
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *arguments],
            env=self.env,
            cwd=ROOT,
            check=True,
            timeout=300,
            capture_output=True,
            text=True,
        ).stdout

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*SERVE, "--workers", "2", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=(self.base / "web.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: self.get("/healthz"), "the server", process=self.process, log=self.base / "web.log")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def request(self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body=body or None, headers={**HTTPS, **(headers or {})})
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def get(self, path: str) -> tuple[int, str]:
        status, body = self.request("GET", path)
        assert status == 200, body
        return status, body


class SlowClients:
    """`count` connections, each sending a request's headers one byte a second from one thread."""

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.count = count
        self.sockets: list[socket.socket] = []
        self.sent = 0
        self.failed_sends = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        # Headers that never end within the test: each client sends a byte of them a second.
        self.head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 200

    def start(self) -> None:
        for _ in range(self.count):
            connection = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
            connection.setblocking(False)
            self.sockets.append(connection)
        self.thread.start()

    def _trickle(self) -> None:
        position = 0
        while not self.stopping.is_set() and position < len(self.head):
            byte = self.head[position : position + 1]
            for connection in self.sockets:
                try:
                    connection.send(byte)
                    self.sent += 1
                except OSError:
                    self.failed_sends += 1
            position += 1
            self.stopping.wait(1.0)

    def open_count(self) -> int:
        """Connections the server has not closed (a closed one reads as EOF)."""
        still_open = 0
        for connection in self.sockets:
            try:
                if connection.recv(1) != b"":
                    continue  # an answer: the server did not wait for the headers
            except BlockingIOError:
                still_open += 1
            except OSError:
                pass
        return still_open

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        for connection in self.sockets:
            connection.close()


def _timings(server: Server, token_form: str) -> tuple[list[float], list[float]]:
    """SAMPLES health probes and SAMPLES token requests, each on a fresh connection; milliseconds."""
    probes, tokens = [], []
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for _ in range(SAMPLES):
        started = time.perf_counter()
        status, body = server.request("GET", "/healthz")
        probes.append((time.perf_counter() - started) * 1000)
        assert status == 200, body
        started = time.perf_counter()
        status, body = server.request("POST", "/o/client/token", token_form, form)
        tokens.append((time.perf_counter() - started) * 1000)
        assert status == 200, body
    return probes, tokens


def test_a_thousand_slow_clients_do_not_slow_a_probe_or_a_token_request(tmp_path):
    _fd_limit(SLOW_CLIENTS + 1024)
    server = Server(tmp_path)
    server.manage("migrate", "--noinput", "-v", "0")
    server.manage("create_programmer", "slow-networks", "--name", "Slow Networks", "--channel", "slow-one")
    statement = server.manage(
        "create_registered_app", "--programmer", "slow-networks", "--all-channels", "--name", "Slow",
        "--platform", "ios", "--scope", "api:client:v2", "--statement",
    ).strip().splitlines()[-1]  # fmt: skip
    slow: SlowClients | None = None
    try:
        server.start()
        status, body = server.request(
            "POST",
            "/o/client/register",
            json.dumps({"software_statement": statement}),
            {"Content-Type": "application/json"},
        )
        assert status == 201, body
        client = json.loads(body)
        token_form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            }
        )
        _timings(server, token_form)  # every worker warmed up
        quiet_probes, quiet_tokens = _timings(server, token_form)

        slow = SlowClients(server.port, SLOW_CLIENTS)
        slow.start()
        time.sleep(3)  # every slow client has sent a few bytes: each one is a connection mid-headers
        busy_probes, busy_tokens = _timings(server, token_form)
        open_after = slow.open_count()

        # The slow clients were really there: connected, their bytes accepted, not dropped at once.
        assert slow.failed_sends == 0
        assert open_after >= SLOW_CLIENTS * 0.95, open_after
        quiet = statistics.median(quiet_probes), statistics.median(quiet_tokens)
        busy = statistics.median(busy_probes), statistics.median(busy_tokens)
        # Generous: the machine is shared and the slow clients' thread takes some CPU, but a server
        # whose workers waited on the slow clients would answer in seconds or not at all (TIMEOUT).
        for name, before, after in (("probe", quiet[0], busy[0]), ("token", quiet[1], busy[1])):
            assert after <= max(3 * before, before + 25), f"{name}: median {before:.1f} ms quiet, {after:.1f} ms busy"
        assert max(busy_probes + busy_tokens) < 1000, max(busy_probes + busy_tokens)
        assert server.process is not None and server.process.poll() is None
    finally:
        if slow is not None:
            slow.stop()
        server.stop()


def _raw_status_and_body(port: int, head: bytes) -> tuple[bytes, bytes]:
    """Send a raw request head; the answer's status line and body (read until the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as connection:
        connection.sendall(head)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_and_headers, _, body = answer.partition(b"\r\n\r\n")
    return status_and_headers.split(b"\r\n", 1)[0], body


def test_header_limits_through_the_production_server(tmp_path):
    """Over the application's limits (8 KiB a field, 32 KiB in all) and below the server's (64 KiB of
    head: hyper's read buffer, so up to about twice that in practice), an API path answers the JSON 431;
    far over the server's, the server answers an empty 431 itself: never an HTML page (README
    "Production deployment" says which limit a proxy should set)."""
    server = Server(tmp_path)
    server.manage("migrate", "--noinput", "-v", "0")
    try:
        server.start()
        status, body = server.request("GET", "/o/client/token", headers={"X-Padding": "a" * 4096})
        assert status == 405 and json.loads(body)["error"] == "invalid_request"
        status, body = server.request("GET", "/o/client/token", headers={"X-Padding": "a" * 40_000})
        assert status == 431, body
        assert json.loads(body)["error"] == "invalid_request" and "header" in json.loads(body)["error_description"]

        head = b"GET /o/client/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 300_000 + b"\r\n\r\n"
        status_line, body_bytes = _raw_status_and_body(server.port, head)
        assert status_line.startswith(b"HTTP/1.1 431"), status_line
        assert body_bytes == b"", body_bytes[:200]
    finally:
        server.stop()
