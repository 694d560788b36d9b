"""The TAM admin for programmers, channels, memberships, catalogs, registered applications, revocation
requests, usage and the audit trail. Every change goes through `services`, with the admin user as the
actor and the request's IP in the audit event."""

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers, widgets
from django.core.exceptions import ValidationError
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html_join

from core.admin_lists import BoundedListAdmin
from core.request_ip import request_ip

from . import services
from .models import (
    ApplicationLevel,
    ApplicationStatus,
    AuditEvent,
    Channel,
    ChannelDomain,
    CustomScheme,
    Membership,
    Platform,
    Programmer,
    RegisteredApplication,
    RevocationRequest,
    Scope,
    UsageDaily,
)

admin.site.site_header = "DCR registry administration"
admin.site.site_title = "DCR registry admin"
admin.site.index_title = "Programmers, applications, statements and clients"


def _adopt(target: Model, source: Model) -> None:
    """Make the admin's unsaved object the one a service created, so the admin's log entry and
    redirect point at it."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


def _add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the field it names, else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, field_errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, field_errors)


def _actor(request: HttpRequest) -> Any:
    return request.user


# --- Programmers and channels ---------------------------------------------------------------------


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
    list_display = ["slug", "name", "channel_count", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [ChannelInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Programmer]:
        return super().get_queryset(request).annotate(channel_total=Count("channels"))

    @admin.display(description="channels", ordering="channel_total")
    def channel_count(self, obj: Programmer) -> int:
        return getattr(obj, "channel_total", 0)

    def get_readonly_fields(self, request: HttpRequest, obj: Programmer | None = None) -> list[str]:
        return ["slug", "created_at"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Programmer | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Programmer, form: forms.ModelForm, change: bool) -> None:
        if change:
            services.programmer_rename(
                programmer=obj, name=obj.name, actor=_actor(request), ip_address=request_ip(request)
            )
        else:
            created = services.programmer_create(
                slug=obj.slug, name=obj.name, actor=_actor(request), ip_address=request_ip(request)
            )
            _adopt(obj, created)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        channels = formset.save(commit=False)
        created = []
        for channel in channels:
            if channel.pk:
                services.channel_rename(
                    channel=channel, name=channel.name, actor=_actor(request), ip_address=request_ip(request)
                )
            else:
                created.append(
                    services.channel_create(
                        programmer=formset.instance,
                        slug=channel.slug,
                        name=channel.name,
                        actor=_actor(request),
                        ip_address=request_ip(request),
                    )
                )
        formset.new_objects = created


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


class ChannelDomainFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        for form in self.deleted_forms:
            domain = form.instance
            if domain.pk and domain.applications.exists():
                form.add_error(None, f"{domain.host} is used by registered applications and cannot be removed.")
                raise ValidationError("Some domains are used by registered applications.")


class ChannelDomainInline(admin.TabularInline):
    model = ChannelDomain
    form = ChannelDomainForm
    formset = ChannelDomainFormSet
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
            services.channel_rename(channel=obj, name=obj.name, actor=_actor(request), ip_address=request_ip(request))
        else:
            created = services.channel_create(
                programmer=obj.programmer,
                slug=obj.slug,
                name=obj.name,
                actor=_actor(request),
                ip_address=request_ip(request),
            )
            _adopt(obj, created)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if formset.model is not ChannelDomain:
            formset.save()  # the read-only custom schemes: nothing changes
            return
        domains = formset.save(commit=False)
        for domain in formset.deleted_objects:
            services.channel_domain_remove(domain=domain, actor=_actor(request), ip_address=request_ip(request))
        formset.new_objects = [
            services.channel_domain_add(
                channel=formset.instance, host=domain.host, actor=_actor(request), ip_address=request_ip(request)
            )
            for domain in domains
            if not domain.pk
        ]

    @admin.action(description="Generate a new custom scheme for the selected channels")
    def generate_custom_scheme(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        count = 0
        for channel in queryset.select_related("programmer"):
            services.custom_scheme_create(channel=channel, actor=_actor(request), ip_address=request_ip(request))
            count += 1
        self.message_user(request, f"Generated {count} custom scheme(s).", messages.SUCCESS)


# --- Memberships ----------------------------------------------------------------------------------


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "programmer", "access", "channels"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        programmer = cleaned.get("programmer")
        foreign = [c.slug for c in cleaned.get("channels") or () if programmer and c.programmer_id != programmer.pk]
        if foreign:
            self.add_error("channels", f"Channels {', '.join(foreign)} do not belong to {programmer}.")
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

    @admin.display(description="channels")
    def channel_list(self, obj: Membership) -> str:
        return ", ".join(c.slug for c in obj.channels.all()) or "every channel"

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        return ["user", "programmer", "created_at"] if obj else []

    def save_model(self, request: HttpRequest, obj: Membership, form: forms.ModelForm, change: bool) -> None:
        # The membership is written (with its channels and audit event) in save_related, once the
        # chosen channels are known.
        pass

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        obj = form.instance
        membership = services.membership_set(
            user=obj.user,
            programmer=obj.programmer,
            access=obj.access,
            channels=list(form.cleaned_data.get("channels") or ()),
            actor=_actor(request),
            ip_address=request_ip(request),
        )
        _adopt(obj, membership)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.membership_remove(membership=obj, actor=_actor(request), ip_address=request_ip(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset.select_related("user", "programmer"):
            self.delete_model(request, membership)


# --- Catalogs -------------------------------------------------------------------------------------


class CatalogAdmin(BoundedListAdmin):
    list_display = ["code", "name", "active", "application_count"]
    list_filter = ["active"]
    search_fields = ["code", "name"]
    actions = ["retire", "reactivate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(application_total=Count("applications"))

    @admin.display(description="applications", ordering="application_total")
    def application_count(self, obj: Any) -> int:
        return getattr(obj, "application_total", 0)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Codes are what applications and statements refer to; retire an entry instead of renaming it.
        return ["code"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        services.catalog_entry_save(
            entry=obj, actor=_actor(request), ip_address=request_ip(request), changed=form.changed_data
        )

    @admin.action(description="Retire the selected entries (new applications cannot choose them)")
    def retire(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for entry in queryset:
            services.catalog_entry_set_active(
                entry=entry, active=False, actor=_actor(request), ip_address=request_ip(request)
            )
        self.message_user(request, f"Retired {len(queryset)} entr{'y' if len(queryset) == 1 else 'ies'}.")

    @admin.action(description="Reactivate the selected entries")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for entry in queryset:
            services.catalog_entry_set_active(
                entry=entry, active=True, actor=_actor(request), ip_address=request_ip(request)
            )
        self.message_user(request, f"Reactivated {len(queryset)} entr{'y' if len(queryset) == 1 else 'ies'}.")


@admin.register(Platform)
class PlatformAdmin(CatalogAdmin):
    pass


@admin.register(Scope)
class ScopeAdmin(CatalogAdmin):
    pass


# --- Registered applications ----------------------------------------------------------------------


class RegisteredApplicationAddForm(forms.ModelForm):
    """Creating an application in the admin applies `registered_application_clean`, the rule the
    dashboard and the commands use; its errors appear on the fields they name."""

    channels = forms.ModelMultipleChoiceField(
        queryset=Channel.objects.select_related("programmer"),
        required=False,
        widget=widgets.FilteredSelectMultiple("channels", is_stacked=False),
        help_text="Programmer level only, when not all channels.",
    )
    platforms = forms.ModelMultipleChoiceField(
        queryset=Platform.objects.filter(active=True),
        required=False,
        widget=widgets.FilteredSelectMultiple("platforms", is_stacked=False),
    )
    scopes = forms.ModelMultipleChoiceField(
        queryset=Scope.objects.filter(active=True),
        required=False,
        widget=widgets.FilteredSelectMultiple("scopes", is_stacked=False),
    )
    domains = forms.ModelMultipleChoiceField(
        queryset=ChannelDomain.objects.select_related("channel"),
        required=False,
        widget=widgets.FilteredSelectMultiple("domains", is_stacked=False),
        help_text="Required with the web platform; only domains of the application's channels.",
    )
    redirect_uris = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="One per line: <custom scheme of a channel>://... or https://<one of its domains>/...",
    )

    class Meta:
        model = RegisteredApplication
        fields = [
            "programmer",
            "level",
            "channel",
            "all_channels",
            "channels",
            "name",
            "version",
            "platforms",
            "scopes",
            "domains",
            "redirect_uris",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["domains"].label_from_instance = lambda d: f"{d.host} ({d.channel.slug})"  # type: ignore[attr-defined]
        self.fields["channel"].help_text = "Channel level only: the one channel."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        programmer = cleaned.get("programmer")
        if programmer is None or self.has_error("level"):
            return cleaned
        try:
            services.registered_application_check(services.ApplicationSpec(**self.service_arguments()))
        except ValidationError as exc:
            _add_service_errors(self, exc)
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "programmer": data["programmer"],
            "level": data.get("level") or "",
            "channel": data.get("channel"),
            "all_channels": bool(data.get("all_channels")),
            "channels": list(data.get("channels") or ()),
            "platforms": [p.code for p in data.get("platforms") or ()],
            "scopes": [s.code for s in data.get("scopes") or ()],
            "domains": [d.host for d in data.get("domains") or ()],
            "redirect_uris": [line.strip() for line in (data.get("redirect_uris") or "").splitlines() if line.strip()],
            "name": data.get("name") or "",
            "version": data.get("version") or "",
        }

    def _post_clean(self) -> None:
        # The model's own validation would repeat the service's checks with vaguer messages;
        # registered_application_clean (in clean above) is the one rule.
        pass

    def save(self, commit: bool = True) -> Any:
        # The admin's save_model creates the application through the service.
        self.save_m2m = lambda: None  # type: ignore[method-assign]
        return self.instance


class ChannelCoverageFilter(admin.SimpleListFilter):
    title = "channels"
    parameter_name = "coverage"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("all", "All channels"), ("subset", "Chosen channels"), ("channel", "One channel (channel level)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "all":
            return queryset.filter(all_channels=True)
        if value == "subset":
            return queryset.filter(level=ApplicationLevel.PROGRAMMER, all_channels=False)
        if value == "channel":
            return queryset.filter(level=ApplicationLevel.CHANNEL)
        return queryset


class RevokeReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        max_length=2000,
        help_text="Recorded with the revocation and shown to the programmer.",
    )


@admin.register(RegisteredApplication)
class RegisteredApplicationAdmin(BoundedListAdmin):
    list_display = [
        "name",
        "version",
        "programmer",
        "level",
        "channel_list",
        "platform_list",
        "status",
        "created_at",
    ]
    list_select_related = ["programmer", "channel"]
    list_filter = ["status", "level", ChannelCoverageFilter, "programmer", "platforms", "scopes"]
    search_fields = ["name", "programmer__slug", "programmer__name"]
    date_hierarchy = "created_at"
    actions = ["revoke_applications", "restore_applications"]
    readonly_fields = [
        "id",
        "programmer",
        "level",
        "channel_list",
        "platform_list",
        "scope_list",
        "domain_list",
        "redirect_uri_list",
        "name",
        "version",
        "status",
        "created_at",
        "created_by",
        "revoked_at",
        "revoked_by",
        "revocation_reason",
    ]
    change_fieldsets = [
        (None, {"fields": ["id", "programmer", "name", "version", "status"]}),
        (
            "Configuration (fixed at creation: a new version is a new application)",
            {"fields": ["level", "channel_list", "platform_list", "scope_list", "domain_list", "redirect_uri_list"]},
        ),
        ("History", {"fields": ["created_at", "created_by", "revoked_at", "revoked_by", "revocation_reason"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["programmer", "name", "version"]}),
        ("Channels", {"fields": ["level", "all_channels", "channels", "channel"]}),
        ("Configuration", {"fields": ["platforms", "scopes", "domains", "redirect_uris"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RegisteredApplication]:
        # Two prefetch queries per page, whatever the number of rows.
        return super().get_queryset(request).prefetch_related("channels", "platforms")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[RegisteredApplication], search_term: str
    ) -> tuple[QuerySet[RegisteredApplication], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            application_id = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(pk=application_id), may_have_duplicates

    def get_fieldsets(self, request: HttpRequest, obj: RegisteredApplication | None = None) -> Any:
        return self.change_fieldsets if obj else self.add_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: RegisteredApplication | None = None) -> list[str]:
        return list(self.readonly_fields) if obj else []

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = RegisteredApplicationAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: RegisteredApplication | None = None) -> bool:
        # Revocation is how an application ends; deleting would erase its statements and clients.
        return False

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: RegisteredApplication, form: forms.ModelForm, change: bool) -> None:
        if change:
            return  # nothing is editable after creation
        assert isinstance(form, RegisteredApplicationAddForm)
        created = services.registered_application_create_from(
            spec=services.ApplicationSpec(**form.service_arguments()),
            actor=_actor(request),
            ip_address=request_ip(request),
        )
        _adopt(obj, created)

    @admin.display(description="channels")
    def channel_list(self, obj: RegisteredApplication) -> str:
        if obj.level == ApplicationLevel.CHANNEL:
            return obj.channel.slug if obj.channel else "-"
        if obj.all_channels:
            return "All channels"
        return ", ".join(sorted(c.slug for c in obj.channels.all()))

    @admin.display(description="platforms")
    def platform_list(self, obj: RegisteredApplication) -> str:
        return ", ".join(sorted(p.code for p in obj.platforms.all()))

    @admin.display(description="scopes")
    def scope_list(self, obj: RegisteredApplication) -> str:
        return " ".join(sorted(s.code for s in obj.scopes.all()))

    @admin.display(description="domains")
    def domain_list(self, obj: RegisteredApplication) -> str:
        return ", ".join(sorted(d.host for d in obj.domains.all())) or "-"

    @admin.display(description="redirect URIs")
    def redirect_uri_list(self, obj: RegisteredApplication) -> Any:
        if not obj.redirect_uris:
            return "-"
        return format_html_join("", "<div>{}</div>", ((uri,) for uri in obj.redirect_uris))

    @admin.action(description="Revoke the selected applications…", permissions=["change"])
    def revoke_applications(
        self, request: HttpRequest, queryset: QuerySet[RegisteredApplication]
    ) -> TemplateResponse | None:
        active = [app for app in queryset if app.status == ApplicationStatus.ACTIVE]
        if not active:
            self.message_user(request, "None of the selected applications is active.", messages.WARNING)
            return None
        form = RevokeReasonForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            for application in active:
                services.registered_application_revoke(
                    application=application, reason=reason, actor=_actor(request), ip_address=request_ip(request)
                )
            self.message_user(request, f"Revoked {len(active)} application(s).", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Revoke registered applications",
            "subtitle": None,
            "opts": self.model._meta,
            "applications": active,
            "objects": active,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "revoke_applications",
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/registered_apps/revoke_confirmation.html", context)

    @admin.action(description="Restore the selected revoked applications", permissions=["change"])
    def restore_applications(self, request: HttpRequest, queryset: QuerySet[RegisteredApplication]) -> None:
        revoked = [app for app in queryset if app.status == ApplicationStatus.REVOKED]
        for application in revoked:
            services.registered_application_restore(
                application=application, actor=_actor(request), ip_address=request_ip(request)
            )
        if revoked:
            self.message_user(request, f"Restored {len(revoked)} application(s).", messages.SUCCESS)
        else:
            self.message_user(request, "None of the selected applications is revoked.", messages.WARNING)


# --- Revocation requests --------------------------------------------------------------------------


@admin.register(RevocationRequest)
class RevocationRequestAdmin(BoundedListAdmin):
    list_display = ["application", "programmer", "state", "reason", "requested_by", "requested_at", "decided_by"]
    list_select_related = ["application__programmer", "requested_by", "decided_by"]
    list_filter = ["state", "application__programmer"]
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

    @admin.display(description="programmer", ordering="application__programmer__name")
    def programmer(self, obj: RevocationRequest) -> Programmer:
        return obj.application.programmer

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RevocationRequest | None = None) -> bool:
        return False

    @admin.action(description="Approve: revoke the applications with the requests' reasons", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[RevocationRequest]) -> None:
        pending = list(queryset.filter(state=RevocationRequest.State.PENDING))
        for revocation_request in pending:
            services.revocation_request_approve(
                revocation_request=revocation_request, actor=_actor(request), ip_address=request_ip(request)
            )
        self.message_user(request, f"Approved {len(pending)} request(s).", messages.SUCCESS)

    @admin.action(description="Dismiss the selected requests", permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[RevocationRequest]) -> None:
        pending = list(queryset.filter(state=RevocationRequest.State.PENDING))
        for revocation_request in pending:
            services.revocation_request_dismiss(
                revocation_request=revocation_request, actor=_actor(request), ip_address=request_ip(request)
            )
        self.message_user(request, f"Dismissed {len(pending)} request(s).", messages.SUCCESS)


# --- Read-only records ----------------------------------------------------------------------------


class ReadOnlyAdmin(BoundedListAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UsageDaily)
class UsageDailyAdmin(ReadOnlyAdmin):
    list_display = ["day", "application", "programmer", "platform", "registrations", "tokens"]
    list_select_related = ["application__programmer"]
    list_filter = ["platform", "application__programmer"]
    search_fields = ["application__name", "application__programmer__slug"]
    date_hierarchy = "day"

    @admin.display(description="programmer", ordering="application__programmer__name")
    def programmer(self, obj: UsageDaily) -> Programmer:
        return obj.application.programmer


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "object_type", "object_repr", "programmer", "ip_address"]
    list_select_related = ["actor_user", "programmer"]
    list_filter = ["action", "object_type", "programmer"]
    search_fields = ["object_id", "object_repr", "action", "actor_label", "actor_user__username"]
    date_hierarchy = "created_at"
