"""load_client_records [--batch N]"""

from typing import Any

from core.progress import ProgressMeter
from oauth.records import client_records_load_all
from registered_apps.management.commands._base import RegistryCommand


class Command(RegistryCommand):
    help = (
        "Write the record of every active client to the hot-path store (Redis), in batches. After Redis "
        "lost its data, or a bulk import; otherwise each record comes back at its client's next request."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=5000, help="clients per batch (default 5000)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] < 1:
            self.fail("--batch must be at least 1.")
        # Progress on stderr: a bar on a terminal, a line each 10% (and every 10 s) otherwise.
        with ProgressMeter("Loading client records", stream=self.stderr) as progress:
            loaded = client_records_load_all(batch_size=options["batch"], progress=progress)
        self.stdout.write(f"Loaded the records of {loaded} active clients.")
