"""`make bench-peer`: ours, started exactly as `make serve` starts it (production settings, request log
and metrics on, PostgreSQL and Redis), side by side with a peer, panva's oidc-provider (bench/peer/: a
Node cluster of as many workers as ours, its Redis adapter, ES256 JWT access tokens through resource
indicators, introspection, revocation, open registration), under the same wrk, alternating, in rounds;
prints the table of medians and writes bench/results/peer.json and peer.md. Exits non-zero when a
request that should have succeeded did not.

Environment (all optional):
  PEER_BENCH_DURATION=10     seconds of wrk per scenario, server and round
  PEER_BENCH_ROUNDS=3        rounds; each runs every scenario on both servers, alternating which goes first
  PEER_BENCH_CONNECTIONS=8   wrk connections                PEER_BENCH_THREADS=1    wrk threads
  PEER_BENCH_WARMUP=2        seconds of unmeasured wrk per scenario and server before the first round
  PEER_BENCH_WORKERS=2       our web workers (WEB_CONCURRENCY of make serve) and the peer's cluster workers
  PEER_BENCH_CLIENTS=1000    clients registered on each server (the fleet the token and token-using
                             scenarios pick from at random)
  PEER_BENCH_SCENARIOS=...   comma list of floor,token,introspect,session,register (default: all)
  PEER_BENCH_PORT, PEER_BENCH_PEER_PORT   ports of ours and the peer (default: free ports)
  PEER_BENCH_RESULTS=bench/results/peer.json   (the Markdown table goes next to it, .md)
  BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_LOCK_WAIT   as for `make bench` (bench.run)
"""

import json
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from . import machine, peer_report, services
from .config import env_float, env_int, scenarios_chosen
from .peer_scenarios import PEER_OF, SCENARIOS, Pair
from .peer_servers import Ours, Peer, node_missing, node_version, npm_ci, peer_version
from .serve_command import serve_command

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SETTINGS = "dcr_project.settings.production"


class Config:
    def __init__(self) -> None:
        self.database_url = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/dcr_bench"
        self.redis_url = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/6"
        self.duration = env_float("PEER_BENCH_DURATION", 10)
        self.rounds = max(1, env_int("PEER_BENCH_ROUNDS", 3))
        self.connections = env_int("PEER_BENCH_CONNECTIONS", 8)
        self.threads = env_int("PEER_BENCH_THREADS", 1)
        self.warmup = env_float("PEER_BENCH_WARMUP", 2)
        self.workers = env_int("PEER_BENCH_WORKERS", 2)
        self.clients = max(1, env_int("PEER_BENCH_CLIENTS", 1000))
        self.timeout = 30.0
        self.port = env_int("PEER_BENCH_PORT", 0) or services.free_port()
        self.peer_port = env_int("PEER_BENCH_PEER_PORT", 0) or services.free_port()
        self.scenarios = scenarios_chosen("PEER_BENCH_SCENARIOS", SCENARIOS)
        for name, other in PEER_OF.items():  # the bearer call's peer column is the peer's introspection
            if name in self.scenarios and other not in self.scenarios:
                self.scenarios.insert(self.scenarios.index(name), other)
        self.results = Path(os.environ.get("PEER_BENCH_RESULTS") or RESULTS_DIR / "peer.json")

    def describe(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration,
            "rounds": self.rounds,
            "connections": self.connections,
            "threads": self.threads,
            "warmup_s": self.warmup,
            "workers": self.workers,
            "clients_per_server": self.clients,
            "scenarios": self.scenarios,
        }


def _log(message: str) -> None:
    print(f"[bench-peer {time.strftime('%H:%M:%S')}] {message}", flush=True)


def ours_environment(config: Config, metrics_dir: str) -> dict[str, str]:
    """What `make serve` runs with: production settings as shipped (request log and metrics on), fresh
    secrets for this run, and the one change the bench needs (README "Performance"): the per-IP token
    buckets still run on every request but never refuse, since all the load comes from one address, and the
    one application's quotas are counted but never refuse."""
    environment = dict(os.environ)
    for name in ("DCR_REQUEST_LOG", "LOG_FORMAT", "LOG_LEVEL", "DCR_METRICS_TOKEN", "DEBUG"):
        environment.pop(name, None)  # as shipped, whatever the caller's shell says
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DCR_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DATABASE_URL": config.database_url,
            "REDIS_URL": config.redis_url,
            "DCR_METRICS_ENABLED": "true",
            "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
            "DCR_THROTTLE_RATE": "1000000000",
            "DCR_THROTTLE_BURST": "1000000000",
            # README "Quotas": counted on every request as shipped; one application takes them all here.
            "DCR_QUOTA_REGISTRATIONS_PER_HOUR": "1000000000",
            "DCR_QUOTA_TOKENS_PER_HOUR": "1000000000",
            "DCR_QUOTA_TOKENS_PER_DAY": "1000000000",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return environment


def _serve_command(config: Config) -> str:
    """What `make serve` runs (make -n): the server measured, recorded with the results."""
    return serve_command(host="127.0.0.1", port=config.port, workers=config.workers)


def _postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])


def _redis_version() -> str:
    import redis
    from django.conf import settings

    return str(redis.Redis.from_url(settings.REDIS_URL).info("server").get("redis_version", ""))


def _check(base_url: str, sample: Any, count: int) -> str:
    """`count` requests before measuring: each must succeed ("" when they did, else what went wrong)."""
    from .scenarios import call

    for _ in range(count):
        request = sample()
        answer = call(base_url, request)
        if answer.status // 100 != 2 or not request.body_matches(answer.body.decode("utf-8", "replace")):
            return f"the first requests answered {answer.describe()}"
    return ""


def _wrk(config: Config, server: Any, request: Any, duration: float) -> dict[str, Any]:
    """One wrk run and the server's CPU time per request during it, then a pause: nothing in flight spills
    into the next run."""
    from . import wrk

    cpu_before = server.cpu_seconds()
    result = wrk.run(server.base_url, request, duration=duration, connections=config.connections,
                     threads=config.threads, timeout=config.timeout)  # fmt: skip
    cpu = server.cpu_seconds() - cpu_before
    time.sleep(min(10.0, max(0.5, 2 * result.p99_ms / 1000)))
    entry = peer_report.run_entry(result)
    entry["cpu_ms_per_request"] = round(1000 * cpu / result.requests, 3) if result.requests else None
    return entry


def measure(config: Config, servers: dict[str, Any], pairs: dict[str, Pair]) -> dict[str, Any]:
    """Every scenario on both servers, alternating, in rounds; the runs of each server per scenario."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {name: {"ours": []} for name in config.scenarios}
    jobs: list[tuple[str, str, Any, Any]] = []
    for name in config.scenarios:
        pair = pairs[name]
        jobs.append((name, "ours", pair.ours, pair.ours_sample))
        if pair.peer is not None and pair.peer_sample is not None:
            runs[name]["peer"] = []
            jobs.append((name, "peer", pair.peer, pair.peer_sample))
    broken = _checked(config, servers, jobs)
    if config.warmup > 0:
        _log(f"warm-up: {config.warmup:g} s per scenario and server")
        for name, server, request, _sample in jobs:
            if (name, server) not in broken:
                _wrk(config, servers[server], request, config.warmup)
    load: list[dict[str, Any]] = []
    for number in range(config.rounds):
        load.append({"round": number + 1, "load_average": machine.load_average()})
        _log(f"round {number + 1} of {config.rounds}, load average {load[-1]['load_average']}")
        for name in config.scenarios:
            order = [job for job in jobs if job[0] == name]
            if number % 2:
                order.reverse()  # the peer first in every other round: both see the same drift
            for _name, server, request, _sample in order:
                runs[name][server].append(_run(config, servers, name, server, request, broken))
    return {"runs": runs, "load_by_round": load}


def _checked(
    config: Config, servers: dict[str, Any], jobs: list[tuple[str, str, Any, Any]]
) -> dict[tuple[str, str], str]:
    """Each (scenario, server) whose sample request does not answer as expected, with what went wrong."""
    broken: dict[tuple[str, str], str] = {}
    for name, server, _request, sample in jobs:
        failure = _check(servers[server].base_url, sample, 2 * config.workers)
        if failure:
            broken[(name, server)] = failure
            _log(f"{name} on {server}: FAILED before measuring ({failure})")
    return broken


def _run(
    config: Config, servers: dict[str, Any], name: str, server: str, request: Any, broken: dict[tuple[str, str], str]
) -> dict[str, Any]:
    """One wrk run of a scenario on a server; {"failure": ...} when it is broken or wrk fails."""
    if (name, server) in broken:
        return {"failure": broken[(name, server)]}
    try:
        entry = _wrk(config, servers[server], request, config.duration)
    except (RuntimeError, OSError) as exc:
        _log(f"{name} on {server}: FAILED: {exc}")
        return {"failure": str(exc)}
    _log(f"{name} on {server}: {entry['rps']:,.0f} req/s, p50 {entry['p50_ms']:.1f} ms, "
         f"p99 {entry['p99_ms']:.1f} ms, non-2xx {entry['non_2xx']}, "
         f"server CPU {entry['cpu_ms_per_request']} ms/request")  # fmt: skip
    return entry


def main() -> int:
    config = Config()
    missing = node_missing()
    if missing:
        print(f"make bench-peer needs the peer's runtime: {missing}", file=sys.stderr)
        return 2

    services.unwind_on_signals()
    try:
        with services.exclusive_run(env_float("BENCH_LOCK_WAIT", 1800)):
            return _main(config)
    except KeyboardInterrupt as exc:
        print(f"make bench-peer interrupted ({exc or 'Ctrl-C'}); both servers stopped", file=sys.stderr)
        return 130


def _main(config: Config) -> int:
    _log("installing the peer (npm ci, bench/peer/package-lock.json)")
    npm_ci()
    services.ensure_wrk()
    services.ensure_postgres_and_redis(config.database_url, config.redis_url)
    services.recreate_database(config.database_url)
    services.flush_redis(config.redis_url)
    with tempfile.TemporaryDirectory(prefix="dcr-bench-metrics-") as metrics_dir:
        environment = ours_environment(config, metrics_dir)
        os.environ.update(environment)
        import django

        django.setup()
        from django.core.management import call_command

        from .scenarios import register_request
        from .seed import seed_api

        call_command("migrate", interactive=False, verbosity=0)
        seed = seed_api()
        if seed.statement is None:
            raise RuntimeError(f"no software statement: {seed.statement_missing}")
        info = machine.describe(postgres_version=_postgres_version(), redis_version=_redis_version())
        info.update(node=node_version(), oidc_provider=peer_version(), server_command=_serve_command(config))
        log_stem = config.results.with_suffix("")
        ours = Ours(port=config.port, workers=config.workers, environment=environment,
                    log_path=Path(f"{log_stem}.ours.log"))  # fmt: skip
        peer = Peer(port=config.peer_port, workers=config.workers, redis_url=config.redis_url,
                    environment=dict(os.environ), log_path=Path(f"{log_stem}.peer.log"))  # fmt: skip
        try:
            _log(f"starting ours (make serve, {config.workers} workers) on :{config.port}: {info['server_command']}")
            ours.start()
            _log(f"starting the peer (oidc-provider {info['oidc_provider']}, node {info['node']}, "
                 f"{config.workers} workers) on :{config.peer_port}")  # fmt: skip
            peer.start()
            from . import peer_scenarios

            started = time.monotonic()
            register = register_request(seed.statement)
            ours_clients = peer_scenarios.ours_fleet(ours.base_url, register, config.clients)
            peer_clients = peer_scenarios.peer_fleet(peer.base_url, config.clients)
            _log(f"{config.clients:,} clients registered on each server in {time.monotonic() - started:.1f} s")
            # What beat does every minute in production (no worker runs here): tells bearer checks that
            # the newest revocation stamps are complete (as bench.scenarios.build does for make bench).
            from oauth.tasks import revocation_stamps_republish_recent

            revocation_stamps_republish_recent()
            pairs = peer_scenarios.pairs(ours_clients, peer_clients, register)
            measured = measure(config, {"ours": ours, "peer": peer}, pairs)
        finally:
            peer.stop()
            ours.stop()
    info["load_average_at_end"] = machine.load_average()
    summary = peer_report.summarise(measured["runs"], PEER_OF)
    document = {
        "machine": info,
        "run": {**config.describe(), "finished_at": datetime.now(UTC).isoformat(timespec="seconds")},
        "load_by_round": measured["load_by_round"],
        "what": {name: pairs[name].what for name in config.scenarios},
        "scenarios": summary,
    }
    config.results.parent.mkdir(parents=True, exist_ok=True)
    config.results.write_text(json.dumps(document, indent=2) + "\n")
    markdown = render(document)
    config.results.with_suffix(".md").write_text(markdown)
    print()
    print(markdown)
    failed = peer_report.failed(summary)
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def render(document: dict[str, Any]) -> str:
    info, run = document["machine"], document["run"]
    loads = "; ".join(f"round {entry['round']} {entry['load_average']}" for entry in document["load_by_round"])
    return (
        f"# make bench-peer, {run['finished_at']}\n\n"
        f"Ours: `{info['server_command']}` (production settings, request log and metrics on, PostgreSQL "
        f"{info['postgresql']}, Redis {info['redis']}), {run['workers']} workers. The peer: oidc-provider "
        f"{info['oidc_provider']} on Node {info['node']}, a cluster of {run['workers']} workers, its Redis adapter. "
        f"{run['clients_per_server']:,} clients registered on each, picked at random per request.\n\n"
        f"Machine: {info['cpu_model']}, {info['cores']} cores; wrk {info['wrk']} -t{run['threads']} "
        f"-c{run['connections']}, {run['duration_s']:g} s per scenario and server, {run['rounds']} rounds "
        f"alternating which server goes first, medians. Load average (1, 5, 15 min): "
        f"{info['load_average_at_start']} at start; {loads}; {info['load_average_at_end']} at end.\n\n"
        + peer_report.table(document["scenarios"])
        + "\n"
    )


if __name__ == "__main__":
    sys.exit(main())
