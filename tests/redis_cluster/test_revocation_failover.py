"""Revocations with one shard's primary dead (`make redis-cluster-test`): two web servers (`make serve`'s,
2 workers each) on the cluster, real HTTP. An application and a statement revoked by this process (one
more node) while the primary is dead and its replica not yet promoted, then another application and
statement once the replica took over: every node refuses each revoked client's token request and its
token within a second of the revocation, and no node accepts one afterwards, before or after the
promotion."""

import http.client
import json
import os
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.conf import settings as django_settings
from redis.crc import key_slot

from core.hot_store import FallbackStore, hot_store
from core.hot_store.cluster_connect import cluster_connect
from core.hot_store.cluster_store import PREFIXES, shard_of
from registered_apps.services import registered_application_revoke
from software_statements.services import software_statement_issue, software_statement_revoke
from tests.factories import make_application
from tests.oauth.api import REGISTER, SESSION, TOKEN
from tests.processes import ROOT, SERVE, stop_group, wait_for
from tests.redis_cluster.harness import FULL

pytestmark = [
    pytest.mark.serial,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not FULL, reason="a primary killed under two web servers: make redis-cluster-test"),
]
# The web servers' ports (the cluster's are 7100-7105).
PORTS = (8211, 8219)
WITHIN = 1.0
HEADERS = {"Host": "testserver", "X-Forwarded-Proto": "https"}


def _database_url() -> str:
    database = django_settings.DATABASES["default"]
    return (
        f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:{database['PORT']}"
        f"/{database['NAME']}"
    )


@pytest.fixture
def servers(redis_cluster, tmp_path) -> Iterator[list[int]]:
    """Two web servers as `make serve` runs them, on the test database and the cluster."""
    env = {
        **{key: value for key, value in os.environ.items() if key not in ("PYTEST_XDIST_WORKER",)},
        "DJANGO_SETTINGS_MODULE": "dcr_project.settings.test",
        "DATABASE_URL": _database_url(),
        "REDIS_CLUSTER_NODES": redis_cluster.nodes_setting,
        "LOG_LEVEL": "WARNING",
    }
    processes = []
    try:
        for port in PORTS:
            log = tmp_path / f"web-{port}.log"
            process = subprocess.Popen(
                [*SERVE, "--workers", "2", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=ROOT,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            processes.append(process)
            wait_for(lambda port=port: _call(port, "GET", "/healthz"), f"web server {port}", process=process, log=log)
        yield list(PORTS)
    finally:
        for process in processes:
            stop_group(process)


def _call(port: int, method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body or None, headers={**HEADERS, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _token(port: int, credentials: dict) -> tuple[int, str]:
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        }
    )
    return _call(port, "POST", TOKEN, form, {"Content-Type": "application/x-www-form-urlencoded"})


def _bearer(port: int, token: str) -> int:
    return _call(port, "GET", SESSION, headers={"Authorization": f"Bearer {token}"})[0]


def _slot(client_id: str) -> int:
    return key_slot(PREFIXES[shard_of(client_id)].encode())


@dataclass
class Revoked:
    """Clients of one application or statement on every primary, a token each, and every answer to them
    after the revocation: (client id, server, "token" or "bearer", seconds after the revocation that the
    request was sent, accepted). Sent, not answered: the machine is shared, and an answer may take long
    to come back whatever it says."""

    name: str
    clients: list[dict] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    revoked_at: float = 0.0
    primary_dead: bool = False  # when the revocation had been made, the replica had not taken over
    answers: list[tuple[str, int, str, float, bool]] = field(default_factory=list)

    def refused_after(self) -> float | None:
        """The worst, over clients, servers and calls, of the first refusal after which that call was never
        accepted again, 0 for a call never accepted (None: one was accepted last)."""
        worst = 0.0
        calls = {(client_id, port, call) for client_id, port, call, _, _ in self.answers}
        for client_id, port, call in calls:
            seen = [(at, accepted) for c, p, k, at, accepted in self.answers if (c, p, k) == (client_id, port, call)]
            if seen[-1][1]:
                return None
            last_accepted = max((at for at, accepted in seen if accepted), default=None)
            if last_accepted is not None:
                worst = max(worst, min(at for at, accepted in seen if not accepted and at > last_accepted))
        return worst

    def accepted_late(self) -> list[tuple[str, int, str, float, bool]]:
        return [answer for answer in self.answers if answer[4] and answer[3] > WITHIN]


def _registered(cluster, port: int, statement: str, name: str) -> Revoked:
    """Clients registered through a web server until some are on every primary; a token for each."""
    group = Revoked(name)
    body = json.dumps({"software_statement": statement})
    while {cluster.primary_of_slot(_slot(c["client_id"])) for c in group.clients} != set(cluster.primaries()):
        status, text = _call(port, "POST", REGISTER, body, {"Content-Type": "application/json"})
        assert status == 201, text
        group.clients.append(json.loads(text))
        assert len(group.clients) < 100
    for credentials in group.clients:
        status, text = _token(port, credentials)
        assert status == 200, text
        group.tokens[credentials["client_id"]] = json.loads(text)["access_token"]
    return group


def _probe(groups: list[Revoked], ports: list[int]) -> None:
    """Every revoked client's token request and token, on every server (each call a new connection, so
    each server's two workers both answer some), the latest revocation's first."""
    for group in sorted((group for group in groups if group.revoked_at), key=lambda group: -group.revoked_at):
        for port in ports:
            for credentials in group.clients:
                client_id = credentials["client_id"]
                sent = time.monotonic() - group.revoked_at
                status, _ = _token(port, credentials)
                group.answers.append((client_id, port, "token", sent, status != 400))
                sent = time.monotonic() - group.revoked_at
                status = _bearer(port, group.tokens[client_id])
                group.answers.append((client_id, port, "bearer", sent, status != 401))


def test_revocations_refused_by_every_node_within_a_second_with_a_primary_dead_and_after_its_replica_took_over(
    redis_cluster, servers, programmer, channels
):
    cluster = redis_cluster
    ports = servers
    # Each group its own application (a statement revoked must be what refuses its clients).
    applications, statements, groups = {}, {}, {}
    for moment in ("before", "after"):
        for kind in ("application", "statement"):
            name = f"{kind} revoked {moment} the promotion"
            applications[name] = make_application(programmer, name=f"{kind} {moment}")
            token, statements[name] = software_statement_issue(application=applications[name], actor="tests")
            groups[name] = _registered(cluster, ports[0], token, name)
    # One token request per client through the other server too: each server's workers hold what they read.
    for group in groups.values():
        for credentials in group.clients:
            assert _token(ports[1], credentials)[0] == 200

    victim = cluster.primary_of_slot(_slot(groups["application revoked before the promotion"].clients[0]["client_id"]))
    replica = cluster.replica_of(victim)
    for port in cluster.primaries():
        cluster.node(port).execute_command("WAIT", 1, 1000)
    # This process revokes: a node that was up before the kill (its cluster client made, as the servers').
    assert isinstance(hot_store(), FallbackStore)
    cluster.kill(victim)
    killed_at = time.monotonic()
    # A process starting now (a web worker replaced) makes its cluster client, the dead node listed first.
    assert cluster_connect(f"127.0.0.1:{victim},{cluster.nodes_setting}").get_primaries()

    def revoke(name: str) -> None:
        if name.startswith("application"):
            registered_application_revoke(application=applications[name], reason="tests", actor="tests")
        else:
            software_statement_revoke(statement=statements[name], reason="tests", actor="tests")
        groups[name].revoked_at = time.monotonic()
        groups[name].primary_dead = replica not in cluster.primaries()

    try:
        revoke("application revoked before the promotion")
        revoke("statement revoked before the promotion")
        promoted_after = None
        while time.monotonic() - killed_at < 20:
            _probe(list(groups.values()), ports)
            if promoted_after is None and replica in cluster.primaries():
                promoted_after = time.monotonic() - killed_at
            if promoted_after is not None and not groups["application revoked after the promotion"].revoked_at:
                cluster.wait_ok()
                revoke("application revoked after the promotion")
                revoke("statement revoked after the promotion")
            if (
                promoted_after is not None
                and time.monotonic() - groups["application revoked after the promotion"].revoked_at > 5
            ):
                break
        print(f"\nprimary {victim} killed; replica {replica} promoted {promoted_after} s after the kill")
        for group in groups.values():
            state = "the primary dead" if group.primary_dead else "its replica promoted"
            print(f"{group.name} ({state}): {len(group.clients)} clients, each refused by both servers for good "
                  f"after at most {group.refused_after()} s, {len(group.answers)} answers, "
                  f"{len(group.accepted_late())} accepted after {WITHIN} s")  # fmt: skip
        assert groups["application revoked before the promotion"].primary_dead, "promoted before the revocation"
        assert promoted_after is not None, "the replica was not promoted"
        for group in groups.values():
            # No request sent more than a second after the revocation was accepted, and every call was
            # sent again after that second (each answer's time is its request's: answers come slowly here).
            assert group.accepted_late() == [], group.name
            late = {(client_id, port, call) for client_id, port, call, at, _ in group.answers if at > WITHIN}
            assert len(late) == 4 * len(group.clients), group.name
    finally:
        cluster.restart(victim)
        cluster.wait_ok()
