"""Channels, their custom schemes and their domains. Slugs and schemes never change: statements,
tokens and installed apps carry them; a domain leaves only when no application uses it."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Channel, ChannelDomain, CustomScheme, Programmer
from .audit import Actor, audit_event_record


def channels_foreign_message(programmer: Programmer, channels: Iterable[Channel]) -> str | None:
    """The rule "a programmer's membership or application names only its own channels": the message
    naming the others, or None when every channel is the programmer's."""
    foreign = [c.slug for c in channels if c.programmer_id != programmer.pk]
    if foreign:
        return f"Channels {', '.join(foreign)} do not belong to {programmer.slug}."
    return None


@transaction.atomic
def channel_create(
    *, programmer: Programmer, slug: str, name: str, actor: Actor, ip_address: str | None = None
) -> Channel:
    """Create a channel and its first generated custom scheme."""
    channel = Channel(programmer=programmer, slug=slug, name=name or slug)
    channel.full_clean()
    channel.save()
    scheme = CustomScheme.objects.create(channel=channel)
    audit_event_record(
        actor=actor,
        action="channel.create",
        target=channel,
        programmer=programmer,
        ip_address=ip_address,
        details={"slug": slug, "custom_scheme": scheme.scheme},
    )
    return channel


@transaction.atomic
def channel_rename(*, channel: Channel, name: str, actor: Actor, ip_address: str | None = None) -> Channel:
    """Change the display name (the slug is the requestor id and never changes)."""
    previous = Channel.objects.values_list("name", flat=True).get(pk=channel.pk)
    channel.name = name
    channel.full_clean()
    if previous != name:
        channel.save(update_fields=["name"])
        audit_event_record(
            actor=actor,
            action="channel.change",
            target=channel,
            programmer=channel.programmer,
            ip_address=ip_address,
            details={"name": [previous, name]},
        )
    return channel


@transaction.atomic
def custom_scheme_create(*, channel: Channel, actor: Actor, ip_address: str | None = None) -> CustomScheme:
    scheme = CustomScheme.objects.create(channel=channel)
    audit_event_record(
        actor=actor,
        action="custom_scheme.create",
        target=scheme,
        programmer=channel.programmer,
        ip_address=ip_address,
        details={"channel": channel.slug},
    )
    return scheme


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
        raise ValidationError({"host": f"“{host}” is not a valid host name."})
    return host


@transaction.atomic
def channel_domain_add(*, channel: Channel, host: str, actor: Actor, ip_address: str | None = None) -> ChannelDomain:
    host = channel_domain_host_clean(host)
    domain, created = ChannelDomain.objects.get_or_create(channel=channel, host=host)
    if created:
        audit_event_record(
            actor=actor,
            action="domain.create",
            target=domain,
            programmer=channel.programmer,
            ip_address=ip_address,
            details={"channel": channel.slug, "host": host},
        )
    return domain


def channel_domain_removal_check(domain: ChannelDomain) -> None:
    """The rule "a domain an application uses stays" (an application's configuration never changes):
    a ValidationError on `host` naming the applications, else nothing."""
    users = list(domain.applications.values_list("name", "version")[:5])
    if users:
        names = ", ".join(f"{name} {version}" for name, version in users)
        raise ValidationError(
            {"host": f"{domain.host} is used by registered applications ({names}); revoke them instead."}
        )


@transaction.atomic
def channel_domain_remove(*, domain: ChannelDomain, actor: Actor, ip_address: str | None = None) -> None:
    """Remove a domain no application uses."""
    channel_domain_removal_check(domain)
    channel = domain.channel
    audit_event_record(
        actor=actor,
        action="domain.delete",
        target=domain,
        programmer=channel.programmer,
        ip_address=ip_address,
        details={"channel": channel.slug, "host": domain.host},
    )
    domain.delete()
