"""What the numbers were measured on: CPU, cores, memory, load, and the versions that matter."""

import os
import platform
import subprocess
from importlib import metadata
from typing import Any


def _first_line_with(path: str, prefix: str) -> str:
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def _wrk_version() -> str:
    try:
        completed = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=5, check=False)
    except OSError:
        return ""
    line = (completed.stdout or completed.stderr).splitlines()[:1]
    return line[0].split(" Copyright")[0].strip() if line else ""


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def describe(*, postgres_version: str = "", redis_version: str = "") -> dict[str, Any]:
    memory_kib = _first_line_with("/proc/meminfo", "MemTotal").split()
    return {
        "cpu_model": _first_line_with("/proc/cpuinfo", "model name") or platform.processor(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_gb": round(int(memory_kib[0]) / 1024 / 1024, 1) if memory_kib else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": _version("Django"),
        "granian": _version("granian"),
        "psycopg": _version("psycopg"),
        "postgresql": postgres_version,
        "redis": redis_version,
        "wrk": _wrk_version(),
        "load_average_at_start": load_average(),
    }
