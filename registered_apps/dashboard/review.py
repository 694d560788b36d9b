"""Review and push: the person's pending changes in the dashboard's environment with their old and new
values, pushing them (all or none), dismissing them, removing one, and promoting a pushed configuration
to another environment. Thin views over `services.changes`."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from core.next_path import next_redirect
from core.request_ip import request_ip
from core.service_errors import form_add_service_error

from .. import selectors
from ..change_descriptions import change_summary, changes_describe
from ..dashboard_environment import dashboard_environment, dashboard_environment_set
from ..environments import EnvironmentInfo, environment_by_slug
from ..forms import PushForm
from ..models import PendingChange, Push, PushStatus
from ..push_failures import failure_text
from ..services.changes import promotion, pushing
from .areas import dashboard_user, environment_row


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


def _log_url(push: Push) -> str | None:
    """The changes log of the push's (first change's) programmer; None when it has no change."""
    first = push.changes.select_related("programmer").order_by("position").first()
    if first is None:
        return None
    return reverse("registered_apps:programmer_changes", kwargs={"programmer_slug": first.programmer.slug})


def _log_entry_url(push: Push) -> str:
    """The push's entry in the changes log of its (first change's) programmer."""
    log = _log_url(push)
    return f"{log}?environment={push.environment.slug}#push-{push.pk}" if log else ""


def _plural(count: int) -> str:
    return ngettext("%(count)s change", "%(count)s changes", count) % {"count": count}


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
        push = pushing.pending_changes_push(
            user=user,
            environment=environment_row(environment),
            description=form.cleaned_data["description"],
            ip_address=request_ip(request),
            reviewed=form.cleaned_data["reviewed"],
        )
    except ValidationError as error:
        return _push_refused(request, environment, form, error)
    if push.status != PushStatus.SUCCESSFUL:
        messages.error(
            request,
            gettext("Nothing was pushed to %(environment)s. %(failure)s")
            % {"environment": environment.name, "failure": failure_text(push.failure)},
        )
        return redirect("registered_apps:changes_review")
    log = _log_url(push)
    messages.success(
        request,
        gettext("Pushed %(changes)s to %(environment)s: “%(description)s”.")
        % {"changes": _plural(push.changes.count()), "environment": environment.name, "description": push.description},
    )
    if log is None:
        return redirect("registered_apps:changes_review")
    return redirect(f"{log}?environment={environment.slug}")


def _push_refused(
    request: HttpRequest, environment: EnvironmentInfo, form: PushForm, error: ValidationError
) -> HttpResponse:
    already = selectors.push_of_pending_changes(
        dashboard_user(request), environment.id, form.cleaned_data["reviewed"] or []
    )
    if already is not None:
        # A second push of a page whose changes were pushed (Back, another tab): name that push, show
        # what was typed (not reused for what is pending now: a fresh form), nothing pushed.
        return _review_page(request, status=409, already_pushed=already, description=form.cleaned_data["description"])
    form_add_service_error(form, error)
    return _review_page(request, form, status=400)


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
    count = promotion.pending_changes_dismiss(
        user=dashboard_user(request), environment=environment_row(environment), ip_address=request_ip(request)
    )
    messages.info(
        request,
        ngettext(
            "Dismissed %(count)s pending change in %(environment)s.",
            "Dismissed %(count)s pending changes in %(environment)s.",
            count,
        )
        % {"count": count, "environment": environment.name},
    )
    return redirect("registered_apps:changes_review")


@login_required
@require_POST
def change_remove(request: HttpRequest, change_id: int) -> HttpResponse:
    """Drop one pending change (for instance the one a failed push named)."""
    try:
        removed = promotion.pending_change_remove(
            user=dashboard_user(request), change_id=change_id, ip_address=request_ip(request)
        )
    except PendingChange.DoesNotExist:
        raise Http404("No such pending change.") from None
    messages.info(request, gettext("Removed “%(change)s”.") % {"change": change_summary(removed.kind, removed.payload)})
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
        messages.error(request, gettext("Choose the environment to promote the push to."))
        return next_redirect(request, reverse("registered_apps:home"))
    try:
        staged = promotion.push_promote(
            push=push, target_environment=environment_row(target), user=user, ip_address=request_ip(request)
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return next_redirect(request, reverse("registered_apps:home"))
    dashboard_environment_set(request, target.slug)
    messages.success(
        request,
        gettext("Staged the %(changes)s of push #%(number)s in %(environment)s. Review and push them there.")
        % {"changes": _plural(len(staged)), "number": push.pk, "environment": target.name},
    )
    for problem in promotion.pending_changes_problems(user=user, environment=environment_row(target)):
        messages.warning(
            request,
            gettext("Would not apply in %(environment)s now: %(problem)s")
            % {"environment": target.name, "problem": problem},
        )
    return redirect("registered_apps:changes_review")
