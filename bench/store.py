"""The hot-path store `make bench` runs on, and the CPU its Redis processes use.

BENCH_REDIS_CLUSTER_PORT=<port>: a Redis Cluster of the run's own (tests/redis_cluster/harness.py:
Debian's redis-server, three primaries and three replicas on that port and the five after it, their
cluster bus 10000 above), made for the run and torn down after it; the server and the harness get
REDIS_CLUSTER_NODES, so the hot-path store and the usage flush use it (Celery and the cache stay on
BENCH_REDIS_URL). Unset: the store is BENCH_REDIS_URL's Redis, as shipped.
"""

import contextlib
import os
from collections.abc import Iterator

import redis


@contextlib.contextmanager
def redis_cluster(first_port: int) -> Iterator[list[int]]:
    """A fresh cluster on `first_port`.. for the run (nothing when 0); yields its primaries' ports."""
    if not first_port:
        yield []
        return
    from tests.redis_cluster.harness import cluster_start, cluster_stop

    cluster = cluster_start(first_port)
    os.environ["REDIS_CLUSTER_NODES"] = cluster.nodes_setting
    try:
        yield cluster.primaries()
    finally:
        os.environ.pop("REDIS_CLUSTER_NODES", None)
        cluster_stop(cluster)


def _cpu_seconds(client: redis.Redis) -> float:
    cpu = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


class StoreCpu:
    """CPU seconds used so far by the store's Redis processes: each cluster primary, or the one Redis."""

    def __init__(self, redis_url: str, primaries: list[int]) -> None:
        if primaries:
            self.clients = {
                f"primary {port}": redis.Redis(host="127.0.0.1", port=port, socket_timeout=5) for port in primaries
            }
        else:
            self.clients = {"redis": redis.Redis.from_url(redis_url, socket_timeout=5)}

    def read(self) -> dict[str, float]:
        return {name: _cpu_seconds(client) for name, client in self.clients.items()}
