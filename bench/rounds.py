"""The API scenarios of `make bench` under wrk (bench.run): each after two requests per worker that must
succeed, in rounds that alternate a slice of the floor and a slice of the scenario, summed into one entry
per scenario with its ratio to the floor."""

import time
from collections.abc import Callable
from typing import Any

from .config import Config
from .names import API_SCENARIOS, FLEET_SCENARIOS
from .table import _rss


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _preflight(config: Config, base_url: str, scenario: Any, entry: dict[str, Any]) -> bool:
    """Two requests per worker before measuring: they must succeed, and they load each worker's caches."""
    from .scenarios import call

    for _ in range(config.workers * 2):
        request = scenario.example()
        answer = call(base_url, request)
        if answer.status // 100 != 2 or not request.body_matches(answer.body.decode("utf-8", "replace")):
            entry.update(status="failed", reason=f"the first requests answered {answer.describe()}")
            _log(f"{scenario.name}: FAILED before measuring ({entry['reason']})")
            return False
    return True


def _wrk(config: Config, base_url: str, scenario: Any, duration: float) -> Any:
    """One wrk run, then a pause: requests still in the workers must not spill into the next run."""
    from . import wrk

    result = wrk.run(
        base_url,
        scenario.request,
        duration=duration,
        connections=scenario.connections or config.connections,
        threads=config.threads,
        timeout=config.timeout,
    )
    time.sleep(min(10.0, max(0.5, 2 * result.p99_ms / 1000)))
    return result


def _fill(entry: dict[str, Any], runs: list[Any]) -> None:
    """The entry of one scenario from its wrk runs: throughput over all of them; p50 the median of the
    runs' medians and p99 the worst run's p99 (wrk's histograms cannot be merged from outside)."""
    requests = sum(run.requests for run in runs)
    duration = sum(run.duration_s for run in runs)
    p50s = sorted(run.p50_ms for run in runs)
    errors = _socket_errors(runs)
    entry.update(
        rps=round(requests / duration, 1) if duration else 0.0,
        p50_ms=round(p50s[len(p50s) // 2], 2),
        p99_ms=round(max(run.p99_ms for run in runs), 2),
        non_2xx=sum(run.non_2xx for run in runs),
        ratio_to_floor=None,
        requests=requests,
        bad_body=sum(run.bad_body for run in runs),
        socket_errors=errors,
    )
    problems = _problems(entry, runs, errors)
    entry["status"] = "failed" if problems else "ok"
    if problems:
        entry["reason"] = "; ".join(problems)


def _socket_errors(runs: list[Any]) -> dict[str, int]:
    """wrk's socket errors over the runs by kind (its "status" count is the non-2xx answers, counted apart)."""
    errors: dict[str, int] = {}
    for run in runs:
        for kind, count in run.errors.items():
            if kind != "status":
                errors[kind] = errors.get(kind, 0) + count
    return errors


def _problems(entry: dict[str, Any], runs: list[Any], errors: dict[str, int]) -> list[str]:
    problems = []
    if entry["requests"] == 0:
        problems.append("no request completed")
    if entry["non_2xx"] or entry["bad_body"]:
        first = next(run.first_failure for run in runs if run.first_failure)
        problems.append(f"{entry['non_2xx']} non-2xx, {entry['bad_body']} unexpected bodies; first: {first}")
    if any(errors.values()):
        problems.append(f"wrk errors {errors}")
    return problems


def run_in_rounds(
    config: Config,
    base_url: str,
    scenarios: dict[str, Any],
    worker_rss: Callable[[], list[dict[str, Any]]],
    cpu: Callable[[], dict[str, float]] = dict,
) -> dict[str, dict[str, Any]]:
    """The floor once, then each scenario in rounds that alternate a floor slice and a scenario slice.

    wrk, the server, PostgreSQL and Redis share the machine's cores with whatever else runs, and that load
    drifts; interleaving exposes the scenario and its floor to the same drift, so their ratio holds up
    better than either number. The floor row is its own uninterrupted run; `floor_rps` of a scenario is
    the floor measured in its rounds, and its ratio is against that. After each fleet scenario, the
    resident memory of each web worker (`worker_rss`) goes into its entry, and the CPU (`cpu`: seconds
    so far of the web server and of each Redis process) its slices used per request."""
    results: dict[str, dict[str, Any]] = {}
    floor: dict[str, Any] = {}
    floor_slices: list[float] = []
    for name in API_SCENARIOS:
        if name not in config.scenarios:
            continue
        scenario = scenarios[name]
        entry: dict[str, Any] = floor if name == "floor" else {}
        results[name] = entry
        if not _ready(config, base_url, name, scenario, entry, floor):
            continue
        try:
            floor_slices.extend(_measured(config, base_url, scenarios, name, entry, cpu))
        except (RuntimeError, OSError) as exc:
            entry.update(status="failed", reason=str(exc))
        _after(name, entry, worker_rss)
    _ratios(results, floor, floor_slices)
    return results


def _ready(
    config: Config, base_url: str, name: str, scenario: Any, entry: dict[str, Any], floor: dict[str, Any]
) -> bool:
    """Describe the scenario in its entry; whether it can be measured (else the entry says why)."""
    entry["what"] = scenario.what
    entry.update(scenario.facts)
    if scenario.target is not None:
        entry["target_ratio"] = scenario.target
    if scenario.missing:
        entry.update(status="not available", reason=scenario.missing)
        _log(f"{name}: not available ({scenario.missing})")
        return False
    if scenario.failed or scenario.request is None:
        entry.update(status="failed", reason=scenario.failed or "no request could be built")
        _log(f"{name}: FAILED before measuring ({entry['reason']})")
        return False
    if name != "floor" and floor.get("status") != "ok":
        entry.update(status="failed", reason="no floor to compare with")
        return False
    if not _preflight(config, base_url, scenario, entry):
        return False
    entry["connections"] = scenario.connections or config.connections
    return True


def _measured(
    config: Config,
    base_url: str,
    scenarios: dict[str, Any],
    name: str,
    entry: dict[str, Any],
    cpu: Callable[[], dict[str, float]],
) -> list[float]:
    """wrk on the scenario (the floor: one run; any other: rounds of a floor slice then a scenario slice),
    its figures in `entry`; returns the req/s of the floor slices."""
    scenario = scenarios[name]
    slice_s = config.duration / config.rounds
    if scenario.warm_up and config.warmup > 0:
        _wrk(config, base_url, scenario, config.warmup)
    if name == "floor":
        _log(f"floor: wrk {config.duration:g} s, {config.connections} connections")
        _fill(entry, [_wrk(config, base_url, scenario, config.duration)])
        return []
    _log(f"{name}: {config.rounds} x ({slice_s:g} s floor, {slice_s:g} s {name})")
    own, floors = [], []
    used: dict[str, float] = {}
    for _ in range(config.rounds):
        floors.append(_wrk(config, base_url, scenarios["floor"], slice_s))
        before = cpu()
        own.append(_wrk(config, base_url, scenario, slice_s))
        for process, seconds in cpu().items():
            used[process] = used.get(process, 0.0) + seconds - before[process]
    _fill(entry, own)
    if used and entry["requests"]:
        entry["cpu_ms_per_request"] = {process: round(1000 * s / entry["requests"], 3) for process, s in used.items()}
    reference: dict[str, Any] = {}
    _fill(reference, floors)
    if reference["status"] != "ok":
        entry.update(status="failed", reason=f"its floor slices: {reference['reason']}")
    entry["floor_rps"] = reference["rps"]
    entry["rounds"] = [
        {"rps": round(run.rps, 1), "floor_rps": round(base.rps, 1)} for run, base in zip(own, floors, strict=True)
    ]
    return [base.rps for base in floors]


def _after(name: str, entry: dict[str, Any], worker_rss: Callable[[], list[dict[str, Any]]]) -> None:
    """The workers' memory after a fleet scenario, and the scenario's line in the log."""
    if name in FLEET_SCENARIOS:
        entry["worker_rss_mib"] = [worker["rss_mib"] for worker in worker_rss()]
        _log(f"{name}: web workers' RSS afterwards {_rss(entry['worker_rss_mib'])}")
    if entry.get("rps") is not None:
        _log(f"{name}: {entry['rps']:.1f} req/s, p50 {entry['p50_ms']:.1f} ms, p99 {entry['p99_ms']:.1f} ms"
             + (f" (floor {entry['floor_rps']:.1f} req/s)" if "floor_rps" in entry else "")
             + (f"; CPU ms/req {entry['cpu_ms_per_request']}" if "cpu_ms_per_request" in entry else ""))  # fmt: skip
    if entry.get("status") == "failed":
        _log(f"{name}: FAILED: {entry['reason']}")


def _ratios(results: dict[str, dict[str, Any]], floor: dict[str, Any], floor_slices: list[float]) -> None:
    """The floor slices' range on the floor's entry; each scenario's ratio to its floor."""
    if floor_slices:
        floor["slices_rps_min"] = round(min(floor_slices), 1)
        floor["slices_rps_max"] = round(max(floor_slices), 1)
    for entry in results.values():
        # The same keys on every scenario, null when it did not run.
        for key in ("rps", "p50_ms", "p99_ms", "non_2xx", "ratio_to_floor"):
            entry.setdefault(key, None)
        reference_rps = entry.get("floor_rps") or floor.get("rps")
        if entry.get("rps") is not None and reference_rps:
            entry["ratio_to_floor"] = round(entry["rps"] / reference_rps, 4)
