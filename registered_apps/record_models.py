"""The records kept about registered applications: their daily usage, the programmers' revocation
requests, and the audit events. Imported by `registered_apps.models`, which registers these models with the
app; import them from there."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .models import Programmer, RegisteredApplication


class UsageDaily(models.Model):
    """Registrations and tokens issued per application, platform and UTC day (written by the oauth
    layer's usage flush; read by the dashboard and the admin)."""

    application = models.ForeignKey(
        RegisteredApplication, on_delete=models.CASCADE, related_name="usage", verbose_name=_("application")
    )
    day = models.DateField(_("day"))
    platform = models.CharField(_("platform"), max_length=64, blank=True)
    registrations = models.PositiveBigIntegerField(_("registrations"), default=0)
    tokens = models.PositiveBigIntegerField(_("tokens"), default=0)

    class Meta:
        verbose_name = _("daily usage")
        verbose_name_plural = _("daily usage")
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["application", "day", "platform"], name="unique_usage_row"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.day} {self.platform}"


class RevocationRequest(models.Model):
    """A programmer's request that the TAMs revoke an application."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        DISMISSED = "dismissed", _("Dismissed")

    application = models.ForeignKey(
        RegisteredApplication,
        on_delete=models.CASCADE,
        related_name="revocation_requests",
        verbose_name=_("application"),
    )
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("revocation request")
        verbose_name_plural = _("revocation requests")
        ordering = ["-requested_at"]
        constraints = [
            # A second request for the same application is refused (services.revocation_request_create).
            models.UniqueConstraint(
                fields=["application"],
                condition=models.Q(state="pending"),
                name="one_pending_revocation_request_per_application",
            )
        ]

    def __str__(self) -> str:
        return f"Revocation of {self.application} ({self.state})"


class AuditEvent(models.Model):
    """Who did what to which object, when and from where. Written by the service that acts."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor user"),
    )
    # A client id, "command:<name>" or "system" when no user acted.
    actor_label = models.CharField(_("actor label"), max_length=255, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64, db_index=True)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    programmer = models.ForeignKey(
        Programmer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
        verbose_name=_("programmer"),
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["programmer", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type} {self.object_id}"

    @property
    def actor(self) -> str:
        if self.actor_user_id:
            return str(self.actor_user)
        return self.actor_label or "system"
