"""The abuse signals and the per-statement registrations on the dashboard (README "Abuse signals"): what
a programmer sees of the signals the TAMs get, and the counts that tell a leaked statement from the others.

The signals and the hourly rows are `software_statements`' models, a layer above this one: they are
reached through the applications' reverse relations (`signals`, `statement_hours`), never imported."""

import datetime
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..models import RegisteredApplication

# Days of registrations shown per statement on an application's page, and how far back its signals go.
STATEMENT_DAYS = 7
SIGNAL_DAYS = 30
HOME_SIGNALS = 20


def _signal_model() -> Any:
    return RegisteredApplication._meta.get_field("signals").related_model


def application_signals(application: RegisteredApplication) -> list[Any]:
    """The application's signals of the last `SIGNAL_DAYS` days, newest first."""
    since = timezone.now() - datetime.timedelta(days=SIGNAL_DAYS)
    return list(application.signals.filter(window_end__gte=since).order_by("-created_at")[:50])  # type: ignore[attr-defined]


def open_signals(applications: QuerySet[RegisteredApplication]) -> list[Any]:
    """The open (not acknowledged) signals of `applications`, newest first, for the home page."""
    signals = _signal_model().objects.filter(application__in=applications, acknowledged_at__isnull=True)
    return list(signals.select_related("application").order_by("-created_at")[:HOME_SIGNALS])


def statement_days(application: RegisteredApplication, statements: list[Any]) -> list[datetime.date]:
    """Set `registrations_by_day` on each statement: its registrations on each of the last
    `STATEMENT_DAYS` UTC days (oldest first); returns those days. One grouped query."""
    today = timezone.now().astimezone(datetime.UTC).date()
    days = [today - datetime.timedelta(days=back) for back in range(STATEMENT_DAYS - 1, -1, -1)]
    start = datetime.datetime.combine(days[0], datetime.time(), tzinfo=datetime.UTC)
    rows = (
        application.statement_hours.filter(hour__gte=start, statement__in=[s.pk for s in statements])  # type: ignore[attr-defined]
        .annotate(day=TruncDate("hour", tzinfo=datetime.UTC))
        .values("statement_id", "day")
        .annotate(total=Sum("registrations"))
        .order_by()
    )
    counts = {(row["statement_id"], row["day"]): row["total"] for row in rows}
    for statement in statements:
        statement.registrations_by_day = [counts.get((statement.pk, day), 0) for day in days]
    return days
