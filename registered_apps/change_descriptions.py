"""What a pending change says on the review page, in the changes log and in a failed push's message: the
entity it is about, a one-line summary, and each property's old and new value (None reads "—").

Everything here is a function of a change's kind and payload, except the old values, which
`changes_describe` reads for a whole list at once (a constant number of queries for one change or a
hundred). A push records the old values it read in its own transaction instead (services.changes)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch
from django.utils.translation import gettext, gettext_noop

from .models import ChangeKind, Channel, ChannelDomain, ChannelSettings, PendingChange, RegisteredApplication

# Entity types, property names and the few fixed values are stored in English with a push (the changes
# log, its CSV and its comparison read them back); the pages translate them when they show them.
ENTITY_APPLICATION = gettext_noop("Registered application")
ENTITY_CHANNEL = gettext_noop("Channel")
ENTITY_DOMAIN = gettext_noop("Domain")
ENTITY_CUSTOM_SCHEME = gettext_noop("Custom scheme")
# Values a change may hold that the pages translate (`dashboard.change_value`).
VALUE_ALL_CHANNELS = gettext_noop("All channels")
VALUE_CHANNEL_LEVEL = gettext_noop("Channel")
VALUE_PROGRAMMER_LEVEL = gettext_noop("Programmer")
TRANSLATED_VALUES = frozenset({VALUE_ALL_CHANNELS, VALUE_CHANNEL_LEVEL, VALUE_PROGRAMMER_LEVEL})

# How many applications a domain deletion names (it says how many more there are).
DOMAIN_USERS_SHOWN = 5

Property = dict[str, Any]


def change_property(name: str, old: Any, new: Any) -> Property:
    """One line of a change: an empty value is stored as None (shown "—")."""
    return {"property": name, "old": old if old not in ("", [], None) else None, "new": new if new else None}


def _lines(values: Sequence[str]) -> str | None:
    return "\n".join(str(value) for value in values) or None


def _kept(properties: list[Property]) -> list[Property]:
    return [item for item in properties if item["old"] is not None or item["new"] is not None]


def application_properties(payload: dict[str, Any]) -> list[Property]:
    """A new application: every part of its configuration (nothing before)."""
    if payload.get("all_channels"):
        channels: str | None = VALUE_ALL_CHANNELS
    elif payload.get("channel"):
        channels = str(payload["channel"])
    else:
        channels = _lines(payload.get("channels") or [])
    return _kept(
        [
            change_property(gettext_noop("Name"), None, payload.get("name")),
            change_property(gettext_noop("Version"), None, payload.get("version")),
            change_property(
                gettext_noop("Level"),
                None,
                VALUE_CHANNEL_LEVEL if payload.get("level") == "channel" else VALUE_PROGRAMMER_LEVEL,
            ),
            change_property(gettext_noop("Channels"), None, channels),
            change_property(gettext_noop("Platforms"), None, _lines(payload.get("platforms") or [])),
            change_property(gettext_noop("Scopes"), None, _lines(payload.get("scopes") or [])),
            change_property(gettext_noop("Domains"), None, _lines(payload.get("domains") or [])),
            change_property(gettext_noop("Redirect URIs"), None, _lines(payload.get("redirect_uris") or [])),
        ]
    )


def channel_create_properties(payload: dict[str, Any]) -> list[Property]:
    return [
        change_property(gettext_noop("Requestor id"), None, payload.get("slug")),
        change_property(gettext_noop("Display name"), None, payload.get("name")),
        change_property(gettext_noop("Custom scheme"), None, payload.get("scheme")),
    ]


def channel_settings_properties(
    payload: dict[str, Any], display_name: str, default_redirect_url: str
) -> list[Property]:
    """Old: the settings now (`display_name`, `default_redirect_url`); new: the payload's."""
    return [
        change_property(gettext_noop("Display name"), display_name, payload.get("display_name")),
        change_property(
            gettext_noop("Default redirect URL"), default_redirect_url, payload.get("default_redirect_url")
        ),
    ]


def domain_add_properties(payload: dict[str, Any]) -> list[Property]:
    return [change_property(gettext_noop("Host"), None, payload.get("host"))]


def domain_delete_properties(payload: dict[str, Any], users: Sequence[str], more: int = 0) -> list[Property]:
    """The host goes; so does the domain of the applications that used it (named, then "and N more")."""
    named = list(users) + ([gettext("and %(count)s more") % {"count": more}] if more > 0 else [])
    return _kept(
        [
            change_property(gettext_noop("Host"), payload.get("host"), None),
            change_property(gettext_noop("Used by applications"), _lines(named), None),
        ]
    )


def custom_scheme_properties(payload: dict[str, Any]) -> list[Property]:
    return [change_property(gettext_noop("Custom scheme"), None, payload.get("scheme"))]


def change_entity(kind: str, payload: dict[str, Any]) -> tuple[str, str]:
    """(entity type, label) of what a change is about."""
    channel = payload.get("channel") or ""
    if kind == ChangeKind.APPLICATION_CREATE:
        return ENTITY_APPLICATION, f"{payload.get('name', '')} {payload.get('version', '')}".strip()
    if kind == ChangeKind.CHANNEL_CREATE:
        return ENTITY_CHANNEL, f"{payload.get('name') or payload.get('slug', '')}"
    if kind == ChangeKind.CHANNEL_SETTINGS:
        return ENTITY_CHANNEL, f"{payload.get('display_name') or channel}"
    if kind in (ChangeKind.DOMAIN_ADD, ChangeKind.DOMAIN_DELETE):
        return ENTITY_DOMAIN, f"{payload.get('host', '')} ({channel})"
    if kind == ChangeKind.CUSTOM_SCHEME_GENERATE:
        return ENTITY_CUSTOM_SCHEME, f"{payload.get('scheme', '')} ({channel})"
    return kind, ""


def change_summary(kind: str, payload: dict[str, Any]) -> str:
    """One line naming the change, as a failed push's message quotes it."""
    channel = payload.get("channel") or ""
    values = {
        "name": payload.get("name", ""),
        "version": payload.get("version", ""),
        "slug": payload.get("slug", ""),
        "host": payload.get("host", ""),
        "scheme": payload.get("scheme", ""),
        "channel": channel,
    }
    summaries: dict[str, str] = {
        ChangeKind.APPLICATION_CREATE: gettext("Create registered application %(name)s %(version)s"),
        ChangeKind.CHANNEL_CREATE: gettext("Add channel %(slug)s"),
        ChangeKind.CHANNEL_SETTINGS: gettext("Change the settings of channel %(channel)s"),
        ChangeKind.DOMAIN_ADD: gettext("Add domain %(host)s to channel %(channel)s"),
        ChangeKind.DOMAIN_DELETE: gettext("Delete domain %(host)s of channel %(channel)s"),
        ChangeKind.CUSTOM_SCHEME_GENERATE: gettext("Generate custom scheme %(scheme)s for channel %(channel)s"),
    }
    summary = summaries.get(kind)
    return summary % values if summary else kind


@dataclass(frozen=True)
class DescribedChange:
    """A pending change as the review page shows it (old values as they are now)."""

    change: PendingChange
    summary: str
    entity_type: str
    entity_label: str
    entity_id: str
    properties: list[Property]


def changes_describe(changes: Sequence[PendingChange], environment_id: int) -> list[DescribedChange]:
    """Describe changes of one environment, reading the old values they need in a constant number of
    queries: the channels' settings there (2 queries when any change is about settings) and the domains
    that deletions take away with the applications using them (2 queries when any change deletes one)."""
    current_settings = _current_settings(changes, environment_id)
    domain_users = _deleted_domain_users(changes, environment_id)
    described = []
    for change in changes:
        payload = change.payload
        entity_type, entity_label = change_entity(change.kind, payload)
        described.append(
            DescribedChange(
                change=change,
                summary=change_summary(change.kind, payload),
                entity_type=entity_type,
                entity_label=entity_label,
                entity_id=_entity_id(change.kind, payload),
                properties=_properties(change, current_settings, domain_users),
            )
        )
    return described


def _current_settings(changes: Sequence[PendingChange], environment_id: int) -> dict[str, tuple[str, str]]:
    """Per channel whose settings change: its display name and default redirect URL there now."""
    settings_slugs = {c.payload.get("channel") for c in changes if c.kind == ChangeKind.CHANNEL_SETTINGS}
    current_settings: dict[str, tuple[str, str]] = {}
    if not settings_slugs:
        return current_settings
    here = ChannelSettings.objects.filter(environment_id=environment_id)
    for channel in Channel.objects.filter(slug__in=settings_slugs).prefetch_related(
        Prefetch("settings", queryset=here, to_attr="settings_here")
    ):
        found = channel.settings_here[0] if channel.settings_here else None  # type: ignore[attr-defined]
        current_settings[channel.slug] = (
            (found.display_name, found.default_redirect_url) if found else (channel.name, "")
        )
    return current_settings


def _deleted_domain_users(
    changes: Sequence[PendingChange], environment_id: int
) -> dict[tuple[str, str], tuple[list[str], int]]:
    """Per (channel slug, host) that a change deletes: the first applications using it, and how many more."""
    deleted = [(c.payload.get("channel"), c.payload.get("host")) for c in changes if c.kind == ChangeKind.DOMAIN_DELETE]
    domain_users: dict[tuple[str, str], tuple[list[str], int]] = {}
    if not deleted:
        return domain_users
    first_users = RegisteredApplication.objects.order_by("name", "version").only("id", "name", "version")
    domains = (
        ChannelDomain.objects.filter(
            environment_id=environment_id,
            channel__slug__in={slug for slug, _ in deleted},
            host__in={host for _, host in deleted},
        )
        .select_related("channel")
        .annotate(user_count=Count("applications"))
        .prefetch_related(Prefetch("applications", queryset=first_users[:DOMAIN_USERS_SHOWN], to_attr="first_users"))
    )
    for domain in domains:
        names = [str(app) for app in domain.first_users]  # type: ignore[attr-defined]
        domain_users[(domain.channel.slug, domain.host)] = (names, domain.user_count - len(names))  # type: ignore[attr-defined]
    return domain_users


def _properties(
    change: PendingChange,
    current_settings: dict[str, tuple[str, str]],
    domain_users: dict[tuple[str, str], tuple[list[str], int]],
) -> list[Property]:
    """The change's properties with their old and new values."""
    payload = change.payload
    if change.kind == ChangeKind.CHANNEL_SETTINGS:
        display_name, url = current_settings.get(payload.get("channel", ""), ("", ""))
        return channel_settings_properties(payload, display_name, url)
    if change.kind == ChangeKind.DOMAIN_DELETE:
        names, more = domain_users.get((payload.get("channel", ""), payload.get("host", "")), ([], 0))
        return domain_delete_properties(payload, names, more)
    simple: dict[str, Callable[[dict[str, Any]], list[Property]]] = {
        ChangeKind.APPLICATION_CREATE: application_properties,
        ChangeKind.CHANNEL_CREATE: channel_create_properties,
        ChangeKind.DOMAIN_ADD: domain_add_properties,
    }
    return simple.get(change.kind, custom_scheme_properties)(payload)


def _entity_id(kind: str, payload: dict[str, Any]) -> str:
    """The id a change's entity is known by before it exists: a channel's slug; nothing for the others
    (an application, a domain and a scheme get their id when pushed)."""
    if kind == ChangeKind.CHANNEL_CREATE:
        return str(payload.get("slug", ""))
    if kind == ChangeKind.CHANNEL_SETTINGS:
        return str(payload.get("channel", ""))
    return ""
