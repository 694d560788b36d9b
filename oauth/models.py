"""Clients and the token denylist."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from registered_apps.models import RegisteredApplication
from software_statements.models import SoftwareStatement


def client_id_generate() -> str:
    """RFC 6749 2.2: a client identifier unique to this server, 40 characters from the OS random source."""
    return secrets.token_urlsafe(30)


class Client(models.Model):
    """A client registered with a software statement (RFC 7591).

    `client_id`, the hashed `client_secret` (`oauth.hashers.ClientSecretHMACHasher`: registration stores
    the hash, never the secret), `redirect_uris`, `authorization_grant_type`. The columns from `id` to
    `cimd_expires_at` are the table's first ones, kept as they are so existing databases keep their rows
    unchanged: the table began as django-oauth-toolkit's swappable application model, which the project
    no longer uses (README "Architecture"). Our clients are all confidential, client credentials only.
    """

    CLIENT_CONFIDENTIAL = "confidential"
    CLIENT_TYPES = ((CLIENT_CONFIDENTIAL, "Confidential"), ("public", "Public"))
    GRANT_CLIENT_CREDENTIALS = "client-credentials"
    GRANT_TYPES = (
        ("authorization-code", "Authorization code"),
        ("urn:ietf:params:oauth:grant-type:device_code", "Device Code"),
        ("implicit", "Implicit"),
        ("password", "Resource owner password-based"),
        (GRANT_CLIENT_CREDENTIALS, "Client credentials"),
        ("openid-hybrid", "OpenID connect hybrid"),
    )

    id = models.BigAutoField(primary_key=True)
    client_id = models.CharField(
        max_length=255, unique=True, default=client_id_generate, db_index=True, verbose_name=_("client ID")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        related_name="%(app_label)s_%(class)s",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        verbose_name="user",
    )
    redirect_uris = models.TextField(
        blank=True, help_text=_("Allowed URIs list, space separated"), verbose_name=_("redirect URIs")
    )
    post_logout_redirect_uris = models.TextField(
        blank=True,
        help_text="Allowed Post Logout URIs list, space separated",
        default="",
        verbose_name="post logout redirect URIs",
    )
    client_type = models.CharField(max_length=32, choices=CLIENT_TYPES, verbose_name="client type")
    authorization_grant_type = models.CharField(
        max_length=44, choices=GRANT_TYPES, verbose_name="authorization grant type"
    )
    # The keyed hash (`oauth.hashers.client_secret_encode`); empty (no default) matches no secret at all.
    # Not indexed: a client is found by its client_id and its hash compared after (README "Performance").
    client_secret = models.CharField(
        max_length=255,
        blank=True,
        help_text="Client secret for authentication",
        verbose_name="client secret",
    )
    hash_client_secret = models.BooleanField(default=True, verbose_name="hash client secret")
    name = models.CharField(max_length=255, blank=True, verbose_name="name")
    skip_authorization = models.BooleanField(default=False, verbose_name="skip authorization")
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    updated = models.DateTimeField(auto_now=True, verbose_name="updated")
    algorithm = models.CharField(
        max_length=5,
        choices=(("", "No OIDC support"), ("RS256", "RSA with SHA-2 256"), ("HS256", "HMAC with SHA-2 256")),
        default="",
        blank=True,
        verbose_name="algorithm",
    )
    allowed_origins = models.TextField(
        blank=True,
        help_text="Allowed origins list to enable CORS, space separated",
        default="",
        verbose_name="allowed origins",
    )
    registration_source = models.CharField(
        max_length=32,
        choices=(("manual", "Manual"), ("dcr", "Dynamic Client Registration"), ("cimd", "Client ID Metadata Document")),
        default="manual",
        help_text="How this application was registered (manual, DCR per RFC 7591, or CIMD)",
        verbose_name="registration source",
    )
    cimd_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        default=None,
        help_text="When the cached Client ID Metadata Document should be re-fetched",
        verbose_name="CIMD expires at",
    )
    # Its own index would repeat the leading column of Meta.indexes' (registered_application, created).
    registered_application = models.ForeignKey(
        RegisteredApplication,
        on_delete=models.CASCADE,
        related_name="clients",
        null=True,
        blank=True,
        db_index=False,
        verbose_name=_("registered application"),
    )
    statement = models.ForeignKey(
        SoftwareStatement,
        on_delete=models.CASCADE,
        related_name="clients",
        null=True,
        blank=True,
        verbose_name=_("statement"),
    )
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    platform = models.CharField(_("platform"), max_length=64, blank=True)
    device_info = models.JSONField(default=dict, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revocation_reason = models.TextField(_("revocation reason"), blank=True)
    idle_since = models.DateTimeField(null=True, blank=True)
    # RFC 7592 3: the registration access token, stored as a keyed hash (`oauth.hashers`), never in clear.
    registration_access_token = models.CharField(max_length=255, blank=True)
    # RFC 7592 2.2: the secret replaced by the last rotation (its hash) keeps working until this time.
    previous_client_secret = models.CharField(max_length=255, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        indexes = [models.Index(fields=["registered_application", "created"])]

    def __str__(self) -> str:
        return self.name or self.client_id


class DeniedToken(models.Model):
    """An access token revoked before its expiry (RFC 7009); kept until it would have expired."""

    jti = models.CharField(_("jti"), max_length=64, primary_key=True)
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("client")
    )
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    revoked_at = models.DateTimeField(_("revoked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("denied token")
        verbose_name_plural = _("denied tokens")

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
        verbose_name = _("usage flush batch")
        verbose_name_plural = _("usage flush batches")

    def __str__(self) -> str:
        return self.batch_id
