"""The dashboard's change workflow: what a programmer edits waits as a `PendingChange` of that user in
one environment until it is reviewed and pushed; a `Push` is an entry of the changes log and its
`PushedChange` rows what it changed (README "Dashboard"). Imported by `registered_apps.models`, which
registers these models with the app; import them from there."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .models import Channel, Environment, Programmer


class ChangeKind(models.TextChoices):
    """What a programmer can change from the dashboard; each waits as a pending change until pushed."""

    APPLICATION_CREATE = "application.create", _("Create registered application")
    CHANNEL_CREATE = "channel.create", _("Add channel")
    CHANNEL_SETTINGS = "channel.settings", _("Change channel settings")
    DOMAIN_ADD = "domain.add", _("Add domain")
    DOMAIN_DELETE = "domain.delete", _("Delete domain")
    CUSTOM_SCHEME_GENERATE = "custom_scheme.generate", _("Generate custom scheme")


class PendingChange(models.Model):
    """One dashboard edit of one user in one environment, waiting to be reviewed and pushed.

    `payload` holds what the change needs to apply, by natural keys (channel slugs, hosts, catalog codes)
    so that the same change can be promoted to another environment."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pending_changes", verbose_name=_("user")
    )
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="+", verbose_name=_("environment")
    )
    programmer = models.ForeignKey(Programmer, on_delete=models.CASCADE, related_name="+", verbose_name=_("programmer"))
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("channel")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=ChangeKind.choices)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Staged by promoting this push (from another environment); the push of these changes records it.
    promoted_from = models.ForeignKey(
        "Push", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("promoted from")
    )

    class Meta:
        verbose_name = _("pending change")
        verbose_name_plural = _("pending changes")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["user", "environment", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.user_id} @ {self.environment_id})"


class PushStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCESSFUL = "successful", _("Successful")
    FAILED = "failed", _("Failed")


class Push(models.Model):
    """One push of a user's pending changes to an environment: an entry of the changes log. It is
    written `pending` before the changes apply, then `successful` (all applied) or `failed` (none)."""

    environment = models.ForeignKey(
        Environment, on_delete=models.PROTECT, related_name="pushes", verbose_name=_("environment")
    )
    description = models.TextField(_("description"))
    pushed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("pushed by")
    )
    pushed_at = models.DateTimeField(_("pushed at"), auto_now_add=True)
    status = models.CharField(_("status"), max_length=16, choices=PushStatus.choices, default=PushStatus.PENDING)
    failure = models.TextField(_("failure"), blank=True)
    promoted_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="promotions",
        verbose_name=_("promoted from"),
    )

    class Meta:
        verbose_name = _("push")
        verbose_name_plural = _("pushes")
        ordering = ["-pushed_at", "-id"]
        indexes = [models.Index(fields=["environment", "-pushed_at"])]

    def __str__(self) -> str:
        return f"Push {self.pk} to {self.environment_id} ({self.status})"


class PushedChange(models.Model):
    """One change of a push, as the changes log shows it: the entity, and each property's old and new
    value (`properties`: a list of {"property", "old", "new"})."""

    push = models.ForeignKey(Push, on_delete=models.CASCADE, related_name="changes", verbose_name=_("push"))
    position = models.PositiveIntegerField()
    programmer = models.ForeignKey(Programmer, on_delete=models.CASCADE, related_name="+", verbose_name=_("programmer"))
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("channel")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=ChangeKind.choices)
    entity_type = models.CharField(_("entity type"), max_length=64)
    entity_id = models.CharField(_("entity id"), max_length=64, blank=True)
    entity_label = models.CharField(_("entity label"), max_length=255, blank=True)
    properties = models.JSONField(_("properties"), default=list)
    payload = models.JSONField(default=dict)
    # The channels the change is about (an application's: those it covered when pushed), and whether it
    # covers all channels, so that a channel's changes log finds it (`selectors.pushed_changes_visible_in`).
    channels = models.ManyToManyField(Channel, blank=True, related_name="+", verbose_name=_("channels"))
    all_channels = models.BooleanField(_("all channels"), default=False)
    # The pending change this row was (an id of the review page's `reviewed` list): a second push of the
    # same page finds the push that applied them (`selectors.push_of_pending_changes`).
    pending_change_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("pushed change")
        verbose_name_plural = _("pushed changes")
        ordering = ["push", "position"]
        constraints = [models.UniqueConstraint(fields=["push", "position"], name="unique_pushed_change_position")]
        indexes = [
            models.Index(fields=["programmer", "push"]),
            models.Index(fields=["channel", "push"]),
        ]

    def __str__(self) -> str:
        return f"{self.push_id}.{self.position} {self.kind}"
