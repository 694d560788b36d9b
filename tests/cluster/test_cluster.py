"""The reduced cluster scenario (`make cluster-test` runs the full one): two nodes in network namespaces,
each its own web server with 2 workers, one PostgreSQL and one Redis, load at both nodes while a TAM revokes
5 applications on node A, Redis is stopped for 10 s, PostgreSQL is restarted and a worker is killed on
each node. The harness runs in its own process (it configures Django for the cluster's database, not the
test database) and reports every rule it saw broken (tests/cluster/scenario.py, `problems`):

- node B refuses a revoked application's client (400 invalid_client) and its token (401) within a second
  of the TAM's revocation on node A, every time, and no revoked client or token is ever accepted later;
- no valid client or token is refused, and after each fault every request succeeds again;
- the tokens counted in PostgreSQL by the usage flush are the tokens the load received, per phase;
- one client row per registration, one usage row per application, day and platform, the flush ledger
  agreeing with the usage rows, nothing left behind in Redis, one revocation event per application.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.cluster.harness import namespaces_missing
from tests.processes import ROOT, own_postgres_missing

pytestmark = pytest.mark.serial  # two web servers, a PostgreSQL and a Redis of its own, load on every core


def _cannot_run() -> str:
    if shutil.which("redis-server") is None:
        return "needs redis-server"
    return own_postgres_missing() or namespaces_missing()


def test_two_nodes_agree_on_revocations_within_a_second_and_survive_redis_postgresql_and_worker_faults(tmp_path):
    reason = _cannot_run()
    if reason:
        pytest.skip(f"cluster test: {reason}")
    report_path = tmp_path / "cluster.json"
    environment = {**os.environ, "CLUSTER_LOCK_WAIT": "120"}
    completed = subprocess.run(
        [sys.executable, "-m", "tests.cluster", "--reduced", "--json", str(report_path)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert report_path.exists(), output[-5000:]
    report = json.loads(report_path.read_text())
    print("\n" + completed.stdout)

    phases = {phase["name"]: phase for phase in report["phases"]}
    assert list(phases) == ["revocations", "redis", "postgresql", "workers"], output[-3000:]
    assert len(phases["revocations"]["revocations_ms"]) == report["config"]["targets"] == 5
    assert report["problems"] == [], output[-3000:]
    assert completed.returncode == 0, output[-3000:]
