"""Run wrk for one scenario and read its result from the JSON line bench/report.lua prints in done()."""

import json
import re
import secrets
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPORT_LUA = Path(__file__).with_name("report.lua")
MARKER = "BENCH_RESULT "


def _lua_pattern_to_regex(pattern: str) -> str:
    parts, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "%" and pattern[index + 1 : index + 2] == "s":
            parts.append(r"\s")
            index += 2
            continue
        parts.append(char if char in "*+?" else re.escape(char))
        index += 1
    return "".join(parts)


@dataclass(frozen=True)
class Request:
    """One HTTP request that wrk repeats for a whole run."""

    method: str
    path: str
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # A Lua pattern every 2xx body must match (checked by report.lua), e.g. '"active"%s*:%s*true'.
    expect_body: str | None = None
    # Lua defining request(), when each request is built anew (a fleet scenario picks a client at random
    # per request, see bench.fleet); the fields above are then one example of what it sends. It may call
    # math.randomseed(bench_seed + ...): bench_seed is fresh for every wrk run.
    lua: str = ""

    def body_matches(self, body: str) -> bool:
        """The same check in Python, for the one-off calls (only `%s`, `*`, `+` and `?` are translated)."""
        if self.expect_body is None:
            return True
        return re.search(_lua_pattern_to_regex(self.expect_body), body) is not None


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    non_2xx: int
    bad_body: int
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    first_failure: str

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def socket_errors(self) -> int:
        # `status` is wrk's own count of 4xx/5xx, already in non_2xx.
        return sum(count for name, count in self.errors.items() if name != "status")


def lua_string(value: str) -> str:
    """A double-quoted Lua literal; every byte outside printable ASCII becomes a decimal escape."""
    out = []
    for byte in value.encode():
        char = chr(byte)
        if char in '"\\' or not 32 <= byte < 127:
            out.append(f"\\{byte:03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def script_for(request: Request) -> str:
    lines = [f"wrk.method = {lua_string(request.method)}"]
    lines.append(f"wrk.path = {lua_string(request.path)}")
    if request.body:
        lines.append(f"wrk.body = {lua_string(request.body)}")
    for name, value in request.headers.items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    expect = lua_string(request.expect_body) if request.expect_body is not None else "nil"
    lines.append(f"expect_body = {expect}")
    if request.lua:
        lines.append(f"bench_seed = {secrets.randbits(31)}")
        lines.append(request.lua)
    return "\n".join(lines) + "\n\n" + REPORT_LUA.read_text()


def run(
    base_url: str,
    request: Request,
    *,
    duration: float,
    connections: int,
    threads: int,
    timeout: float,
) -> WrkResult:
    """Run wrk for `duration` seconds; raises RuntimeError when wrk itself fails."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-") as script:
        script.write(script_for(request))
        script.flush()
        command = [
            "wrk",
            f"--threads={max(1, min(threads, connections))}",
            f"--connections={connections}",
            f"--duration={max(1, round(duration))}s",
            f"--timeout={max(1, round(timeout))}s",
            f"--script={script.name}",
            base_url + request.path,
        ]
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=duration + timeout + 30, check=False
        )
    line = next((line for line in completed.stdout.splitlines() if line.startswith(MARKER)), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip() or completed.stdout}")
    data: dict[str, Any] = json.loads(line[len(MARKER) :])
    latency = data["latency_us"]
    return WrkResult(
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        non_2xx=int(data["non_2xx"]),
        bad_body=int(data["bad_body"]),
        errors={name: int(count) for name, count in data["errors"].items()},
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        first_failure=data["first_failure"],
    )
