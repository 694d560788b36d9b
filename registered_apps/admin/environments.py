"""Environments in the admin, and what every other admin uses to show and filter by environment.

The environments table is small and cached in each process (`registered_apps.environments`): the
column and the filter read names from that cache, so a list of a thousand rows costs no query and no
join for them. TAM actions are immediate in every environment: nothing in the admin waits for a push.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin_actions import admin_actor
from core.admin_lists import BoundedListAdmin
from core.request_ip import request_ip

from .. import services
from ..environments import environment_by_id, environments_all
from ..models import Environment
from .adopt import admin_adopt


def environment_name(environment_id: int | None) -> str:
    """An environment's name from the cached table ("-" for none)."""
    found = environment_by_id(int(environment_id)) if environment_id is not None else None
    return found.name if found is not None else "-"


def environment_column(path: str) -> Callable[[Any], str]:
    """A list (or read-only) column naming the environment of a row, `path` being the ORM path of the
    environment foreign key ("environment", "application__environment"). Sorts by menu order."""
    *hops, last = path.split("__")

    @admin.display(description=_("environment"), ordering=f"{path}__order")
    def environment(obj: Any) -> str:
        for hop in hops:
            obj = getattr(obj, hop)
        return environment_name(getattr(obj, f"{last}_id"))

    return environment


def environment_filter(path: str) -> type[admin.SimpleListFilter]:
    """A list filter by environment for the foreign key at `path` (see `environment_column`): the
    choices come from the cached table (no query, no DISTINCT over a large table), the filter is an
    equality on the foreign key's column."""

    class EnvironmentFilter(admin.SimpleListFilter):
        title = _("environment")
        parameter_name = "environment"

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return [(str(environment.id), environment.name) for environment in environments_all()]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            value = self.value()
            if not value:
                return queryset
            try:
                environment_id = int(value)
            except ValueError as exc:
                raise IncorrectLookupParameters(exc) from exc
            return queryset.filter(**{f"{path}_id": environment_id})

    return EnvironmentFilter


def environment_choices() -> list[tuple[int, str]]:
    """(id, name) of every environment in menu order, for a form's choice field (no query)."""
    return [(environment.id, environment.name) for environment in environments_all()]


def environment_production_id() -> int:
    return next(environment.id for environment in environments_all() if environment.is_production)


class EnvironmentChoiceField(forms.TypedChoiceField):
    """An environment picked from the cached table (a ModelChoiceField would query once per form, and
    an inline has a form per row); cleans to the Environment row, production by default."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(coerce=int, **kwargs)
        self.choices = environment_choices
        self.initial = environment_production_id

    def clean(self, value: Any) -> Environment | None:
        environment_id = super().clean(value)
        if environment_id in (None, ""):
            return None
        found = Environment.objects.filter(pk=environment_id).first()
        if found is None:
            raise ValidationError(gettext("That environment no longer exists."))
        return found

    def prepare_value(self, value: Any) -> Any:
        return value.pk if isinstance(value, Environment) else value


class EnvironmentForm(forms.ModelForm):
    class Meta:
        model = Environment
        fields = ["slug", "name", "issuer", "order"]
        # The model's text, with <slug> escaped (the admin renders help texts as HTML) and the consequence
        # of a change said.
        help_texts = {
            "issuer": "The <code>iss</code> of this environment's statements and access tokens. Blank: DCR_ISSUER for "
            "production, else the scheme of DCR_ISSUER with this environment's host (DCR_ENVIRONMENT_HOSTS, or "
            "&lt;slug&gt;.localhost). Statements and tokens issued before a change carry the old issuer and are "
            "refused after it."
        }

    def clean_issuer(self) -> str:
        try:
            return services.environment_issuer_clean(
                self.cleaned_data.get("issuer", ""), environment_id=self.instance.pk
            )
        except ValidationError as error:
            raise ValidationError(error.message_dict["issuer"]) from error


@admin.register(Environment)
class EnvironmentAdmin(BoundedListAdmin):
    form = EnvironmentForm
    list_display = ["order", "name", "slug", "effective_issuer", "is_production"]
    list_display_links = ["name"]
    ordering = ["order", "pk"]
    search_fields = ["slug", "name"]
    fields = ["slug", "name", "issuer", "effective_issuer", "order", "is_production"]
    readonly_fields = ["effective_issuer", "is_production"]

    def get_readonly_fields(self, request: HttpRequest, obj: Environment | None = None) -> list[str]:
        # The slug names the environment's hosts (<slug>.localhost, DCR_ENVIRONMENT_HOSTS) and URLs.
        return ["slug", *self.readonly_fields] if obj else list(self.readonly_fields)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, through the service and its refusals
        return actions

    @admin.display(description=_("issuer (effective)"))
    def effective_issuer(self, obj: Environment) -> str:
        found = environment_by_id(obj.pk) if obj.pk else None
        return found.issuer if found is not None else "-"

    def save_model(self, request: HttpRequest, obj: Environment, form: forms.ModelForm, change: bool) -> None:
        actor, ip_address = admin_actor(request), request_ip(request)
        if change:
            issuer_changed = "issuer" in form.changed_data
            services.environment_update(
                environment=obj, name=obj.name, issuer=obj.issuer, order=obj.order, actor=actor, ip_address=ip_address
            )
            if issuer_changed:
                self.message_user(
                    request,
                    gettext(
                        "%(environment)s signs with the issuer %(issuer)s from now on; statements and tokens "
                        "issued before carry the previous issuer and are refused. Other workers pick the change "
                        "up within a minute."
                    )
                    % {"environment": obj.name, "issuer": self.effective_issuer(obj)},
                    messages.WARNING,
                )
        else:
            created = services.environment_create(
                slug=obj.slug, name=obj.name, issuer=obj.issuer, order=obj.order, actor=actor, ip_address=ip_address
            )
            admin_adopt(obj, created)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Refuse at once, with the reason, when the environment is production or has rows (rather than
        Django's page listing every protected row: an environment can have thousands)."""
        environment = self.get_object(request, object_id)
        if environment is not None and self.has_delete_permission(request, environment):
            refusal = services.environment_delete_refusal(environment)
            if refusal:
                self.message_user(request, refusal, messages.ERROR)
                change = reverse(
                    "admin:registered_apps_environment_change", args=[environment.pk], current_app=self.admin_site.name
                )
                return HttpResponseRedirect(change)
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: Environment) -> None:
        services.environment_delete(environment=obj, actor=admin_actor(request), ip_address=request_ip(request))
