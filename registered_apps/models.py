"""Environments, programmers, channels, memberships, catalogs and registered applications (the change
workflow, preferences and records in their own modules, registered here)."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


def generate_custom_scheme() -> str:
    """`adbe.u-` followed by 22 url-safe random characters (16 random bytes)."""
    return "adbe.u-" + secrets.token_urlsafe(16)


class Environment(models.Model):
    """One of the separately served configurations (Prequal Staging ... Release Production): its own
    issuer, signing keys, registered applications, domains, custom schemes and channel settings. The API
    serves one environment per host (`registered_apps.environments`)."""

    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    issuer = models.CharField(
        _("issuer"),
        max_length=255,
        blank=True,
        help_text=_(
            "The `iss` of its statements and tokens. Blank: DCR_ISSUER for production, else the scheme of "
            "DCR_ISSUER with this environment's host (DCR_ENVIRONMENT_HOSTS, or <slug>.localhost)."
        ),
    )
    order = models.PositiveSmallIntegerField(
        _("order"), default=0, help_text=_("Position in the dashboard's environment menu.")
    )
    is_production = models.BooleanField(
        _("is production"),
        default=False,
        help_text=_("Hosts not listed in DCR_ENVIRONMENT_HOSTS serve the production environment."),
    )

    class Meta:
        verbose_name = _("environment")
        verbose_name_plural = _("environments")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_production"], condition=Q(is_production=True), name="one_production_environment"
            )
        ]

    def __str__(self) -> str:
        return self.name


def production_environment_id() -> int:
    """The default environment of every row made without one (and of every row older than environments)."""
    from .environments import environment_production

    return environment_production().id


# The lifetimes a software statement may be given, in days (README "Software statements and signing
# keys"); no lifetime (None) is the original's statement, which never expires.
STATEMENT_LIFETIME_DAYS = (30, 90, 180, 365)


class Programmer(models.Model):
    """A content owner, typically a TV network group."""

    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    statement_lifetime_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        choices=[(days, format_lazy(_("{days} days"), days=days)) for days in STATEMENT_LIFETIME_DAYS],
        verbose_name=_("default statement lifetime"),
        help_text=_(
            "Pre-selected when its members download a software statement (they may pick another). "
            "Blank: statements never expire."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("programmer")
        verbose_name_plural = _("programmers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Channel(models.Model):
    """A channel of one programmer; its slug is the requestor id, unique across the system."""

    programmer = models.ForeignKey(
        Programmer, on_delete=models.PROTECT, related_name="channels", verbose_name=_("programmer")
    )
    slug = models.SlugField(max_length=64, unique=True, verbose_name=_("requestor id"))
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["programmer__name", "name"]

    def __str__(self) -> str:
        return self.slug


class ChannelDomain(models.Model):
    """A host name owned by a channel in one environment, usable for web redirect URIs."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="domains", verbose_name=_("channel"))
    environment = models.ForeignKey(
        Environment,
        on_delete=models.PROTECT,
        related_name="+",
        default=production_environment_id,
        verbose_name=_("environment"),
    )
    host = models.CharField(_("host"), max_length=253)

    class Meta:
        verbose_name = _("channel domain")
        verbose_name_plural = _("channel domains")
        ordering = ["host"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "environment", "host"], name="unique_domain_per_channel")
        ]

    def __str__(self) -> str:
        return self.host


class CustomScheme(models.Model):
    """A generated mobile redirect scheme of a channel in one environment. Promoting a change copies
    the value, so the same scheme can exist once per environment."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="custom_schemes", verbose_name=_("channel")
    )
    environment = models.ForeignKey(
        Environment,
        on_delete=models.PROTECT,
        related_name="+",
        default=production_environment_id,
        verbose_name=_("environment"),
    )
    scheme = models.CharField(_("scheme"), max_length=64, default=generate_custom_scheme, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("custom scheme")
        verbose_name_plural = _("custom schemes")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "scheme"], name="unique_custom_scheme_per_environment")
        ]

    def __str__(self) -> str:
        return self.scheme


class ChannelSettings(models.Model):
    """A channel's general settings in one environment (without a row: its name, no redirect URL)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="settings", verbose_name=_("channel"))
    environment = models.ForeignKey(
        Environment, on_delete=models.PROTECT, related_name="+", verbose_name=_("environment")
    )
    display_name = models.CharField(_("display name"), max_length=200)
    default_redirect_url = models.URLField(_("default redirect URL"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("channel settings")
        verbose_name_plural = _("channel settings")
        constraints = [
            models.UniqueConstraint(fields=["channel", "environment"], name="unique_channel_settings_per_environment")
        ]

    def __str__(self) -> str:
        return f"{self.channel} @ {self.environment_id}"


class Access(models.TextChoices):
    READ_WRITE = "read_write", _("Read and write")
    READ_ONLY = "read_only", _("Read only")


class Membership(models.Model):
    """A user's access to a programmer, optionally narrowed to some of its channels."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    programmer = models.ForeignKey(
        Programmer, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("programmer")
    )
    channels = models.ManyToManyField(
        Channel,
        blank=True,
        related_name="memberships",
        help_text=_("Empty means every channel of the programmer."),
        verbose_name=_("channels"),
    )
    access = models.CharField(_("access"), max_length=16, choices=Access.choices, default=Access.READ_ONLY)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "programmer"], name="unique_membership_per_programmer"),
            models.CheckConstraint(condition=Q(access__in=["read_write", "read_only"]), name="membership_access_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.programmer} ({self.access})"


class CatalogEntry(models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Retired entries cannot be chosen for new applications.")
    )

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Platform(CatalogEntry):
    """A client platform (ios, roku, web...)."""

    code = models.SlugField(_("code"), max_length=64, unique=True)

    class Meta(CatalogEntry.Meta):
        verbose_name = _("platform")
        verbose_name_plural = _("platforms")


class Scope(CatalogEntry):
    """An OAuth scope a registered application may be granted."""

    code = models.CharField(_("code"), max_length=64, unique=True)

    class Meta(CatalogEntry.Meta):
        verbose_name = _("scope")
        verbose_name_plural = _("scopes")


class ApplicationLevel(models.TextChoices):
    PROGRAMMER = "programmer", _("Programmer")
    CHANNEL = "channel", _("Channel")


class ApplicationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    REVOKED = "revoked", _("Revoked")


class RegisteredApplication(models.Model):
    """A client configuration; its id is the software_id of its software statements.

    The configuration does not change after creation: a new version is a new application.
    """

    id = models.UUIDField(_("ID"), primary_key=True, default=uuid.uuid4, editable=False)
    programmer = models.ForeignKey(
        Programmer, on_delete=models.PROTECT, related_name="applications", verbose_name=_("programmer")
    )
    environment = models.ForeignKey(
        Environment,
        on_delete=models.PROTECT,
        related_name="applications",
        default=production_environment_id,
        verbose_name=_("environment"),
    )
    level = models.CharField(
        _("level"), max_length=16, choices=ApplicationLevel.choices, default=ApplicationLevel.PROGRAMMER
    )
    # Channel level: the one channel. Programmer level: `all_channels`, or the chosen `channels`.
    channel = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="channel_applications",
        verbose_name=_("channel"),
    )
    all_channels = models.BooleanField(_("all channels"), default=False)
    channels = models.ManyToManyField(Channel, blank=True, related_name="applications", verbose_name=_("channels"))
    platforms = models.ManyToManyField(Platform, related_name="applications", verbose_name=_("platforms"))
    domains = models.ManyToManyField(ChannelDomain, blank=True, related_name="applications", verbose_name=_("domains"))
    redirect_uris = models.JSONField(_("redirect URIs"), default=list, blank=True)
    scopes = models.ManyToManyField(Scope, related_name="applications", verbose_name=_("scopes"))
    name = models.CharField(_("name"), max_length=200)
    version = models.CharField(_("version"), max_length=32, default="1.0.0")
    status = models.CharField(
        _("status"), max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.ACTIVE
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revocation_reason = models.TextField(_("revocation reason"), blank=True)
    # Quotas (README "Quotas"): None is the settings' default (DCR_QUOTA_*), 0 no limit. Set by the
    # TAMs (`services.set_application_quota`), not part of the fixed configuration.
    quota_registrations_per_hour = models.PositiveIntegerField(null=True, blank=True)
    quota_tokens_per_hour = models.PositiveIntegerField(null=True, blank=True)
    quota_tokens_per_day = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("registered application")
        verbose_name_plural = _("registered applications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["programmer", "environment", "name", "version"],
                name="unique_application_name_version_per_programmer",
            ),
            models.CheckConstraint(
                condition=(Q(level="channel", channel__isnull=False, all_channels=False))
                | Q(level="programmer", channel__isnull=True),
                name="application_level_matches_channel",
            ),
            models.CheckConstraint(
                condition=Q(status="active", revoked_at__isnull=True) | Q(status="revoked", revoked_at__isnull=False),
                name="application_revoked_has_timestamp",
            ),
        ]
        indexes = [models.Index(fields=["programmer", "environment", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def is_active(self) -> bool:
        return self.status == ApplicationStatus.ACTIVE


# The dashboard's change workflow (pending changes, pushes, the changes log) is defined in its own module
# and registered with this app by this import; `registered_apps.models` stays the one place to import from.
from .change_models import ChangeKind, PendingChange, Push, PushedChange, PushStatus  # noqa: E402

# The account's language and time zone (registered_apps.preferences), likewise.
from .preferences import AccountPreferences  # noqa: E402

# The records kept about the applications: daily usage, revocation requests, audit events, likewise.
from .record_models import AuditEvent, RevocationRequest, UsageDaily  # noqa: E402

__all__ = [
    "AccountPreferences",
    "AuditEvent",
    "ChangeKind",
    "PendingChange",
    "Push",
    "PushStatus",
    "PushedChange",
    "RevocationRequest",
    "UsageDaily",
]
