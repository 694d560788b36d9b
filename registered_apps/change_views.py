"""Review and push (README "Dashboard"): the environment menu, the review page with push and dismiss, promotion,
the changes log with compare, and the CSV exports of the log and of the usage report. Thin views over
`services.changes` and `selectors`."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.next_path import next_redirect
from core.request_ip import request_ip
from core.service_errors import form_add_service_error

from . import selectors
from .audit_events import audit_events_in_environment, audit_rows
from .change_descriptions import change_summary, changes_describe
from .csv_export import csv_response
from .dashboard_environment import dashboard_environment, dashboard_environment_set
from .environments import EnvironmentInfo, environment_by_slug, environments_all
from .forms import PushForm
from .models import ChangeKind, Channel, PendingChange, Push, PushedChange, PushStatus, UsageDaily
from .services import changes as change_services
from .views import (
    Area,
    dashboard_user,
    environment_row,
    for_channel,
    for_programmer,
    usage_series,
    usage_window,
)

PUSHES_PER_PAGE = 20
EVENTS_PER_PAGE = 50


@login_required
@require_POST
def environment_choose(request: HttpRequest) -> HttpResponse:
    """The environment menu: remember the choice in the session and go back where the person was."""
    if dashboard_environment_set(request, request.POST.get("environment", "")) is None:
        messages.error(request, "There is no such environment.")
    return next_redirect(request, reverse("registered_apps:home"))


# --- Review, push, dismiss ------------------------------------------------------------------------


def _review_page(
    request: HttpRequest,
    form: PushForm | None = None,
    status: int = 200,
    *,
    already_pushed: Push | None = None,
    description: str = "",
) -> HttpResponse:
    user = dashboard_user(request)
    environment = dashboard_environment(request)
    pending = list(selectors.pending_changes_of(user, environment.id).select_related("programmer"))
    if form is None:
        form = PushForm(initial={"reviewed": ",".join(str(change.pk) for change in pending)})
    context = {
        "environment": environment,
        "described": changes_describe(pending, environment.id),
        "form": form,
        "may_push": bool(pending) and selectors.can_push(user, {change.programmer_id for change in pending}),
        "already_pushed": already_pushed,
        "already_pushed_url": _log_entry_url(already_pushed) if already_pushed else "",
        "unused_description": description,
    }
    return render(request, "registered_apps/changes_review.html", context, status=status)


def _log_entry_url(push: Push) -> str:
    """The push's entry in the changes log of its (first change's) programmer."""
    first = push.changes.select_related("programmer").order_by("position").first()
    if first is None:
        return ""
    log = reverse("registered_apps:programmer_changes", kwargs={"programmer_slug": first.programmer.slug})
    return f"{log}?environment={push.environment.slug}#push-{push.pk}"


@login_required
@require_http_methods(["GET", "HEAD"])
def changes_review(request: HttpRequest) -> HttpResponse:
    """The person's pending changes in the dashboard's environment, each with its old and new values."""
    return _review_page(request)


@login_required
@require_POST
def changes_push(request: HttpRequest) -> HttpResponse:
    user = dashboard_user(request)
    environment = dashboard_environment(request)
    programmer_ids = set(selectors.pending_changes_of(user, environment.id).values_list("programmer_id", flat=True))
    if not selectors.can_push(user, programmer_ids):
        raise PermissionDenied("You may not push changes.")
    form = PushForm(request.POST)
    if not form.is_valid():
        return _review_page(request, form, status=400)
    try:
        push = change_services.pending_changes_push(
            user=user,
            environment=environment_row(environment),
            description=form.cleaned_data["description"],
            ip_address=request_ip(request),
            reviewed=form.cleaned_data["reviewed"],
        )
    except ValidationError as error:
        already = selectors.push_of_pending_changes(user, environment.id, form.cleaned_data["reviewed"] or [])
        if already is not None:
            # A second push of a page whose changes were pushed (Back, another tab): name that push, show
            # what was typed (not reused for what is pending now: a fresh form), nothing pushed.
            return _review_page(
                request, status=409, already_pushed=already, description=form.cleaned_data["description"]
            )
        form_add_service_error(form, error)
        return _review_page(request, form, status=400)
    if push.status != PushStatus.SUCCESSFUL:
        messages.error(request, f"Nothing was pushed to {environment.name}. {push.failure}")
        return redirect("registered_apps:changes_review")
    first = push.changes.select_related("programmer").order_by("position").first()
    count = push.changes.count()
    messages.success(
        request, f"Pushed {count} change{'s' if count != 1 else ''} to {environment.name}: “{push.description}”."
    )
    if first is None:
        return redirect("registered_apps:changes_review")
    log = reverse("registered_apps:programmer_changes", kwargs={"programmer_slug": first.programmer.slug})
    return redirect(f"{log}?environment={environment.slug}")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def changes_dismiss(request: HttpRequest) -> HttpResponse:
    """Ask first (a page listing what goes, no script needed), then drop every pending change of the
    person in the environment on the confirming POST (`confirm`)."""
    environment = dashboard_environment(request)
    pending = list(selectors.pending_changes_of(dashboard_user(request), environment.id))
    listed = ",".join(str(change.pk) for change in pending)
    confirmed = request.method == "POST" and request.POST.get("confirm")
    # The confirmation names the changes it listed: one staged since (another tab) is asked about first.
    changed = confirmed and request.POST.get("listed", listed) != listed
    if not confirmed or changed:
        if not pending:
            return redirect("registered_apps:changes_review")
        return render(
            request,
            "registered_apps/changes_dismiss.html",
            {
                "environment": environment,
                "summaries": [change_summary(change.kind, change.payload) for change in pending],
                "listed": listed,
                "changed": changed,
            },
            status=409 if changed else 200,
        )
    count = change_services.pending_changes_dismiss(
        user=dashboard_user(request), environment=environment_row(environment), ip_address=request_ip(request)
    )
    messages.info(request, f"Dismissed {count} pending change{'s' if count != 1 else ''} in {environment.name}.")
    return redirect("registered_apps:changes_review")


@login_required
@require_POST
def change_remove(request: HttpRequest, change_id: int) -> HttpResponse:
    """Drop one pending change (for instance the one a failed push named)."""
    try:
        removed = change_services.pending_change_remove(
            user=dashboard_user(request), change_id=change_id, ip_address=request_ip(request)
        )
    except PendingChange.DoesNotExist:
        raise Http404("No such pending change.") from None
    messages.info(request, f"Removed “{change_summary(removed.kind, removed.payload)}”.")
    return redirect("registered_apps:changes_review")


@login_required
@require_POST
def push_promote(request: HttpRequest, push_id: int) -> HttpResponse:
    """Stage a successful push's changes again in another environment, then review them there."""
    user = dashboard_user(request)
    push = get_object_or_404(Push.objects.select_related("environment"), pk=push_id)
    if not selectors.push_visible_to(user, push):
        raise Http404("No such push.")
    target = environment_by_slug(request.POST.get("target", ""))
    if target is None:
        messages.error(request, "Choose the environment to promote the push to.")
        return next_redirect(request, reverse("registered_apps:home"))
    try:
        staged = change_services.push_promote(
            push=push, target_environment=environment_row(target), user=user, ip_address=request_ip(request)
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return next_redirect(request, reverse("registered_apps:home"))
    dashboard_environment_set(request, target.slug)
    count = len(staged)
    messages.success(
        request,
        f"Staged the {count} change{'s' if count != 1 else ''} of push #{push.pk} in {target.name}. "
        "Review and push them there.",
    )
    for problem in change_services.pending_changes_problems(user=user, environment=environment_row(target)):
        messages.warning(request, f"Would not apply in {target.name} now: {problem}")
    return redirect("registered_apps:changes_review")


# --- The changes log ------------------------------------------------------------------------------


def _log_environment(request: HttpRequest) -> EnvironmentInfo | None:
    """The log's environment filter (`?environment=<slug>`); None: all environments."""
    return environment_by_slug(request.GET.get("environment", ""))


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
        may_promote = (
            area.reach.read_write
            and push.status == PushStatus.SUCCESSFUL
            and len(shown) == push.change_count  # type: ignore[attr-defined]
            and (
                not narrowed
                or all(
                    selectors.can_change(
                        area.reach,
                        channel_ids=[c.pk for c in change.channels.all()],
                        all_channels=change.all_channels,
                        programmer_wide=change.kind == ChangeKind.CHANNEL_CREATE,
                    )
                    for change in shown
                )
            )
        )
        targets = [e for e in environments if e.id != push.environment_id]
        entries.append(
            {
                "push": push,
                "changes": shown,
                "hidden": push.change_count - len(shown),  # type: ignore[attr-defined]
                "may_promote": may_promote,
                "targets": targets,
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


def changes(request: HttpRequest, area: Area) -> HttpResponse:
    """The pushes that changed something visible here, newest first, with their changes."""
    environment = _log_environment(request)
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


def _with_query(url: str, environment: EnvironmentInfo | None) -> str:
    return f"{url}?environment={environment.slug}" if environment else url


def changes_audit(request: HttpRequest, area: Area) -> HttpResponse:
    """The audit events about what is visible here: downloads, registrations, revocations, the TAMs'
    actions in the admin (immediate, never pushed) and each push."""
    events = selectors.audit_events_visible_in(area.user, area.programmer, area.channel)
    environment = _log_environment(request)
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
        context["problem"] = "Select two entries of the changes log to compare."
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
        context["problem"] = (
            f"Entry #{older.pk} is in {older.environment.name} and entry #{newer.pk} in {newer.environment.name}: "
            "compare two entries of the same environment."
        )
        return render(request, "registered_apps/changes_compare.html", context, status=400)
    context["rows"] = selectors.pushes_compare(
        area.user, area.programmer, area.channel, older, newer, known_reach=area.reach
    )
    return render(request, "registered_apps/changes_compare.html", context)


def _stamp() -> str:
    return timezone.now().strftime("%Y%m%dT%H%M%SZ")


def _area_slug(area: Area) -> str:
    return area.channel.slug if area.channel else area.programmer.slug


def changes_csv(request: HttpRequest, area: Area) -> HttpResponse:
    """The changes log (same environment filter) as CSV: one row per changed property."""
    environment = _log_environment(request)
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

    def rows() -> Any:
        for change in changed.iterator(chunk_size=500):
            push = change.push
            head = [
                push.pk,
                push.pushed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                push.environment.name,
                push.get_status_display(),
                push.pushed_by.get_username() if push.pushed_by else "",
                push.description,
                push.failure,
                change.position,
                change.get_kind_display(),
                change.entity_type,
                change.entity_id,
                change.entity_label,
            ]
            for item in change.properties or [{}]:
                yield [*head, item.get("property"), item.get("old"), item.get("new")]

    scope = environment.slug if environment else "all-environments"
    return csv_response(
        f"changes_{_area_slug(area)}_{scope}_{_stamp()}.csv",
        [
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
        ],
        rows(),
    )


def usage_csv(request: HttpRequest, area: Area) -> HttpResponse:
    """The usage tab's numbers as CSV: per UTC day (the charts), or per application (`?by=application`)."""
    start, end = usage_window()
    in_window = UsageDaily.objects.filter(application__in=area.applications(), day__gte=start, day__lte=end)
    name = f"usage_{_area_slug(area)}_{area.environment.slug}_{start:%Y%m%d}-{end:%Y%m%d}"
    if request.GET.get("by") == "application":
        totals = (
            in_window.order_by()
            .values("application_id", "application__name", "application__version", "application__status")
            .annotate(registrations=Sum("registrations"), tokens=Sum("tokens"))
            .order_by("-tokens", "-registrations", "application_id")
        )
        return csv_response(
            f"{name}_by_application.csv",
            ["software_id", "name", "version", "status", "environment", "registrations", "tokens"],
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


programmer_changes = for_programmer(changes)
programmer_changes_audit = for_programmer(changes_audit)
programmer_changes_compare = for_programmer(changes_compare)
programmer_changes_csv = for_programmer(changes_csv)
programmer_usage_csv = for_programmer(usage_csv)
channel_changes = for_channel(changes)
channel_changes_audit = for_channel(changes_audit)
channel_changes_compare = for_channel(changes_compare)
channel_changes_csv = for_channel(changes_csv)
channel_usage_csv = for_channel(usage_csv)
