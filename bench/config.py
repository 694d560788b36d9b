"""The configuration of `make bench` (bench.run), from the environment; see bench.run for the variables."""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import services
from .names import API_SCENARIOS, DASHBOARD_SCENARIOS, FLEET_PAGES, FLEET_SCENARIOS

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SETTINGS = "dcr_project.settings.bench"


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def env_list(name: str) -> list[str]:
    """A comma-separated list from the environment, blanks dropped."""
    return [s.strip() for s in (os.environ.get(name) or "").split(",") if s.strip()]


def scenarios_chosen(variable: str, known: Sequence[str]) -> list[str]:
    """The scenarios the environment variable names (all when it names none), in `known`'s order; an
    unknown name stops the run."""
    wanted = env_list(variable)
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise SystemExit(f"Unknown {variable} {', '.join(unknown)}; known: {', '.join(known)}")
    return [name for name in known if not wanted or name in wanted]


def _profiled() -> list[str]:
    """BENCH_PROFILE: the scenarios to profile in-process (1: the usual three; 0: none)."""
    profile = os.environ.get("BENCH_PROFILE", "token,token_fleet,register")
    if profile in ("1", "yes", "true"):
        return ["token", "token_fleet", "register"]
    return [s.strip() for s in profile.split(",") if s.strip() and s.strip() not in ("0", "no", "false")]


class Config:
    def __init__(self) -> None:
        self.database_url = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/dcr_bench"
        self.redis_url = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/6"
        self.redis_cluster_port = env_int("BENCH_REDIS_CLUSTER_PORT", 0)
        self.duration = env_float("BENCH_DURATION", 10)
        self.connections = env_int("BENCH_CONNECTIONS", 8)
        self.threads = env_int("BENCH_THREADS", 2)
        self.warmup = env_float("BENCH_WARMUP", 2)
        self.timeout = env_float("BENCH_TIMEOUT", 30)
        self.workers = env_int("BENCH_WORKERS", 2)
        self.rounds = max(1, env_int("BENCH_ROUNDS", 5))
        self.port = env_int("BENCH_PORT", 0) or services.free_port()
        self.scenarios = scenarios_chosen("BENCH_SCENARIOS", (*API_SCENARIOS, *DASHBOARD_SCENARIOS, *FLEET_PAGES))
        if "floor" not in self.scenarios:
            self.scenarios.insert(0, "floor")  # every ratio needs it
        self.dashboard_applications = env_int("BENCH_DASHBOARD_APPLICATIONS", 10000)
        self.dashboard_programmers = env_int("BENCH_DASHBOARD_PROGRAMMERS", 100)
        self.dashboard_requests = env_int("BENCH_DASHBOARD_REQUESTS", 30)
        fleet_wanted = any(name in self.scenarios for name in (*FLEET_SCENARIOS, *FLEET_PAGES))
        self.fleet_clients = max(0, env_int("BENCH_FLEET_CLIENTS", 1_000_000)) if fleet_wanted else 0
        self.fleet_tokens = max(1, env_int("BENCH_FLEET_TOKENS", 2000))
        self.fleet_page_requests = max(1, env_int("BENCH_FLEET_PAGE_REQUESTS", 5))
        self.fleet_load_records = os.environ.get("BENCH_FLEET_LOAD_RECORDS", "1") not in ("0", "no", "false")
        self.profile = _profiled()
        self.profile_requests = env_int("BENCH_PROFILE_REQUESTS", 500)
        self.results = Path(os.environ.get("BENCH_RESULTS") or RESULTS_DIR / "latest.json")

    def describe(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration,
            "warmup_s": self.warmup,
            "connections": self.connections,
            "threads": self.threads,
            "web_workers": self.workers,
            "rounds": self.rounds,
            "settings": SETTINGS,
            "dashboard_applications": self.dashboard_applications,
            "dashboard_programmers": self.dashboard_programmers,
            "dashboard_requests": self.dashboard_requests,
            "fleet_clients": self.fleet_clients,
            "fleet_tokens": self.fleet_tokens,
            "fleet_page_requests": self.fleet_page_requests,
            "fleet_load_records": self.fleet_load_records,
        }
