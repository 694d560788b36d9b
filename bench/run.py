"""`make bench`: services up, a fresh database seeded, the server as `make serve` starts it with the benchmark
settings (bench.serve_command), wrk per
scenario, the dashboard under data; prints a table, writes bench/results/latest.json, and exits
non-zero when a request that should have succeeded did not.

Environment (all optional):
  BENCH_DURATION=10       seconds of wrk per scenario      BENCH_CONNECTIONS=8   wrk connections
  BENCH_THREADS=2         wrk threads                      BENCH_WARMUP=2        seconds of unmeasured wrk first
  BENCH_TIMEOUT=30        wrk request timeout, seconds     BENCH_WORKERS=2       web workers (WEB_CONCURRENCY)
  BENCH_PORT=<free port>  the server's port            BENCH_SCENARIOS=...   comma list (default: all)
  BENCH_ROUNDS=5          each scenario runs in this many slices, each after a floor slice of the same length;
                          its ratio is against those floor slices (1: one floor run, then the scenario)
  BENCH_DASHBOARD_APPLICATIONS=10000, BENCH_DASHBOARD_PROGRAMMERS=100, BENCH_DASHBOARD_REQUESTS=30
  BENCH_FLEET_CLIENTS=1000000    copies of the registered client in the table (bench.fleet; 0: no fleet)
  BENCH_FLEET_TOKENS=2000        session_fleet: tokens of this many fleet clients
  BENCH_FLEET_PAGE_REQUESTS=5    the admin and dashboard pages over the fleet: median of this many requests
  BENCH_FLEET_LOAD_RECORDS=1     write the copies' records to the hot-path store as registration would
                                 (manage.py load_client_records); 0: every fleet request is a store miss
  BENCH_PROFILE=token,token_fleet,register   after wrk, profile these in-process with pyinstrument (0: none)
  BENCH_PROFILE_REQUESTS=500     requests per profile
  BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dcr_bench (dropped and recreated every run)
  BENCH_REDIS_URL=redis://127.0.0.1:6379/6 (flushed every run)
  BENCH_REDIS_CLUSTER_PORT=<port>  the hot-path store on a Redis Cluster of the run's own, six nodes on this
                          port and the five after it (bench.store); unset: on BENCH_REDIS_URL's Redis
  BENCH_RESULTS=bench/results/latest.json
  BENCH_LOCK_WAIT=1800    seconds to wait for another run of the harness on this machine to finish
"""

import json
import os
import secrets
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from . import machine, services, store
from .config import SETTINGS, Config, env_float
from .names import DASHBOARD_SCENARIOS, FLEET_PAGES, FLEET_SCENARIOS
from .peer_servers import group_cpu_seconds
from .rounds import run_in_rounds
from .table import _rss, table

ROOT = Path(__file__).resolve().parent.parent


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _environment(config: Config) -> dict[str, str]:
    """The environment of the harness and of the server: fresh secrets for this run only, and the request log
    and its format as shipped whatever the caller's shell says; the metrics' multiprocess directory as the
    README tells operators running several workers."""
    environment = dict(os.environ)
    for name in ("DCR_REQUEST_LOG", "LOG_FORMAT", "LOG_LEVEL", "DCR_METRICS_TOKEN", "DEBUG"):
        environment.pop(name, None)
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DCR_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "BENCH_DATABASE_URL": config.database_url,
            "BENCH_REDIS_URL": config.redis_url,
            "PROMETHEUS_MULTIPROC_DIR": str(Path(tempfile.gettempdir()) / "dcr-bench-metrics"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return environment


def _log_to_file(path: Path) -> None:
    """The harness's own log lines (the request log of the in-process query counts and profiles, which run
    through the whole stack as shipped) go to a file instead of the terminal; formatting and writing them
    still cost what they cost."""
    import logging

    path.parent.mkdir(parents=True, exist_ok=True)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setStream(path.open("a"))


def _versions() -> tuple[str, str]:
    import redis
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = str(cursor.fetchone()[0])
    info = redis.Redis.from_url(settings.REDIS_URL).info("server")
    return postgres, str(info.get("redis_version", ""))


def _queries_per_request(scenarios: dict[str, Any], results: dict[str, dict[str, Any]], samples: int = 20) -> None:
    """Database queries per request of each scenario in the steady state (caches warm), through the whole
    stack in-process; a fraction means a cache that expires now and then (the key caches live a second)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from .profile import in_process

    for name, entry in results.items():
        scenario = scenarios[name]
        if entry.get("status") != "ok" or scenario.request is None:
            continue
        for _ in range(3):
            in_process(scenario.example())
        # A fleet scenario's samples are clients this process has not seen: its cold path, as in wrk.
        requests = [scenario.example() for _ in range(samples)]
        with CaptureQueriesContext(connection) as captured:
            for request in requests:
                in_process(request)
        entry["queries"] = round(len(captured.captured_queries) / samples, 2)


def _fleet_pages(
    config: Config, base_url: str, api_seed: Any, built: dict[str, Any], names: list[str]
) -> dict[str, dict[str, Any]]:
    """The admin's client list and search and the dashboard's pages of the fleet's application."""
    from . import dashboard

    facts = next((built[name].facts for name in FLEET_SCENARIOS if built[name].facts), {})
    if not facts:
        reason = built["token_fleet"].failed or built["token_fleet"].missing or "the fleet was not seeded"
        return {name: {"status": "failed", "reason": reason} for name in names}
    _log(f"pages over the fleet of {facts['fleet_clients']:,} clients")
    try:
        pages = dashboard.measure_fleet(
            base_url, api_seed, fleet_clients=facts["fleet_clients"], requests=config.fleet_page_requests
        )
    except Exception as exc:  # a broken page must not lose the API numbers
        traceback.print_exc()
        return {name: {"status": "failed", "reason": str(exc)} for name in names}
    for name in names:
        entry = pages[name]
        if entry.get("p50_ms") is not None:
            _log(
                f"{name}: median {entry['p50_ms']:.1f} ms over {entry['requests']} requests, {entry['queries']} queries"
            )
    return {name: pages[name] for name in names}


def main() -> int:
    config = Config()
    services.unwind_on_signals()
    try:
        with (
            services.exclusive_run(env_float("BENCH_LOCK_WAIT", 1800)),
            store.redis_cluster(config.redis_cluster_port) as primaries,
        ):
            return _main(config, primaries)
    except KeyboardInterrupt as exc:
        print(f"make bench interrupted ({exc or 'Ctrl-C'}); the server stopped", file=sys.stderr)
        return 130


def _main(config: Config, primaries: list[int]) -> int:
    environment = _prepared(config)
    from . import fleet, scenarios

    postgres_version, redis_version = _versions()
    info = machine.describe(postgres_version=postgres_version, redis_version=redis_version)
    api_seed, dashboard_data, dashboard_failure = _seeded(config)
    server = services.WebServer(
        port=config.port,
        workers=config.workers,
        environment=environment,
        log_path=config.results.with_suffix(".server.log"),
        settings_module=SETTINGS,
    )
    try:
        from .urls import FLOOR_PATH

        server.start(FLOOR_PATH)
        _log(f"the server on {server.base_url} with {config.workers} workers: {server.command}")
        built = scenarios.build(
            server.base_url,
            api_seed,
            fleet_clients=config.fleet_clients,
            fleet_tokens=config.fleet_tokens if "session_fleet" in config.scenarios else 0,
            fleet_load_records=config.fleet_load_records and any(name in config.scenarios for name in FLEET_SCENARIOS),
        )

        def worker_rss() -> list[dict[str, Any]]:
            return fleet.worker_rss(server.process.pid) if server.process is not None else []

        store_cpu = store.StoreCpu(config.redis_url, primaries)

        def cpu() -> dict[str, float]:
            web = group_cpu_seconds(server.process.pid) if server.process is not None else 0.0
            return {"web": web, **store_cpu.read()}

        results = run_in_rounds(config, server.base_url, built, worker_rss, cpu)
        _queries_per_request(built, results)
        results.update(_dashboard_pages(config, server.base_url, dashboard_data, dashboard_failure))
        wanted_pages = [name for name in FLEET_PAGES if name in config.scenarios]
        if wanted_pages:
            results.update(_fleet_pages(config, server.base_url, api_seed, built, wanted_pages))
        rss_at_end = [worker["rss_mib"] for worker in worker_rss()]
        _profiled(config, built)
    finally:
        server.stop()

    info["load_average_at_end"] = machine.load_average()
    info["hot_store"] = f"Redis Cluster, primaries {primaries}" if primaries else f"Redis {config.redis_url}"
    rss = _worker_rss(results, rss_at_end)
    document = {
        "machine": info,
        "run": {
            **config.describe(),
            "server_command": server.command,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "scenarios": results,
        "gunicorn_worker_rss_mib": rss,
    }
    config.results.parent.mkdir(parents=True, exist_ok=True)
    config.results.write_text(json.dumps(document, indent=2) + "\n")
    _summary_printed(config, info, results, rss, built)
    failed = [name for name, entry in results.items() if entry.get("status") == "failed"]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _prepared(config: Config) -> dict[str, str]:
    """PostgreSQL, Redis and wrk there, a fresh database and Redis, Django set up, migrated, static files
    collected; returns the environment of the harness and the server."""
    environment = _environment(config)
    os.environ.update(environment)
    Path(environment["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    _log(f"PostgreSQL and Redis; fresh database {config.database_url.rsplit('/', 1)[-1]}, Redis {config.redis_url}")
    services.ensure_wrk()
    services.ensure_postgres_and_redis(config.database_url, config.redis_url)
    services.recreate_database(config.database_url)
    services.flush_redis(config.redis_url)

    import django

    django.setup()
    _log_to_file(config.results.with_suffix(".harness.log"))
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    _log(f"migrated and collected static files in {time.monotonic() - started:.1f} s")
    return environment


def _seeded(config: Config) -> tuple[Any, Any, str]:
    """The API's seed, the dashboard's data when a dashboard scenario runs, and why seeding that failed."""
    from . import dashboard_seed
    from .seed import seed_api

    started = time.monotonic()
    api_seed = seed_api()
    dashboard_data = None
    dashboard_failure = ""
    if any(name in config.scenarios for name in DASHBOARD_SCENARIOS):
        try:
            dashboard_data = dashboard_seed.seed(
                applications=config.dashboard_applications, programmers=config.dashboard_programmers
            )
        except Exception as exc:  # a model change must not lose the API numbers
            traceback.print_exc()
            dashboard_failure = f"seeding the dashboard data failed: {exc}"
    _log(f"seeded in {time.monotonic() - started:.1f} s")
    return api_seed, dashboard_data, dashboard_failure


def _dashboard_pages(
    config: Config, base_url: str, dashboard_data: Any, dashboard_failure: str
) -> dict[str, dict[str, Any]]:
    """The dashboard's pages under data (or why they could not be measured)."""
    from . import dashboard

    if dashboard_data is None:
        if dashboard_failure:
            return {name: {"status": "failed", "reason": dashboard_failure} for name in DASHBOARD_SCENARIOS}
        return {}
    _log("dashboard pages under data")
    try:
        pages = dashboard.measure(base_url, dashboard_data, requests=config.dashboard_requests)
    except Exception as exc:  # a broken page must not lose the API numbers
        traceback.print_exc()
        pages = {name: {"status": "failed", "reason": str(exc)} for name in DASHBOARD_SCENARIOS}
    return {name: pages[name] for name in DASHBOARD_SCENARIOS if name in config.scenarios}


def _profiled(config: Config, built: dict[str, Any]) -> None:
    """BENCH_PROFILE: the chosen scenarios profiled in-process."""
    profiled = [name for name in config.profile if name in config.scenarios]
    if profiled:
        from .profile import profile_scenarios

        profile_scenarios(built, profiled, requests=config.profile_requests, directory=config.results.parent)


def _worker_rss(results: dict[str, dict[str, Any]], rss_at_end: list[float]) -> dict[str, Any]:
    """The web workers' memory after each fleet scenario and at the end."""
    rss = {f"after_{name}": results[name].get("worker_rss_mib") for name in FLEET_SCENARIOS if name in results}
    rss = {key: value for key, value in rss.items() if value}
    if rss_at_end:
        rss["at_end"] = rss_at_end
    return rss


def _summary_printed(
    config: Config, info: dict[str, Any], results: dict[str, dict[str, Any]], rss: dict[str, Any], built: dict[str, Any]
) -> None:
    """The machine, the run's settings, the table, the workers' memory, the fleet and where it was written."""
    print()
    print(
        f"Machine: {info['cpu_model']}, {info['cores']} cores, {info['memory_gb']} GB; Python {info['python']}, "
        f"Django {info['django']}, PostgreSQL {info['postgresql']}, Redis {info['redis']}; load average "
        f"{info['load_average_at_start']} at start, {info['load_average_at_end']} at end; "
        f"hot-path store: {info['hot_store']}"
    )
    print(
        f"wrk: {config.duration:.0f} s per scenario, {config.connections} connections, {config.threads} threads; "
        f"the server as make serve runs it, {config.workers} workers; "
        f"each scenario in {config.rounds} slices, each after a floor slice"
    )
    print()
    print(table(results))
    print()
    if rss:
        print(
            "web workers' RSS (VmRSS): "
            + "; ".join(f"{key.replace('_', ' ')} {_rss(value)}" for key, value in rss.items())
        )
    _fleet_printed(config, built)
    print(f"Written to {config.results.relative_to(ROOT) if config.results.is_relative_to(ROOT) else config.results}")


def _fleet_printed(config: Config, built: dict[str, Any]) -> None:
    """How the fleet was seeded, when there is one."""
    if not config.fleet_clients:
        return
    facts = next((built[name].facts for name in FLEET_SCENARIOS if built[name].facts), {})
    if facts:
        loaded = facts.get("fleet_records_loaded_s")
        print(
            f"Fleet: {facts['fleet_clients']:,} clients copied in {facts['fleet_seed_s']:.1f} s "
            f"(VACUUM ANALYZE {facts['fleet_vacuum_analyze_s']:.1f} s); their records "
            + (f"written to the store in {loaded:.1f} s" if loaded is not None else "not in the store (misses)")
        )
