"""What a registered application is made of (`ApplicationSpec`) and the rules a new one must satisfy,
one function per rule. The service, the admin's add form and the dashboard all check through
`registered_application_check`, so each says the same thing about the same mistake."""

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from ..environments import environment_id_or_production
from ..models import (
    ApplicationLevel,
    Channel,
    ChannelDomain,
    CustomScheme,
    Environment,
    Platform,
    Programmer,
    RegisteredApplication,
    Scope,
)
from ..texts import text
from .channels import channels_foreign_message

# A rule's complaint: the field it is about, and what to tell the person who filled it in.
Problem = tuple[str, str]


@dataclass(kw_only=True)
class ApplicationSpec:
    """A new application as its creator states it. Normalised on creation (name and version trimmed,
    an empty version read as 1.0.0, repeated codes, hosts and URIs dropped) so that every rule and the
    stored row read the same values; nothing here is checked yet."""

    programmer: Programmer
    level: str
    name: str
    version: str = "1.0.0"
    # Channel level: the one channel. Programmer level: all channels (also those added later), or a subset.
    channel: Channel | None = None
    all_channels: bool = False
    channels: Sequence[Channel] = ()
    platforms: Sequence[str]
    scopes: Sequence[str]
    domains: Sequence[str] = ()
    redirect_uris: Sequence[str] = ()
    # Where the application exists (its domains and schemes are that environment's); None: production.
    environment: Environment | None = None

    @property
    def environment_id(self) -> int:
        return environment_id_or_production(self.environment)

    def __post_init__(self) -> None:
        self.name = (self.name or "").strip()
        self.version = (self.version or "").strip() or "1.0.0"
        self.platforms = list(dict.fromkeys(self.platforms))
        self.scopes = list(dict.fromkeys(self.scopes))
        self.domains = list(dict.fromkeys(host.strip().lower() for host in self.domains))
        self.redirect_uris = list(dict.fromkeys(self.redirect_uris))


@dataclass(frozen=True)
class ApplicationRows:
    """The rows a spec names, looked up once for all the rules (and, once they pass, stored with it)."""

    channels: list[Channel]  # the channels the application covers
    platforms: list[Platform]
    scopes: list[Scope]
    domains: list[ChannelDomain]
    schemes: set[str]  # the custom schemes of the covered channels


def registered_application_check(spec: ApplicationSpec) -> ApplicationRows:
    """Apply every rule; a ValidationError names each offending field with all its messages at once."""
    rows = _rows_named_by(spec)
    errors: dict[str, list[str]] = {}
    for rule in RULES:
        for field, message in rule(spec, rows):
            errors.setdefault(field, []).append(message)
    if "name" not in errors:
        for field, message in _check_name_and_version_free(spec):
            errors.setdefault(field, []).append(message)
    if errors:
        raise ValidationError(errors)
    return rows


def registered_application_taken_message(spec: ApplicationSpec) -> str:
    """The message of the name-and-version rule (also raised by the service when it loses a race)."""
    return text(
        gettext_noop("%(programmer)s already has an application named “%(name)s” at version %(version)s."),
        programmer=spec.programmer.name,
        name=spec.name,
        version=spec.version,
    )


def _rows_named_by(spec: ApplicationSpec) -> ApplicationRows:
    channels = _covered_channels(spec)
    channel_ids = [c.pk for c in channels]
    here = {"channel_id__in": channel_ids, "environment_id": spec.environment_id}
    return ApplicationRows(
        channels=channels,
        platforms=list(Platform.objects.filter(code__in=spec.platforms, active=True)),
        scopes=list(Scope.objects.filter(code__in=spec.scopes, active=True)),
        domains=list(ChannelDomain.objects.filter(host__in=spec.domains, **here)),
        schemes=set(CustomScheme.objects.filter(**here).values_list("scheme", flat=True)),
    )


def _covered_channels(spec: ApplicationSpec) -> list[Channel]:
    if spec.level == ApplicationLevel.CHANNEL:
        channel = spec.channel
        return [channel] if channel is not None and channel.programmer_id == spec.programmer.pk else []
    if spec.level == ApplicationLevel.PROGRAMMER:
        if spec.all_channels:
            return list(spec.programmer.channels.all())
        return list({c.pk: c for c in spec.channels}.values())
    return []


# --- The rules, in the order their messages appear -------------------------------------------------


def _check_name(spec: ApplicationSpec, rows: ApplicationRows) -> Iterator[Problem]:
    if not spec.name:
        yield "name", gettext("Give the application a name.")
    elif len(spec.name) > 200:
        yield "name", gettext("The name is longer than 200 characters.")


# MAJOR.MINOR.PATCH with an optional suffix after a hyphen (Semantic Versioning's core and pre-release
# form): "new version from this one" counts majors. Checked for new applications only; stored rows keep
# whatever they were created with.
VERSION_PATTERN = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*)?")
VERSION_RULE = gettext_lazy(
    "MAJOR.MINOR.PATCH (three numbers), optionally with a suffix after a hyphen: 2.0.0 or 2.1.0-beta.1."
)


def _check_version(spec: ApplicationSpec, rows: ApplicationRows) -> Iterator[Problem]:
    if len(spec.version) > 32:
        yield "version", gettext("The version must be at most 32 characters.")
    elif not VERSION_PATTERN.fullmatch(spec.version):
        yield (
            "version",
            text(
                gettext_noop("“%(version)s” is not a version: write %(rule)s"), version=spec.version, rule=VERSION_RULE
            ),
        )


def _check_channels(spec: ApplicationSpec, rows: ApplicationRows) -> Iterator[Problem]:
    """A channel-level application covers exactly its own channel; a programmer-level one all of the
    programmer's channels or a chosen subset of them."""
    programmer = spec.programmer
    if spec.level == ApplicationLevel.CHANNEL:
        if spec.channel is None:
            yield "channel", gettext("A channel-level application needs its channel.")
        elif spec.channel.programmer_id != programmer.pk:
            yield (
                "channel",
                text(
                    gettext_noop("Channel %(channel)s does not belong to %(programmer)s."),
                    channel=spec.channel.slug,
                    programmer=programmer.slug,
                ),
            )
        if spec.all_channels or spec.channels:
            yield "channels", gettext("A channel-level application covers exactly its own channel.")
    elif spec.level == ApplicationLevel.PROGRAMMER:
        if spec.channel is not None:
            yield "channel", gettext("A programmer-level application has no single channel; choose channels instead.")
        if spec.all_channels and spec.channels:
            yield "channels", gettext("Choose either all channels or a subset, not both.")
        elif not spec.all_channels and not spec.channels:
            yield "channels", gettext("Choose all channels or at least one channel.")
        elif not spec.all_channels:
            foreign = channels_foreign_message(programmer, spec.channels)
            if foreign:
                yield "channels", foreign
    else:
        yield "level", gettext("The level must be “programmer” or “channel”.")


def _check_platforms(spec: ApplicationSpec, rows: ApplicationRows) -> Iterator[Problem]:
    yield from _catalog_problems(
        "platforms",
        (gettext("Choose at least one platform."), gettext_noop("Unknown or retired platform: %(codes)s.")),
        spec.platforms,
        rows.platforms,
    )


def _check_scopes(spec: ApplicationSpec, rows: ApplicationRows) -> Iterator[Problem]:
    yield from _catalog_problems(
        "scopes",
        (gettext("Choose at least one scope."), gettext_noop("Unknown or retired scope: %(codes)s.")),
        spec.scopes,
        rows.scopes,
    )


def _catalog_problems(
    field: str, messages: tuple[str, str], codes: Sequence[str], found: Sequence[Platform] | Sequence[Scope]
) -> Iterator[Problem]:
    """At least one entry, and only active entries of the catalog (`messages`: the first translated, the
    second the msgid of the one naming the codes)."""
    if not codes:
        yield field, messages[0]
    missing = sorted(set(codes) - {entry.code for entry in found})
    if missing:
        yield field, text(messages[1], codes=", ".join(map(str, missing)))


def _check_domains(spec: ApplicationSpec, rows: ApplicationRows) -> Iterator[Problem]:
    """Domains are those of the covered channels; the web platform needs at least one."""
    found = {d.host for d in rows.domains}
    outside = [host for host in spec.domains if host not in found]
    if outside:
        yield (
            "domains",
            text(gettext_noop("Domains not owned by the application's channels: %(hosts)s."), hosts=", ".join(outside)),
        )
    if "web" in spec.platforms and not spec.domains:
        yield "domains", gettext("The web platform needs at least one domain.")


def _check_redirect_uris(spec: ApplicationSpec, rows: ApplicationRows) -> Iterator[Problem]:
    """Each redirect URI uses a custom scheme of the covered channels, or https on a chosen domain."""
    hosts = {d.host for d in rows.domains}
    for uri in spec.redirect_uris:
        message = redirect_uri_problem(uri, rows.schemes, hosts)
        if message:
            yield "redirect_uris", message


def _redirect_uri_parts(uri: str) -> SplitResult | None:
    """The URI's parts; None for what is no URI at all (empty, too long, spaces, unparseable)."""
    if not isinstance(uri, str) or not uri or len(uri) > 2000 or any(ch.isspace() for ch in uri):
        return None
    try:
        return urlsplit(uri)
    except ValueError:
        return None


def redirect_uri_problem(uri: str, schemes: set[str], hosts: set[str]) -> str | None:
    """What is wrong with a redirect URI given these custom schemes and https hosts, or None."""
    parts = _redirect_uri_parts(uri)
    if parts is None:
        return text(gettext_noop("“%(uri)s” is not a valid redirect URI."), uri=uri)
    if parts.fragment:
        return text(gettext_noop("“%(uri)s”: redirect URIs must not contain a fragment."), uri=uri)
    if parts.scheme == "https":
        if (parts.hostname or "") in hosts and not parts.username and not parts.password:
            return None
        return text(
            gettext_noop("“%(uri)s”: an https redirect URI must use one of the application's domains."), uri=uri
        )
    # Not urlsplit's scheme: it lowercases it and stops at "_", and generated custom schemes
    # (`adbe.u-` + url-safe characters) may contain both. Mobile platforms match schemes
    # case-insensitively, so we compare that way too.
    prefix, separator, _rest = uri.partition("://")
    if separator and prefix.lower() in {scheme.lower() for scheme in schemes}:
        return None
    return text(
        gettext_noop(
            "“%(uri)s” must use a custom scheme of the application's channels (scheme://...) "
            "or https on one of its domains."
        ),
        uri=uri,
    )


def _check_name_and_version_free(spec: ApplicationSpec) -> Iterator[Problem]:
    """A programmer's name and version pair is unique in an environment (a new version is a new
    application). Checked last, and only for a valid name; the database's unique constraint settles a race."""
    if RegisteredApplication.objects.filter(
        programmer=spec.programmer, environment_id=spec.environment_id, name=spec.name, version=spec.version
    ).exists():
        yield "version", registered_application_taken_message(spec)


RULES: tuple[Callable[[ApplicationSpec, ApplicationRows], Iterator[Problem]], ...] = (
    _check_name,
    _check_version,
    _check_channels,
    _check_platforms,
    _check_scopes,
    _check_domains,
    _check_redirect_uris,
)
