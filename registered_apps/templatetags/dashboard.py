"""Template helpers of the dashboard: the environment bar (menu and pending changes), old and new values
of changes, and the usage chart (inline SVG, no script, no CDN).

The SVG draws only the plot (grid lines and bars) and stretches to any width; the axis labels are HTML,
so they keep the page's type size from a 375 px phone to a wide screen (labels inside a scaled SVG shrink
with it). They are placed by classes, never a style attribute (the Content-Security-Policy allows no
inline style): the value labels sit at 0, 50 or 100 % of the height, and the day labels in a row of one
equal slot per day, centred on their day (the first and last flush with the plot's edges)."""

import math
from collections.abc import Sequence
from typing import Any, Protocol

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils import dateformat, formats, timezone, translation
from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..change_descriptions import TRANSLATED_VALUES
from ..dashboard_environment import dashboard_environment
from ..environments import environments_all
from ..push_failures import failure_text

register = template.Library()

# The plot's own coordinates; the SVG is stretched to the figure (preserveAspectRatio="none").
WIDTH = 600
HEIGHT = 120
METRICS = [
    ("registrations", _("Registrations per day"), "bar-registrations"),
    ("tokens", _("Tokens issued per day"), "bar-tokens"),
]


class _Day(Protocol):
    day: Any
    registrations: int
    tokens: int


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value` (and at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _chart(series: Sequence[_Day], metric: str, title: Any, css_class: str) -> dict[str, Any]:
    values = [int(getattr(day, metric)) for day in series]
    ceiling = _nice_ceiling(max(values, default=0))
    slot = WIDTH / max(len(values), 1)
    bar_width = max(slot * 0.68, 1.0)
    bars = []
    for index, (day, value) in enumerate(zip(series, values, strict=True)):
        height = HEIGHT * value / ceiling
        bars.append(
            {
                "x": round(index * slot + (slot - bar_width) / 2, 2),
                "y": round(HEIGHT - height, 2),
                "width": round(bar_width, 2),
                "height": round(height, 2),
                "value": value,
                "day": day.day,
            }
        )
    grid = [
        {
            "y": round(HEIGHT * (1 - fraction), 2),
            "level": round(fraction * 100),
            "label": thousands(round(ceiling * fraction)),
        }
        for fraction in (0, 0.5, 1)
        if fraction == 0 or ceiling * fraction == int(ceiling * fraction)
    ]
    label_every = max(len(series) // 4, 1)
    x_labels = [
        {"day": day.day, "anchor": "middle", "index": index}
        for index, day in enumerate(series)
        if index % label_every == 0 or index == len(series) - 1
    ]
    if len(x_labels) >= 2 and x_labels[-1]["index"] - x_labels[-2]["index"] < 4:
        del x_labels[-2]
    # The outer labels line up with the plot's edges instead of spilling over them; on a phone only
    # they are shown (the middle ones are "minor").
    for label in x_labels[1:-1]:
        label["minor"] = True
    if x_labels:
        x_labels[0].update(anchor="start")
        x_labels[-1].update(anchor="end")
    labels_by_index = {label["index"]: label for label in x_labels}
    x_slots = [labels_by_index.get(index) for index in range(len(series))]
    return {
        "metric": metric,
        "title": title,
        "css_class": css_class,
        "total": sum(values),
        "bars": bars,
        "grid": grid,
        "x_slots": x_slots,
    }


@register.filter
def thousands(value: Any) -> str:
    """1234567 as the page's language writes it: "1,234,567" in English, "1 234 567" in French."""
    try:
        return str(formats.number_format(int(value), force_grouping=True))
    except (TypeError, ValueError):
        return str(value)


@register.filter
def client_count(value: Any) -> str:
    """A statement's bounded client count (`selectors.statements_with_client_counts`): "10,000+" past it."""
    count = int(value or 0)
    limit = selectors.CLIENT_COUNT_LIMIT
    return f"{thousands(limit)}+" if count > limit else thousands(count)


# Dates as each language writes them (Django's date format characters; month and day names translated).
DATE_FORMATS = {
    "en": {"day": "M j, Y", "short": "M j", "weekday": "D M j", "weekday_long": "D, M j, Y", "when": "M j, Y H:i"},
    "fr": {"day": "j N Y", "short": "j N", "weekday": "D j N", "weekday_long": "l j F Y", "when": "j N Y H:i"},
}


def _date_format(kind: str) -> str:
    language = (translation.get_language() or "en").split("-")[0]
    return DATE_FORMATS.get(language, DATE_FORMATS["en"])[kind]


@register.filter
def when(value: Any) -> str:
    """A moment in the person's time zone, with the zone's name: "Dec 7, 2026 21:30 UTC", "7 déc 2026 22:30 CET"."""
    if not value:
        return ""
    moment = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{dateformat.format(moment, _date_format('when'))} {moment.tzname() or ''}".rstrip()


@register.filter
def day(value: Any, kind: str = "day") -> str:
    """A day (or a moment's day in the person's time zone) as the language writes it; `kind` is one of
    day, short, weekday, weekday_long."""
    if not value:
        return ""
    if hasattr(value, "tzinfo") and timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, _date_format(kind))


@register.inclusion_tag("registered_apps/_usage_chart.html")
def usage_chart(series: Sequence[_Day], caption: str = "") -> dict[str, Any]:
    """Two bar charts (registrations, tokens) over the days of `series`, and the same data as a table."""
    charts = [_chart(series, metric, title, css_class) for metric, title, css_class in METRICS]
    return {
        "charts": charts,
        "series": series,
        "caption": caption,
        "empty": all(chart["total"] == 0 for chart in charts),
        "width": WIDTH,
        "height": HEIGHT,
        "first_day": series[0].day if series else None,
        "last_day": series[-1].day if series else None,
    }


@register.filter
def push_failure(value: str) -> str:
    """A failed push's message in the page's language (`push_failures`)."""
    return failure_text(value)


@register.filter
def change_value(value: Any) -> str:
    """An old or new value of a change: "—" for nothing, one line per line of a list."""
    if value is None or value == "":
        return "—"
    text = str(value)
    if text in TRANSLATED_VALUES:
        text = translation.gettext(text)
    return str(linebreaksbr(text, autoescape=True))


@register.inclusion_tag("registered_apps/_environment_bar.html", takes_context=True)
def environment_bar(context: template.Context) -> dict[str, Any]:
    """The environment menu, and the signed-in user's pending changes there (one query)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return {"show": False}
    current = dashboard_environment(request)
    return {
        "show": True,
        "current": current,
        "environments": environments_all(),
        "pending_count": selectors.pending_changes_of(user, current.id).count(),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
