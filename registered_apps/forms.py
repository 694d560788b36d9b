"""Dashboard forms: they parse input only; the services decide what is valid and say why."""

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.conf import dcr
from core.service_errors import form_add_service_error
from core.window_limit import window_limit_key, window_limit_take

from .models import STATEMENT_LIFETIME_DAYS, ApplicationStatus, Channel, ChannelDomain, Platform, Scope
from .services.application_rules import VERSION_RULE
from .tasks import password_reset_email, task_enqueue_on_commit

COVERAGE_ALL = "all"
COVERAGE_SUBSET = "subset"


class ApplicationFilterForm(forms.Form):
    """Search and filters of an application list (GET)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *ApplicationStatus.choices]
    )
    platform = forms.ChoiceField(label=_("Platform"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False)

    def __init__(self, *args: Any, platforms: Iterable[Platform], channels: Iterable[Channel] | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update({"placeholder": _("Name, version or software id"), "type": "search"})
        cast(forms.ChoiceField, self.fields["platform"]).choices = [("", _("Any platform"))] + [
            (p.code, p.name) for p in platforms
        ]
        if channels is None:
            del self.fields["channel"]
        else:
            cast(forms.ChoiceField, self.fields["channel"]).choices = [("", _("Any channel"))] + [
                (c.slug, f"{c.name} ({c.slug})") for c in channels
            ]


class ChannelChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.slug})"


class ApplicationForm(forms.Form):
    """A new registered application. Required-ness and the cross-field rules live in
    `services.registered_application_check` (through `ApplicationSpec`), so the dashboard, the admin and
    the CLI say the same."""

    name = forms.CharField(label=_("Application name"), max_length=200, required=False)
    version = forms.CharField(
        label=_("Version"),
        max_length=32,
        required=False,
        initial="1.0.0",
        help_text=format_lazy(
            "{} {}", VERSION_RULE, _("A new major version of a client gets a new registered application.")
        ),
    )
    coverage = forms.ChoiceField(
        label=_("The application covers"),
        choices=[
            (COVERAGE_ALL, _("All channels, including channels added later")),
            (COVERAGE_SUBSET, _("Only the channels I choose")),
        ],
        initial=COVERAGE_ALL,
        widget=forms.RadioSelect,
        required=False,
    )
    channels = ChannelChoiceField(
        label=_("Chosen channels"),
        queryset=Channel.objects.none(),
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    platforms = forms.MultipleChoiceField(label=_("Platforms"), widget=forms.CheckboxSelectMultiple, required=False)
    scopes = forms.MultipleChoiceField(label=_("Scopes"), widget=forms.CheckboxSelectMultiple, required=False)
    domains = forms.MultipleChoiceField(
        label=_("Domains"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Needed for the web platform; https redirect URIs must use one of them."),
    )
    redirect_uris = forms.CharField(
        label=_("Redirect URIs"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono", "spellcheck": "false"}),
        required=False,
        help_text=_("One per line: a custom scheme of the channels (scheme://…) or https on a chosen domain."),
    )

    def __init__(
        self,
        *args: Any,
        channels: Iterable[Channel] | None,
        allow_all_channels: bool,
        platforms: Iterable[Platform],
        scopes: Iterable[Scope],
        domains: Iterable[ChannelDomain],
        **kwargs: Any,
    ):
        """`channels` None: a channel-level form (the channel is fixed by the URL)."""
        super().__init__(*args, **kwargs)
        if channels is None:
            del self.fields["coverage"]
            del self.fields["channels"]
        else:
            channel_list = list(channels)
            cast(forms.ModelMultipleChoiceField, self.fields["channels"]).queryset = Channel.objects.filter(
                pk__in=[c.pk for c in channel_list]
            ).order_by("name")
            if not allow_all_channels:
                del self.fields["coverage"]
                self.fields["channels"].label = _("Channels")
        cast(forms.ChoiceField, self.fields["platforms"]).choices = [
            (p.code, p.name) for p in sorted(platforms, key=lambda platform: platform.name.lower())
        ]
        cast(forms.ChoiceField, self.fields["scopes"]).choices = [(s.code, f"{s.name} ({s.code})") for s in scopes]
        by_host: dict[str, list[str]] = {}
        for domain in domains:
            by_host.setdefault(domain.host, []).append(domain.channel.slug)
        cast(forms.ChoiceField, self.fields["domains"]).choices = [
            (host, f"{host} ({', '.join(sorted(slugs))})") for host, slugs in sorted(by_host.items())
        ]

    @property
    def covers_all_channels(self) -> bool:
        return "coverage" in self.fields and self.cleaned_data.get("coverage") == COVERAGE_ALL

    def clean_redirect_uris(self) -> list[str]:
        text = self.cleaned_data.get("redirect_uris") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def apply_service_errors(self, error: ValidationError) -> None:
        """Each message of a service's ValidationError next to the field it names ("channels" next to the
        coverage choice when the form shows no channel list)."""
        form_add_service_error(self, error, aliases={"channels": "coverage"})


class RevocationRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Why should this application be revoked?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_("The TAMs read this before they decide. Mention leaks, abuse or the version that replaces it."),
    )


class ChannelCreateForm(forms.Form):
    """A new channel of the programmer (staged as a pending change)."""

    slug = forms.CharField(
        label=_("Requestor id"),
        max_length=64,
        required=False,
        help_text=_("Lowercase letters, digits and hyphens. It is unique across the registry and never changes."),
    )
    name = forms.CharField(label=_("Display name"), max_length=200, required=False)


class ChannelSettingsForm(forms.Form):
    """A channel's general settings in the dashboard's environment."""

    display_name = forms.CharField(label=_("Display name"), max_length=200, required=False)
    default_redirect_url = forms.CharField(
        label=_("Default redirect URL"),
        max_length=500,
        required=False,
        help_text=_("Optional: https on one of the channel’s domains here, or one of its custom schemes."),
    )


class DomainAddForm(forms.Form):
    host = forms.CharField(
        label=_("Domain"),
        max_length=253,
        required=False,
        help_text=_("A host name such as watch.example-tv.com; https redirect URIs may use it."),
    )


class DomainDeleteForm(forms.Form):
    host = forms.CharField(max_length=253)


class PushForm(forms.Form):
    """Push the pending changes: the description is required (the browser asks too; the service decides)."""

    description = forms.CharField(
        label=_("Configuration description"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "required": True}),
        help_text=_("What this configuration is for; the changes log shows it with the push."),
    )
    reviewed = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_reviewed(self) -> list[int] | None:
        text = self.cleaned_data.get("reviewed") or ""
        if not text:
            return None
        try:
            return [int(part) for part in text.split(",") if part]
        except ValueError:
            raise ValidationError(_("The list of reviewed changes is malformed; reload the page.")) from None


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's password reset form whose e-mail is sent by a task once the request is done.

    The request does the same work for every address, with an account or not (so that its time tells
    nothing): no user lookup, one count in the per-address limit and one task with the address typed. The
    task looks the account up and sends only to an active user with a usable password; past
    `DCR_PASSWORD_RESET_LIMIT` in the window it queues nothing, and the answer stays the same."""

    def save(  # type: ignore[override]
        self,
        domain_override: str | None = None,
        subject_template_name: str = "registration/password_reset_subject.txt",
        email_template_name: str = "registration/password_reset_email.html",
        use_https: bool = False,
        from_email: str | None = None,
        request: Any = None,
        html_email_template_name: str | None = None,
        # token_generator (the task makes the token with Django's default one) and extra_email_context
        # (the view gives none): only values that can travel through the broker as JSON go to the task.
        **_unused: Any,
    ) -> None:
        email = self.cleaned_data["email"]
        if domain_override:
            site_name = domain = domain_override
        else:
            site = get_current_site(request)
            site_name, domain = site.name, site.domain
        allowed = window_limit_take(
            window_limit_key("password-reset-address", email.strip().casefold()),
            limit=dcr.password_reset_limit,
            seconds=dcr.password_reset_window_seconds,
        )
        if not allowed:
            return
        task_enqueue_on_commit(
            password_reset_email,
            email=email,
            domain=domain,
            site_name=site_name,
            use_https=use_https,
            subject_template_name=subject_template_name,
            email_template_name=email_template_name,
            html_email_template_name=html_email_template_name,
            from_email=from_email,
        )


# The statement download's lifetime (posted to `software_statements.forms.StatementDownloadForm`): "none"
# (never expires) or a number of days of STATEMENT_LIFETIME_DAYS.
STATEMENT_LIFETIME_NEVER = "none"


def statement_lifetime_choices(default_days: int | None) -> list[tuple[str, str, bool]]:
    """The download form's select as (value, label, selected): the programmer's default (set by a TAM)
    selected and marked as such."""
    choices = [(STATEMENT_LIFETIME_NEVER, gettext("Never expires"))]
    choices += [
        (str(days), ngettext("%(days)s day", "%(days)s days", days) % {"days": days})
        for days in STATEMENT_LIFETIME_DAYS
    ]
    default = STATEMENT_LIFETIME_NEVER if default_days is None else str(default_days)
    return [
        (value, gettext("%(label)s (default)") % {"label": label} if value == default else label, value == default)
        for value, label in choices
    ]
