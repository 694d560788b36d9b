"""Clients (django-oauth-toolkit's swappable application model) and the token denylist."""

from django.db import models
from oauth2_provider.models import AbstractApplication

from registered_apps.models import RegisteredApplication
from software_statements.models import SoftwareStatement


class Client(AbstractApplication):
    """A client registered with a software statement (RFC 7591).

    Extends django-oauth-toolkit's application: `client_id`, the hashed `client_secret`
    (`oauth.hashers.ClientSecretHMACHasher`), `redirect_uris`, `authorization_grant_type`.
    """

    registered_application = models.ForeignKey(
        RegisteredApplication, on_delete=models.CASCADE, related_name="clients", null=True, blank=True
    )
    statement = models.ForeignKey(
        SoftwareStatement, on_delete=models.CASCADE, related_name="clients", null=True, blank=True
    )
    scopes = models.JSONField(default=list, blank=True)
    platform = models.CharField(max_length=64, blank=True)
    device_info = models.JSONField(default=dict, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.TextField(blank=True)
    idle_since = models.DateTimeField(null=True, blank=True)
    # RFC 7592 3: the registration access token, stored as a keyed hash (`oauth.hashers`), never in clear.
    registration_access_token = models.CharField(max_length=255, blank=True)
    # RFC 7592 2.2: the secret replaced by the last rotation (its hash) keeps working until this time.
    previous_client_secret = models.CharField(max_length=255, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractApplication.Meta):
        indexes = [models.Index(fields=["registered_application", "created"])]


class DeniedToken(models.Model):
    """An access token revoked before its expiry (RFC 7009); kept until it would have expired."""

    jti = models.CharField(max_length=64, primary_key=True)
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.jti


class UsageFlushBatch(models.Model):
    """The ledger of usage batches already added to the daily rows (see `oauth.usage_flush`).

    A batch is counted in the same transaction that writes its ledger row, and the batch id is
    unique, so a batch can never be counted twice, whatever crashes or overlaps."""

    batch_id = models.CharField(max_length=64, primary_key=True)
    flushed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    fields = models.PositiveIntegerField(default=0)
    registrations = models.PositiveBigIntegerField(default=0)
    tokens = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "usage flush batches"

    def __str__(self) -> str:
        return self.batch_id
