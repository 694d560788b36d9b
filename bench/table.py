"""The table `make bench` prints (bench.run): one row per scenario, with its ratio to the floor and its target."""

from typing import Any


def _rss(values: list[float]) -> str:
    return " / ".join(f"{value:,.0f}" for value in values) + " MiB" if values else "not found"


def _cell(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _status(entry: dict[str, Any]) -> str:
    """The status column: ok, failed or not available with the reason, and notes on targets and memory."""
    status = entry.get("status", "")
    if status == "not available":
        status = f"not available: {entry.get('reason', '')}"
    elif status == "failed":
        status = f"FAILED: {str(entry.get('reason', ''))[:160]}"
    if entry.get("slices_rps_min") is not None:
        status += f" (floor slices between scenarios: {entry['slices_rps_min']:,.0f} to {entry['slices_rps_max']:,.0f})"
    target = entry.get("target_ratio")
    ratio = entry.get("ratio_to_floor")
    if target is not None and ratio is not None:
        status += " (target met)" if ratio >= target else f" (target missed by {target - ratio:.2f})"
    if entry.get("worker_rss_mib") is not None:
        status += f"; worker RSS after it {_rss(entry['worker_rss_mib'])}"
    return status + _page_notes(entry)


def _page_notes(entry: dict[str, Any]) -> str:
    """A dashboard page's notes: under or over its p50 target, and whether its queries stay constant."""
    target_ms = entry.get("target_p50_ms")
    if target_ms is None:
        return ""
    notes = ""
    p50 = entry.get("p50_ms")
    if p50 is not None:
        notes += f" (under {target_ms:.0f} ms)" if p50 < target_ms else f" (over {target_ms:.0f} ms)"
    if entry.get("queries_small_data") is not None:
        same = "constant" if entry.get("queries_constant") else "NOT constant"
        notes += f"; queries {same} ({entry.get('queries')} vs {entry.get('queries_small_data')} on small data)"
    return notes


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| scenario | req/s | p50 ms | p99 ms | non-2xx | x floor | (floor req/s) | target | queries | status |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    floor_rps = results.get("floor", {}).get("rps")
    for name, entry in results.items():
        status = _status(entry)
        ratio = entry.get("ratio_to_floor")
        target = entry.get("target_ratio")
        digits = 3 if ratio is None or ratio >= 0.01 else 4
        cells = [
            name,
            _cell(entry.get("rps")),
            _cell(entry.get("p50_ms"), 2),
            _cell(entry.get("p99_ms"), 2),
            _cell(entry.get("non_2xx")),
            _cell(ratio, digits),
            _cell(entry.get("floor_rps") or (floor_rps if ratio is not None and name != "floor" else None)),
            _cell(target, 2),
            _cell(entry.get("queries"), 2),
            status.replace("|", "/"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
