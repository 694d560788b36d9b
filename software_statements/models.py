"""Signing keys (both purposes) and the registry of issued software statements."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import clock
from registered_apps.models import Environment, RegisteredApplication, production_environment_id


class KeyPurpose(models.TextChoices):
    STATEMENT = "statement", _("Software statements")
    ACCESS_TOKEN = "access_token", _("Access tokens")


class KeyState(models.TextChoices):
    NEXT = "next", _("Next")
    ACTIVE = "active", _("Active")
    RETIRING = "retiring", _("Retiring")
    RETIRED = "retired", _("Retired")


class SigningKey(models.Model):
    """An asymmetric key of one purpose. The private key is encrypted at rest and never shown;
    the public JWK is published while the key is not retired."""

    kid = models.CharField(_("key ID"), max_length=64, unique=True)
    environment = models.ForeignKey(
        Environment,
        on_delete=models.PROTECT,
        related_name="signing_keys",
        default=production_environment_id,
        verbose_name=_("environment"),
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=KeyPurpose.choices)
    algorithm = models.CharField(_("algorithm"), max_length=16)
    state = models.CharField(_("state"), max_length=16, choices=KeyState.choices, default=KeyState.NEXT)
    private_key_encrypted = models.TextField(editable=False)
    public_jwk = models.JSONField(_("public JWK"), editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    retiring_at = models.DateTimeField(_("retiring at"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ["environment", "purpose", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "purpose"], condition=Q(state="active"), name="one_active_key_per_purpose"
            ),
            models.UniqueConstraint(
                fields=["environment", "purpose"], condition=Q(state="next"), name="one_next_key_per_purpose"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.purpose}, {self.state})"


class StatementStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class SoftwareStatement(models.Model):
    """One issued statement (the JWS itself is not kept); revocation, or its `exp`, is how it ends."""

    jti = models.UUIDField(_("jti"), primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(
        RegisteredApplication, on_delete=models.CASCADE, related_name="statements", verbose_name=_("application")
    )
    kid = models.CharField(_("key ID"), max_length=64)
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("issued by"),
    )
    issued_by_label = models.CharField(_("issued by (label)"), max_length=255, blank=True)
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
    # The statement's `exp` (RFC 7519 4.1.4); None for a statement that never expires.
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("software statement")
        verbose_name_plural = _("software statements")
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["application", "-issued_at"])]

    def __str__(self) -> str:
        return str(self.jti)

    @property
    def status(self) -> StatementStatus:
        """Revoked wins over expired (a revocation is a decision; expiry only a date). Expired from its
        `exp` on, by the clock registration reads (`core.clock`)."""
        if self.revoked_at is not None:
            return StatementStatus.REVOKED
        if self.expires_at is not None and self.expires_at.timestamp() <= clock.wall():
            return StatementStatus.EXPIRED
        return StatementStatus.ACTIVE


# The abuse signals' rows (their own module: this one stays about keys and statements).
from .signal_models import Signal, SignalKind, SignalSeverity, StatementHour  # noqa: E402

__all__ = [
    "KeyPurpose",
    "KeyState",
    "Signal",
    "SignalKind",
    "SignalSeverity",
    "SigningKey",
    "SoftwareStatement",
    "StatementHour",
    "StatementStatus",
]
