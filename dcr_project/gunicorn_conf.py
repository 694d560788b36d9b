"""gunicorn settings of `make serve` (`--config python:dcr_project.gunicorn_conf`): Prometheus' multiprocess mode.

With PROMETHEUS_MULTIPROC_DIR set, each worker keeps its metric values in files there and a scrape of any
worker adds them up (dcr_project.operations). The directory is emptied before the workers start (values of
an earlier run would be counted again), and a worker that exits has its live gauges dropped
(`dcr_redis_fallback` shows the worst of the living workers, not of the dead).
"""

import os
from pathlib import Path
from typing import Any


def on_starting(server: Any) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
