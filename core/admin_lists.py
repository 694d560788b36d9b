"""Admin pages that answer parameters they cannot apply the way Django answers a malformed one: back to
the list with `?e=1`, or a 400, never a 500.

Django turns a ValueError from a date-hierarchy parameter into IncorrectLookupParameters, but not the
OverflowError of `?created__year=99999999999999999999` (datetime() refuses the number), and a date
lookup on another field (`?date_joined__year=99999`) fails only when the query is compiled, after the
change list has caught nothing. Both are checked here, where the change list is built.

`?_to_field=` names the column a pop-up refers to. Django reads `primary_key` on whatever the name
finds, and a reverse relation (`user` on groups, `logentry` on users) has none: an AttributeError. An
empty one skips Django's check and fails when the change page looks the object up by it.

Every admin of ours extends `BoundedListAdmin`; the admin site gives the others (users, groups,
lock-outs, authenticator apps) the same guards with `bounded_admin` (dcr_project.admin_site).
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.exceptions import DisallowedModelAdminToField
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


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
    """The ModelAdmin every admin of ours extends (and every other one the site registers, by
    `bounded_admin`)."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        changelist = super().get_changelist(request, **kwargs)
        # An admin with a change list of its own keeps it (a test checks that none is unbounded).
        return BoundedChangeList if changelist is ChangeList else changelist

    def to_field_allowed(self, request: HttpRequest, to_field: str) -> bool:
        try:
            field = self.opts.get_field(to_field)
        except FieldDoesNotExist:
            return False
        # Only a column can be referred to; a reverse relation has no `primary_key` for Django to read.
        return bool(field.concrete) and super().to_field_allowed(request, to_field)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # The change and delete pages look the object up by `_to_field`, even an empty one (which
        # Django's check skips): refuse what to_field_allowed refuses, as Django does, with a 400.
        if from_field is not None and not self.to_field_allowed(request, from_field):
            raise DisallowedModelAdminToField(f"The field {from_field} cannot be referenced.")
        return super().get_object(request, object_id, from_field)


def bounded_admin(model_admin: "admin.ModelAdmin[Model]") -> None:
    """Give a registered ModelAdmin that does not extend BoundedListAdmin (a third-party one) its guards,
    by making the instance's class a subclass of both; everything else it does stays as it was."""
    cls = type(model_admin)
    if not isinstance(model_admin, BoundedListAdmin):
        model_admin.__class__ = type(cls.__name__, (BoundedListAdmin, cls), {"__module__": cls.__module__})


class RevokedFilter(admin.SimpleListFilter):
    """Active or revoked, for any model with a `revoked_at`."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", _("Active")), ("revoked", _("Revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset
