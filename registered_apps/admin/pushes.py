"""The changes log for TAMs: every push of the dashboard's pending changes, with its changes (entity,
property, old and new value), read-only. TAM edits in the admin are immediate and are not pushes: the
audit trail records them."""

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from ..models import Push, PushedChange
from ..push_failures import failure_text
from .environments import environment_column, environment_filter
from .records import ReadOnlyAdmin


class PushedChangeInline(admin.TabularInline):
    model = PushedChange
    extra = 0
    can_delete = False
    fields = ("position", "kind", "programmer", "channel", "entity_type", "entity_label", "values")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[PushedChange]:
        return super().get_queryset(request).select_related("programmer", "channel")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("property: old -> new"))
    def values(self, obj: PushedChange) -> Any:
        rows = [
            (str(item.get("property", "")), str(item.get("old", "")), str(item.get("new", "")))
            for item in obj.properties
            if isinstance(item, dict)
        ]
        return format_html_join("", "<div>{}: {} &rarr; {}</div>", rows) if rows else "-"


@admin.register(Push)
class PushAdmin(ReadOnlyAdmin):
    list_display = [
        "pushed_at",
        environment_column("environment"),
        "status",
        "description",
        "pushed_by",
        "change_count",
        "promoted_from",
    ]
    list_select_related = ["pushed_by", "promoted_from"]
    list_filter = [environment_filter("environment"), "status"]
    search_fields = ["description", "pushed_by__username"]
    date_hierarchy = "pushed_at"
    fields = ["environment", "status", "description", "failure_shown", "pushed_by", "pushed_at", "promoted_from"]
    readonly_fields = ["failure_shown"]
    inlines = [PushedChangeInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Push]:
        return super().get_queryset(request).annotate(change_total=Count("changes"))

    @admin.display(description=_("failure"))
    def failure_shown(self, obj: Push) -> str:
        """The failure in the reader's language (`push_failures`: it is stored language-neutral)."""
        return failure_text(obj.failure) or "-"

    @admin.display(description=_("changes"), ordering="change_total")
    def change_count(self, obj: Push) -> int:
        return getattr(obj, "change_total", 0)
