"""Compile the translation catalogues (locale/*/LC_MESSAGES/*.po -> .mo) with polib, in pure Python.

Django's `compilemessages` needs GNU gettext's msgfmt, which a newcomer's machine may lack; polib (pinned in
requirements.lock) writes the same .mo. `make install` runs this, so `make run`, `make serve` and `make test`
serve the catalogues as they are in the .po files; the tests' conftest runs it too. A .mo is rewritten only
when its .po is newer (or it is missing). The .mo files are built, never committed (.gitignore).

`python tools/compile_messages.py` from the project's root; prints what it compiled.
"""

import os
import sys
from pathlib import Path

import polib  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"


def compile_messages(locale: Path = LOCALE, *, force: bool = False) -> list[Path]:
    """Compile each .po under `locale` whose .mo is missing or older; returns the .mo files written."""
    written = []
    for po_path in sorted(locale.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        catalogue = polib.pofile(str(po_path))
        # A fuzzy entry is a guess: like msgfmt, leave it out (the English shows instead).
        for entry in catalogue:
            if "fuzzy" in entry.flags:
                entry.obsolete = True
        temporary = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")
        catalogue.save_as_mofile(str(temporary))
        temporary.replace(mo_path)
        written.append(mo_path)
    return written


def main() -> int:
    for path in compile_messages(force="--force" in sys.argv[1:]):
        print(f"compiled {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
