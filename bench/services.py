"""The services the benchmark runs against: PostgreSQL and Redis (started when down, never restarted),
its own database (dropped and created afresh every run) and the web server (started and stopped by us)."""

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path

import psycopg
import redis
from psycopg import sql

from . import http
from .serve_command import serve_command

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def exclusive_run(wait_seconds: float) -> Iterator[None]:
    """One benchmark at a time on this machine: two runs would drop each other's database, flush each
    other's Redis and, on shared cores, measure each other anyway."""
    path = Path(tempfile.gettempdir()) / "dcr-bench.lock"
    with path.open("a") as handle:
        deadline = time.monotonic() + wait_seconds
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Another benchmark still holds {path} after {wait_seconds:.0f} s.") from None
                if not announced:
                    print(f"Another benchmark is running (lock {path}); waiting for it to finish", flush=True)
                    announced = True
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def unwind_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt, so that every `finally` that stops a server runs
    (the servers run in sessions of their own: nothing else would stop them). Also when the harness was
    started with SIGINT ignored, as a script's background job is."""

    def _unwind(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _unwind)


def ensure_wrk() -> None:
    """wrk is a Debian package; install it the way .ci/run installs Chromium when it is missing."""
    if shutil.which("wrk"):
        return
    print("wrk is not installed; installing the Debian package", flush=True)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=environment)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=environment)


def _postgres_ready(host: str, port: int) -> bool:
    return subprocess.run(["pg_isready", "-h", host, "-p", str(port), "-q"], check=False).returncode == 0


def _redis_ready(host: str, port: int) -> bool:
    try:
        return bool(redis.Redis(host=host, port=port, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def ensure_postgres_and_redis(database_url: str, redis_url: str) -> None:
    """Start PostgreSQL and Redis the way .ci/run does when they do not answer; leave running ones alone."""
    database = urllib.parse.urlsplit(database_url)
    pg_host, pg_port = database.hostname or "127.0.0.1", database.port or 5432
    cache = urllib.parse.urlsplit(redis_url)
    redis_host, redis_port = cache.hostname or "127.0.0.1", cache.port or 6379
    if not _postgres_ready(pg_host, pg_port):
        print(f"PostgreSQL does not answer on {pg_host}:{pg_port}; starting the local cluster", flush=True)
        version = sorted(os.listdir("/etc/postgresql"))[0]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True)
    if not _redis_ready(redis_host, redis_port):
        print(f"Redis does not answer on {redis_host}:{redis_port}; starting it", flush=True)
        os.makedirs("/var/lib/redis", exist_ok=True)
        os.makedirs("/var/log/redis", exist_ok=True)
        subprocess.run(
            [
                "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", str(redis_port),
                "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
            ],
            check=True,
        )  # fmt: skip
    for _ in range(30):
        if _postgres_ready(pg_host, pg_port) and _redis_ready(redis_host, redis_port):
            return
        time.sleep(1)
    raise RuntimeError("PostgreSQL or Redis did not come up within 30 seconds.")


def recreate_database(database_url: str) -> None:
    """Drop and create the benchmark's database, so every run starts from the same empty state.

    Only a database whose name says it is a benchmark's is ever dropped."""
    parts = urllib.parse.urlsplit(database_url)
    name = urllib.parse.unquote(parts.path.lstrip("/"))
    if "bench" not in name:
        raise RuntimeError(f"Refusing to drop database {name!r}: BENCH_DATABASE_URL must name a *bench* database.")
    with psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=urllib.parse.unquote(parts.username or "postgres"),
        password=urllib.parse.unquote(parts.password) if parts.password else None,
        dbname="postgres",
        autocommit=True,
    ) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def flush_redis(redis_url: str) -> None:
    """Empty the benchmark's own Redis database (throttle buckets, counters, stamps, queued tasks)."""
    redis.Redis.from_url(redis_url).flushdb()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebServer:
    """The web server exactly as `make serve` starts it (bench.serve_command: its command line, worker model
    and configuration), serving dcr_project.wsgi under `settings_module`, in a session of its own."""

    def __init__(
        self, *, port: int, workers: int, environment: Mapping[str, str], log_path: Path, settings_module: str
    ) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.workers = workers
        self.environment = {**environment, "WEB_CONCURRENCY": str(workers)}
        self.log_path = log_path
        self.command = serve_command(host="127.0.0.1", port=port, workers=workers, settings_module=settings_module)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, ready_path: str, timeout: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            # `exec env`: the shell expands ${WEB_CONCURRENCY...} and becomes the server's master itself, whose
            # children are its workers (bench.fleet.worker_rss).
            ["sh", "-c", f"exec env {self.command}"],
            cwd=ROOT,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log_path}")
            try:
                if http.request(self.base_url, "GET", ready_path, timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer {ready_path} within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        """SIGTERM to the server's whole process group (`sh`, the master and its workers), SIGKILL after 30 s;
        the group is ours alone (it was started in a session of its own)."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
