"""purge_idle_clients [--days N] [--dry-run] [--batch N]"""

from typing import Any

from core.conf import dcr
from core.progress import ProgressMeter
from oauth.models import Client
from oauth.tasks import PURGE_BATCH, clients_idle_purge, clients_purge_cutoff, idle_before
from registered_apps.management.commands._base import RegistryCommand


class Command(RegistryCommand):
    help = (
        "Delete the clients idle for DCR_CLIENT_PURGE_DAYS days (or --days), in batches, one audit event each; "
        "what beat runs daily, for the embedded default (no beat) or a first purge by hand."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, help="idle days before a client goes (default: DCR_CLIENT_PURGE_DAYS)")
        parser.add_argument("--dry-run", action="store_true", help="only count the clients that would go")
        parser.add_argument(
            "--batch", type=int, default=PURGE_BATCH, help=f"clients per batch and audit event (default {PURGE_BATCH})"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = dcr.client_purge_days if options["days"] is None else options["days"]
        if days < 0:
            self.fail("--days must be 0 (off) or more.")
        if options["batch"] < 1:
            self.fail("--batch must be at least 1.")
        if days == 0:
            self.stdout.write("The purge is off (0 days): nothing deleted.")
            return
        if options["dry_run"]:
            count = Client.objects.filter(idle_before(clients_purge_cutoff(purge_days=days))).count()
            self.stdout.write(f"{count} clients idle for {days} days would be deleted.")
            return
        # Progress on stderr: a bar on a terminal, a line each 10% (and every 10 s) otherwise.
        with ProgressMeter("Purging idle clients", stream=self.stderr) as progress:
            purged = clients_idle_purge(
                purge_days=days, batch_size=options["batch"], actor="command:purge_idle_clients", progress=progress
            )
        self.stdout.write(f"Deleted {purged} clients idle for {days} days.")
