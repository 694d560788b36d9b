"""The TAMs' list of abuse signals (README "Abuse signals"): filter, read what each means, and act on one
with a click: acknowledge it, tighten its application's registration quota, or revoke its statement
(the page says how many clients that ends first)."""

import datetime
import math
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.admin_actions import admin_actor
from core.admin_lists import BoundedListAdmin
from core.conf import dcr
from core.request_ip import request_ip
from registered_apps.selectors import client_count_text, statements_with_client_counts
from registered_apps.services import set_application_quota

from .models import Signal, SoftwareStatement, StatementHour
from .services import software_statement_revoke


class AcknowledgedFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("open", _("Open")), ("acknowledged", _("Acknowledged"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Signal]) -> QuerySet[Signal]:
        if self.value() == "open":
            return queryset.filter(acknowledged_at__isnull=True)
        if self.value() == "acknowledged":
            return queryset.filter(acknowledged_at__isnull=False)
        return queryset


def tightened_registrations_per_hour(signal: Signal) -> int:
    """Twice the application's hourly mean of registrations over the baseline days (before the signal's
    window), at least 1: its own installs keep registering, a leak's spread stops."""
    since = signal.window_start - datetime.timedelta(days=int(dcr.signal_baseline_days))
    hours = StatementHour.objects.filter(
        application_id=signal.application_id, hour__gte=since, hour__lt=signal.window_start
    )
    total = hours.aggregate(total=Sum("registrations"))["total"] or 0
    return max(1, math.ceil(2 * total / (int(dcr.signal_baseline_days) * 24)))


@admin.register(Signal)
class SignalAdmin(BoundedListAdmin):
    list_display = [
        "created_at",
        "severity",
        "kind",
        "application",
        "statement",
        "window_start",
        "explanation",
        "state",
    ]
    list_select_related = ["application__programmer", "statement"]
    list_filter = [AcknowledgedFilter, "kind", "severity", "application__programmer"]
    search_fields = ["application__name", "application__programmer__slug", "subject"]
    date_hierarchy = "created_at"
    readonly_fields = (
        "kind",
        "severity",
        "application",
        "statement",
        "subject",
        "window_start",
        "window_end",
        "figures",
        "explanation",
        "created_at",
        "updated_at",
        "emailed_at",
        "acknowledged_at",
        "acknowledged_by",
    )
    fields = readonly_fields
    actions = ["acknowledge"]
    change_form_template = "software_statements/admin/signal_change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # raised by the signals task only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("what it means"))
    def explanation(self, obj: Signal) -> str:
        return render_to_string("signals/_explanation.txt", {"signal": obj}).strip()

    @admin.display(description=_("state"))
    def state(self, obj: Signal) -> str:
        return gettext("Acknowledged") if obj.acknowledged_at else gettext("Open")

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        signal = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if signal is not None:
            statement = None
            if signal.statement_id:
                statement = statements_with_client_counts(
                    SoftwareStatement.objects.filter(pk=signal.statement_id)
                ).first()
            extra["act"] = {
                "signal": signal,
                "statement": statement,
                "clients": client_count_text(getattr(statement, "client_count", 0)),
                "quota": tightened_registrations_per_hour(signal),
                "acknowledge_url": reverse("admin:software_statements_signal_acknowledge", args=[signal.pk]),
                "tighten_url": reverse("admin:software_statements_signal_tighten", args=[signal.pk]),
                "revoke_url": reverse("admin:software_statements_signal_revoke", args=[signal.pk]),
            }
        return super().change_view(request, object_id, form_url, extra)

    @admin.action(description=_("Acknowledge the selected signals"), permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Signal]) -> None:
        done = queryset.filter(acknowledged_at__isnull=True).update(
            acknowledged_at=timezone.now(), acknowledged_by=request.user
        )
        self.message_user(request, gettext("Acknowledged %(count)d signal(s).") % {"count": done}, messages.SUCCESS)

    def get_urls(self) -> list[Any]:
        own = [
            path(
                "<int:signal_id>/acknowledge/",
                self._view(self._acknowledge),
                name="software_statements_signal_acknowledge",
            ),
            path("<int:signal_id>/tighten/", self._view(self._tighten), name="software_statements_signal_tighten"),
            path("<int:signal_id>/revoke/", self._view(self._revoke), name="software_statements_signal_revoke"),
        ]
        return own + super().get_urls()

    def _view(self, act: Any) -> Any:
        """A POST that changes something (the admin's sign-in, CSRF and change permission), back to the signal."""

        @require_POST
        def view(request: HttpRequest, signal_id: int) -> HttpResponse:
            signal = get_object_or_404(Signal.objects.select_related("application", "statement"), pk=signal_id)
            if not self.has_change_permission(request, signal):
                return HttpResponse(status=403)
            act(request, signal)
            return HttpResponseRedirect(reverse("admin:software_statements_signal_change", args=[signal.pk]))

        return self.admin_site.admin_view(view)

    def _acknowledge(self, request: HttpRequest, signal: Signal) -> None:
        if signal.acknowledged_at is None:
            Signal.objects.filter(pk=signal.pk).update(acknowledged_at=timezone.now(), acknowledged_by=request.user)
        self.message_user(request, gettext("Signal acknowledged."), messages.SUCCESS)

    def _tighten(self, request: HttpRequest, signal: Signal) -> None:
        value = tightened_registrations_per_hour(signal)
        set_application_quota(
            signal.application, actor=admin_actor(request), registrations_per_hour=value, ip_address=request_ip(request)
        )
        message = gettext("%(application)s may now register %(value)d clients an hour.")
        self.message_user(request, message % {"application": signal.application, "value": value}, messages.SUCCESS)

    def _revoke(self, request: HttpRequest, signal: Signal) -> None:
        if signal.statement is None:
            self.message_user(request, gettext("This signal names no statement."), messages.WARNING)
            return
        reason = gettext("Abuse signal %(id)d: %(kind)s.") % {"id": signal.pk, "kind": signal.get_kind_display()}
        software_statement_revoke(
            statement=signal.statement, reason=reason, actor=admin_actor(request), ip_address=request_ip(request)
        )
        self.message_user(
            request, gettext("Statement %(jti)s revoked.") % {"jti": signal.statement_id}, messages.SUCCESS
        )
