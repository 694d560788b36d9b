"""The side-by-side table of `make bench-peer`: per scenario and server the median of the rounds' req/s,
p50 and p99, the ratio of ours to the peer, and ours to the floor (GET /healthz) for continuity with
`make bench`. Pure functions of the rounds' numbers (no Django, no processes)."""

import statistics
from typing import Any

# The goals (README "Performance"): ours / the peer.
GOALS = {"token": 1.0, "introspect": 1.0, "session": 1.0, "register": 0.5}


def run_entry(result: Any) -> dict[str, Any]:
    """One wrk run (bench.wrk.WrkResult) as a JSON-able dict."""
    return {
        "rps": round(result.rps, 1),
        "p50_ms": round(result.p50_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "requests": result.requests,
        "non_2xx": result.non_2xx,
        "bad_body": result.bad_body,
        "socket_errors": result.socket_errors,
        "first_failure": result.first_failure,
    }


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if run.get(key) is not None]
    return round(statistics.median(values), 3) if values else None


def side(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds of one server in one scenario, and what went wrong in any of them."""
    failures = [run.get("failure") or run.get("first_failure") for run in runs if _failed(run)]
    return {
        "rps": _median(runs, "rps"),
        "p50_ms": _median(runs, "p50_ms"),
        "p99_ms": _median(runs, "p99_ms"),
        "cpu_ms_per_request": _median(runs, "cpu_ms_per_request"),
        "non_2xx": sum(run.get("non_2xx", 0) for run in runs),
        "bad_body": sum(run.get("bad_body", 0) for run in runs),
        "socket_errors": sum(run.get("socket_errors", 0) for run in runs),
        "rounds": runs,
        "status": "failed" if failures or not runs else "ok",
        **({"reason": str(failures[0])[:300]} if failures else {}),
    }


def _failed(run: dict[str, Any]) -> bool:
    return bool(run.get("failure") or run.get("non_2xx") or run.get("bad_body") or run.get("socket_errors"))


def summarise(rounds: dict[str, dict[str, list[dict[str, Any]]]], peer_of: dict[str, str]) -> dict[str, Any]:
    """`rounds[scenario]["ours" | "peer"]` is the list of that server's runs; `peer_of` names the scenario
    whose peer runs stand for a scenario that has none of its own."""
    floor = side(rounds.get("floor", {}).get("ours", []))
    summary: dict[str, Any] = {}
    for name, by_server in rounds.items():
        ours = side(by_server.get("ours", []))
        peer_runs = by_server.get("peer") or rounds.get(peer_of.get(name, ""), {}).get("peer") or []
        peer = side(peer_runs) if peer_runs else None
        entry: dict[str, Any] = {"ours": ours, "peer": peer}
        if peer_of.get(name):
            entry["peer_is"] = peer_of[name]
        entry["ratio"] = _ratio(ours["rps"], peer["rps"] if peer else None)
        entry["ratio_rounds"] = (
            [_ratio(a.get("rps"), b.get("rps")) for a, b in zip(ours["rounds"], peer["rounds"], strict=False)]
            if peer
            else []
        )
        entry["ratio_to_floor"] = _ratio(ours["rps"], floor["rps"]) if name != "floor" else 1.0
        if name in GOALS:
            entry["goal"] = GOALS[name]
        summary[name] = entry
    return summary


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def _number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _status(entry: dict[str, Any]) -> str:
    """ok, or each side's problem; with a goal, whether the ratio met it."""
    ours, peer = entry["ours"], entry["peer"]
    problems = [f"{server}: {part['reason']}" for server, part in (("ours", ours), ("peer", peer))
                if part and part["status"] != "ok"]  # fmt: skip
    goal = entry.get("goal")
    status = "; ".join(problems).replace("|", "/") if problems else "ok"
    if goal is not None and entry["ratio"] is not None and not problems:
        status += " (goal met)" if entry["ratio"] >= goal else f" (goal missed by {goal - entry['ratio']:.2f})"
    return status


def _pair(entry: dict[str, Any], key: str, digits: int) -> str:
    """The "ours / peer" cell of one figure ("-" for a scenario without a peer)."""
    ours, peer = entry["ours"], entry["peer"]
    return f"{_number(ours[key], digits)} / {_number(peer[key], digits) if peer else '-'}"


def _ratio_cell(entry: dict[str, Any]) -> str:
    """The ours / peer ratio in bold, with each round's in brackets."""
    if not entry["peer"]:
        return "-"
    rounds = ", ".join(_number(ratio, 2) for ratio in entry["ratio_rounds"])
    return f"**{_number(entry['ratio'], 2)}**" + (f" ({rounds})" if rounds else "")


def _cells(name: str, entry: dict[str, Any]) -> list[str]:
    ours, peer = entry["ours"], entry["peer"]
    goal = entry.get("goal")
    peer_name = f" (its {entry['peer_is']})" if entry.get("peer_is") else ""
    return [
        name,
        _number(ours["rps"]),
        (_number(peer["rps"]) + peer_name) if peer else "-",
        _ratio_cell(entry),
        _number(goal, 1) if goal is not None else "-",
        _pair(entry, "p50_ms", 1),
        _pair(entry, "p99_ms", 1),
        _pair(entry, "cpu_ms_per_request", 2),
        _number(entry["ratio_to_floor"], 2),
        _status(entry),
    ]


def table(summary: dict[str, Any]) -> str:
    lines = [
        "| scenario | ours req/s | peer req/s | ours / peer (rounds) | goal | p50 ours / peer ms "
        "| p99 ours / peer ms | server CPU ms/request ours / peer | ours x floor | status |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | --- |",
    ]
    lines.extend("| " + " | ".join(_cells(name, entry)) + " |" for name, entry in summary.items())
    return "\n".join(lines)


def failed(summary: dict[str, Any]) -> list[str]:
    return [
        f"{name} ({server})"
        for name, entry in summary.items()
        for server in ("ours", "peer")
        if entry[server] is not None and entry[server]["status"] != "ok"
    ]


def compare(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Two `make bench-peer` documents (peer.json), e.g. before and after a change of `make serve`: ours'
    req/s, ratio to the peer and CPU per request in each, scenario by scenario."""
    lines = [
        "| scenario | ours req/s before / after | ours / peer before / after "
        "| our CPU ms/request before / after | p99 ours ms before / after |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, entry in after["scenarios"].items():
        old = before["scenarios"].get(name)
        if old is None:
            continue
        cpu_old, cpu_new = old["ours"].get("cpu_ms_per_request"), entry["ours"].get("cpu_ms_per_request")
        lines.append(
            f"| {name} | {_number(old['ours']['rps'])} / {_number(entry['ours']['rps'])} "
            f"| {_number(old['ratio'], 2)} / {_number(entry['ratio'], 2)} "
            f"| {_number(cpu_old, 2)} / {_number(cpu_new, 2)} "
            f"| {_number(old['ours']['p99_ms'], 1)} / {_number(entry['ours']['p99_ms'], 1)} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    import sys
    from pathlib import Path

    if len(sys.argv) != 3:
        raise SystemExit("python -m bench.peer_report BEFORE.json AFTER.json")
    print(compare(*(json.loads(Path(path).read_text()) for path in sys.argv[1:])))
