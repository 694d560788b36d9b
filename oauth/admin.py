"""TAM admin for clients (no secret ever shown; device info read-only; "Revoke clients" with a reason)
and the read-only token denylist."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html

from core.admin_lists import BoundedListAdmin
from registered_apps.request_ip import request_ip

from .models import Client, DeniedToken
from .services import client_revoke

# django-oauth-toolkit registers its own admin for the application model, which shows the secret.
if admin.site.is_registered(Client):
    admin.site.unregister(Client)


class RevokeClientsForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), max_length=2000)


class RevokedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


# Every field is read-only: clients are made by registration and ended by revocation.
CLIENT_FIELDS: tuple[str, ...] = (
    "client_id",
    "registered_application",
    "statement",
    "scopes",
    "redirect_uris",
    "platform",
    "user_agent",
    "device_info_pretty",
    "created",
    "last_used_at",
    "revoked_at",
    "revocation_reason",
)


@admin.register(Client)
class ClientAdmin(BoundedListAdmin):
    list_display = ["client_id", "registered_application", "platform", "created", "last_used_at", "revoked_at"]
    list_select_related = ["registered_application"]
    list_filter = [RevokedFilter, "platform", "created"]
    search_fields = ["client_id", "registered_application__name", "registered_application__programmer__slug"]
    date_hierarchy = "created"
    fields = CLIENT_FIELDS
    readonly_fields = CLIENT_FIELDS
    actions = ["revoke_clients"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="device info (X-Device-Info)")
    def device_info_pretty(self, obj: Client) -> Any:
        return format_html("<pre>{}</pre>", json.dumps(obj.device_info, indent=2, sort_keys=True))

    @admin.action(description="Revoke the selected clients…", permissions=["change"])
    def revoke_clients(self, request: HttpRequest, queryset: QuerySet[Client]) -> TemplateResponse | None:
        active = [client for client in queryset.select_related("registered_application") if client.revoked_at is None]
        if not active:
            self.message_user(request, "None of the selected clients is active.", messages.WARNING)
            return None
        form = RevokeClientsForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            for client in active:
                client_revoke(
                    client=client,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,  # type: ignore[arg-type]
                    ip_address=request_ip(request),
                )
            self.message_user(request, f"Revoked {len(active)} client(s).", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Revoke clients",
            "opts": self.model._meta,
            "clients": active,
            "objects": active,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "revoke_clients",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/oauth/revoke_clients.html", context)


@admin.register(DeniedToken)
class DeniedTokenAdmin(BoundedListAdmin):
    list_display = ["jti", "client", "revoked_at", "expires_at"]
    list_select_related = ["client"]
    search_fields = ["jti", "client__client_id"]
    readonly_fields = ["jti", "client", "revoked_at", "expires_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
