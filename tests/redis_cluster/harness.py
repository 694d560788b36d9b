"""A Redis Cluster of the tests' own: Debian's redis-server in cluster mode, three primaries and three
replicas on loopback ports 7100-7105 (`DCR_TEST_CLUSTER_PORT` moves the first), made with
`redis-cli --cluster create ... --cluster-replicas 1` and torn down with the test session. Never the
machine's Redis on 6379."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

FIRST_PORT = int(os.environ.get("DCR_TEST_CLUSTER_PORT", "7100"))
NODES = 6
# Failover fast: a primary unreachable for this long is failed over by its replica.
NODE_TIMEOUT_MS = 1000

# `make redis-cluster-test`: the heavy runs too (a primary killed, a slot moved under load).
FULL = os.environ.get("DCR_REDIS_CLUSTER_FULL") == "1"

missing = [name for name in ("redis-server", "redis-cli") if shutil.which(name) is None]


@dataclass
class Cluster:
    directory: Path
    ports: list[int]
    processes: dict[int, subprocess.Popen] = field(default_factory=dict)

    @property
    def nodes_setting(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports[:3])

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)

    def alive(self) -> list[int]:
        return [port for port, process in self.processes.items() if process.poll() is None]

    def primaries(self) -> list[int]:
        """The ports of the primaries that answer, as the cluster sees them."""
        found = []
        for port in self.alive():
            role = self.node(port).execute_command("ROLE")[0]
            if role == b"master":
                found.append(port)
        return sorted(found)

    def primary_of_slot(self, slot: int) -> int:
        for start, end, primary, *_ in self.node(self.alive()[0]).execute_command("CLUSTER SLOTS"):
            if start <= slot <= end:
                return int(primary[1])
        raise AssertionError(f"no node serves slot {slot}")

    def replica_of(self, primary: int) -> int:
        node_id = self.node(primary).execute_command("CLUSTER MYID").decode()
        for port in self.alive():
            if port != primary:
                info = self.node(port).execute_command("ROLE")
                if info[0] == b"slave" and int(info[2]) == primary:
                    return port
        raise AssertionError(f"no replica of {primary} ({node_id})")

    def flush(self) -> None:
        for port in self.primaries():
            self.node(port).flushall()

    def wait_ok(self, timeout: float = 30) -> None:
        """Every live node says cluster_state:ok and agrees on three primaries."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                states = [self.node(port).cluster("info")["cluster_state"] for port in self.alive()]
                if all(state == "ok" for state in states) and len(self.primaries()) == 3:
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"cluster not ok after {timeout} s")

    def kill(self, port: int) -> None:
        self.processes[port].send_signal(signal.SIGKILL)
        self.processes[port].wait()

    def restart(self, port: int) -> None:
        """A killed node again, with its nodes.conf: it rejoins (a killed primary as a replica)."""
        self._start(port)
        self._wait_ping(port)

    def _start(self, port: int) -> None:
        node_dir = self.directory / str(port)
        node_dir.mkdir(exist_ok=True)
        log = open(node_dir / "log", "ab")  # noqa: SIM115 - closed with the process
        self.processes[port] = subprocess.Popen(
            [
                "redis-server",
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(node_dir / "nodes.conf"),
                "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(node_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def _wait_ping(self, port: int) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self.node(port).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cluster_start(first_port: int = FIRST_PORT) -> Cluster:
    """Six nodes on `first_port` and the five ports after it (their cluster bus on each port + 10000)."""
    directory = Path(tempfile.mkdtemp(prefix="dcr-redis-cluster-"))
    ports = [first_port + index for index in range(NODES)]
    assert 6379 not in ports
    cluster = Cluster(directory, ports)
    try:
        for port in ports:
            cluster._start(port)
        for port in ports:
            cluster._wait_ping(port)
        addresses = [f"127.0.0.1:{port}" for port in ports]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "1", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        cluster.wait_ok()
    except BaseException:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return cluster


def cluster_stop(cluster: Cluster) -> None:
    cluster.stop()
    shutil.rmtree(cluster.directory, ignore_errors=True)
