"""The CSV downloads: the changes log (same environment filter as the page) and the usage report."""

from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from .. import selectors
from ..csv_export import csv_response
from ..models import PushedChange
from ..push_failures import failure_text_english
from .areas import Area, for_channel, for_programmer, log_environment
from .usage_days import usage_in_window, usage_per_application, usage_series, usage_window

CHANGES_COLUMNS = [
    "push",
    "pushed_at_utc",
    "environment",
    "status",
    "pushed_by",
    "description",
    "failure",
    "change",
    "kind",
    "entity_type",
    "entity_id",
    "entity_label",
    "property",
    "old",
    "new",
]
USAGE_BY_APPLICATION_COLUMNS = ["software_id", "name", "version", "status", "environment", "registrations", "tokens"]


def _stamp() -> str:
    return timezone.now().strftime("%Y%m%dT%H%M%SZ")


def _change_rows(change: PushedChange) -> Iterator[list[Any]]:
    """One row per changed property of a pushed change (one row when it lists none)."""
    push = change.push
    # The CSV is for machines: its labels stay in English whatever the page's language.
    with translation.override("en"):
        status, kind = str(push.get_status_display()), str(change.get_kind_display())
    head = [
        push.pk,
        push.pushed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        push.environment.name,
        status,
        push.pushed_by.get_username() if push.pushed_by else "",
        push.description,
        failure_text_english(push.failure),
        change.position,
        kind,
        change.entity_type,
        change.entity_id,
        change.entity_label,
    ]
    for item in change.properties or [{}]:
        yield [*head, item.get("property"), item.get("old"), item.get("new")]


def changes_csv(request: HttpRequest, area: Area) -> HttpResponse:
    """The changes log (same environment filter) as CSV: one row per changed property."""
    environment = log_environment(request)
    pushes = selectors.pushes_visible_in(
        area.user,
        area.programmer,
        area.channel,
        environment_id=environment.id if environment else None,
        known_reach=area.reach,
    )
    changed = (
        selectors.pushed_changes_visible_in(area.user, area.programmer, area.channel, known_reach=area.reach)
        .filter(push__in=pushes)
        .select_related("push__environment", "push__pushed_by")
        .order_by("-push__pushed_at", "-push_id", "position")
    )
    rows = (row for change in changed.iterator(chunk_size=500) for row in _change_rows(change))
    scope = environment.slug if environment else "all-environments"
    return csv_response(f"changes_{area.slug}_{scope}_{_stamp()}.csv", CHANGES_COLUMNS, rows)


def usage_csv(request: HttpRequest, area: Area) -> HttpResponse:
    """The usage tab's numbers as CSV: per UTC day (the charts), or per application (`?by=application`)."""
    start, end = usage_window()
    in_window = usage_in_window(area.applications(), (start, end))
    name = f"usage_{area.slug}_{area.environment.slug}_{start:%Y%m%d}-{end:%Y%m%d}"
    if request.GET.get("by") == "application":
        totals = usage_per_application(in_window).order_by("-tokens", "-registrations", "application_id")
        return csv_response(
            f"{name}_by_application.csv",
            USAGE_BY_APPLICATION_COLUMNS,
            (
                [
                    str(row["application_id"]),
                    row["application__name"],
                    row["application__version"],
                    row["application__status"],
                    area.environment.name,
                    row["registrations"] or 0,
                    row["tokens"] or 0,
                ]
                for row in totals
            ),
        )
    return csv_response(
        f"{name}.csv",
        ["day_utc", "registrations", "tokens"],
        ([day.day.isoformat(), day.registrations, day.tokens] for day in usage_series(in_window)),
    )


programmer_changes_csv = for_programmer(changes_csv)
programmer_usage_csv = for_programmer(usage_csv)
channel_changes_csv = for_channel(changes_csv)
channel_usage_csv = for_channel(usage_csv)
