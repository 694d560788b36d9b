"""What operators watch, with real processes: the production server's workers (`make serve`) adding up
their metrics in Prometheus' multiprocess mode, and a Celery worker logging a task with the id of the
request that enqueued it."""

import os
import signal
import subprocess
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.request_log import _current_request_id
from oauth.tasks import denied_tokens_purge
from tests.processes import ROOT, SERVE, Worker, free_port


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # a fresh connection each time
        return response.status, response.read().decode()


def _healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "dcr_http_request_duration_seconds_count" and sample.labels == {"route": "healthz"}:
                return sample.value
    return 0.0


@pytest.mark.serial
def test_server_workers_add_up_their_metrics_in_multiprocess_mode(tmp_path):
    """Two workers, 40 probes spread over them: every scrape, whichever worker answers it, counts all
    40. A worker killed is replaced and the count survives it (its files stay; its live gauges go)."""
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_99999.db").write_bytes(b"stale")  # an earlier run's file: emptied at start
    port = free_port()
    dropped = ("REDIS_URL", "DATABASE_URL", "PYTEST_XDIST_WORKER")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env |= {
        "DJANGO_SETTINGS_MODULE": "dcr_project.settings.test",
        "DCR_METRICS_ENABLED": "true",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        # /healthz and /metrics need no database; this one is never opened.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    server = subprocess.Popen(
        [*SERVE, "--workers", "2", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=(tmp_path / "web.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(base + "/healthz")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((tmp_path / "web.log").read_text(errors="replace")[-3000:])
                time.sleep(0.2)
        for _ in range(39):
            assert _get(base + "/healthz") == (200, '{"status": "ok"}')
        assert not (metrics_dir / "counter_99999.db").exists()

        counts = {_healthz_count(_get(base + "/metrics")[1]) for _ in range(10)}
        assert counts == {40.0}
        pids = {path.stem.rsplit("_", 1)[1] for path in metrics_dir.glob("*.db")}
        assert len(pids) == 2, pids  # both workers answered some of them

        worker_pid = int(next(iter(pids)))
        os.kill(worker_pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while list(metrics_dir.glob(f"gauge_livemax_{worker_pid}.db")):
            assert time.monotonic() < deadline, "the dead worker's live gauge was not dropped"
            time.sleep(0.1)
        assert _healthz_count(_get(base + "/metrics")[1]) >= 40
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.serial
@pytest.mark.celery_worker
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="a real worker needs REDIS_URL (CI provides it)")
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the worker process must see the test database: needs PostgreSQL (CI provides it)",
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_logs_a_task_with_the_id_of_the_request_that_enqueued_it(tmp_path):
    worker = Worker("request-id", tmp_path)
    try:
        token = _current_request_id.set("worker-trace-0042")
        try:
            traced = denied_tokens_purge.apply_async()
        finally:
            _current_request_id.reset(token)
        untraced = denied_tokens_purge.apply_async()
        assert traced.get(timeout=60) == 0 and untraced.get(timeout=60) == 0
        worker.wait_for(f"Task oauth.denied_tokens_purge[{untraced.id}] succeeded")
        lines = worker.text().splitlines()
        [traced_line] = [line for line in lines if f"[{traced.id}] succeeded" in line]
        [untraced_line] = [line for line in lines if f"[{untraced.id}] succeeded" in line]
        # The plain format: "<time> <level> <logger> [<request id>] <message>".
        assert "[worker-trace-0042]" in traced_line
        assert "[None]" in untraced_line
    finally:
        worker.kill(signal.SIGTERM)
