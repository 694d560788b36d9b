"""Memberships: a user's access to a programmer, on all or some of its channels."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin_actions import admin_actor
from core.admin_lists import BoundedListAdmin
from core.request_ip import request_ip
from core.service_errors import form_add_service_error

from .. import services
from ..models import (
    Membership,
)


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "programmer", "access", "channels"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # The programmer is read-only on the change page.
        programmer = cleaned.get("programmer") or (self.instance.programmer if self.instance.pk else None)
        if programmer is not None and cleaned.get("access"):
            try:
                services.membership_check(
                    programmer=programmer, access=cleaned["access"], channels=list(cleaned.get("channels") or ())
                )
            except ValidationError as error:
                form_add_service_error(self, error)
        return cleaned


@admin.register(Membership)
class MembershipAdmin(BoundedListAdmin):
    form = MembershipForm
    list_display = ["user", "programmer", "access", "channel_list", "created_at"]
    list_select_related = ["user", "programmer"]
    list_filter = ["access", "programmer"]
    search_fields = ["user__username", "user__email", "programmer__slug", "programmer__name"]
    filter_horizontal = ["channels"]
    autocomplete_fields = ["user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).prefetch_related("channels")

    @admin.display(description=_("channels"))
    def channel_list(self, obj: Membership) -> str:
        return ", ".join(c.slug for c in obj.channels.all()) or "every channel"

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        return ["user", "programmer", "created_at"] if obj else []

    def save_form(self, request: HttpRequest, form: forms.ModelForm, change: bool) -> Membership:
        """The service writes the membership with its channels and audit event; the admin logs and
        redirects to the row it returns."""
        obj = form.instance
        return services.membership_set(
            user=obj.user,
            programmer=obj.programmer,
            access=obj.access,
            channels=list(form.cleaned_data.get("channels") or ()),
            actor=admin_actor(request),
            ip_address=request_ip(request),
        )

    def save_model(self, request: HttpRequest, obj: Membership, form: forms.ModelForm, change: bool) -> None:
        """Nothing left to save: save_form's service call wrote the membership."""

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        """Nothing left to save: the service set the membership's channels."""

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.membership_remove(membership=obj, actor=admin_actor(request), ip_address=request_ip(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset.select_related("user", "programmer"):
            self.delete_model(request, membership)
