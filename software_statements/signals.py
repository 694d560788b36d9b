"""Abuse signals (README "Abuse signals"): what a leaked statement causes, raised from the hourly rows
(`StatementHour`) and the networks' counts by the signals task (`oauth.tasks.signals_compute`), never on a
request. Each kind compares a figure with a threshold of the settings (`dcr.signal_*`):

- surge: a statement's (or an application's) registrations this hour against its own trailing baseline,
  the hourly mean of the last `signal_baseline_days` days (of its life, when younger);
- foreign platform: registrations whose X-Device-Info names a platform the application was not made for;
- crowded network: many clients of one statement from one /24 or /48 in one hour;
- one token: clients whose first token came in an hour long enough ago, that never took a second.

A signal is raised once (a row, an e-mail); while the same thing goes on, the next window extends the
open row (figures, end, severity) instead. An acknowledged row is not raised again for its window.
"""

import datetime
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Sum

from core.conf import dcr
from registered_apps.models import RegisteredApplication

from .models import Signal, SignalKind, SignalSeverity, SoftwareStatement, StatementHour

HOUR = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class Found:
    kind: str
    application_id: Any
    statement_id: Any  # None: the application as a whole
    window_start: datetime.datetime
    figures: dict[str, Any]
    # The figure divided by its threshold (at least 1): `signal_critical_factor` or more is critical.
    ratio: float
    subject: str = ""

    @property
    def severity(self) -> str:
        critical = self.ratio >= float(dcr.signal_critical_factor)
        return SignalSeverity.CRITICAL if critical else SignalSeverity.WARNING


def current_hour(now: datetime.datetime) -> datetime.datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def _baseline_hours(born: datetime.datetime, hour: datetime.datetime) -> int:
    """Hours the baseline averages over: the last `signal_baseline_days` days, or the life so far."""
    lived = int((hour - born) / HOUR)
    return max(1, min(int(dcr.signal_baseline_days) * 24, lived))


def _surge(count: int, total: int, hours: int) -> tuple[float, dict[str, Any]] | None:
    baseline = total / hours
    threshold = max(float(dcr.signal_surge_min), float(dcr.signal_surge_factor) * baseline)
    if count < threshold:
        return None
    figures = {"registrations": count, "baseline_per_hour": round(baseline, 2), "threshold": round(threshold, 2)}
    figures["baseline_hours"] = hours
    return count / threshold, figures


def surges(hour: datetime.datetime) -> list[Found]:
    """Each statement's and each application's registrations of `hour` against its trailing baseline."""
    rows = list(StatementHour.objects.filter(hour=hour, registrations__gt=0).select_related("statement"))
    since = hour - datetime.timedelta(days=int(dcr.signal_baseline_days))
    past = StatementHour.objects.filter(hour__gte=since, hour__lt=hour)
    by_statement = dict(
        past.filter(statement__in=[row.statement_id for row in rows])
        .values_list("statement")
        .annotate(total=Sum("registrations"))
    )
    found = []
    per_application: dict[Any, int] = defaultdict(int)
    for row in rows:
        per_application[row.application_id] += row.registrations
        hours = _baseline_hours(row.statement.issued_at, hour)
        raised = _surge(row.registrations, by_statement.get(row.statement_id, 0), hours)
        if raised is not None:
            found.append(Found(SignalKind.SURGE, row.application_id, row.statement_id, hour, raised[1], raised[0]))
    by_application = dict(
        past.filter(application__in=list(per_application)).values_list("application").annotate(Sum("registrations"))
    )
    born = dict(RegisteredApplication.objects.filter(pk__in=list(per_application)).values_list("pk", "created_at"))
    for application_id, count in per_application.items():
        hours = _baseline_hours(born[application_id], hour)
        raised = _surge(count, by_application.get(application_id, 0), hours)
        # Raised for the application only when none of its statements was on its own (one e-mail, not two).
        if raised is not None and all(item.application_id != application_id for item in found):
            found.append(Found(SignalKind.SURGE, application_id, None, hour, raised[1], raised[0]))
    return found


def foreign_platforms(hour: datetime.datetime) -> list[Found]:
    found = []
    minimum, share = int(dcr.signal_foreign_min), float(dcr.signal_foreign_share)
    for row in StatementHour.objects.filter(hour=hour).exclude(foreign_platforms={}):
        foreign = sum(row.foreign_platforms.values())
        if foreign >= minimum and foreign >= share * max(row.registrations, 1):
            figures = {
                "registrations": row.registrations,
                "foreign_registrations": foreign,
                "platforms": dict(sorted(row.foreign_platforms.items())),
                "threshold": minimum,
            }
            found.append(
                Found(
                    SignalKind.FOREIGN_PLATFORM, row.application_id, row.statement_id, hour, figures, foreign / minimum
                )
            )
    return found


def one_token_clients(now: datetime.datetime) -> list[Found]:
    """Hours that ended at least `signal_one_token_wait` seconds ago (within the day before that)."""
    latest = current_hour(now - datetime.timedelta(seconds=int(dcr.signal_one_token_wait))) - HOUR
    minimum, share = int(dcr.signal_one_token_min), float(dcr.signal_one_token_share)
    found = []
    rows = StatementHour.objects.filter(hour__lte=latest, hour__gt=latest - datetime.timedelta(days=1))
    for row in rows.filter(first_tokens__gte=minimum):
        never = row.first_tokens - row.second_tokens
        if never >= minimum and never >= share * row.first_tokens:
            figures = {"first_tokens": row.first_tokens, "never_came_back": never, "threshold": minimum}
            found.append(
                Found(SignalKind.ONE_TOKEN, row.application_id, row.statement_id, row.hour, figures, never / minimum)
            )
    return found


def crowded_networks(entries: Iterable[Any]) -> list[Found]:
    """`entries`: the networks' counts at or over `signal_network_min` (`oauth.signal_flush.NetworkCount`)."""
    entries = list(entries)
    jtis = set()
    for entry in entries:
        try:
            jtis.add(uuid.UUID(entry.statement_jti))
        except ValueError:
            continue
    known = dict(SoftwareStatement.objects.filter(pk__in=jtis).values_list("pk", "application_id"))
    minimum = int(dcr.signal_network_min)
    found = []
    for entry in entries:
        try:
            application_id = known[uuid.UUID(entry.statement_jti)]
        except (KeyError, ValueError):
            continue
        start = datetime.datetime.strptime(entry.hour, "%Y%m%d%H").replace(tzinfo=datetime.UTC)
        figures = {"network": entry.network, "clients": entry.clients, "threshold": minimum}
        ratio = entry.clients / minimum
        found.append(
            Found(
                SignalKind.CROWDED_NETWORK,
                application_id,
                entry.statement_jti,
                start,
                figures,
                ratio,
                entry.network[:64],
            )
        )
    return found


# --- Raising ---------------------------------------------------------------------------------------------


def signal_raise(found: Found) -> Signal | None:
    """The new signal, or None when an open one was extended (or an acknowledged one covers the window)."""
    end = found.window_start + HOUR
    with transaction.atomic():
        # One raise at a time per application: two overlapping runs cannot raise the same signal twice.
        RegisteredApplication.objects.select_for_update().filter(pk=found.application_id).first()
        existing = (
            Signal.objects.filter(
                kind=found.kind,
                application_id=found.application_id,
                statement_id=found.statement_id,
                subject=found.subject,
                window_end__gte=found.window_start,
            )
            .order_by("-window_end")
            .first()
        )
        if existing is not None and existing.acknowledged_at is None:
            existing.window_end = max(existing.window_end, end)
            existing.figures = found.figures
            if found.severity == SignalSeverity.CRITICAL:
                existing.severity = SignalSeverity.CRITICAL
            existing.save(update_fields=["window_end", "figures", "severity", "updated_at"])
            return None
        if existing is not None and existing.window_end >= end:
            return None
        return Signal.objects.create(
            kind=found.kind,
            severity=found.severity,
            application_id=found.application_id,
            statement_id=found.statement_id,
            subject=found.subject,
            window_start=found.window_start,
            window_end=end,
            figures=found.figures,
        )


def signals_raise(*, now: datetime.datetime, networks: Iterable[Any] = ()) -> list[Signal]:
    """Every kind, for `now`; returns the signals raised (new rows), each to be e-mailed once."""
    hour = current_hour(now)
    found = [*surges(hour), *foreign_platforms(hour), *one_token_clients(now), *crowded_networks(networks)]
    raised = [signal_raise(item) for item in found]
    return [signal for signal in raised if signal is not None]
