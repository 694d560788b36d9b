"""The Redis Cluster fixture (`harness.py`): one cluster for the session, emptied before each test, the
app's hot-path store pointed at it (REDIS_CLUSTER_NODES)."""

import pytest

from core.hot_store.cluster_connect import cluster_connect
from tests.redis_cluster.harness import cluster_start, cluster_stop, missing


@pytest.fixture(scope="session")
def redis_cluster_session():
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} (apt-get install redis-server)")
    cluster = cluster_start()
    yield cluster
    cluster_stop(cluster)


@pytest.fixture
def redis_cluster(redis_cluster_session, settings):
    """The cluster, ok and empty, with the app's store on it; a test that killed a node leaves the
    cluster to be made again."""
    cluster = redis_cluster_session
    if len(cluster.alive()) < len(cluster.ports):
        pytest.fail("a previous test left the cluster without a node")
    cluster.wait_ok()
    cluster.flush()
    cluster_connect.cache_clear()
    settings.REDIS_CLUSTER_NODES = cluster.nodes_setting
    yield cluster
    cluster_connect.cache_clear()
