"""Channels (one per requestor id, in every environment) with their domains inline and their generated
custom schemes, each of one environment; a channel's general settings per environment. TAM changes
apply at once (no pending change, no push)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin_actions import admin_actor
from core.admin_lists import BoundedListAdmin
from core.request_ip import request_ip
from core.service_errors import form_add_service_error

from .. import services
from ..environments import EnvironmentInfo, environments_all
from ..models import (
    Channel,
    ChannelDomain,
    ChannelSettings,
    CustomScheme,
    Environment,
)
from .adopt import admin_adopt
from .environments import EnvironmentChoiceField, environment_column, environment_filter, environment_name


class ChannelDomainForm(forms.ModelForm):
    environment = EnvironmentChoiceField(help_text="Production unless you pick another.")

    class Meta:
        model = ChannelDomain
        fields = ["environment", "host"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Applications chose this host; a changed host would change their configuration.
            self.fields["host"].disabled = True
            self.fields["environment"].disabled = True

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
    fields = ["environment", "host"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChannelDomain]:
        return super().get_queryset(request).order_by("environment__order", "host")


class CustomSchemeInline(admin.TabularInline):
    """Generated values, read-only; the channel actions "Generate a new custom scheme in ..." add one."""

    model = CustomScheme
    extra = 0
    can_delete = False
    fields = ("environment_label", "scheme", "created_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomScheme]:
        return super().get_queryset(request).order_by("environment__order", "created_at", "id")

    @admin.display(description=_("environment"))
    def environment_label(self, obj: CustomScheme) -> str:
        return environment_name(obj.environment_id)

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
                channel=formset.instance,
                host=domain.host,
                environment=domain.environment,
                actor=admin_actor(request),
                ip_address=request_ip(request),
            )
            for domain in domains
            if not domain.pk
        ]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """One "generate a custom scheme" action per environment (environments are data, so the actions
        are made here): `generate_custom_scheme` for production, `generate_custom_scheme_<slug>` for
        the others."""
        actions: dict[str, Any] = super().get_actions(request)
        if self.has_change_permission(request):
            for environment in environments_all():
                name = "generate_custom_scheme" + ("" if environment.is_production else f"_{environment.slug}")
                description = f"Generate a new custom scheme in {environment.name} for the selected channels"
                actions[name] = (self._custom_scheme_action(environment), name, description)
        return actions

    @staticmethod
    def _custom_scheme_action(environment: EnvironmentInfo) -> Callable[..., None]:
        def action(modeladmin: "ChannelAdmin", request: HttpRequest, queryset: QuerySet[Channel]) -> None:
            modeladmin.custom_schemes_generate(request, queryset, environment)

        return action

    def custom_schemes_generate(
        self, request: HttpRequest, queryset: QuerySet[Channel], environment: EnvironmentInfo
    ) -> None:
        target = Environment.objects.get(pk=environment.id)
        count = 0
        for channel in queryset.select_related("programmer"):
            services.custom_scheme_create(
                channel=channel, environment=target, actor=admin_actor(request), ip_address=request_ip(request)
            )
            count += 1
        self.message_user(
            request,
            ngettext(
                "Generated %(count)s custom scheme in %(environment)s.",
                "Generated %(count)s custom schemes in %(environment)s.",
                count,
            )
            % {"count": count, "environment": target.name},
            messages.SUCCESS,
        )


class ChannelSettingsForm(forms.ModelForm):
    environment = EnvironmentChoiceField()
    # A plain field, outside the model's validation: the model's URLField knows only http(s) and ftp, the
    # service's rule also allows one of the channel's custom schemes. save_model passes it on.
    default_redirect_url = forms.CharField(
        max_length=500,
        required=False,
        help_text="https on one of the channel's domains in this environment, or one of its custom schemes there.",
    )

    class Meta:
        model = ChannelSettings
        fields = ["channel", "environment", "display_name"]
        exclude = ["default_redirect_url"]  # noqa: DJ006 (see the field above)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # On the change page the channel and environment are read-only: the row's own.
        channel = data.get("channel") if "channel" in self.fields else self.instance.channel
        environment = data.get("environment") if "environment" in self.fields else self.instance.environment
        if channel is None or environment is None:
            return data
        try:
            services.channel_settings_check(
                channel=channel,
                environment_id=environment.pk,
                display_name=data.get("display_name", ""),
                default_redirect_url=data.get("default_redirect_url", ""),
            )
        except ValidationError as error:
            form_add_service_error(self, error)
        return data


@admin.register(ChannelSettings)
class ChannelSettingsAdmin(BoundedListAdmin):
    """A channel's general settings per environment (display name, default redirect URL), set at once
    through the service (its rules: the URL is https on one of the channel's domains, or one of its
    custom schemes, in that environment)."""

    form = ChannelSettingsForm
    list_display = ["channel", "programmer", environment_column("environment"), "display_name", "default_redirect_url"]
    list_select_related = ["channel__programmer"]
    list_filter = [environment_filter("environment"), "channel__programmer"]
    search_fields = ["channel__slug", "channel__name", "display_name", "default_redirect_url"]
    autocomplete_fields = ["channel"]

    @admin.display(description=_("programmer"), ordering="channel__programmer__name")
    def programmer(self, obj: ChannelSettings) -> str:
        return str(obj.channel.programmer)

    def get_readonly_fields(self, request: HttpRequest, obj: ChannelSettings | None = None) -> list[str]:
        return ["channel", "environment"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: ChannelSettings | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ChannelSettings, form: forms.ModelForm, change: bool) -> None:
        saved = services.channel_settings_set(
            channel=obj.channel,
            environment=obj.environment,
            display_name=obj.display_name,
            default_redirect_url=form.cleaned_data.get("default_redirect_url", ""),
            actor=admin_actor(request),
            ip_address=request_ip(request),
        )
        admin_adopt(obj, saved)
