"""The command `make serve` runs to start the web server (`make -n serve`), so that `make bench` starts
the server, its worker model and its configuration exactly as operators run it; only the settings
module is swapped for the benchmark's (dcr_project.settings.bench, which adds the floor view; README
"Performance" lists every difference)."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_SETTINGS = "dcr_project.settings.production"


def serve_command(*, host: str, port: int, workers: int, settings_module: str = PRODUCTION_SETTINGS) -> str:
    """The last command of `make serve`'s recipe (the server; collectstatic comes before it), for `sh -c`.

    WEB_CONCURRENCY carries the worker count, as the README tells operators."""
    completed = subprocess.run(
        ["make", "-n", "--no-print-directory", "serve", f"HOST={host}", f"PORT={port}"],
        cwd=ROOT, env={**os.environ, "WEB_CONCURRENCY": str(workers)}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = [line.strip() for line in completed.stdout.replace("\\\n", " ").splitlines() if line.strip()]
    if not lines:
        raise RuntimeError("make -n serve printed no command")
    command = " ".join(lines[-1].split())
    if settings_module != PRODUCTION_SETTINGS:
        if PRODUCTION_SETTINGS not in command:
            raise RuntimeError(f"make serve's command does not name {PRODUCTION_SETTINGS}: {command}")
        command = command.replace(PRODUCTION_SETTINGS, settings_module)
    return command
