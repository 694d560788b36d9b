"""Environments as TAMs edit them: name, issuer and menu order; a new one; the deletion of one nothing
belongs to. The slug never changes (hosts, `DCR_ENVIRONMENT_HOSTS` and the dashboard's URLs name it) and
which environment is production is fixed by the migration. Every change reaches this process at once
(`environments_forget`) and every other worker within `ENVIRONMENTS_TTL` seconds."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.utils.translation import gettext

from ..environments import environments_all, environments_forget
from ..models import Environment
from .audit import Actor, audit_event_record


def environment_issuer_clean(issuer: str, *, environment_id: int | None = None) -> str:
    """The issuer as stored (trimmed, no trailing slash; blank = derived), or a ValidationError on
    `issuer`: an http(s) URL without query or fragment, and not the effective issuer of another
    environment (each environment's statements and tokens name their own)."""
    issuer = (issuer or "").strip().rstrip("/")
    if not issuer:
        return ""
    # RFC 8414 2: an https URL (http on a development machine) with no query or fragment. Any host name,
    # internal ones without a dot included.
    try:
        parts = urlsplit(issuer)
        well_formed = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
    except ValueError:  # an unbalanced IPv6 bracket, a port out of range
        well_formed = False
    if not well_formed or any(ch.isspace() for ch in issuer):
        raise ValidationError({"issuer": gettext("“%(issuer)s” is not an http or https URL.") % {"issuer": issuer}})
    if "?" in issuer or "#" in issuer:
        raise ValidationError({"issuer": gettext("An issuer has no query or fragment.")})
    for other in environments_all():
        if other.id != environment_id and other.issuer == issuer:
            raise ValidationError(
                {
                    "issuer": gettext("%(environment)s already uses the issuer %(issuer)s.")
                    % {"environment": other.name, "issuer": issuer}
                }
            )
    return issuer


@transaction.atomic
def environment_create(
    *, slug: str, name: str, issuer: str = "", order: int | None = None, actor: Actor, ip_address: str | None = None
) -> Environment:
    """A new (non-production) environment, last in the menu unless `order` says otherwise. It has no
    domains, schemes or applications yet; its signing keys are made on first use."""
    if order is None:
        order = (Environment.objects.aggregate(last=Max("order"))["last"] or 0) + 10
    environment = Environment(
        slug=slug, name=(name or "").strip(), issuer=environment_issuer_clean(issuer), order=order, is_production=False
    )
    environment.full_clean()
    environment.save()
    audit_event_record(
        actor=actor,
        action="environment.create",
        target=environment,
        programmer=None,
        ip_address=ip_address,
        details={"slug": environment.slug, "name": environment.name, "issuer": environment.issuer, "order": order},
    )
    environments_forget()
    return environment


@transaction.atomic
def environment_update(
    *, environment: Environment, name: str, issuer: str, order: int, actor: Actor, ip_address: str | None = None
) -> Environment:
    """Change the name, issuer and menu position. A new issuer applies to what is signed from now on:
    statements and tokens issued before carry the old `iss` and are refused once the issuer changes."""
    previous = Environment.objects.select_for_update().get(pk=environment.pk)
    environment.slug, environment.is_production = previous.slug, previous.is_production
    environment.name = (name or "").strip()
    environment.issuer = environment_issuer_clean(issuer, environment_id=environment.pk)
    environment.order = order
    environment.full_clean()
    changed = {
        field: [getattr(previous, field), getattr(environment, field)]
        for field in ("name", "issuer", "order")
        if getattr(previous, field) != getattr(environment, field)
    }
    if changed:
        environment.save(update_fields=list(changed))
        audit_event_record(
            actor=actor,
            action="environment.change",
            target=environment,
            programmer=None,
            ip_address=ip_address,
            details={"slug": environment.slug, **changed},
        )
        environments_forget()
    return environment


def environment_rows(environment: Environment) -> list[str]:
    """What belongs to the environment, by kind ("registered applications", "signing keys"...): every
    table with a foreign key to it, whatever app it is in, one EXISTS query each."""
    kinds = []
    # include_hidden: domains, schemes, settings and pending changes point here with related_name "+".
    for relation in Environment._meta.get_fields(include_hidden=True):
        if not isinstance(relation, models.ManyToOneRel):
            continue
        related = relation.related_model
        assert isinstance(related, type)
        if related._default_manager.filter(**{relation.field.name: environment}).exists():
            kinds.append(str(related._meta.verbose_name_plural))
    return kinds


def environment_delete_refusal(environment: Environment) -> str | None:
    """Why the environment cannot be deleted, or None: production never is, nor one with rows (its
    applications, statements and clients must keep working; the database protects them too)."""
    if environment.is_production:
        return gettext("%(environment)s is the production environment; it cannot be deleted.") % {
            "environment": environment.name
        }
    kinds = environment_rows(environment)
    if kinds:
        return gettext("%(environment)s cannot be deleted: it has %(kinds)s.") % {
            "environment": environment.name,
            "kinds": ", ".join(kinds),
        }
    return None


@transaction.atomic
def environment_delete(*, environment: Environment, actor: Actor, ip_address: str | None = None) -> None:
    """Delete an environment nothing belongs to (see `environment_delete_refusal`)."""
    locked = Environment.objects.select_for_update().get(pk=environment.pk)
    refusal = environment_delete_refusal(locked)
    if refusal:
        raise ValidationError(refusal)
    audit_event_record(
        actor=actor,
        action="environment.delete",
        target=locked,
        programmer=None,
        ip_address=ip_address,
        details={"slug": locked.slug, "name": locked.name},
    )
    locked.delete()
    environments_forget()
