"""The hot-path store on a real Redis Cluster (`harness.py`: three primaries, three replicas): a token and
a bearer check through the app, an application revoked whose clients live on every primary, the usage
flush reading every shard once; with DCR_REDIS_CLUSTER_FULL=1 (`make redis-cluster-test`) also a primary
killed under load and a slot moved under load."""

import subprocess
import time

import pytest
from redis.crc import key_slot

from core.hot_store import FallbackStore, hot_store, local_usage
from core.hot_store.cluster_connect import cluster_nodes_parse
from core.hot_store.cluster_store import (
    APPLICATIONS_KEY,
    PREFIXES,
    SHARED_STAMPS_KEY,
    ClusterStore,
    shard_of,
)
from core.redis import redis_health
from core.revocation import Revoked, stamp_key, stamp_lifetime
from oauth.models import Client
from oauth.services import client_revoke
from oauth.tasks import revocation_stamps_republish_recent
from oauth.usage_flush import usage_batch_keys, usage_flush, usage_redis
from registered_apps.models import UsageDaily
from registered_apps.services import registered_application_revoke
from software_statements.services import software_statement_issue
from tests.oauth.api import SESSION, register, token_request
from tests.redis_cluster.harness import FULL

pytestmark = [pytest.mark.serial, pytest.mark.django_db(transaction=True)]
heavy = pytest.mark.skipif(not FULL, reason="the failover and resharding runs: make redis-cluster-test")


@pytest.fixture
def fast(settings):
    settings.DCR_THROTTLE_RATE = 100000
    settings.DCR_THROTTLE_BURST = 100000


def _register(client, application, count: int) -> list[dict]:
    statement, _ = software_statement_issue(application=application, actor="tests")
    registered = []
    for _ in range(count):
        response = register(client, statement, HTTP_USER_AGENT="MyApp/1.0 CFNetwork Darwin")
        assert response.status_code == 201, response.content
        registered.append(response.json())
    return registered


def _on_every_primary(cluster, client, application, per_round: int = 6) -> list[dict]:
    """Clients registered until those on every primary are there."""
    clients: list[dict] = []
    while {cluster.primary_of_slot(_slot(c["client_id"])) for c in clients} != set(cluster.primaries()):
        clients += _register(client, application, per_round)
        assert len(clients) < 100
    return clients


def _slot(client_id: str) -> int:
    return key_slot(PREFIXES[shard_of(client_id)].encode())


def _token(client, credentials):
    return token_request(
        client,
        {
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        },
    )


def _calls(cluster) -> dict[int, dict[str, int]]:
    """Calls of each command on each primary, but the harness's own and the replica's acknowledgements."""
    found = {}
    for port in cluster.primaries():
        stats = cluster.node(port).info("commandstats")
        found[port] = {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}
        for harness_own in ("info", "hello", "role", "replconf"):
            found[port].pop(harness_own, None)
    return found


def _tokens_counted() -> int:
    return sum(UsageDaily.objects.values_list("tokens", flat=True))


def test_cluster_nodes_setting_forms():
    assert cluster_nodes_parse("10.0.0.1:7000, 10.0.0.2:7001") == ([("10.0.0.1", 7000), ("10.0.0.2", 7001)], {})
    assert cluster_nodes_parse("redis+cluster://u:p%40ss@h1:7000,h2:7001") == (
        [("h1", 7000), ("h2", 7001)],
        {"username": "u", "password": "p@ss"},
    )
    with pytest.raises(ValueError, match="not host:port"):
        cluster_nodes_parse("h1")


def test_shards_spread_evenly_over_the_slot_range():
    slots = [key_slot(prefix.encode()) for prefix in PREFIXES]
    assert slots == sorted(slots) and len(set(slots)) == len(PREFIXES)
    thirds = [sum(1 for slot in slots if part * 16384 // 3 <= slot < (part + 1) * 16384 // 3) for part in range(3)]
    assert max(thirds) - min(thirds) <= 1


def test_token_and_bearer_on_the_cluster_one_script_on_the_clients_primary(redis_cluster, client, application, fast):
    store = hot_store()
    assert isinstance(store, FallbackStore) and isinstance(store.primary, ClusterStore)
    credentials = _register(client, application, 1)[0]
    client_id = credentials["client_id"]
    primary = redis_cluster.node(redis_cluster.primary_of_slot(_slot(client_id)))
    assert primary.exists(PREFIXES[shard_of(client_id)] + "dcr:client:" + client_id)
    assert _token(client, credentials).status_code == 200  # (loads the script on that primary)
    before = _calls(redis_cluster)

    response = _token(client, credentials)
    assert response.status_code == 200, response.content
    # One script call on the client's primary answered the token request (what it ran inside is counted
    # too), and no other primary was asked anything.
    after = _calls(redis_cluster)
    changed = {
        port: {name: calls - before[port].get(name, 0) for name, calls in after[port].items()}
        for port in after
        if after[port] != before[port]
    }
    home = redis_cluster.primary_of_slot(_slot(client_id))
    assert list(changed) == [home]
    assert changed[home]["evalsha"] == 1
    assert {name for name, calls in changed[home].items() if calls} <= {
        "evalsha", "time", "hmget", "hget", "get", "set", "hincrby", "hset"
    }  # fmt: skip
    session = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
    assert session.status_code == 200, session.content
    assert session.json()["client_id"] == client_id
    assert not redis_health.down

    report = usage_flush()
    assert (report.registrations, report.tokens) == (1, 2)
    assert _tokens_counted() == 2
    assert usage_batch_keys(usage_redis()) == []  # type: ignore[arg-type]
    assert usage_flush().batches == 0  # each batch once


def test_revoked_application_refused_on_every_shard_within_a_second(redis_cluster, client, application, fast):
    clients = _on_every_primary(redis_cluster, client, application)
    tokens = {}
    for credentials in clients:
        response = _token(client, credentials)
        assert response.status_code == 200
        tokens[credentials["client_id"]] = response.json()["access_token"]

    registered_application_revoke(application=application, reason="tests", actor="tests")
    revoked_at = time.monotonic()

    refused: set[str] = set()
    while len(refused) < len(clients) and time.monotonic() - revoked_at < 1.0:
        for credentials in clients:
            if credentials["client_id"] in refused:
                continue
            token = _token(client, credentials)
            bearer = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {tokens[credentials['client_id']]}")
            if token.status_code == 400 and bearer.status_code == 401:
                assert token.json()["error"] == "invalid_client"
                refused.add(credentials["client_id"])
    assert len(refused) == len(clients), f"{len(clients) - len(refused)} clients still served after 1 s"
    assert not redis_health.down
    assert Client.objects.count() == len(clients)


@heavy
def test_primary_killed_replica_promoted_no_wrong_answer_and_every_token_counted(
    redis_cluster, client, application, fast
):
    clients = _on_every_primary(redis_cluster, client, application)
    revoked = _register(client, application, 1)[0]
    client_revoke(client=Client.objects.get(client_id=revoked["client_id"]), actor="tests", reason="tests")
    victim = redis_cluster.primary_of_slot(_slot(clients[0]["client_id"]))
    replica = redis_cluster.replica_of(victim)
    redis_cluster.node(victim).execute_command("WAIT", 1, 1000)  # the replica has the revocation

    issued, wrong, fallback_answers, killed_at, promoted_after = 0, [], 0, None, None
    started = time.monotonic()
    while time.monotonic() - started < 12:
        for credentials in clients:
            response = _token(client, credentials)
            if response.status_code == 200:
                issued += 1
            else:
                wrong.append((credentials["client_id"], response.status_code))
            fallback_answers += redis_health.down
        refusal = _token(client, revoked)
        if refusal.status_code != 400:
            wrong.append((revoked["client_id"], refusal.status_code))
        if killed_at is None and time.monotonic() - started > 2:
            # Everything counted so far is on the replica, so the dead primary takes no count with it.
            redis_cluster.node(victim).execute_command("WAIT", 1, 1000)
            redis_cluster.kill(victim)
            killed_at = time.monotonic()
        if killed_at is not None and promoted_after is None and replica in redis_cluster.primaries():
            promoted_after = time.monotonic() - killed_at
        time.sleep(0.01)
    try:
        assert wrong == []
        assert promoted_after is not None, "the replica was not promoted"
        assert fallback_answers > 0  # the fallback answered during the gap
        assert not redis_health.down
        usage_flush()
        assert _tokens_counted() == issued
        print(f"\nfailover: {issued} tokens, replica promoted {promoted_after:.2f} s after the kill, "
              f"{fallback_answers} answered by the fallback, 0 wrong")  # fmt: skip
    finally:
        redis_cluster.restart(victim)
        redis_cluster.wait_ok()


@heavy
def test_slot_moved_under_load_moved_and_ask_followed_no_request_fails(redis_cluster, client, application, fast):
    """A slot moved as `redis-cli --cluster reshard` moves it (IMPORTING/MIGRATING, MIGRATE, SETSLOT
    NODE), with token requests between the steps. While the slot's keys are on the target but the slot
    is still the source's, a script naming a key that exists on neither side (a client's stamp, a
    pending hash the flush just claimed) gets TRYAGAIN from Redis until the move completes: redis-py
    retries, then the fallback answers that request only (the other slots stay on the cluster). No
    request fails; after the move the cluster answers (MOVED followed) and every token is counted."""
    clients = _register(client, application, 4)
    moving = clients[0]
    slot = _slot(moving["client_id"])
    source = redis_cluster.primary_of_slot(slot)
    target = next(port for port in redis_cluster.primaries() if port != source)
    source_node, target_node = redis_cluster.node(source), redis_cluster.node(target)
    source_id = source_node.execute_command("CLUSTER MYID").decode()
    target_id = target_node.execute_command("CLUSTER MYID").decode()
    issued = 0
    phases: dict[str, dict[str, int]] = {}

    def requests(phase: str, rounds: int = 5) -> None:
        nonlocal issued
        answers = phases.setdefault(phase, {"cluster": 0, "fallback": 0, "failed": 0, "fallback other": 0})
        for _ in range(rounds):
            for credentials in clients:
                response = _token(client, credentials)
                if response.status_code != 200:
                    answers["failed"] += 1
                    continue
                issued += 1
                # A token the fallback counted is in this process until the next call hands it back.
                counted_here = bool(local_usage.snapshot())
                if counted_here and credentials is not moving:
                    answers["fallback other"] += 1
                answers["fallback" if counted_here else "cluster"] += 1

    requests("before")
    target_node.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", source_id)
    source_node.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", target_id)
    requests("migrating")  # nothing moved yet: the source answers
    keys = source_node.execute_command("CLUSTER GETKEYSINSLOT", slot, 1000)
    assert keys
    source_node.execute_command("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", *keys)
    requests("moved keys")  # ASK to the target; TRYAGAIN for a script naming a key neither side has
    for port in redis_cluster.primaries():
        redis_cluster.node(port).execute_command("CLUSTER SETSLOT", slot, "NODE", target_id)
    requests("after")  # MOVED once, then the new slot map
    print(f"\nslot moved: {phases}")
    assert all(answers["failed"] == answers["fallback other"] == 0 for answers in phases.values()), phases
    assert phases["before"]["fallback"] == phases["after"]["fallback"] == 0, phases
    assert not redis_health.down  # a moving slot is not an outage: the other clients' slots were served
    assert redis_cluster.primary_of_slot(slot) == target
    assert redis_cluster.node(target).exists(
        PREFIXES[shard_of(moving["client_id"])] + "dcr:client:" + moving["client_id"]
    )
    usage_flush()
    assert _tokens_counted() == issued == 20 * len(clients)


def _redis_cpu(node) -> tuple[float, int, float]:
    """The server's CPU (user + system seconds), EVALSHA calls and their microseconds."""
    cpu = node.info("cpu")
    stats = node.info("commandstats").get("cmdstat_evalsha", {"calls": 0, "usec": 0})
    return cpu["used_cpu_user"] + cpu["used_cpu_sys"], stats["calls"], stats["usec"]


@heavy
def test_redis_cpu_per_token_one_redis_and_three_primaries(redis_cluster, client, application, fast, settings):
    """Not a check: the figures the README quotes (Redis CPU per token request, per primary)."""
    clients = _register(client, application, 24)
    rounds = 80

    def load() -> int:
        for credentials in clients:  # records read through and scripts loaded first
            assert _token(client, credentials).status_code == 200
        for _ in range(rounds):
            for credentials in clients:
                assert _token(client, credentials).status_code == 200
        return rounds * len(clients)

    primaries = redis_cluster.primaries()
    before = {port: _redis_cpu(redis_cluster.node(port)) for port in primaries}
    tokens = load()
    after = {port: _redis_cpu(redis_cluster.node(port)) for port in primaries}
    assert not redis_health.down
    lines = []
    for port in primaries:
        cpu, calls, usec = (after[port][i] - before[port][i] for i in range(3))
        lines.append(f"primary {port} (with its replica, cluster bus): {calls} scripts, process CPU "
                     f"{cpu * 1e6 / tokens:.1f} us per token of all, {cpu * 1e6 / max(calls, 1):.1f} us per script "
                     f"it ran; {usec / max(calls, 1):.1f} us inside the script")  # fmt: skip

    directory = redis_cluster.directory / "single"
    directory.mkdir(exist_ok=True)
    port = redis_cluster.ports[-1] + 1
    (directory / "replica").mkdir(exist_ok=True)
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    single = subprocess.Popen(
        ["redis-server", "--port", str(port), *common, "--dir", str(directory)], stdout=subprocess.DEVNULL
    )
    # A replica, as each primary of the cluster has: the primary's CPU includes feeding it.
    replica_dir = str(directory / "replica")
    replica = subprocess.Popen(
        ["redis-server", "--port", str(port + 1), "--replicaof", "127.0.0.1", str(port), *common, "--dir", replica_dir],
        stdout=subprocess.DEVNULL,
    )
    try:
        redis_cluster._wait_ping(port)
        redis_cluster._wait_ping(port + 1)
        settings.REDIS_CLUSTER_NODES = ""
        settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
        node = redis_cluster.node(port)
        start = _redis_cpu(node)
        tokens = load()
        cpu, calls, usec = (end - begin for end, begin in zip(_redis_cpu(node), start, strict=True))
        lines.append(f"one Redis (with its replica): {calls} scripts, process CPU {cpu * 1e6 / tokens:.1f} us per "
                     f"token; {usec / max(calls, 1):.1f} us inside the script")  # fmt: skip
    finally:
        for process in (replica, single):
            process.terminate()
            process.wait()
    print("\nRedis CPU per token (" + str(tokens) + " tokens):\n" + "\n".join(lines))


def test_the_republish_drops_old_stamps_and_expired_applications_from_every_shard(redis_cluster, application):
    """Hash fields do not expire in Redis 7.0: the periodic republish prunes them, on every shard."""
    store = hot_store()
    now = time.time()
    old, recent = now - stamp_lifetime() - 60, now - 60
    store.stamp_write(stamp_key(Revoked.APPLICATION, "gone-long-ago"), old)
    store.stamp_write(stamp_key(Revoked.STATEMENT, "revoked-a-minute-ago"), recent)
    store.application_put("still-here", "packed")
    for prefix in PREFIXES:
        node = redis_cluster.node(redis_cluster.primary_of_slot(key_slot(prefix.encode())))
        node.hset(prefix + APPLICATIONS_KEY, "expired", f"{int(now) - 1} packed")

    revocation_stamps_republish_recent()

    for prefix in PREFIXES:
        node = redis_cluster.node(redis_cluster.primary_of_slot(key_slot(prefix.encode())))
        assert node.hkeys(prefix + SHARED_STAMPS_KEY) == [b"stmt:revoked-a-minute-ago"]
        assert node.hkeys(prefix + APPLICATIONS_KEY) == [b"still-here"]
    assert store.revoked_since([stamp_key(Revoked.STATEMENT, "revoked-a-minute-ago")], recent) == 0
