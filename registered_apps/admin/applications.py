"""Registered applications: created from the add page through the service's rules, then read-only but
for their quotas (`services.set_application_quota`, audited); revoked with a reason and restored."""

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.translation import gettext, ngettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from core.admin_actions import RevokeWithReasonMixin, admin_actor
from core.admin_lists import BoundedListAdmin
from core.request_ip import request_ip
from core.service_errors import form_add_service_error

from .. import services
from ..models import (
    ApplicationLevel,
    ApplicationStatus,
    Channel,
    ChannelDomain,
    Platform,
    Programmer,
    RegisteredApplication,
    Scope,
)
from ..services.quotas import QUOTA_FIELDS, QUOTA_MAX, quota_rows
from .environments import EnvironmentChoiceField, environment_column, environment_filter, environment_name


def _quota_field(label: Any) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=QUOTA_MAX,
        help_text=_("Empty: the default (shown below). 0: no limit."),
    )


class ApplicationQuotaForm(forms.ModelForm):
    """The change page's only editable fields: the quotas (README "Quotas")."""

    quota_registrations_per_hour = _quota_field(_("Registrations per hour"))
    quota_tokens_per_hour = _quota_field(_("Tokens per hour"))
    quota_tokens_per_day = _quota_field(_("Tokens per day"))

    class Meta:
        model = RegisteredApplication
        fields = list(QUOTA_FIELDS)


class RegisteredApplicationAddForm(forms.ModelForm):
    """The add page's form. Its fields are its own, none bound to the model (`Meta.exclude`), so Django's
    model validation has nothing to repeat: `clean` builds the
    `ApplicationSpec` and checks it with the service's rules, the ones the dashboard and the commands
    use, and the admin creates the application from `spec`."""

    programmer = forms.ModelChoiceField(queryset=Programmer.objects.all())
    environment = EnvironmentChoiceField(
        help_text="Where the application exists: its domains and custom schemes are this environment's, and its "
        "statements are signed with this environment's keys. TAM changes apply at once (no push).",
    )
    name = forms.CharField(max_length=200, required=False, widget=widgets.AdminTextInputWidget)
    version = forms.CharField(max_length=32, required=False, initial="1.0.0", widget=widgets.AdminTextInputWidget)
    level = forms.ChoiceField(choices=ApplicationLevel.choices, initial=ApplicationLevel.PROGRAMMER)
    all_channels = forms.BooleanField(required=False)
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.select_related("programmer"),
        required=False,
        help_text="Channel level only: the one channel.",
    )
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
        queryset=ChannelDomain.objects.select_related("channel").order_by(
            "environment__order", "host", "channel__slug"
        ),
        required=False,
        widget=widgets.FilteredSelectMultiple("domains", is_stacked=False),
        help_text="Required with the web platform; only domains of the application's channels in its environment.",
    )
    redirect_uris = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        # The admin renders help texts as HTML.
        help_text="One per line: &lt;custom scheme of a channel&gt;://... or https://&lt;one of its domains&gt;/...",
    )

    class Meta:
        model = RegisteredApplication
        # Excluded from the model's side: the form's fields of the same names are plain ones. (The admin
        # names the fields it shows in add_fieldsets.)
        exclude = [  # noqa: DJ006
            "programmer",
            "environment",
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

    spec: services.ApplicationSpec

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["domains"].label_from_instance = self._domain_label  # type: ignore[attr-defined]

    @staticmethod
    def _domain_label(domain: ChannelDomain) -> str:
        # The environment first: the list is narrow, and its filter box then finds an environment's domains.
        return f"{environment_name(domain.environment_id)}: {domain.host} ({domain.channel.slug})"

    def clean_redirect_uris(self) -> list[str]:
        text = self.cleaned_data.get("redirect_uris") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("programmer") is None or data.get("environment") is None or self.has_error("level"):
            return data
        environment = data["environment"]
        # The domains list offers every environment's; the spec names hosts, which the rules look up in
        # the application's environment. A row of another environment is said to be one.
        chosen = list(data.get("domains", ()))
        elsewhere = [domain for domain in chosen if domain.environment_id != environment.pk]
        if elsewhere:
            hosts = ", ".join(sorted({domain.host for domain in elsewhere}))
            self.add_error("domains", f"Choose domains of {environment.name}: {hosts} belong to another environment.")
        # A field that failed its own validation is missing here; the spec reads it as empty.
        self.spec = services.ApplicationSpec(
            programmer=data["programmer"],
            environment=environment,
            level=data["level"],
            channel=data.get("channel"),
            all_channels=data.get("all_channels", False),
            channels=list(data.get("channels", ())),
            platforms=[platform.code for platform in data.get("platforms", ())],
            scopes=[scope.code for scope in data.get("scopes", ())],
            domains=[domain.host for domain in chosen if domain.environment_id == environment.pk],
            redirect_uris=data.get("redirect_uris", []),
            name=data.get("name", ""),
            version=data.get("version", ""),
        )
        try:
            services.registered_application_check(self.spec)
        except ValidationError as error:
            form_add_service_error(self, error)
        return data


class ChannelCoverageFilter(admin.SimpleListFilter):
    title = _("channels")
    parameter_name = "coverage"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("all", _("All channels")),
            ("subset", _("Chosen channels")),
            ("channel", _("One channel (channel level)")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "all":
            return queryset.filter(all_channels=True)
        if value == "subset":
            return queryset.filter(level=ApplicationLevel.PROGRAMMER, all_channels=False)
        if value == "channel":
            return queryset.filter(level=ApplicationLevel.CHANNEL)
        return queryset


@admin.register(RegisteredApplication)
class RegisteredApplicationAdmin(RevokeWithReasonMixin, BoundedListAdmin):
    list_display = [
        "name",
        "version",
        "programmer",
        environment_column("environment"),
        "level",
        "channel_list",
        "platform_list",
        "status",
        "created_at",
    ]
    list_select_related = ["programmer", "channel"]
    list_filter = [
        environment_filter("environment"),
        "status",
        "level",
        ChannelCoverageFilter,
        "programmer",
        "platforms",
        "scopes",
    ]
    search_fields = ["name", "programmer__slug", "programmer__name"]
    date_hierarchy = "created_at"
    actions = ["revoke_applications", "restore_applications"]
    revoke_done = ngettext_lazy("Revoked %(count)s application.", "Revoked %(count)s applications.", "count")
    revoke_title = _("Revoke registered applications")
    revoke_template = "admin/registered_apps/revoke_confirmation.html"
    revoke_reason_help = _("Recorded with the revocation and shown to the programmer.")
    readonly_fields = [
        "id",
        "programmer",
        "environment",
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
        "quota_in_force",
    ]
    change_fieldsets = [
        (None, {"fields": ["id", "programmer", "environment", "name", "version", "status"]}),
        (
            "Configuration (fixed at creation: a new version is a new application)",
            {"fields": ["level", "channel_list", "platform_list", "scope_list", "domain_list", "redirect_uri_list"]},
        ),
        (
            _("Quotas (over one the API answers 429; a change counts from the next request, and is audited)"),
            {"fields": [*QUOTA_FIELDS, "quota_in_force"]},
        ),
        ("History", {"fields": ["created_at", "created_by", "revoked_at", "revoked_by", "revocation_reason"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["programmer", "environment", "name", "version"]}),
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
        kwargs["form"] = RegisteredApplicationAddForm if obj is None else ApplicationQuotaForm
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
            "show_save_and_continue": True,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_form(self, request: HttpRequest, form: forms.ModelForm, change: bool) -> RegisteredApplication:
        """Adding: the service creates the application, with its relations and audit event, from the spec
        the form checked; the admin logs and redirects to the row it returns. The change page edits the
        quotas only, through their service (audited, published to the hot-path store)."""
        if change:
            values = {name.removeprefix("quota_"): form.cleaned_data.get(name) for name in QUOTA_FIELDS}
            return services.set_application_quota(
                form.instance, actor=admin_actor(request), ip_address=request_ip(request), **values
            )
        assert isinstance(form, RegisteredApplicationAddForm)
        return services.registered_application_create_from(
            spec=form.spec, actor=admin_actor(request), ip_address=request_ip(request)
        )

    def save_model(self, request: HttpRequest, obj: RegisteredApplication, form: forms.ModelForm, change: bool) -> None:
        """Nothing left to save: save_form's service call wrote the application."""

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        """Nothing left to save: the service set the application's channels, platforms, scopes and domains."""

    @admin.display(description=_("in force"))
    def quota_in_force(self, obj: RegisteredApplication) -> Any:
        rows = quota_rows(obj)
        return format_html_join(
            "",
            "<div>{}: {}{}</div>",
            (
                (row["label"], row["limit"] or _("no limit"), _(" (the default)") if row["default"] else "")
                for row in rows
            ),
        )

    @admin.display(description=_("channels"))
    def channel_list(self, obj: RegisteredApplication) -> str:
        if obj.level == ApplicationLevel.CHANNEL:
            return obj.channel.slug if obj.channel else "-"
        if obj.all_channels:
            return "All channels"
        return ", ".join(sorted(c.slug for c in obj.channels.all()))

    @admin.display(description=_("platforms"))
    def platform_list(self, obj: RegisteredApplication) -> str:
        return ", ".join(sorted(p.code for p in obj.platforms.all()))

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: RegisteredApplication) -> str:
        return " ".join(sorted(s.code for s in obj.scopes.all()))

    @admin.display(description=_("domains"))
    def domain_list(self, obj: RegisteredApplication) -> str:
        return ", ".join(sorted(d.host for d in obj.domains.all())) or "-"

    @admin.display(description=_("redirect URIs"))
    def redirect_uri_list(self, obj: RegisteredApplication) -> Any:
        if not obj.redirect_uris:
            return "-"
        return format_html_join("", "<div>{}</div>", ((uri,) for uri in obj.redirect_uris))

    @admin.action(description=_("Revoke the selected applications…"), permissions=["change"])
    def revoke_applications(
        self, request: HttpRequest, queryset: QuerySet[RegisteredApplication]
    ) -> TemplateResponse | None:
        active = [app for app in queryset if app.status == ApplicationStatus.ACTIVE]
        return self.revoke_with_reason(
            request,
            active,
            action="revoke_applications",
            none_message=_("None of the selected applications is active."),
        )

    def revoke_one(self, obj: RegisteredApplication, *, reason: str, actor: Any, ip_address: str | None) -> object:
        return services.registered_application_revoke(
            application=obj, reason=reason, actor=actor, ip_address=ip_address
        )

    @admin.action(description=_("Restore the selected revoked applications"), permissions=["change"])
    def restore_applications(self, request: HttpRequest, queryset: QuerySet[RegisteredApplication]) -> None:
        revoked = [app for app in queryset if app.status == ApplicationStatus.REVOKED]
        for application in revoked:
            services.registered_application_restore(
                application=application, actor=admin_actor(request), ip_address=request_ip(request)
            )
        if revoked:
            self.message_user(
                request,
                ngettext("Restored %(count)s application.", "Restored %(count)s applications.", len(revoked))
                % {"count": len(revoked)},
                messages.SUCCESS,
            )
        else:
            self.message_user(request, gettext("None of the selected applications is revoked."), messages.WARNING)
