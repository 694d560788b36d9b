"""The abuse signals' rows: hourly counts per statement (from the hot path's counters), and the signals
raised from them (`software_statements.signals`)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from registered_apps.models import RegisteredApplication


class StatementHour(models.Model):
    """One statement's counts in one UTC hour, added by the signals task from the hot path's counters
    (`core.hot_store.signal_counts`). `second_tokens` counts clients whose first token came in this hour
    and that came back for a second (whenever they did)."""

    statement = models.ForeignKey(
        "software_statements.SoftwareStatement", on_delete=models.CASCADE, related_name="hours"
    )
    application = models.ForeignKey(RegisteredApplication, on_delete=models.CASCADE, related_name="statement_hours")
    hour = models.DateTimeField()
    registrations = models.PositiveBigIntegerField(default=0)
    # platform code -> registrations whose X-Device-Info named it (the application was not made for it).
    foreign_platforms = models.JSONField(default=dict, blank=True)
    first_tokens = models.PositiveBigIntegerField(default=0)
    second_tokens = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-hour"]
        constraints = [models.UniqueConstraint(fields=["statement", "hour"], name="unique_statement_hour")]
        indexes = [models.Index(fields=["application", "hour"])]

    def __str__(self) -> str:
        return f"{self.statement_id} {self.hour:%Y-%m-%d %H}:00"


class SignalKind(models.TextChoices):
    SURGE = "surge", _("Registration surge")
    FOREIGN_PLATFORM = "foreign_platform", _("Foreign platform")
    CROWDED_NETWORK = "crowded_network", _("Many clients from one network")
    ONE_TOKEN = "one_token", _("Clients that never came back")


class SignalSeverity(models.TextChoices):
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


class Signal(models.Model):
    """Something in an application's traffic that a leaked statement (or a scraper) would cause. Raised
    once per kind, application, statement and subject while it lasts: a later window that follows on
    extends the open row (its figures and severity) instead of raising a second one."""

    kind = models.CharField(_("kind"), max_length=32, choices=SignalKind.choices)
    severity = models.CharField(
        _("severity"), max_length=16, choices=SignalSeverity.choices, default=SignalSeverity.WARNING
    )
    application = models.ForeignKey(
        RegisteredApplication, on_delete=models.CASCADE, related_name="signals", verbose_name=_("application")
    )
    statement = models.ForeignKey(
        "software_statements.SoftwareStatement",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="signals",
        help_text=_("Empty when the signal is about the application as a whole."),
        verbose_name=_("statement"),
    )
    # What the signal is about within the statement: a network ("203.0.113.0/24"), or "".
    subject = models.CharField(_("subject"), max_length=64, blank=True)
    window_start = models.DateTimeField(_("window start"))
    window_end = models.DateTimeField(_("window end"))
    # The figures that raised it (counts, baseline, threshold), as the task measured them.
    figures = models.JSONField(_("figures"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["application", "-created_at"]),
            models.Index(fields=["kind", "application", "statement", "subject", "-window_end"]),
        ]
        verbose_name = _("abuse signal")
        verbose_name_plural = _("abuse signals")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.application_id})"
