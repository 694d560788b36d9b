"""Not a check: the memory figures README "Sizing for 10,000 token requests per second" quotes
(`make redis-cluster-test`). A real client's record, copied under 100,000 client ids into the cluster's
shards (and into one Redis of the test's own), with `INFO memory` around the copies: the bytes a device's
record costs a primary, the key's own `MEMORY USAGE`, and the shards' hashes."""

import subprocess

import pytest
from redis.crc import key_slot

from core.hot_store.base import RECORD_PREFIX
from core.hot_store.cluster_store import APPLICATIONS_KEY, PREFIXES, SHARDS, shard_of
from core.revocation import RECORD_TTL
from tests.oauth.api import register
from tests.redis_cluster.harness import FULL

pytestmark = [
    pytest.mark.serial,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not FULL, reason="100,000 records copied: make redis-cluster-test"),
]
COPIES = 100_000
SINGLE_PORT = 8219


def _used(node) -> int:
    return int(node.info("memory")["used_memory"])


def _copy_id(index: int) -> str:
    return f"copy-{index:07d}-".ljust(40, "x")  # as long as a client id


def _copies(nodes_of, fields: dict, prefixed: bool) -> None:
    """COPIES records, each `fields` under its own client id (in its shard on a cluster)."""
    pipes = {}
    for index in range(COPIES):
        client_id = _copy_id(index)
        key = (PREFIXES[shard_of(client_id)] if prefixed else "") + RECORD_PREFIX + client_id
        node = nodes_of(key)
        pipe = pipes.setdefault(node, node.pipeline(transaction=False))
        pipe.hset(key, mapping={**fields, b"pk": index})
        pipe.expire(key, RECORD_TTL)
        if len(pipe) >= 2000:
            pipe.execute()
    for pipe in pipes.values():
        pipe.execute()


def test_memory_per_device_on_the_cluster_and_on_one_redis(redis_cluster, client, statement, settings, tmp_path):
    response = register(client, statement, HTTP_USER_AGENT="MyApp/1.0 CFNetwork Darwin")
    assert response.status_code == 201
    client_id = response.json()["client_id"]
    key = PREFIXES[shard_of(client_id)] + RECORD_PREFIX + client_id
    home = redis_cluster.node(redis_cluster.primary_of_slot(key_slot(key.encode())))
    fields = home.hgetall(key)
    record_usage = home.memory_usage(key, samples=0)
    # The application's part, one field of each shard's applications hash (its only one here).
    application_usage = home.memory_usage(PREFIXES[shard_of(client_id)] + APPLICATIONS_KEY, samples=0)

    primaries = {port: redis_cluster.node(port) for port in redis_cluster.primaries()}
    before = {port: _used(node) for port, node in primaries.items()}
    _copies(lambda k: primaries[redis_cluster.primary_of_slot(key_slot(k.encode()))], fields, True)
    grown = {port: _used(node) - before[port] for port, node in primaries.items()}

    single = subprocess.Popen(
        ["redis-server", "--port", str(SINGLE_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        redis_cluster._wait_ping(SINGLE_PORT)
        node = redis_cluster.node(SINGLE_PORT)
        start = _used(node)
        _copies(lambda k: node, fields, False)
        single_grown = _used(node) - start
        single_usage = node.memory_usage(RECORD_PREFIX + _copy_id(1), samples=0)
    finally:
        single.terminate()
        single.wait()
    per_primary = ", ".join(f"{port}: {grown[port] / 2**20:.1f} MiB" for port in sorted(grown))
    print(
        f"\nrecord: {len(fields)} fields, {sum(len(v) for v in fields.values())} bytes of values, MEMORY USAGE "
        f"{record_usage} B on the cluster, {single_usage} B on one Redis"
        f"\n{COPIES:,} records: cluster {sum(grown.values()) / COPIES:.0f} B each over {SHARDS} shards "
        f"({per_primary}); one Redis {single_grown / COPIES:.0f} B each; a shard's applications hash with "
        f"one application: {application_usage} B"
    )
