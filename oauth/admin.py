"""TAM admin for clients (no secret ever shown; device info read-only; "Revoke clients" with a reason)
and the read-only token denylist.

The client table holds a row per install, a million and more: the client list never counts or scans
the whole table (a bounded count, then the planner's estimate), and its search takes an exact client id
through the unique index, or finds applications first and their clients through the index on them."""

import json
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from core.admin_actions import RevokeWithReasonMixin
from core.admin_lists import BoundedListAdmin, RevokedFilter
from registered_apps.admin.environments import environment_column, environment_filter
from registered_apps.models import Platform, RegisteredApplication

from .models import Client, DeniedToken
from .services import client_revoke


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to `exact_count_limit` rows (a count over a LIMIT subquery, which stops early);
    past that, on PostgreSQL, takes the planner's estimate of the rows instead of counting a million of
    them on every page (`estimated` is then true and the list says "about"). Other databases count."""

    # Above the admin's list_max_show_all (200): past it the list always paginates.
    exact_count_limit = 10_000
    estimated = False

    @cached_property
    def count(self) -> int:
        queryset: QuerySet[Any] = self.object_list.order_by()  # type: ignore[attr-defined]  # the admin passes a QuerySet
        bounded = queryset[: self.exact_count_limit + 1].count()
        if bounded <= self.exact_count_limit:
            return int(bounded)
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return int(queryset.count())
        sql, params = queryset.values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str | bytes):
            plan = json.loads(plan)
        self.estimated = True
        # Never below what was counted: a stale estimate (a table not analyzed since it grew) must not
        # make the change list think everything fits on one page and render the whole table.
        return max(bounded, int(plan[0]["Plan"]["Plan Rows"]))


class PlatformFilter(admin.SimpleListFilter):
    """The platforms of the catalog (Django's field filter would read the distinct values of the table)."""

    title = _("platform")
    parameter_name = "platform"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(platform.code, platform.name) for platform in Platform.objects.order_by("code")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(platform=self.value()) if self.value() else queryset


# Every field is read-only: clients are made by registration and ended by revocation.
CLIENT_FIELDS: tuple[str, ...] = (
    "client_id",
    "registered_application",
    "statement",
    "scopes",
    "redirect_uris",
    "platform",
    "user_agent",
    "device_info_pretty",
    "created",
    "last_used_at",
    "revoked_at",
    "revocation_reason",
)


@admin.register(Client)
class ClientAdmin(RevokeWithReasonMixin, BoundedListAdmin):
    list_display = [
        "client_id",
        "registered_application",
        environment_column("registered_application__environment"),
        "platform",
        "created",
        "last_used_at",
        "revoked_at",
    ]
    list_select_related = ["registered_application"]
    # No date hierarchy: it reads the first and last `created` and the distinct days of the whole table.
    # The environment filter is an equality on the application's environment (a join on the page's query).
    list_filter = [RevokedFilter, environment_filter("registered_application__environment"), PlatformFilter, "created"]
    # get_search_results says how the box searches; a field here only makes Django show it.
    search_fields = ["client_id"]
    search_help_text = "An exact client id, or part of an application's name or of its programmer's slug."
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = CLIENT_FIELDS
    readonly_fields = CLIENT_FIELDS
    actions = ["revoke_clients"]
    revoke_done = ngettext_lazy("Revoked %(count)s client.", "Revoked %(count)s clients.", "count")
    revoke_title = _("Revoke clients")
    revoke_template = "admin/oauth/revoke_clients.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Client], search_term: str
    ) -> tuple[QuerySet[Client], bool]:
        """A client id matches exactly (the unique index), else the clients of the applications whose
        name or programmer's slug contains the term (looked up first in the small applications table,
        then by the index on the clients' application). Substrings of client ids are not searched:
        `LIKE '%...%'` reads every row."""
        term = search_term.strip()
        if not term:
            return queryset, False
        exact = queryset.filter(client_id=term)
        if exact.exists():
            return exact, False
        applications = list(
            RegisteredApplication.objects.filter(
                Q(name__icontains=term) | Q(programmer__slug__icontains=term)
            ).values_list("pk", flat=True)
        )
        if not applications:
            return exact, False  # empty, and (unlike .none()) a query the change list can compile
        return queryset.filter(registered_application_id__in=applications), False

    @admin.display(description=_("device info (X-Device-Info)"))
    def device_info_pretty(self, obj: Client) -> Any:
        return format_html("<pre>{}</pre>", json.dumps(obj.device_info, indent=2, sort_keys=True))

    @admin.action(description=_("Revoke the selected clients…"), permissions=["change"])
    def revoke_clients(self, request: HttpRequest, queryset: QuerySet[Client]) -> TemplateResponse | None:
        active = [client for client in queryset.select_related("registered_application") if client.revoked_at is None]
        return self.revoke_with_reason(
            request, active, action="revoke_clients", none_message=_("None of the selected clients is active.")
        )

    def revoke_one(self, obj: Client, *, reason: str, actor: Any, ip_address: str | None) -> object:
        return client_revoke(client=obj, reason=reason, actor=actor, ip_address=ip_address)


@admin.register(DeniedToken)
class DeniedTokenAdmin(BoundedListAdmin):
    list_display = ["jti", "client", "revoked_at", "expires_at"]
    list_select_related = ["client"]
    search_fields = ["jti", "client__client_id"]
    readonly_fields = ["jti", "client", "revoked_at", "expires_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
