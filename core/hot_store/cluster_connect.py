"""Connecting to a Redis Cluster (REDIS_CLUSTER_NODES): the startup nodes and options parsed, and the
client `ClusterStore` and the usage flush use (README "Redis Cluster")."""

from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from core import process_state

# Redirections (MOVED, ASK) and TRYAGAIN followed per command before giving up (redis-py's default: 16).
REQUEST_TTL = 6


def cluster_nodes_parse(value: str) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """REDIS_CLUSTER_NODES: "host:port,host:port" or "redis+cluster://[user:password@]host:port,host:port"
    (rediss+cluster:// for TLS); returns the startup nodes and the connection options."""
    options: dict[str, Any] = {}
    text = value.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("redis+cluster", "rediss+cluster"):
            raise ValueError("REDIS_CLUSTER_NODES: a URL must be redis+cluster:// or rediss+cluster://")
        if parts.username:
            options["username"] = unquote(parts.username)
        if parts.password:
            options["password"] = unquote(parts.password)
        if parts.scheme == "rediss+cluster":
            options["ssl"] = True
        text = parts.netloc.rpartition("@")[2]
    nodes = []
    for entry in text.split(","):
        host, _, port = entry.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"REDIS_CLUSTER_NODES: {entry.strip()!r} is not host:port")
        nodes.append((host, int(port)))
    return nodes, options


@process_state.memoized("redis-cluster-clients", maxsize=4, settings=("REDIS_CLUSTER_NODES",))
def cluster_connect(value: str, *, socket_connect_timeout: float = 0.25, socket_timeout: float = 0.5) -> RedisCluster:
    """A cluster client: the request path's short timeouts and no retries (as `core.redis`); redis-py
    still follows MOVED and ASK, and after a connection failure reads the slot map again."""
    nodes, options = cluster_nodes_parse(value)
    failure: redis.RedisError | None = None
    for first in range(len(nodes)):
        # redis-py's client asks its first node for the command table as it starts: with that node down
        # (a dead primary not yet replaced) it would never start. Each node in turn goes first.
        try:
            client = RedisCluster(
                startup_nodes=[ClusterNode(host, port) for host, port in nodes[first:] + nodes[:first]],
                socket_connect_timeout=socket_connect_timeout,
                socket_timeout=socket_timeout,
                retry=Retry(NoBackoff(), 0),
                require_full_coverage=False,
                decode_responses=False,
                **options,
            )
            break
        except redis.RedisError as exc:
            failure = exc
    else:
        assert failure is not None
        raise failure
    # Redirections (MOVED, ASK) and TRYAGAIN followed per command: 16 by default, sleeping 50 ms after
    # the 8th; 6 follow any redirection there is and give up on a moving slot after 100 ms.
    client.RedisClusterRequestTTL = REQUEST_TTL
    return client
