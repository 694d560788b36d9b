"""The changes log of an area: the pushes that changed something visible here (filter by environment,
promote, tick two to compare), the audit events about it, and the net change between two entries."""

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from .. import selectors
from ..audit_events import audit_events_in_environment, audit_rows
from ..environments import EnvironmentInfo, environments_all
from ..models import ChangeKind, Channel, Push, PushedChange, PushStatus
from .areas import Area, for_channel, for_programmer, log_environment

PUSHES_PER_PAGE = 20
EVENTS_PER_PAGE = 50


def _may_promote(area: Area, push: Push, shown: list[PushedChange], narrowed: bool) -> bool:
    """A successful push whose every change this person sees (and, for a member of some channels, may
    stage) can be promoted by them."""
    if not (area.reach.read_write and push.status == PushStatus.SUCCESSFUL):
        return False
    if len(shown) != push.change_count:  # type: ignore[attr-defined]
        return False
    return not narrowed or all(
        selectors.can_change(
            area.reach,
            channel_ids=[c.pk for c in change.channels.all()],
            all_channels=change.all_channels,
            programmer_wide=change.kind == ChangeKind.CHANNEL_CREATE,
        )
        for change in shown
    )


def _log_entries(area: Area, pushes: list[Push]) -> list[dict[str, Any]]:
    """The page's pushes with their visible changes (one query, two when the member's channels matter)
    and whether this person may promote each."""
    visible = selectors.pushed_changes_visible_in(
        area.user, area.programmer, area.channel, known_reach=area.reach
    ).filter(push__in=pushes)
    narrowed = area.reach.read_write and not area.reach.programmer_wide
    if narrowed:
        visible = visible.prefetch_related(Prefetch("channels", queryset=Channel.objects.only("id")))
    by_push: dict[int, list[PushedChange]] = {}
    for change in visible.order_by("push_id", "position"):
        by_push.setdefault(change.push_id, []).append(change)
    environments = environments_all()
    entries = []
    for push in pushes:
        shown = by_push.get(push.pk, [])
        entries.append(
            {
                "push": push,
                "changes": shown,
                "hidden": push.change_count - len(shown),  # type: ignore[attr-defined]
                "may_promote": _may_promote(area, push, shown, narrowed),
                "targets": [e for e in environments if e.id != push.environment_id],
                "default_target": _next_environment(push.environment_id, environments),
            }
        )
    return entries


def _next_environment(environment_id: int, environments: tuple[EnvironmentInfo, ...]) -> int | None:
    """The environment after this one in menu order (staging -> production), else the one before."""
    ids = [e.id for e in environments]
    if environment_id not in ids or len(ids) < 2:
        return None
    index = ids.index(environment_id)
    return ids[index + 1] if index + 1 < len(ids) else ids[index - 1]


def _with_query(url: str, environment: EnvironmentInfo | None) -> str:
    return f"{url}?environment={environment.slug}" if environment else url


def changes(request: HttpRequest, area: Area) -> HttpResponse:
    """The pushes that changed something visible here, newest first, with their changes."""
    environment = log_environment(request)
    pushes = (
        selectors.pushes_visible_in(
            area.user,
            area.programmer,
            area.channel,
            environment_id=environment.id if environment else None,
            known_reach=area.reach,
        )
        .select_related("pushed_by", "environment")
        .annotate(change_count=Count("changes"))
    )
    page = Paginator(pushes, PUSHES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "registered_apps/area_changes.html",
        {
            "area": area,
            "tabs": area.tabs("changes"),
            "page": page,
            "entries": _log_entries(area, list(page.object_list)),
            "environments": environments_all(),
            "log_environment": environment,
            "csv_url": _with_query(area.url("changes_csv"), environment),
            "compare_url": area.url("changes_compare"),
        },
    )


def changes_audit(request: HttpRequest, area: Area) -> HttpResponse:
    """The audit events about what is visible here: downloads, registrations, revocations, the TAMs'
    actions in the admin (immediate, never pushed) and each push."""
    events = selectors.audit_events_visible_in(area.user, area.programmer, area.channel)
    environment = log_environment(request)
    if environment is not None:
        events = audit_events_in_environment(events, environment, area.programmer)
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "registered_apps/area_audit.html",
        {
            "area": area,
            "tabs": area.tabs("changes"),
            "page": page,
            "rows": audit_rows(list(page.object_list)),
            "environments": environments_all(),
            "log_environment": environment,
        },
    )


def _compare_ids(request: HttpRequest) -> list[int]:
    """The two entries to compare: `?a=&b=`, or the log's ticked `push` boxes."""
    raw = request.GET.getlist("push") or [request.GET.get("a", ""), request.GET.get("b", "")]
    ids = []
    for value in raw:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return list(dict.fromkeys(ids))


def changes_compare(request: HttpRequest, area: Area) -> HttpResponse:
    """Entity type, id, property, old and new: the net change between two entries of one environment."""
    ids = _compare_ids(request)
    context: dict[str, Any] = {"area": area, "tabs": area.tabs("changes"), "log_url": area.url("changes")}
    if len(ids) != 2:
        context["problem"] = gettext("Select two entries of the changes log to compare.")
        return render(request, "registered_apps/changes_compare.html", context, status=400)
    found = {
        push.pk: push
        for push in selectors.pushes_visible_in(area.user, area.programmer, area.channel, known_reach=area.reach)
        .filter(pk__in=ids)
        .select_related("environment", "pushed_by")
    }
    if len(found) != 2:
        raise Http404("No such entries in this changes log.")
    older, newer = sorted(found.values(), key=lambda push: (push.pushed_at, push.pk))
    context.update({"older": older, "newer": newer})
    if older.environment_id != newer.environment_id:
        context["problem"] = gettext(
            "Entry #%(older)s is in %(older_environment)s and entry #%(newer)s in %(newer_environment)s: "
            "compare two entries of the same environment."
        ) % {
            "older": older.pk,
            "older_environment": older.environment.name,
            "newer": newer.pk,
            "newer_environment": newer.environment.name,
        }
        return render(request, "registered_apps/changes_compare.html", context, status=400)
    context["rows"] = selectors.pushes_compare(
        area.user, area.programmer, area.channel, older, newer, known_reach=area.reach
    )
    return render(request, "registered_apps/changes_compare.html", context)


programmer_changes = for_programmer(changes)
programmer_changes_audit = for_programmer(changes_audit)
programmer_changes_compare = for_programmer(changes_compare)
channel_changes = for_channel(changes)
channel_changes_audit = for_channel(changes_audit)
channel_changes_compare = for_channel(changes_compare)
