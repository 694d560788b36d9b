"""The two servers of `make bench-peer`: ours exactly as `make serve` starts it, and the peer (panva's
oidc-provider, a Node cluster, bench/peer/server.mjs). Each runs in a process group of its own, and
stopping it ends the whole group (make, the server's master and its workers), so nothing outlives the
harness, also on Ctrl-C or a failure."""

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import http

ROOT = Path(__file__).resolve().parent.parent
PEER_DIR = Path(__file__).resolve().parent / "peer"
# The Node.js major version the peer is measured on; older ones are refused (oidc-provider 9 needs 20+).
NODE_MAJOR = 20


def node_missing() -> str:
    """Why the peer cannot run here ("" when it can): Node.js 20 or newer and npm are needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return "node and npm are not installed (Debian: apt-get install nodejs npm)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        return f"node --version answered {version!r}"
    if major < NODE_MAJOR:
        return f"node {version} is older than {NODE_MAJOR}"
    return ""


def node_version() -> str:
    node = shutil.which("node")
    if not node:
        return ""
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def peer_version() -> str:
    """The installed oidc-provider's version (from its package.json), "" when not installed."""
    manifest = PEER_DIR / "node_modules" / "oidc-provider" / "package.json"
    if not manifest.exists():
        return ""
    import json

    return str(json.loads(manifest.read_text()).get("version", ""))


def npm_ci() -> None:
    """Install the peer at the versions package-lock.json pins (npm ci), unless that is already done."""
    installed = PEER_DIR / "node_modules" / ".package-lock.json"
    lock = PEER_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR, check=True)


class Server:
    """A server process started in a session of its own, ready when `ready_path` answers 200."""

    name = "server"

    def __init__(self, *, port: int, environment: Mapping[str, str], log_path: Path) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.environment = dict(environment)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> tuple[Sequence[str], Path]:
        raise NotImplementedError

    ready_path = "/"

    def start(self, timeout: float = 120.0) -> None:
        if _port_taken(self.port):
            raise RuntimeError(f"{self.name}: port {self.port} is already taken")
        command, cwd = self.command()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            with contextlib.suppress(OSError):
                answer = http.request(self.base_url, "GET", self.ready_path, timeout=2)
                if answer.status == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer {self.ready_path} within {timeout:.0f} s; see {self.log_path}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by every process of the server's group (the master and its
        workers; `make`'s own is nil): with the requests served meanwhile, a cost per request that the
        machine's other load changes much less than the throughput."""
        if self.process is None:
            return 0.0
        return group_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        """SIGTERM to the whole process group, SIGKILL after 20 s; the group is ours alone (its own session)."""
        if self.process is None:
            return
        group = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        deadline = time.monotonic() + 20
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _group_alive(group):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.process = None


def group_cpu_seconds(group: int) -> float:
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name may hold spaces and parentheses: the fields after the last ")" are fixed
        # (proc(5): state is field 3, pgrp 5, utime 14, stime 15).
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _port_taken(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Ours(Server):
    """`make serve` itself (HOST, PORT and WEB_CONCURRENCY as the README tells operators), so a change of
    its server or its configuration is what the harness measures."""

    name = "ours (make serve)"
    ready_path = "/healthz"

    def __init__(self, *, workers: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.environment["WEB_CONCURRENCY"] = str(workers)

    def command(self) -> tuple[Sequence[str], Path]:
        return ["make", "--no-print-directory", "serve", "HOST=127.0.0.1", f"PORT={self.port}"], ROOT


class Peer(Server):
    """bench/peer/server.mjs: oidc-provider on a Node cluster of `workers` workers."""

    name = "peer (oidc-provider)"
    ready_path = "/.well-known/openid-configuration"

    def __init__(self, *, workers: int, redis_url: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.environment.update(
            {
                "NODE_ENV": "production",
                "PEER_PORT": str(self.port),
                "PEER_WORKERS": str(workers),
                "PEER_REDIS_URL": redis_url,
            }
        )

    def command(self) -> tuple[Sequence[str], Path]:
        return [shutil.which("node") or "node", "server.mjs"], PEER_DIR
