"""Admin change lists that answer a lookup they cannot apply the way Django answers a malformed one:
back to the list with `?e=1`, never a 500.

Django turns a ValueError from a date-hierarchy parameter into IncorrectLookupParameters, but not the
OverflowError of `?created__year=99999999999999999999` (datetime() refuses the number), and a date
lookup on another field fails only when the query is compiled, after the change list has caught
nothing. Both are checked here, where the change list is built.
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet
from django.http import HttpRequest


class BoundedChangeList(ChangeList):
    def get_filters(self, request: HttpRequest) -> Any:
        try:
            return super().get_filters(request)
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        queryset = super().get_queryset(request, exclude_parameters)
        try:
            # Compiling runs every lookup's value preparation (year bounds, casts) without a query.
            queryset.query.sql_with_params()
        except EmptyResultSet:
            pass  # a query that can match nothing (`.none()`, `__in=[]`) is a fine answer: no rows
        except (OverflowError, ValueError, TypeError) as exc:
            raise IncorrectLookupParameters(exc) from exc
        return queryset


class BoundedListAdmin(admin.ModelAdmin):
    """The ModelAdmin every admin of ours extends."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return BoundedChangeList


class RevokedFilter(admin.SimpleListFilter):
    """Active or revoked, for any model with a `revoked_at`."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset
