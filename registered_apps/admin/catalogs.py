"""The platform and scope catalogs: added, renamed, retired and brought back; never re-coded."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin_actions import admin_actor
from core.admin_lists import BoundedListAdmin
from core.request_ip import request_ip

from .. import services
from ..models import (
    Platform,
    Scope,
)


class CatalogAdmin(BoundedListAdmin):
    list_display = ["code", "name", "active", "application_count"]
    list_filter = ["active"]
    search_fields = ["code", "name"]
    actions = ["retire", "reactivate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(application_total=Count("applications"))

    @admin.display(description=_("applications"), ordering="application_total")
    def application_count(self, obj: Any) -> int:
        return getattr(obj, "application_total", 0)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Codes are what applications and statements refer to; retire an entry instead of renaming it.
        return ["code"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        services.catalog_entry_save(
            entry=obj, actor=admin_actor(request), ip_address=request_ip(request), changed=form.changed_data
        )

    @admin.action(description=_("Retire the selected entries (new applications cannot choose them)"))
    def retire(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for entry in queryset:
            services.catalog_entry_set_active(
                entry=entry, active=False, actor=admin_actor(request), ip_address=request_ip(request)
            )
        count = len(queryset)
        self.message_user(
            request, ngettext("Retired %(count)s entry.", "Retired %(count)s entries.", count) % {"count": count}
        )

    @admin.action(description=_("Reactivate the selected entries"))
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for entry in queryset:
            services.catalog_entry_set_active(
                entry=entry, active=True, actor=admin_actor(request), ip_address=request_ip(request)
            )
        count = len(queryset)
        self.message_user(
            request,
            ngettext("Reactivated %(count)s entry.", "Reactivated %(count)s entries.", count) % {"count": count},
        )


@admin.register(Platform)
class PlatformAdmin(CatalogAdmin):
    pass


@admin.register(Scope)
class ScopeAdmin(CatalogAdmin):
    pass
