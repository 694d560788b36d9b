"""Channels: their domains inline (a domain an application uses stays) and their generated custom schemes."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin_actions import admin_actor
from core.admin_lists import BoundedListAdmin
from core.request_ip import request_ip

from .. import services
from ..models import (
    Channel,
    ChannelDomain,
    CustomScheme,
)
from .adopt import admin_adopt


class ChannelDomainForm(forms.ModelForm):
    class Meta:
        model = ChannelDomain
        fields = ["host"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Applications chose this host; a changed host would change their configuration.
            self.fields["host"].disabled = True

    def clean_host(self) -> str:
        if self.instance.pk:
            return self.instance.host
        try:
            return services.channel_domain_host_clean(self.cleaned_data.get("host", ""))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["host"]) from exc


class ChannelDomainInline(admin.TabularInline):
    model = ChannelDomain
    form = ChannelDomainForm
    extra = 1
    fields = ["host"]


class CustomSchemeInline(admin.TabularInline):
    """Generated values, read-only; the channel action "Generate a new custom scheme" adds one."""

    model = CustomScheme
    extra = 0
    can_delete = False
    fields = ["scheme", "created_at"]
    readonly_fields = ["scheme", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ChannelForm(forms.ModelForm):
    class Meta:
        model = Channel
        fields = ["programmer", "slug", "name"]


@admin.register(Channel)
class ChannelAdmin(BoundedListAdmin):
    form = ChannelForm
    list_display = ["slug", "name", "programmer", "created_at"]
    list_select_related = ["programmer"]
    list_filter = ["programmer"]
    search_fields = ["slug", "name", "programmer__slug", "programmer__name", "domains__host"]
    inlines = [ChannelDomainInline, CustomSchemeInline]
    actions = ["generate_custom_scheme"]

    def get_readonly_fields(self, request: HttpRequest, obj: Channel | None = None) -> list[str]:
        return ["programmer", "slug", "created_at"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Channel | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Channel, form: forms.ModelForm, change: bool) -> None:
        if change:
            services.channel_rename(
                channel=obj, name=obj.name, actor=admin_actor(request), ip_address=request_ip(request)
            )
        else:
            created = services.channel_create(
                programmer=obj.programmer,
                slug=obj.slug,
                name=obj.name,
                actor=admin_actor(request),
                ip_address=request_ip(request),
            )
            admin_adopt(obj, created)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if formset.model is not ChannelDomain:
            formset.save()  # the read-only custom schemes: nothing changes
            return
        domains = formset.save(commit=False)
        for domain in formset.deleted_objects:
            services.channel_domain_remove(domain=domain, actor=admin_actor(request), ip_address=request_ip(request))
        formset.new_objects = [
            services.channel_domain_add(
                channel=formset.instance, host=domain.host, actor=admin_actor(request), ip_address=request_ip(request)
            )
            for domain in domains
            if not domain.pk
        ]

    @admin.action(description="Generate a new custom scheme for the selected channels")
    def generate_custom_scheme(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        count = 0
        for channel in queryset.select_related("programmer"):
            services.custom_scheme_create(channel=channel, actor=admin_actor(request), ip_address=request_ip(request))
            count += 1
        self.message_user(request, f"Generated {count} custom scheme(s).", messages.SUCCESS)
