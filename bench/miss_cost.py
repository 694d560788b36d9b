"""What a token request costs when the client's record is not in the hot-path store (the read-through
from PostgreSQL) and when it is, in-process through dcr_project.wsgi.application (the lane as the server
runs it) under the benchmark settings (production's, see README "Against the floor: make bench").

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dcr_x BENCH_REDIS_URL=redis://127.0.0.1:6379/N \
        .venv/bin/python -m bench.miss_cost [--fleet 100000] [--requests 2000] [--profile yappi|pyinstrument]

The first run migrates the database, seeds the API (bench.seed), registers a client and copies it
`--fleet` times (bench.fleet); the secrets it needs to run again on the same rows are kept in a file
beside the system's temporary files (`BENCH_MISS_STATE`). Each run picks `--requests` distinct fleet
clients at random, deletes their records from Redis, asks a token for each (every one a miss), then
again for each (every one a hit). Per request it reports CPU time of this process (time.process_time),
wall time, database queries (Django's, plus the connection health checks, which Django does not log),
Redis round trips (commands sent), and over the loop the CPU of this connection's PostgreSQL backend
(/proc) and of the Redis server (INFO cpu: the whole server, shared with whatever else uses it)."""

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from .config import SETTINGS


def _state(database_url: str) -> dict[str, Any]:
    path = Path(os.environ.get("BENCH_MISS_STATE") or Path(tempfile.gettempdir()) / "dcr-miss-cost.json")
    states = json.loads(path.read_text()) if path.exists() else {}
    state = states.setdefault(
        database_url,
        {"SECRET_KEY": secrets.token_urlsafe(50), "DCR_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode()},
    )
    path.write_text(json.dumps(states))
    state["_path"] = str(path)
    return state


def _save(state: dict[str, Any], database_url: str) -> None:
    path = Path(state["_path"])
    states = json.loads(path.read_text())
    states[database_url] = {key: value for key, value in state.items() if key != "_path"}
    path.write_text(json.dumps(states))


def _fleet(state: dict[str, Any], database_url: str, count: int) -> Any:
    """The fleet, seeded on the first run (and again when a larger one is asked for)."""
    from django.core.management import call_command

    from oauth.models import Client

    from . import fleet
    from .profile import in_process
    from .scenarios import register_request
    from .seed import seed_api

    call_command("migrate", interactive=False, verbosity=0)
    seeded = Client.objects.filter(client_id__startswith=fleet.CLIENT_ID_PREFIX).count()
    if seeded < count or state.get("fleet") != count:
        Client.objects.filter(client_id__startswith=fleet.CLIENT_ID_PREFIX).delete()
        if "client_id" not in state:
            api = seed_api()
            answer = in_process(register_request(api.statement or ""))
            if answer.status_code != 201:
                raise SystemExit(f"registration answered {answer.status_code}: {answer.content[:200]!r}")
            registered = json.loads(answer.content)
            state["client_id"], state["client_secret"] = registered["client_id"], registered["client_secret"]
        fleet.seed(template_client_id=state["client_id"], client_secret=state["client_secret"], count=count)
        state["fleet"] = count
        _save(state, database_url)
    return fleet.Fleet(
        count=count,
        client_secret=state["client_secret"],
        template_client_id=state["client_id"],
        seed_seconds=0,
        vacuum_seconds=0,
    )


class Counters:
    """Queries, health checks and Redis commands sent, counted while `counting()` is on."""

    def __init__(self) -> None:
        self.queries = self.health_checks = self.redis = 0

    @contextmanager
    def counting(self) -> Iterator[None]:
        import redis.connection
        from django.db import connection
        from django.db.backends.postgresql.base import DatabaseWrapper

        def query(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            self.queries += 1
            return execute(sql, params, many, context)

        usable, send = DatabaseWrapper.is_usable, redis.connection.AbstractConnection.send_packed_command

        def is_usable(wrapper: Any) -> bool:
            self.health_checks += 1
            return bool(usable(wrapper))

        def send_packed(conn: Any, command: Any, check_health: bool = True) -> None:
            self.redis += 1
            send(conn, command, check_health)

        DatabaseWrapper.is_usable = is_usable  # type: ignore[method-assign]
        redis.connection.AbstractConnection.send_packed_command = send_packed  # type: ignore[method-assign]
        try:
            with connection.execute_wrapper(query):
                yield
        finally:
            DatabaseWrapper.is_usable = usable  # type: ignore[method-assign]
            redis.connection.AbstractConnection.send_packed_command = send  # type: ignore[method-assign]


def _backend_cpu() -> tuple[int, float]:
    """(pid, CPU seconds) of this process's PostgreSQL backend, from /proc (0.0 when not readable)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return pid, 0.0
    return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _redis_cpu(client: Any) -> float:
    cpu = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def measure(examples: list[Any], *, label: str, profiler: str | None, redis_client: Any) -> dict[str, Any]:
    """Each example through the WSGI application once; per-request costs and the servers' CPU."""
    from .profile import in_process

    counters = Counters()
    cpu, wall, queries, redis_calls, statuses = [], [], [], [], {}
    pid_before, backend_before = _backend_cpu()
    redis_before = _redis_cpu(redis_client)
    session = _profile_start(profiler)
    with counters.counting():
        for example in examples:
            q0, r0 = counters.queries + counters.health_checks, counters.redis
            w0, c0 = time.perf_counter(), time.process_time()
            status = in_process(example).status_code
            c1, w1 = time.process_time(), time.perf_counter()
            cpu.append(c1 - c0)
            wall.append(w1 - w0)
            queries.append(counters.queries + counters.health_checks - q0)
            redis_calls.append(counters.redis - r0)
            statuses[status] = statuses.get(status, 0) + 1
    _profile_stop(session, profiler, label)
    redis_after = _redis_cpu(redis_client)
    pid_after, backend_after = _backend_cpu()
    n = len(examples)
    return {
        "label": label,
        "requests": n,
        "statuses": statuses,
        "cpu_us_mean": round(statistics.fmean(cpu) * 1e6),
        "cpu_us_median": round(statistics.median(cpu) * 1e6),
        "wall_us_median": round(statistics.median(wall) * 1e6),
        "queries": round(counters.queries / n, 2),
        "health_checks": round(counters.health_checks / n, 2),
        "redis_round_trips": round(statistics.fmean(redis_calls), 2),
        "postgres_backend_cpu_us": round((backend_after - backend_before) * 1e6 / n)
        if pid_before == pid_after
        else None,
        "redis_server_cpu_us": round((redis_after - redis_before) * 1e6 / n),
    }


def _profile_start(profiler: str | None) -> Any:
    if profiler == "yappi":
        import yappi  # type: ignore[import-not-found]  # installed apart: pip install --target, on PYTHONPATH

        yappi.set_clock_type("cpu")
        yappi.clear_stats()
        yappi.start()
        return yappi
    if profiler == "pyinstrument":
        from pyinstrument import Profiler

        session = Profiler(interval=0.0002)
        session.start()
        return session
    return None


def _profile_stop(session: Any, profiler: str | None, label: str) -> None:
    if session is None:
        return
    directory = Path(os.environ.get("BENCH_MISS_PROFILES") or tempfile.gettempdir())
    path = directory / f"miss-cost-{label}.{profiler}.txt"
    if profiler == "yappi":
        session.stop()
        with path.open("w") as file:
            session.get_func_stats().sort("tsub").print_all(
                out=file, columns={0: ("name", 90), 1: ("ncall", 10), 2: ("tsub", 8), 3: ("ttot", 8), 4: ("tavg", 8)}
            )
    else:
        session.stop()
        path.write_text(session.output_text(unicode=True, color=False, show_all=False))
    print(f"profile {label}: {path}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fleet", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", choices=("yappi", "pyinstrument"))
    parser.add_argument("--seed", type=int, default=None, help="the random choice of clients (repeatable)")
    options = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL") or ""
    if not database_url or os.environ.get("BENCH_REDIS_URL") is None:
        raise SystemExit("BENCH_DATABASE_URL and BENCH_REDIS_URL name this run's own database and Redis database")
    state = _state(database_url)
    os.environ.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        SECRET_KEY=state["SECRET_KEY"],
        DCR_KEY_ENCRYPTION_KEY=state["DCR_KEY_ENCRYPTION_KEY"],
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("DCR_REQUEST_LOG", None)
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)  # the request log's lines (still formatted: the level is checked after)
    from core.redis import redis_client

    fleet = _fleet(state, database_url, options.fleet)
    client = redis_client()
    chooser = random.Random(options.seed)
    numbers = chooser.sample(range(1, fleet.count + 1), min(options.requests, fleet.count))
    from .profile import in_process

    for number in chooser.sample(range(1, fleet.count + 1), 50):  # warm: keys, connections, caches
        in_process(_one(fleet, number))
    client.delete(*(f"dcr:client:{fleet.client_id(number)}" for number in numbers))
    examples = [_one(fleet, number) for number in numbers]
    results = [
        measure(examples, label="miss", profiler=options.profile, redis_client=client),
        measure(examples, label="hit", profiler=options.profile, redis_client=client),
    ]
    print(json.dumps(results, indent=1))


def _one(fleet: Any, number: int) -> Any:
    from . import http
    from .fleet import FORM, TOKEN_PATH
    from .wrk import Request

    body = http.form(
        {"grant_type": "client_credentials", "client_secret": fleet.client_secret, "client_id": fleet.client_id(number)}
    )
    return Request(
        "POST", TOKEN_PATH, body, {"Content-Type": FORM, "Accept": "application/json", "Host": "127.0.0.1"}, ""
    )


if __name__ == "__main__":
    main()
