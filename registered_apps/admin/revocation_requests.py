"""Revocation requests from the dashboard: approve (revoke with the request's reason) or dismiss."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin_actions import admin_actor
from core.admin_lists import BoundedListAdmin
from core.request_ip import request_ip

from .. import services
from ..models import (
    Programmer,
    RevocationRequest,
)
from .environments import environment_column, environment_filter


@admin.register(RevocationRequest)
class RevocationRequestAdmin(BoundedListAdmin):
    list_display = [
        "application",
        "programmer",
        environment_column("application__environment"),
        "state",
        "reason",
        "requested_by",
        "requested_at",
        "decided_by",
    ]
    list_select_related = ["application__programmer", "requested_by", "decided_by"]
    list_filter = ["state", environment_filter("application__environment"), "application__programmer"]
    search_fields = ["application__name", "application__programmer__slug", "reason", "requested_by__username"]
    readonly_fields = [
        "application",
        "reason",
        "requested_by",
        "requested_at",
        "state",
        "decided_by",
        "decided_at",
    ]
    actions = ["approve", "dismiss"]

    @admin.display(description=_("programmer"), ordering="application__programmer__name")
    def programmer(self, obj: RevocationRequest) -> Programmer:
        return obj.application.programmer

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RevocationRequest | None = None) -> bool:
        return False

    @admin.action(description=_("Approve: revoke the applications with the requests' reasons"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[RevocationRequest]) -> None:
        pending = list(queryset.filter(state=RevocationRequest.State.PENDING))
        for revocation_request in pending:
            services.revocation_request_approve(
                revocation_request=revocation_request, actor=admin_actor(request), ip_address=request_ip(request)
            )
        count = len(pending)
        message = ngettext("Approved %(count)s request.", "Approved %(count)s requests.", count)
        self.message_user(request, message % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Dismiss the selected requests"), permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[RevocationRequest]) -> None:
        pending = list(queryset.filter(state=RevocationRequest.State.PENDING))
        for revocation_request in pending:
            services.revocation_request_dismiss(
                revocation_request=revocation_request, actor=admin_actor(request), ip_address=request_ip(request)
            )
        count = len(pending)
        message = ngettext("Dismissed %(count)s request.", "Dismissed %(count)s requests.", count)
        self.message_user(request, message % {"count": count}, messages.SUCCESS)
