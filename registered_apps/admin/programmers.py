"""Programmers, with their channels inline (a slug never changes once created)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin_actions import admin_actor
from core.admin_lists import BoundedListAdmin
from core.request_ip import request_ip

from .. import services
from ..models import (
    Channel,
    Programmer,
)
from .adopt import admin_adopt


class ChannelInlineForm(forms.ModelForm):
    class Meta:
        model = Channel
        fields = ["slug", "name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The slug is the requestor id carried by issued statements and tokens.
            self.fields["slug"].disabled = True


class ChannelInline(admin.TabularInline):
    model = Channel
    form = ChannelInlineForm
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["slug", "name"]


@admin.register(Programmer)
class ProgrammerAdmin(BoundedListAdmin):
    list_display = ["slug", "name", "channel_count", "statement_lifetime_days", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [ChannelInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Programmer]:
        return super().get_queryset(request).annotate(channel_total=Count("channels"))

    @admin.display(description=_("channels"), ordering="channel_total")
    def channel_count(self, obj: Programmer) -> int:
        return getattr(obj, "channel_total", 0)

    def get_readonly_fields(self, request: HttpRequest, obj: Programmer | None = None) -> list[str]:
        return ["slug", "created_at"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Programmer | None = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Programmer | None = None) -> Any:
        editable = ["slug", "name", "statement_lifetime_days"]
        return [*editable, "created_at"] if obj else editable

    def save_model(self, request: HttpRequest, obj: Programmer, form: forms.ModelForm, change: bool) -> None:
        # The admin's change view runs in one transaction: the name and the lifetime change together or not.
        actor, ip_address, days = admin_actor(request), request_ip(request), obj.statement_lifetime_days
        if change:
            services.programmer_rename(programmer=obj, name=obj.name, actor=actor, ip_address=ip_address)
        else:
            created = services.programmer_create(slug=obj.slug, name=obj.name, actor=actor, ip_address=ip_address)
            admin_adopt(obj, created)
        services.programmer_statement_lifetime_set(programmer=obj, days=days, actor=actor, ip_address=ip_address)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        channels = formset.save(commit=False)
        created = []
        for channel in channels:
            if channel.pk:
                services.channel_rename(
                    channel=channel, name=channel.name, actor=admin_actor(request), ip_address=request_ip(request)
                )
            else:
                created.append(
                    services.channel_create(
                        programmer=formset.instance,
                        slug=channel.slug,
                        name=channel.name,
                        actor=admin_actor(request),
                        ip_address=request_ip(request),
                    )
                )
        formset.new_objects = created
