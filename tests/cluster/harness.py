"""The cluster: two nodes as separate hosts (a network namespace each, joined to this host by a veth pair),
each running the web server with 2 workers under the production settings, as `make serve` does; one
PostgreSQL cluster and one Redis server on this host, shared by both nodes and reached over the veth
links; and the data the load needs (applications, statements, a TAM who signs in to the admin).

PostgreSQL and Redis are the harness's own (Debian's binaries, started on free ports, listening on the
host side of each veth pair): the scenario restarts them, and must never restart the machine's services
under another test or leave them stopped. Everything is removed in `Cluster.close()`, whatever failed.
"""

import contextlib
import ipaddress
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench import http
from tests.processes import ROOT, SERVE, OwnPostgres, OwnRedis, stop_group, wait_for

NAMESPACE_PREFIX = "dcrc-"
NODE_PORT = 8000
DATABASE = "dcr_cluster"
ISSUER = "https://dcr.cluster.example"
# Inherited variables that would point a node somewhere else.
_DROPPED = (
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_SENTINELS",
    "DJANGO_SETTINGS_MODULE",
    "PYTEST_XDIST_WORKER",
    "CONN_MAX_AGE",
    "LOG_LEVEL",
)


class NamespacesUnavailable(RuntimeError):
    """This machine does not let us create network namespaces (not root, no iproute2, or forbidden)."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=check)


def namespaces_missing() -> str:
    """Why this machine cannot run the cluster, or "" when it can (creates and removes a probe namespace)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"{NAMESPACE_PREFIX}probe-{os.getpid()}"
    try:
        created = _ip("netns", "add", probe, check=False)
    except OSError as exc:
        return f"iproute2's ip cannot run ({exc})"
    if created.returncode != 0:
        return f"ip netns add is not permitted here: {created.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return ""


@dataclass
class Node:
    """One web node: a namespace, the veth pair joining it to this host, its web server."""

    name: str
    namespace: str
    host_interface: str
    node_interface: str
    host_address: str  # this host's end of the veth pair: where the node finds PostgreSQL and Redis
    address: str  # the node's own address, where the web server listens
    log: Path
    process: subprocess.Popen | None = None
    network: str = ""

    @property
    def url(self) -> str:
        return f"http://{self.address}:{NODE_PORT}"

    def create(self) -> None:
        _ip("netns", "add", self.namespace)
        _ip("-n", self.namespace, "link", "set", "lo", "up")
        _ip(
            "link",
            "add",
            self.host_interface,
            "type",
            "veth",
            "peer",
            "name",
            self.node_interface,
            "netns",
            self.namespace,
        )
        _ip("addr", "add", f"{self.host_address}/30", "dev", self.host_interface)
        _ip("link", "set", self.host_interface, "up")
        _ip("-n", self.namespace, "addr", "add", f"{self.address}/30", "dev", self.node_interface)
        _ip("-n", self.namespace, "link", "set", self.node_interface, "up")
        _ip("-n", self.namespace, "route", "add", "default", "via", self.host_address)

    def start(self, environment: dict[str, str]) -> None:
        """The web server as `make serve` starts it (dcr_project.serve, 2 workers), inside the node's namespace."""
        command = [
            "ip", "netns", "exec", self.namespace, *SERVE,
            "--host", self.address, "--port", str(NODE_PORT), "--workers", "2",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(
            lambda: _expect(http.request(self.url, "GET", "/healthz", timeout=2), 200),
            f"node {self.name}",
            process=self.process,
            log=self.log,
        )
        wait_for(
            lambda: _expect_workers(self, 2), f"node {self.name}'s 2 workers", timeout=30, errors=(AssertionError,)
        )

    def workers(self) -> list[int]:
        """The pids of the server's workers (its main process's children)."""
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        stop_group(self.process)
        self.process = None

    def destroy(self) -> None:
        """Stop the web server, then end whatever still runs in the namespace (only ours run there) and remove it."""
        self.stop()
        _namespace_remove(self.namespace)
        _ip("link", "del", self.host_interface, check=False)


def _expect(response: http.Response, status: int) -> None:
    if response.status != status:
        raise OSError(f"answered {response.describe()}")


def _expect_workers(node: Node, count: int) -> None:
    assert len(node.workers()) == count


def _namespace_remove(namespace: str) -> None:
    listed = _ip("netns", "pids", namespace, check=False)
    for pid in listed.stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    _ip("netns", "del", namespace, check=False)


def stale_namespaces_remove() -> None:
    """Namespaces an earlier run left behind when it was killed (the run holds the bench lock, so no other
    run of ours is live). Its processes run nowhere else: ending them ends only what that run started."""
    listed = _ip("netns", "list", check=False).stdout
    for line in listed.splitlines():
        name = line.split()[0] if line.strip() else ""
        match = re.fullmatch(rf"{NAMESPACE_PREFIX}(\d+)-[ab]", name)
        if match and int(match.group(1)) != os.getpid():
            _namespace_remove(name)
            for suffix in ("h", "n"):
                _ip("link", "del", f"dc{match.group(1)}{name[-1]}{suffix}", check=False)


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 out of 10.213.0.0/16 that no interface or route of this host uses."""
    used = (
        _ip("-4", "-o", "addr", "show", check=False).stdout
        + _ip("-4", "route", "show", "table", "all", check=False).stdout
    )
    taken = [ipaddress.ip_network(text, strict=False) for text in re.findall(r"\b(\d+\.\d+\.\d+\.\d+(?:/\d+)?)", used)]
    start = os.getpid() % 250
    for offset in range(250):
        candidate = ipaddress.ip_network(f"10.213.{(start + offset) % 250}.0/24")
        if not any(candidate.overlaps(network) for network in taken):
            return candidate
    raise NamespacesUnavailable("no free /24 in 10.213.0.0/16 for the nodes' links")


@dataclass
class Seed:
    """What the load needs: applications (the first `targets` are revoked during the run) with a statement
    each, and a TAM with an authenticator app."""

    applications: list[str]  # primary keys
    statements: list[str]  # one compact JWS per application, same order
    tam_username: str
    tam_password: str


@dataclass
class Cluster:
    """Two nodes, one PostgreSQL, one Redis; `open()` builds it all, `close()` removes it all."""

    base: Path
    applications: int
    nodes: list[Node] = field(default_factory=list)
    postgres: OwnPostgres | None = None
    redis: OwnRedis | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    subnet: str = ""

    def open(self) -> Seed:
        stale_namespaces_remove()
        subnet = _free_subnet()
        self.subnet = str(subnet)
        hosts = list(subnet.hosts())
        pid = os.getpid()
        for index, name in enumerate("ab"):
            self.nodes.append(
                Node(
                    name=name.upper(),
                    namespace=f"{NAMESPACE_PREFIX}{pid}-{name}",
                    host_interface=f"dc{pid}{name}h",
                    node_interface=f"dc{pid}{name}n",
                    host_address=str(hosts[4 * index]),  # .1 and .5: two /30 links
                    address=str(hosts[4 * index + 1]),
                    log=self.base / f"node-{name}.log",
                    network=str(subnet),
                )
            )
        for node in self.nodes:
            node.create()
        host_addresses = [node.host_address for node in self.nodes]
        self.postgres = OwnPostgres(addresses=host_addresses, networks=[self.subnet])
        self.postgres.start()
        self.postgres.createdb(DATABASE)
        self.redis = OwnRedis(addresses=host_addresses, durable=True)
        self.redis.start()
        for name in _DROPPED:
            os.environ.pop(name, None)
        os.environ.update(self.environment(host="127.0.0.1"))
        os.environ["LOG_LEVEL"] = "WARNING"  # the harness's own log: the nodes log at production's INFO
        return self._prepare()

    def environment(self, *, host: str) -> dict[str, str]:
        """A node's environment (production settings, as `make serve` runs them), reaching PostgreSQL and
        Redis at `host`; the harness itself uses the same with 127.0.0.1."""
        assert self.postgres is not None and self.redis is not None
        from cryptography.fernet import Fernet

        if not hasattr(self, "_encryption_key"):
            self._encryption_key = Fernet.generate_key().decode()
        environment = {key: value for key, value in os.environ.items() if key not in _DROPPED}
        environment.update(
            DJANGO_SETTINGS_MODULE="dcr_project.settings.production",
            SECRET_KEY=self.secret_key,
            DCR_KEY_ENCRYPTION_KEY=self._encryption_key,
            DATABASE_URL=self.postgres.url(DATABASE, host=host),
            REDIS_URL=self.redis.url(0, host=host),
            ALLOWED_HOSTS=",".join(node.address for node in self.nodes),
            DCR_ISSUER=ISSUER,
            # Behind a load balancer that terminates TLS, redirects plain http itself and appends the
            # device's address to X-Forwarded-For (the load sends one address per device).
            DCR_TRUSTED_PROXIES="1",
            DCR_SECURE_SSL_REDIRECT="false",
            DCR_HSTS_SECONDS="0",
            SESSION_COOKIE_SECURE="false",
            CSRF_COOKIE_SECURE="false",
            # The buckets still run on every request (one Redis round trip); they just never say no to
            # a load that sends each device's requests far faster than any device would.
            DCR_THROTTLE_RATE="1000000000",  # not "1e9": django-environ reads that as 19
            DCR_THROTTLE_BURST="1000000000",
            PYTHONDONTWRITEBYTECODE="1",
        )
        return environment

    def _prepare(self) -> Seed:
        """Schema, static files (the admin's pages need their manifest), data; then the nodes."""
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        seed = _seed(self.applications)
        for node in self.nodes:
            node.start(self.environment(host=node.host_address))
        return seed

    def close(self) -> None:
        """Remove everything, each step whatever the previous did."""
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.destroy()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if self.redis is not None:
            self.redis.remove()
        if self.postgres is not None:
            self.postgres.stop()

    @contextlib.contextmanager
    def redis_stopped(self) -> Iterator[None]:
        """Redis down (a clean stop) for the body of the `with`, and always started again."""
        assert self.redis is not None
        self.redis.stop()
        try:
            yield
        finally:
            self.redis.start()


def _seed(count: int) -> Seed:
    from django.contrib.auth.models import User

    from registered_apps import services
    from software_statements.services import software_statement_issue
    from tests.two_factor import authenticator

    actor = "command:cluster-test"
    programmer = services.programmer_create(slug="cluster-networks", name="Cluster Networks", actor=actor)
    services.channel_create(programmer=programmer, slug="cluster-tv", name="Cluster TV", actor=actor)
    applications, statements = [], []
    for number in range(count):
        application = services.registered_application_create(
            programmer=programmer,
            level="programmer",
            all_channels=True,
            platforms=["ios", "androidtv"],
            scopes=["api:client:v2"],
            name=f"Cluster Player {number:02d}",
            actor=actor,
        )
        statement, _ = software_statement_issue(application=application, actor=actor)
        applications.append(str(application.pk))
        statements.append(statement)
    password = secrets.token_urlsafe(18)
    tam = User.objects.create_superuser(username="cluster-tam", email="cluster-tam@example.com", password=password)
    authenticator(tam)
    return Seed(applications=applications, statements=statements, tam_username=tam.username, tam_password=password)


def tam_sign_in(node: Node, seed: Seed) -> dict[str, str]:
    """The TAM signs in to the admin on `node` with a password and the authenticator app's current code;
    returns the session's cookies."""
    from django.contrib.auth.models import User

    from bench.dashboard import login
    from tests.two_factor import authenticator, current_code

    code = current_code(authenticator(User.objects.get(username=seed.tam_username)))
    return login(node.url, seed.tam_username, seed.tam_password, otp_token=code)


def admin_revoke(node: Node, cookies: dict[str, str], application: str) -> http.Response:
    """The admin's "Revoke the selected applications" action, confirmed with a reason, on `node`."""
    body = http.form(
        {
            "csrfmiddlewaretoken": cookies["csrftoken"],
            "action": "revoke_applications",
            "_selected_action": application,
            "confirm": "yes",
            "reason": "Cluster test: credentials leaked",
        }
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items()),
        "Origin": node.url,
    }
    return http.request(node.url, "POST", "/admin/registered_apps/registeredapplication/", body, headers, timeout=30)


def worker_kill(node: Node) -> int:
    """SIGKILL one of the node's web workers (the server starts another); returns its pid."""
    pid = node.workers()[0]
    os.kill(pid, signal.SIGKILL)
    return pid


def wait_workers_back(node: Node, killed: int, timeout: float = 30.0) -> float:
    """Seconds until the node has 2 workers again, the killed one not among them."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        workers = node.workers()
        if len(workers) == 2 and killed not in workers:
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"node {node.name}: the server did not replace worker {killed} within {timeout:.0f} s")
