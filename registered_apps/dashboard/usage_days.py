"""Registrations and tokens per UTC day over the last USAGE_DAYS days: the usage tab, an application's
page and the usage CSV read them the same way."""

from dataclasses import dataclass
from datetime import UTC, date, timedelta

from django.db.models import QuerySet, Sum
from django.utils import timezone

from ..models import UsageDaily

USAGE_DAYS = 30


@dataclass(frozen=True)
class UsageDay:
    day: date
    registrations: int
    tokens: int


def usage_window() -> tuple[date, date]:
    """The last USAGE_DAYS UTC days, today included."""
    end = timezone.now().astimezone(UTC).date()
    return end - timedelta(days=USAGE_DAYS - 1), end


def usage_series(rows: QuerySet[UsageDaily]) -> list[UsageDay]:
    """One entry per day of the window, zeros included, summed over platforms and applications."""
    start, _ = usage_window()
    totals = {
        row["day"]: row
        for row in rows.order_by().values("day").annotate(registrations=Sum("registrations"), tokens=Sum("tokens"))
    }
    series = []
    for offset in range(USAGE_DAYS):
        day = start + timedelta(days=offset)
        row = totals.get(day, {})
        series.append(UsageDay(day=day, registrations=row.get("registrations") or 0, tokens=row.get("tokens") or 0))
    return series


def usage_in_window(applications: QuerySet, window: tuple[date, date] | None = None) -> QuerySet[UsageDaily]:
    """The usage rows of these applications in the window (`usage_window()` unless given)."""
    start, end = window or usage_window()
    return UsageDaily.objects.filter(application__in=applications, day__gte=start, day__lte=end)


def usage_per_application(in_window: QuerySet[UsageDaily]) -> QuerySet:
    """Registrations and tokens summed per application (the caller orders them)."""
    return (
        in_window.order_by()
        .values("application_id", "application__name", "application__version", "application__status")
        .annotate(registrations=Sum("registrations"), tokens=Sum("tokens"))
    )
