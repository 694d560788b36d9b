"""TAM admin for signing keys and the statement registry. Keys and statements are never edited by
hand: rotation, retirement and revocation go through the services, with the admin user as actor.
No private key is shown anywhere (the encrypted column is not even listed)."""

import datetime
import uuid
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from core import clock
from core.admin_actions import RevokeWithReasonMixin, admin_actor
from core.admin_lists import BoundedListAdmin, RevokedFilter
from core.request_ip import request_ip
from registered_apps.admin.environments import environment_column, environment_filter, environment_name
from registered_apps.selectors import client_count_text, statements_with_client_counts

from .keys import signing_key_retire, signing_key_rotate
from .models import KeyPurpose, KeyState, SigningKey, SoftwareStatement, StatementStatus
from .services import software_statement_revoke

KEY_FIELDS = (
    "kid",
    "environment",
    "purpose",
    "algorithm",
    "state",
    "public_jwk",
    "created_at",
    "activated_at",
    "retiring_at",
    "retired_at",
)


STATEMENT_FIELDS = (
    "jti",
    "application",
    "kid",
    "issued_at",
    "issued_by",
    "issued_by_label",
    "expires_at",
    "revoked_at",
    "revoked_by",
    "revocation_reason",
)


@admin.register(SigningKey)
class SigningKeyAdmin(BoundedListAdmin):
    list_display = [
        "kid",
        environment_column("environment"),
        "purpose",
        "algorithm",
        "state",
        "created_at",
        "activated_at",
        "retiring_at",
        "retired_at",
    ]
    list_filter = [environment_filter("environment"), "purpose", "state", "algorithm"]
    search_fields = ["kid"]
    # An explicit list: `private_key_encrypted` must never reach a page, even encrypted.
    fields = KEY_FIELDS
    readonly_fields = KEY_FIELDS
    actions = ["rotate_keys", "retire_keys"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created by the key service (first use, rotation)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retirement is how a key ends; its kid stays on record

    @admin.action(
        description=_("Rotate the keys of the selected keys' environments and purposes (next becomes active)"),
        permissions=["change"],
    )
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[SigningKey]) -> None:
        """Each (environment, purpose) of the selection rotates once, in that environment only."""
        for environment_id, purpose in sorted(set(queryset.values_list("environment_id", "purpose"))):
            key = signing_key_rotate(
                purpose=purpose,
                environment_id=environment_id,
                actor=admin_actor(request),
                ip_address=request_ip(request),
            )
            self.message_user(
                request,
                gettext("Rotated the keys of %(environment)s (%(purpose)s): %(kid)s is now active.")
                % {
                    "purpose": KeyPurpose(purpose).label,
                    "environment": environment_name(environment_id),
                    "kid": key.kid,
                },
                messages.SUCCESS,
            )

    @admin.action(
        description=_("Retire the selected keys (they stop verifying within a second)"), permissions=["change"]
    )
    def retire_keys(self, request: HttpRequest, queryset: QuerySet[SigningKey]) -> None:
        retired = 0
        for key in queryset.exclude(state=KeyState.RETIRED):
            try:
                signing_key_retire(key=key, actor=admin_actor(request), ip_address=request_ip(request))
                retired += 1
            except ValidationError as exc:
                self.message_user(
                    request,
                    gettext("%(kid)s: %(error)s") % {"kid": key.kid, "error": " ".join(exc.messages)},
                    messages.ERROR,
                )
        if retired:
            message = ngettext("Retired %(count)s key.", "Retired %(count)s keys.", retired)
            self.message_user(request, message % {"count": retired}, messages.SUCCESS)


class StatusFilter(admin.SimpleListFilter):
    """Active, expired (past its `exp`, not revoked) or revoked; the same rule as `SoftwareStatement.status`."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(status.value, str(status.label)) for status in StatementStatus]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SoftwareStatement]) -> QuerySet[SoftwareStatement]:
        now = datetime.datetime.fromtimestamp(clock.wall(), datetime.UTC)
        unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        if self.value() == StatementStatus.REVOKED:
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == StatementStatus.EXPIRED:
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == StatementStatus.ACTIVE:
            return queryset.filter(unexpired, revoked_at__isnull=True)
        return queryset


@admin.register(SoftwareStatement)
class SoftwareStatementAdmin(RevokeWithReasonMixin, BoundedListAdmin):
    list_display = [
        "jti",
        "application",
        "programmer",
        environment_column("application__environment"),
        "kid",
        "issued_at",
        "issuer",
        "expires_at",
        "clients",
        "status",
    ]
    list_select_related = ["application__programmer", "issued_by"]
    list_filter = [
        StatusFilter,
        RevokedFilter,
        environment_filter("application__environment"),
        "application__programmer",
        "kid",
    ]
    search_fields = ["application__name", "application__programmer__slug"]
    date_hierarchy = "issued_at"
    fields = STATEMENT_FIELDS
    readonly_fields = STATEMENT_FIELDS
    actions = ["revoke_statements"]
    revoke_done = ngettext_lazy("Revoked %(count)s statement.", "Revoked %(count)s statements.", "count")
    revoke_title = _("Revoke software statements")
    revoke_template = "software_statements/admin/revoke_statements.html"
    revoke_reason_help = _("Recorded with the revocation and shown to the programmer.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # statements are issued by download, command or the application's admin page

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[SoftwareStatement], search_term: str
    ) -> tuple[QuerySet[SoftwareStatement], bool]:
        """Names and slugs by text; a UUID also finds the statement (jti) or the application's statements."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            value = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(Q(pk=value) | Q(application_id=value)), may_have_duplicates

    def get_queryset(self, request: HttpRequest) -> QuerySet[SoftwareStatement]:
        # One query for the page, the bounded client count included (no query per row).
        return statements_with_client_counts(super().get_queryset(request))

    @admin.display(description=_("clients"))
    def clients(self, obj: SoftwareStatement) -> str:
        return client_count_text(getattr(obj, "client_count", 0))

    @admin.display(description=_("status"))
    def status(self, obj: SoftwareStatement) -> str:
        return str(obj.status.label)

    @admin.display(description=_("programmer"), ordering="application__programmer__name")
    def programmer(self, obj: SoftwareStatement) -> str:
        return str(obj.application.programmer)

    @admin.display(description=_("issued by"))
    def issuer(self, obj: SoftwareStatement) -> str:
        return str(obj.issued_by) if obj.issued_by_id else obj.issued_by_label or "-"

    @admin.action(description=_("Revoke the selected statements…"), permissions=["change"])
    def revoke_statements(self, request: HttpRequest, queryset: QuerySet[SoftwareStatement]) -> TemplateResponse | None:
        # `client_count` comes with the rows (get_queryset): the page says how many clients each revocation ends.
        valid = list(queryset.filter(revoked_at__isnull=True).select_related("application__programmer"))
        return self.revoke_with_reason(
            request, valid, action="revoke_statements", none_message=_("None of the selected statements is valid.")
        )

    def revoke_one(self, obj: SoftwareStatement, *, reason: str, actor: Any, ip_address: str | None) -> object:
        return software_statement_revoke(statement=obj, reason=reason, actor=actor, ip_address=ip_address)


from . import signal_admin  # noqa: E402, F401  (registers the abuse signals' admin)
