"""`python -m tests.cluster` (`make cluster-test`): the full cluster scenario; prints its table, writes it to
bench/results/cluster.md, and exits non-zero when a rule was broken (scenario.problems).

  --reduced          the short scenario CI runs (tests/cluster/test_cluster.py)
  --json PATH        the report as JSON as well
  --markdown PATH    where the table goes (default: bench/results/cluster.md for a full run, nowhere for a
                     reduced one)

Needs root (network namespaces), iproute2, Debian's PostgreSQL server binaries and redis-server, and for
the full run wrk (`make bench` installs it). CLUSTER_LOCK_WAIT (900) seconds to wait for a benchmark or
another cluster run on this machine to finish.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from tests.cluster.harness import namespaces_missing
from tests.cluster.scenario import Config, problems, run, table, write_markdown

RESULTS = Path(__file__).resolve().parent.parent.parent / "bench" / "results" / "cluster.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--reduced", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    arguments = parser.parse_args(argv)
    missing = namespaces_missing()
    if missing:
        print(f"cluster test impossible here: {missing}", file=sys.stderr)
        return 2
    config = Config.make(full=not arguments.reduced)
    if config.throughput_seconds:
        from bench.services import ensure_wrk

        ensure_wrk()
    base = Path(tempfile.mkdtemp(prefix="dcr-cluster-"))
    report = run(config, base)
    found = report.problems = problems(report)
    print("\n" + table(report) + "\n", flush=True)
    if arguments.json:
        arguments.json.write_text(report.as_json())
    markdown = arguments.markdown or (None if arguments.reduced else RESULTS)
    if markdown:
        write_markdown(
            report, markdown, "make cluster-test" if not arguments.reduced else "python -m tests.cluster --reduced"
        )
        print(f"table written to {markdown}")
    if found:
        print("PROBLEMS:\n- " + "\n- ".join(found) + f"\n(node logs kept in {base})", file=sys.stderr)
        return 1
    shutil.rmtree(base, ignore_errors=True)
    return 0


sys.exit(main())
