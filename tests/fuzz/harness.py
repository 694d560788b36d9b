"""What the fuzz targets share: Django on a throwaway SQLite database, the project's modules loaded under
atheris' coverage instrumentation, and the loop that runs a target for a bounded time.

A target's invariant: the function under test returns, or raises one of its documented exceptions.
Anything else escapes, and atheris records the input as a crash (a file under FUZZ_ARTIFACTS) and stops.
"""

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[2]
# The project's own packages are instrumented, so coverage of their branches guides the mutations.
INSTRUMENTED = ["core", "software_statements", "oauth", "registered_apps"]


def django_setup() -> None:
    """Test settings on a new SQLite file (never the checkout's db.sqlite3), migrated."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "dcr_project.settings.test"
    os.environ.pop("REDIS_URL", None)
    database = Path(tempfile.mkdtemp(prefix="dcr-fuzz-")) / "fuzz.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    with atheris.instrument_imports(include=INSTRUMENTED):
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def run(target: Callable[[bytes], None], seeds: dict[str, bytes]) -> None:
    """Fuzz `target` with libFuzzer's options from the command line (make fuzz passes the time limit and
    the corpus directory); the seeds are written to the corpus directory first."""
    corpus = next((Path(arg) for arg in sys.argv[1:] if not arg.startswith("-")), None)
    if corpus is not None:
        corpus.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (corpus / f"seed-{name}").write_bytes(data)
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()
