"""Read-only records: daily usage and the audit trail."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin_lists import BoundedListAdmin

from ..models import (
    AuditEvent,
    Programmer,
    UsageDaily,
)
from .environments import environment_column, environment_filter


class ReadOnlyAdmin(BoundedListAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UsageDaily)
class UsageDailyAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        "application",
        "programmer",
        environment_column("application__environment"),
        "platform",
        "registrations",
        "tokens",
    ]
    list_select_related = ["application__programmer"]
    list_filter = [environment_filter("application__environment"), "platform", "application__programmer"]
    search_fields = ["application__name", "application__programmer__slug"]
    date_hierarchy = "day"

    @admin.display(description=_("programmer"), ordering="application__programmer__name")
    def programmer(self, obj: UsageDaily) -> Programmer:
        return obj.application.programmer


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "object_type", "object_repr", "programmer", "ip_address"]
    list_select_related = ["actor_user", "programmer"]
    list_filter = ["action", "object_type", "programmer"]
    search_fields = ["object_id", "object_repr", "action", "actor_label", "actor_user__username"]
    date_hierarchy = "created_at"
