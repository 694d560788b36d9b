"""How one pending change applies (README "Dashboard"): through the service that makes the same change at once
(`registered_application_create_from`, `channel_create`, `channel_settings_set`, `channel_domain_add`,
`channel_domain_remove`, `custom_scheme_create`), after checking that the person may still make it, and
with what the changes log records: the entity's type, id and label, and each property's old and new
value (old as read in the same transaction). A change that no longer applies raises ValidationError."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_noop

from .. import selectors
from ..change_descriptions import (
    ENTITY_APPLICATION,
    ENTITY_CHANNEL,
    ENTITY_CUSTOM_SCHEME,
    ENTITY_DOMAIN,
    Property,
    application_properties,
    change_property,
    channel_create_properties,
    channel_settings_properties,
    custom_scheme_properties,
    domain_add_properties,
    domain_delete_properties,
)
from ..models import (
    ApplicationLevel,
    ChangeKind,
    Channel,
    ChannelDomain,
    CustomScheme,
    Environment,
    PendingChange,
    Programmer,
)
from ..texts import text
from .application_rules import ApplicationSpec
from .applications import registered_application_create_from
from .channels import (
    channel_create,
    channel_domain_add,
    channel_domain_host_clean,
    channel_domain_remove,
    channel_domain_users,
    channel_settings_current,
    channel_settings_set,
    custom_scheme_create,
)


@dataclass(frozen=True)
class Applied:
    """What a change did, as the changes log records it."""

    entity_type: str
    entity_id: str
    entity_label: str
    properties: list[Property]


@dataclass
class ChangeRun:
    """One rehearsal or push: who acts where, and their reach per programmer (read once)."""

    user: User
    environment: Environment
    ip_address: str | None = None
    reaches: dict[int, selectors.Reach | None] = field(default_factory=dict)

    def require(
        self,
        programmer: Programmer,
        *,
        channel_ids: Iterable[int] = (),
        all_channels: bool = False,
        programmer_wide: bool = False,
    ) -> None:
        """A change of someone who may no longer make it does not apply (ValidationError, not 403: at
        push time it is one change among others that fails)."""
        if programmer.pk not in self.reaches:
            self.reaches[programmer.pk] = selectors.reach_of(self.user, programmer)
        if not selectors.can_change(
            self.reaches[programmer.pk],
            channel_ids=channel_ids,
            all_channels=all_channels,
            programmer_wide=programmer_wide,
        ):
            raise ValidationError(
                text(
                    gettext_noop("%(user)s has no write access to this part of %(programmer)s."),
                    user=self.user.get_username(),
                    programmer=programmer.name,
                )
            )


def _channel(programmer: Programmer, slug: str) -> Channel:
    found = Channel.objects.filter(programmer=programmer, slug=slug).select_related("programmer").first()
    if found is None:
        raise ValidationError(
            {
                "channel": text(
                    gettext_noop("%(programmer)s has no channel %(channel)s."), programmer=programmer.name, channel=slug
                )
            }
        )
    return found


def _application_channels(programmer: Programmer, payload: dict[str, Any]) -> tuple[Channel | None, list[Channel]]:
    """The channel (channel level) and the chosen channels an application's payload names, as they
    exist now; ValidationError naming those that do not."""
    slugs = [payload["channel"]] if payload.get("channel") else []
    slugs += list(payload.get("channels") or [])
    found = {c.slug: c for c in Channel.objects.filter(programmer=programmer, slug__in=slugs)}
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise ValidationError(
            {
                "channels": text(
                    gettext_noop("%(programmer)s has no channel %(channel)s."),
                    programmer=programmer.name,
                    channel=", ".join(missing),
                )
            }
        )
    return found.get(payload.get("channel") or ""), [found[slug] for slug in payload.get("channels") or []]


def _apply_application_create(change: PendingChange, run: ChangeRun) -> Applied:
    payload = change.payload
    programmer = change.programmer
    channel, chosen = _application_channels(programmer, payload)
    all_channels = bool(payload.get("all_channels"))
    covered = [c.pk for c in ([channel] if channel else chosen)]
    if covered or all_channels:
        # Without a channel the application's own rules refuse it, and say why.
        run.require(programmer, channel_ids=covered, all_channels=all_channels)
    spec = ApplicationSpec(
        programmer=programmer,
        level=payload.get("level", ApplicationLevel.PROGRAMMER),
        channel=channel,
        all_channels=all_channels,
        channels=chosen,
        platforms=payload.get("platforms") or [],
        scopes=payload.get("scopes") or [],
        domains=payload.get("domains") or [],
        redirect_uris=payload.get("redirect_uris") or [],
        name=payload.get("name", ""),
        version=payload.get("version", ""),
        environment=run.environment,
    )
    application = registered_application_create_from(spec=spec, actor=run.user, ip_address=run.ip_address)
    return Applied(ENTITY_APPLICATION, str(application.pk), str(application), application_properties(payload))


def _apply_channel_create(change: PendingChange, run: ChangeRun) -> Applied:
    """A new channel with its custom scheme here; a channel of the programmer that exists already (added
    in another environment: channels are global) gets this environment's custom scheme."""
    payload = change.payload
    programmer = change.programmer
    slug, name, scheme = payload.get("slug", ""), payload.get("name", ""), payload.get("scheme")
    run.require(programmer, programmer_wide=True)
    existing = Channel.objects.filter(slug=slug).first()
    if existing is None:
        channel = channel_create(
            programmer=programmer,
            slug=slug,
            name=name,
            actor=run.user,
            ip_address=run.ip_address,
            environment=run.environment,
            scheme=scheme,
        )
        return Applied(ENTITY_CHANNEL, channel.slug, channel.name, channel_create_properties(payload))
    if existing.programmer_id != programmer.pk:
        raise ValidationError({"slug": text(gettext_noop("The requestor id %(slug)s is taken."), slug=slug)})
    if CustomScheme.objects.filter(channel=existing, environment=run.environment).exists():
        raise ValidationError(
            {
                "slug": text(
                    gettext_noop("Channel %(channel)s already exists in %(environment)s."),
                    channel=slug,
                    environment=run.environment.name,
                )
            }
        )
    custom_scheme_create(
        channel=existing, actor=run.user, ip_address=run.ip_address, environment=run.environment, scheme=scheme
    )
    return Applied(
        ENTITY_CHANNEL, existing.slug, existing.name, [change_property("Custom scheme", None, payload.get("scheme"))]
    )


def _apply_channel_settings(change: PendingChange, run: ChangeRun) -> Applied:
    payload = change.payload
    channel = _channel(change.programmer, payload.get("channel", ""))
    run.require(change.programmer, channel_ids=[channel.pk])
    before = channel_settings_current(channel, run.environment.pk)
    after = channel_settings_set(
        channel=channel,
        environment=run.environment,
        display_name=payload.get("display_name", ""),
        default_redirect_url=payload.get("default_redirect_url", ""),
        actor=run.user,
        ip_address=run.ip_address,
    )
    properties = channel_settings_properties(
        {"display_name": after.display_name, "default_redirect_url": after.default_redirect_url},
        before.display_name,
        before.default_redirect_url,
    )
    changed = [item for item in properties if item["old"] != item["new"]]
    return Applied(ENTITY_CHANNEL, channel.slug, after.display_name, changed)


def _apply_domain_add(change: PendingChange, run: ChangeRun) -> Applied:
    payload = change.payload
    channel = _channel(change.programmer, payload.get("channel", ""))
    run.require(change.programmer, channel_ids=[channel.pk])
    host = channel_domain_host_clean(payload.get("host", ""))
    if ChannelDomain.objects.filter(channel=channel, environment=run.environment, host=host).exists():
        raise ValidationError(
            {
                "host": text(
                    gettext_noop("Channel %(channel)s already has the domain %(host)s in %(environment)s."),
                    channel=channel.slug,
                    host=host,
                    environment=run.environment.name,
                )
            }
        )
    domain = channel_domain_add(
        channel=channel, host=host, actor=run.user, ip_address=run.ip_address, environment=run.environment
    )
    return Applied(ENTITY_DOMAIN, str(domain.pk), f"{host} ({channel.slug})", domain_add_properties({"host": host}))


def _apply_domain_delete(change: PendingChange, run: ChangeRun) -> Applied:
    payload = change.payload
    channel = _channel(change.programmer, payload.get("channel", ""))
    run.require(change.programmer, channel_ids=[channel.pk])
    host = payload.get("host", "")
    domain = ChannelDomain.objects.filter(channel=channel, environment=run.environment, host=host).first()
    if domain is None:
        raise ValidationError(
            {
                "host": text(
                    gettext_noop("Channel %(channel)s has no domain %(host)s in %(environment)s (deleted meanwhile?)."),
                    channel=channel.slug,
                    host=host,
                    environment=run.environment.name,
                )
            }
        )
    entity_id = str(domain.pk)
    total = domain.applications.count()
    users = channel_domain_users(domain)
    channel_domain_remove(domain=domain, actor=run.user, ip_address=run.ip_address)
    properties = domain_delete_properties(payload, users, total - len(users))
    return Applied(ENTITY_DOMAIN, entity_id, f"{host} ({channel.slug})", properties)


def _apply_custom_scheme_generate(change: PendingChange, run: ChangeRun) -> Applied:
    payload = change.payload
    channel = _channel(change.programmer, payload.get("channel", ""))
    run.require(change.programmer, channel_ids=[channel.pk])
    created = custom_scheme_create(
        channel=channel,
        actor=run.user,
        ip_address=run.ip_address,
        environment=run.environment,
        scheme=payload.get("scheme"),
    )
    return Applied(
        ENTITY_CUSTOM_SCHEME,
        str(created.pk),
        f"{created.scheme} ({channel.slug})",
        custom_scheme_properties({"scheme": created.scheme}),
    )


APPLIERS: dict[str, Callable[[PendingChange, ChangeRun], Applied]] = {
    ChangeKind.APPLICATION_CREATE: _apply_application_create,
    ChangeKind.CHANNEL_CREATE: _apply_channel_create,
    ChangeKind.CHANNEL_SETTINGS: _apply_channel_settings,
    ChangeKind.DOMAIN_ADD: _apply_domain_add,
    ChangeKind.DOMAIN_DELETE: _apply_domain_delete,
    ChangeKind.CUSTOM_SCHEME_GENERATE: _apply_custom_scheme_generate,
}


def change_apply(change: PendingChange, run: ChangeRun) -> Applied:
    """Apply one change in `run.environment` as `run.user`; ValidationError when it no longer applies."""
    return APPLIERS[change.kind](change, run)


def validation_text(error: ValidationError) -> str:
    """A ValidationError's messages as one line (a failed push quotes it)."""
    return " ".join(" ".join(error.messages).split())
