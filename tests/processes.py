"""Real processes for the tests that need them: free ports, waiting for a server, stopping a process group,
the production HTTP server (`make serve`'s), a Celery worker, and a PostgreSQL cluster and a Redis server of
a test's own (started, stopped and restarted by the test, so that restarting them never touches the
machine's services or another test's data)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from glob import glob
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
# The command of `make serve` (dcr_project/serve.py), followed by its options.
SERVE = [sys.executable, "-m", "dcr_project.serve"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    probe: Callable[[], object],
    what: str,
    *,
    process: subprocess.Popen | None = None,
    log: Path | None = None,
    timeout: float = 60.0,
    errors: tuple[type[BaseException], ...] = (OSError,),
) -> None:
    """Call `probe` until it returns without raising one of `errors`; fail with the log's tail when
    `process` exits or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe()
            return
        except errors:
            if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
                raise AssertionError(f"{what} did not come up:\n{tail}") from None
            time.sleep(0.2)


def stop_group(process: subprocess.Popen | None, *, timeout: float = 30.0) -> None:
    """SIGTERM to a process started with start_new_session=True and to its children, SIGKILL if they
    outlive `timeout`."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system) a process has used, with its ended children's and its living
    children's: the server's main process and its workers, a postmaster and its backends."""

    def times(of: int, fields: int) -> int:
        try:
            stat = Path(f"/proc/{of}/stat").read_text()
        except OSError:
            return 0
        # After "pid (comm) ": state, ...; utime, stime, cutime, cstime are the 14th to 17th fields.
        return sum(int(value) for value in stat[stat.rindex(")") + 2 :].split()[11 : 11 + fields])

    ticks = times(pid, 4) + sum(times(child, 2) for child in _children(pid))
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_bin() -> Path | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def as_postgres(*command: str, **kwargs) -> subprocess.CompletedProcess:
    """A PostgreSQL server command as the postgres user (initdb and postgres refuse to run as root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *command], check=True, capture_output=True, text=True, timeout=120, **kwargs)


def own_postgres_missing() -> str:
    """Why this machine cannot run a PostgreSQL cluster of a test's own, or "" when it can."""
    if postgres_bin() is None:
        return "needs PostgreSQL's server binaries (initdb, pg_ctl) to run a throwaway cluster"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "needs runuser to run PostgreSQL's server as the postgres user"
    return ""


class OwnPostgres:
    """A PostgreSQL cluster of our own (Debian's initdb and pg_ctl) on a free port, trusting local
    connections and those from `networks`, listening on 127.0.0.1 and `addresses`. `stop()` removes it."""

    def __init__(self, *, addresses: Sequence[str] = (), networks: Sequence[str] = (), fsync: bool = False) -> None:
        bin_dir = postgres_bin()
        assert bin_dir is not None, own_postgres_missing()
        self.bin = bin_dir
        # Not under pytest's tmp dir: the postgres user must be able to reach it.
        self.base = Path(tempfile.mkdtemp(prefix="dcr-own-postgres-"))
        self.data = self.base / "data"
        self.socket_dir = self.base / "socket"
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
            shutil.chown(self.socket_dir, "postgres")
        self.port = free_port()
        self.networks = list(networks)
        listen = ",".join(["127.0.0.1", *addresses])
        self.options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses={listen} -c fsync={'on' if fsync else 'off'}"
        )

    def url(self, database: str, host: str = "127.0.0.1") -> str:
        return f"postgres://postgres@{host}:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), *args)

    def start(self) -> None:
        if not self.data.exists():
            as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
            if self.networks:
                lines = "".join(f"host all all {network} trust\n" for network in self.networks)
                with (self.data / "pg_hba.conf").open("a") as hba:
                    hba.write(lines)
        self._pg_ctl("-o", self.options, "-l", str(self.base / "log"), "-w", "start")

    def restart(self) -> None:
        """A fast shutdown (every connection is cut, transactions in flight roll back) and a start."""
        self._pg_ctl("-o", self.options, "-l", str(self.base / "log"), "-m", "fast", "-w", "restart")

    @property
    def pid(self) -> int:
        """The postmaster's."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def createdb(self, name: str) -> None:
        as_postgres(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [
                    *(["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []),
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "immediate",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(self.base, ignore_errors=True)


class OwnRedis:
    """A redis-server of our own on a free port, listening on 127.0.0.1 and `addresses`. With `durable`, an
    append-only file (fsync every second), as a production Redis that holds counters runs: a clean stop and
    a start keep every key. `stop()` is that clean stop (SIGTERM: Redis writes what it must and exits)."""

    def __init__(self, *, addresses: Sequence[str] = (), durable: bool = True) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="dcr-own-redis-"))
        self.port = free_port()
        self.command = [
            shutil.which("redis-server") or "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1", *addresses,
            "--protected-mode", "no",
            "--save", "",
            "--appendonly", "yes" if durable else "no",
            "--appendfsync", "everysec",
            "--dir", str(self.base),
        ]  # fmt: skip
        self.process: subprocess.Popen | None = None
        self.log = self.base / "redis.log"

    def url(self, database: int = 0, host: str = "127.0.0.1") -> str:
        return f"redis://{host}:{self.port}/{database}"

    def start(self) -> None:
        import redis

        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        client = redis.Redis(port=self.port, socket_timeout=1)
        wait_for(client.ping, "redis-server", process=self.process, log=self.log, errors=(redis.RedisError,))

    def stop(self) -> None:
        stop_group(self.process)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


CELERY = str(Path(sys.executable).with_name("celery"))


class Worker:
    """A `celery -A dcr_project worker` process group we started, pointed at the test database."""

    def __init__(self, name: str, log_dir: Path) -> None:
        database = settings.DATABASES["default"]
        self.name = f"{name}-{uuid.uuid4().hex[:6]}@127.0.0.1"
        self.log = log_dir / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dcr_project.settings.test",
            "DATABASE_URL": (
                f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:{database['PORT']}"
                f"/{database['NAME']}"
            ),
            # A killed worker's unacknowledged message is handed to another worker after 3 s.
            "CELERY_VISIBILITY_TIMEOUT": "3",
        }
        self.process = subprocess.Popen(
            [
                CELERY,
                "-A",
                "dcr_project",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--hostname",
                self.name,
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_for("ready.")

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if self.process.poll() is not None:
                pytest.fail(f"worker {self.name} exited:\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"worker {self.name}: no {needle!r} within {timeout}s:\n{self.text()[-3000:]}")
            time.sleep(0.1)

    def pool_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)
