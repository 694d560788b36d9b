"""`make serve`: the production HTTP server, granian (Rust I/O, hyper's HTTP/1.1 parser) serving
dcr_project.wsgi in `--workers` processes.

Why granian rather than gunicorn's sync workers (README "Production deployment"): connections are
kept alive, and a connection costs a Python thread only while Django answers it. Reading a request's
headers and body, and writing the answer, happen in Rust on an event loop, so a client that sends its
headers a byte a second holds a socket, not a worker (hyper closes it when its headers are not complete
after `--header-timeout` seconds).

What the old gunicorn config did (Prometheus' multiprocess mode), this launcher does:
- the PROMETHEUS_MULTIPROC_DIR is emptied before the workers start (values of an earlier run would be
  counted again);
- a worker that exits has its live gauges dropped (`dcr_redis_fallback` shows the worst of the living
  workers): a thread of the main process checks the directory every second for files of processes that
  no longer exist, since granian has no hook on a worker's exit.

Signals (granian's): SIGHUP starts new workers and then stops the old ones gracefully (a reload of the
code without dropping connections); SIGTERM or SIGINT stop accepting, let requests in flight finish and
exit. A worker that dies is replaced (`respawn_failed_workers`).

Limits: a request's head larger than `--max-head-bytes` (the whole request line and header fields; hyper
checks its read buffer, so a head up to about twice that may pass) is answered by the server itself with
an empty 431 and the connection closed; below that, the application's
own limits (`dcr_project.middleware.RequestHeadLimitMiddleware`: 8 KiB a field, 32 KiB in all) answer 431
with the API's JSON error on the API paths.
"""

import argparse
import contextlib
import importlib
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

WSGI_TARGET = "dcr_project.wsgi:application"
# A prometheus_client multiprocess file: <kind>_<pid>.db, e.g. gauge_livemax_1234.db.
_PID_FILE = re.compile(r".*_(\d+)\.db\Z")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def multiproc_dir_empty(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def dead_workers_mark(directory: Path) -> list[int]:
    """Drop the live gauges of every process whose files are in `directory` and that no longer runs."""
    from prometheus_client import multiprocess

    dead = set()
    for path in directory.glob("gauge_live*_*.db"):
        match = _PID_FILE.match(path.name)
        if match and not _alive(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in dead:
        multiprocess.mark_process_dead(pid, str(directory))
    return sorted(dead)


def _watch_dead_workers(directory: Path, interval: float = 1.0) -> None:
    def watch() -> None:
        while True:
            time.sleep(interval)
            # OSError: the directory emptied under us, a file gone between glob and unlink.
            with contextlib.suppress(OSError):
                dead_workers_mark(directory)

    threading.Thread(target=watch, name="dcr-dead-workers", daemon=True).start()


def load_application(target: str) -> Any:
    """Runs in each worker before it serves: imports the WSGI application (Django's set-up).

    A worker is forked with the main process's signal handlers, which only set a flag in the worker's
    copy of the main process; granian installs the worker's own only after this load. A SIGTERM that
    arrives meanwhile (a stop right after a worker was replaced) would be lost and the worker would
    outlive the stop by the whole graceful timeout: until the load is done, SIGTERM and SIGINT end it."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m dcr_project.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")), help="processes; one per core"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("WEB_THREADS", "4")),
        help="Python threads per worker answering requests (under the GIL: they help while requests wait on "
        "Redis or PostgreSQL, as a registration waits on its commit)",
    )
    parser.add_argument("--backlog", type=int, default=int(os.environ.get("WEB_BACKLOG", "2048")))
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=float(os.environ.get("WEB_HEADER_TIMEOUT", "30")),
        help="seconds a client has to send its whole request head before its connection is closed",
    )
    parser.add_argument(
        "--max-head-bytes",
        type=int,
        default=int(os.environ.get("WEB_MAX_HEAD_BYTES", "65536")),
        help="the server's own limit on a request's head (request line and headers); larger: an empty 431",
    )
    parser.add_argument(
        "--graceful-timeout",
        type=int,
        default=int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30")),
        help="seconds a stopping worker may take to finish its requests before it is killed",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    multiproc = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc:
        multiproc_dir_empty(Path(multiproc))
        _watch_dead_workers(Path(multiproc))
    server = Granian(
        WSGI_TARGET,
        address=options.host,
        port=options.port,
        interface=Interfaces.WSGI,
        workers=options.workers,
        blocking_threads=options.threads,
        http=HTTPModes.http1,
        websockets=False,
        backlog=options.backlog,
        http1_settings=HTTP1Settings(
            header_read_timeout=max(1, int(options.header_timeout * 1000)),
            keep_alive=True,
            max_buffer_size=max(8192, options.max_head_bytes),
        ),
        # No access log: the JSON request log (core/request_log.py) already has a line per request.
        log_access=False,
        respawn_failed_workers=True,
        workers_kill_timeout=options.graceful_timeout,
    )
    server.serve(target_loader=load_application)


if __name__ == "__main__":
    main()
