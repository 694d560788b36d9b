"""Celery tasks of the oauth layer: the usage flush, clean-up (token denylist, idle clients marked then
purged, flush ledger) and the republishing of recent revocation stamps. Each is safe to run twice or
concurrently."""

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from celery import shared_task
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.conf import dcr
from core.hot_store import hot_store
from core.hot_store.signal_counts import signal_hour
from core.revocation import Revoked, stamp_lifetime
from core.stamps import revocation_stamp_write
from registered_apps.models import ApplicationStatus, AuditEvent, RegisteredApplication
from registered_apps.services import application_quotas_republish
from registered_apps.tasks import task_enqueue_on_commit
from software_statements import signals
from software_statements.models import SoftwareStatement
from software_statements.tasks import signal_email

from . import usage_flush as flush
from .models import Client, DeniedToken
from .signal_flush import crowded_networks, signal_counts_flush

if TYPE_CHECKING:  # rich is imported by the commands that show progress, not by every worker
    from core.progress import ProgressMeter

logger = logging.getLogger(__name__)

IDLE_BATCH = 500
# Clients deleted per transaction by the purge: row locks on that many rows for a few milliseconds.
PURGE_BATCH = 1000
# Expired tokens are refused with a 30 s leeway; keep their denylist rows a little longer than that.
DENYLIST_LEEWAY = timedelta(seconds=120)


@shared_task(name="oauth.usage_flush")
def usage_flush() -> dict[str, int]:
    return vars(flush.usage_flush())


@shared_task(name="oauth.usage_flush_ledger_purge")
def usage_flush_ledger_purge() -> int:
    return flush.usage_flush_ledger_purge()


def denied_tokens_purge_expired(*, now: datetime | None = None) -> int:
    """Delete denylist rows of tokens that have expired anyway; returns how many."""
    cutoff = (now or timezone.now()) - DENYLIST_LEEWAY
    return DeniedToken.objects.filter(expires_at__lt=cutoff).delete()[0]


@shared_task(name="oauth.denied_tokens_purge")
def denied_tokens_purge() -> int:
    return denied_tokens_purge_expired()


def idle_before(cutoff: datetime) -> Q:
    """Clients idle since before `cutoff`: last used before it, or never used and created before it.
    `last_used_at` is read as the database has it (the usage flush may write it a little late)."""
    return Q(last_used_at__lt=cutoff) | Q(last_used_at__isnull=True, created__lt=cutoff)


def clients_idle_mark(*, idle_days: int, now: datetime | None = None) -> int:
    """Mark (`idle_since`) and audit the live clients unused for `idle_days` days; they are not deleted
    and keep working. A marked client that was used again loses its mark. Returns how many were marked."""
    if idle_days <= 0:
        return 0
    now = now or timezone.now()
    cutoff = now - timedelta(days=idle_days)
    Client.objects.filter(idle_since__isnull=False, last_used_at__gt=F("idle_since")).update(idle_since=None)
    candidates = Client.objects.filter(idle_since__isnull=True, revoked_at__isnull=True).filter(idle_before(cutoff))
    marked = 0
    while True:
        with transaction.atomic():
            batch = list(
                candidates.select_for_update(skip_locked=True, of=("self",))
                .select_related("registered_application")
                .order_by("pk")[:IDLE_BATCH]
            )
            if not batch:
                return marked
            Client.objects.filter(pk__in=[client.pk for client in batch]).update(idle_since=now)
            AuditEvent.objects.bulk_create(
                [
                    AuditEvent(
                        actor_label="system",
                        action="client.idle",
                        object_type="client",
                        object_id=str(client.pk),
                        object_repr=client.client_id[:255],
                        programmer_id=(
                            client.registered_application.programmer_id if client.registered_application else None
                        ),
                        details={
                            "client_id": client.client_id,
                            "software_id": str(client.registered_application_id or ""),
                            "last_used_at": client.last_used_at.isoformat() if client.last_used_at else None,
                            "idle_days": idle_days,
                        },
                    )
                    for client in batch
                ]
            )
            marked += len(batch)


@shared_task(name="oauth.clients_mark_idle")
def clients_mark_idle() -> int:
    return clients_idle_mark(idle_days=dcr.client_idle_days)


def clients_purge_cutoff(*, purge_days: int, now: datetime | None = None) -> datetime:
    """Clients idle since before this go: `purge_days` ago, but never later than a stamp's lifetime ago
    (`core.revocation.stamp_lifetime`: longer than an access token's life and a stored client record's),
    so that no purged client still holds an unexpired access token or a record in the store."""
    floor = timedelta(seconds=stamp_lifetime())
    return (now or timezone.now()) - max(timedelta(days=purge_days), floor)


def clients_idle_purge(
    *,
    purge_days: int,
    now: datetime | None = None,
    batch_size: int = PURGE_BATCH,
    actor: str = "system",
    progress: "ProgressMeter | None" = None,
) -> int:
    """Delete the clients idle for `purge_days` days (0 turns the purge off); returns how many.

    Revoked clients idle as long go too: they can never get a token again, and their revocation stays
    in the audit trail. The cutoff is `clients_purge_cutoff`. Batches of `batch_size` rows, each locked
    (SKIP LOCKED: a row another transaction holds waits for the next run), deleted by primary key (their
    denylist rows cascade) and audited as one `client.purge` event with the count per application, in
    its own short transaction; the next batch starts after the last primary key, so no row is read twice."""
    if purge_days <= 0:
        return 0
    cutoff = clients_purge_cutoff(purge_days=purge_days, now=now)
    candidates = Client.objects.filter(idle_before(cutoff))
    if progress is not None:  # counted once per batch
        progress.set_total(candidates.count())
    purged = 0
    after = 0
    while True:
        with transaction.atomic():
            batch = list(
                candidates.filter(pk__gt=after)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")
                .values_list("pk", "registered_application_id", "registered_application__programmer_id", "client_id")[
                    :batch_size
                ]
            )
            if not batch:
                return purged
            Client.objects.filter(pk__in=[pk for pk, _, _, _ in batch]).delete()
            client_ids = [client_id for _, _, _, client_id in batch]
            transaction.on_commit(lambda ids=client_ids: hot_store().client_records_drop(ids))  # type: ignore[misc]
            per_application = Counter(str(application_id or "") for _, application_id, _, _ in batch)
            programmers = {programmer_id for _, _, programmer_id, _ in batch}
            AuditEvent.objects.create(
                actor_label=actor,
                action="client.purge",
                object_type="client",
                object_id=f"{batch[0][0]}-{batch[-1][0]}",
                object_repr=f"{len(batch)} clients idle since before {cutoff:%Y-%m-%d %H:%M} UTC",
                # One programmer's changes log shows the batch when all its clients were that programmer's.
                programmer_id=programmers.pop() if len(programmers) == 1 else None,
                details={
                    "deleted": len(batch),
                    "per_application": dict(sorted(per_application.items())),
                    "cutoff": cutoff.isoformat(),
                    "purge_days": purge_days,
                },
            )
        purged += len(batch)
        after = batch[-1][0]
        if progress is not None:
            progress.advance(len(batch))


@shared_task(name="oauth.clients_purge_idle")
def clients_purge_idle() -> int:
    return clients_idle_purge(purge_days=dcr.client_purge_days)


def revocation_stamps_republish_recent(*, now: datetime | None = None) -> int:
    """Write again the stamps of applications, statements, clients and tokens revoked within a stamp's
    lifetime (`core.revocation.stamp_lifetime`: the longest of an access token's life and a client
    record's), so that a stamp lost while Redis was down (or flushed) comes back; then drops the older
    stamps the store keeps as hash fields, which do not expire (`ClusterStore.stamps_prune`). Returns
    how many were written; stops at the first Redis failure (the next run tries again)."""
    since = (now or timezone.now()) - timedelta(seconds=stamp_lifetime())
    revoked = [
        (
            "app",
            RegisteredApplication.objects.filter(status=ApplicationStatus.REVOKED, revoked_at__gte=since).values_list(
                "pk", "revoked_at"
            ),
        ),
        ("stmt", SoftwareStatement.objects.filter(revoked_at__gte=since).values_list("jti", "revoked_at")),
        ("client", Client.objects.filter(revoked_at__gte=since).values_list("client_id", "revoked_at")),
        ("token", DeniedToken.objects.filter(revoked_at__gte=since).values_list("jti", "revoked_at")),
    ]
    written = 0
    for kind, rows in revoked:
        for ident, revoked_at in rows.iterator():
            assert revoked_at is not None  # the filter is revoked_at >= since
            if not revocation_stamp_write(Revoked(kind), ident, revoked_at.timestamp()):
                return written
            written += 1
    hot_store().newest_stamps_complete()
    hot_store().stamps_prune(since.timestamp())
    application_quotas_republish()  # README "Quotas": the store's copy of each application's own values
    return written


@shared_task(name="oauth.revocation_stamps_republish")
def revocation_stamps_republish() -> int:
    return revocation_stamps_republish_recent()


def signals_compute_now(*, now: datetime | None = None) -> list[int]:
    """The abuse signals' run (README "Abuse signals"): the hot path's counters into the hourly rows, then
    every kind checked; each new signal is e-mailed once (after its row committed). Returns their ids."""
    now = now or timezone.now()
    signal_counts_flush()
    hour = signals.current_hour(now)
    hours = [signal_hour((hour - timedelta(hours=back)).timestamp()) for back in (0, 1)]
    raised = signals.signals_raise(now=now, networks=crowded_networks(hours, int(dcr.signal_network_min)))
    for signal in raised:
        task_enqueue_on_commit(signal_email, signal.pk)
        logger.warning(
            "abuse signal %s raised: %s (%s) on application %s, statement %s",
            signal.pk,
            signal.kind,
            signal.severity,
            signal.application_id,
            signal.statement_id,
        )
    return [signal.pk for signal in raised]


@shared_task(name="oauth.signals_compute")
def signals_compute() -> list[int]:
    return signals_compute_now()
