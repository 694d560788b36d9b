"""Channels, their custom schemes, domains and settings. A channel (its slug is the requestor id) exists
in every environment; its domains, custom schemes and settings belong to one environment each (None
below means production). Slugs and schemes never change: statements, tokens and installed apps carry
them. A deleted domain is taken from the applications that used it (README "Dashboard", as the original does)."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from ..environments import environment_id_or_production
from ..models import Channel, ChannelDomain, ChannelSettings, CustomScheme, Environment, Programmer
from ..texts import text
from .audit import Actor, audit_event_record, name_change_record


def channels_foreign_message(programmer: Programmer, channels: Iterable[Channel]) -> str | None:
    """The rule "a programmer's membership or application names only its own channels": the message
    naming the others, or None when every channel is the programmer's."""
    foreign = [c.slug for c in channels if c.programmer_id != programmer.pk]
    if foreign:
        return text(
            gettext_noop("Channels %(channels)s do not belong to %(programmer)s."),
            channels=", ".join(foreign),
            programmer=programmer.slug,
        )
    return None


@transaction.atomic
def channel_create(
    *,
    programmer: Programmer,
    slug: str,
    name: str,
    actor: Actor,
    ip_address: str | None = None,
    environment: Environment | None = None,
    scheme: str | None = None,
) -> Channel:
    """Create a channel and its first custom scheme (generated, or `scheme` when a promoted change
    brings the value it had in another environment) in `environment`."""
    channel = Channel(programmer=programmer, slug=slug, name=name or slug)
    channel.full_clean()
    channel.save()
    created = custom_scheme_add(channel=channel, environment=environment, scheme=scheme)
    audit_event_record(
        actor=actor,
        action="channel.create",
        target=channel,
        programmer=programmer,
        ip_address=ip_address,
        details={"slug": slug, "custom_scheme": created.scheme, "environment": created.environment_id},
    )
    return channel


def custom_scheme_add(*, channel: Channel, environment: Environment | None, scheme: str | None = None) -> CustomScheme:
    """A new scheme row (no audit: the caller writes it). A given `scheme` must look like a generated one
    and be free in the environment."""
    environment_id = environment_id_or_production(environment)
    if scheme is None:
        return CustomScheme.objects.create(channel=channel, environment_id=environment_id)
    if not custom_scheme_well_formed(scheme):
        raise ValidationError(
            {"scheme": text(gettext_noop("“%(scheme)s” is not a generated custom scheme."), scheme=scheme)}
        )
    if CustomScheme.objects.filter(environment_id=environment_id, scheme=scheme).exists():
        raise ValidationError(
            {
                "scheme": text(
                    gettext_noop("The custom scheme %(scheme)s already exists in this environment."), scheme=scheme
                )
            }
        )
    return CustomScheme.objects.create(channel=channel, environment_id=environment_id, scheme=scheme)


def custom_scheme_well_formed(scheme: str) -> bool:
    """`adbe.u-` and 22 url-safe characters, as `generate_custom_scheme` makes them."""
    rest = scheme[len("adbe.u-") :] if scheme.startswith("adbe.u-") else ""
    return len(rest) == 22 and all(ch.isalnum() or ch in "-_" for ch in rest)


@transaction.atomic
def channel_rename(*, channel: Channel, name: str, actor: Actor, ip_address: str | None = None) -> Channel:
    """Change the display name (the slug is the requestor id and never changes)."""
    name_change_record(target=channel, name=name, programmer=channel.programmer, actor=actor, ip_address=ip_address)
    return channel


@transaction.atomic
def custom_scheme_create(
    *,
    channel: Channel,
    actor: Actor,
    ip_address: str | None = None,
    environment: Environment | None = None,
    scheme: str | None = None,
) -> CustomScheme:
    """Generate a custom scheme for a channel in an environment (or add `scheme`, see `custom_scheme_add`)."""
    created = custom_scheme_add(channel=channel, environment=environment, scheme=scheme)
    audit_event_record(
        actor=actor,
        action="custom_scheme.create",
        target=created,
        programmer=channel.programmer,
        ip_address=ip_address,
        details={"channel": channel.slug, "scheme": created.scheme, "environment": created.environment_id},
    )
    return created


def channel_domain_host_clean(host: str) -> str:
    """The normalised host name (lowercase, no trailing dot), or a ValidationError on `host`."""
    host = (host or "").strip().lower().rstrip(".")
    labels = host.split(".")
    if (
        not host
        or len(host) > 253
        or len(labels) < 2
        or any(not label or len(label) > 63 or label.startswith("-") or label.endswith("-") for label in labels)
        or any(not all(ch.isalnum() or ch == "-" for ch in label) for label in labels)
    ):
        raise ValidationError({"host": text(gettext_noop("“%(host)s” is not a valid host name."), host=host)})
    return host


@transaction.atomic
def channel_domain_add(
    *, channel: Channel, host: str, actor: Actor, ip_address: str | None = None, environment: Environment | None = None
) -> ChannelDomain:
    """Add a domain to a channel in an environment (adding one it has changes nothing)."""
    host = channel_domain_host_clean(host)
    environment_id = environment_id_or_production(environment)
    domain, created = ChannelDomain.objects.get_or_create(channel=channel, environment_id=environment_id, host=host)
    if created:
        audit_event_record(
            actor=actor,
            action="domain.create",
            target=domain,
            programmer=channel.programmer,
            ip_address=ip_address,
            details={"channel": channel.slug, "host": host, "environment": environment_id},
        )
    return domain


def channel_domain_users(domain: ChannelDomain, *, limit: int = 5) -> list[str]:
    """ "Name version" of up to `limit` applications that use the domain (they lose it when it is deleted)."""
    return [f"{name} {version}" for name, version in domain.applications.values_list("name", "version")[:limit]]


@transaction.atomic
def channel_domain_remove(*, domain: ChannelDomain, actor: Actor, ip_address: str | None = None) -> None:
    """Delete a domain; the applications that used it lose it (their issued statements are unchanged:
    a statement is never rewritten). The audit event names them."""
    channel = domain.channel
    losing = [str(pk) for pk in domain.applications.values_list("pk", flat=True)]
    audit_event_record(
        actor=actor,
        action="domain.delete",
        target=domain,
        programmer=channel.programmer,
        ip_address=ip_address,
        details={
            "channel": channel.slug,
            "host": domain.host,
            "environment": domain.environment_id,
            "applications": losing,
        },
    )
    domain.delete()


def channel_settings_current(channel: Channel, environment_id: int) -> ChannelSettings:
    """The channel's settings in an environment (unsaved defaults when it has none: its name, no URL)."""
    found = ChannelSettings.objects.filter(channel=channel, environment_id=environment_id).first()
    return found or ChannelSettings(channel=channel, environment_id=environment_id, display_name=channel.name)


def channel_settings_check(
    *, channel: Channel, environment_id: int, display_name: str, default_redirect_url: str
) -> tuple[str, str]:
    """Normalised (display name, default redirect URL), or a ValidationError per field. The URL, when
    given, follows the redirect-URI rule of applications: https on one of the channel's domains in the
    environment, or one of its custom schemes there."""
    from .application_rules import redirect_uri_problem

    display_name = (display_name or "").strip()
    default_redirect_url = (default_redirect_url or "").strip()
    errors: dict[str, str] = {}
    if not display_name:
        errors["display_name"] = gettext("Give the channel a display name.")
    elif len(display_name) > 200:
        errors["display_name"] = gettext("The display name is longer than 200 characters.")
    if default_redirect_url:
        here = {"channel": channel, "environment_id": environment_id}
        hosts = set(ChannelDomain.objects.filter(**here).values_list("host", flat=True))
        schemes = set(CustomScheme.objects.filter(**here).values_list("scheme", flat=True))
        problem = (
            gettext("The URL is longer than 500 characters.")
            if len(default_redirect_url) > 500
            else redirect_uri_problem(default_redirect_url, schemes, hosts)
        )
        if problem:
            errors["default_redirect_url"] = problem
    if errors:
        raise ValidationError(errors)
    return display_name, default_redirect_url


@transaction.atomic
def channel_settings_set(
    *,
    channel: Channel,
    environment: Environment | None,
    display_name: str,
    default_redirect_url: str,
    actor: Actor,
    ip_address: str | None = None,
) -> ChannelSettings:
    """Set a channel's general settings in an environment."""
    environment_id = environment_id_or_production(environment)
    display_name, default_redirect_url = channel_settings_check(
        channel=channel,
        environment_id=environment_id,
        display_name=display_name,
        default_redirect_url=default_redirect_url,
    )
    previous = channel_settings_current(channel, environment_id)
    before = {"display_name": previous.display_name, "default_redirect_url": previous.default_redirect_url}
    settings_row, _ = ChannelSettings.objects.update_or_create(
        channel=channel,
        environment_id=environment_id,
        defaults={"display_name": display_name, "default_redirect_url": default_redirect_url},
    )
    after = {"display_name": display_name, "default_redirect_url": default_redirect_url}
    changed = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changed:
        audit_event_record(
            actor=actor,
            action="channel.settings",
            target=channel,
            programmer=channel.programmer,
            ip_address=ip_address,
            details={"channel": channel.slug, "environment": environment_id, **changed},
        )
    return settings_row
