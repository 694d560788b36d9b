"""create_programmer SLUG --name NAME [--channel SLUG[:NAME] ...] [--domain CHANNEL_SLUG:HOST ...]
[--environment SLUG]

Channels exist in every environment; their domains and each one's generated custom scheme go to the
environment given (production by default). Another environment's are added in the admin or the dashboard.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from registered_apps import services
from registered_apps.models import Channel, Programmer

from ._base import RegistryCommand

ACTOR = "command:create_programmer"


class Command(RegistryCommand):
    help = "Onboard a programmer with its channels (one generated custom scheme each) and their domains."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug", help="the programmer's slug, e.g. demo-networks")
        parser.add_argument("--name", required=True, help="display name")
        parser.add_argument(
            "--channel",
            action="append",
            default=[],
            metavar="SLUG[:NAME]",
            help="a channel (its slug is the requestor id); repeat for more",
        )
        parser.add_argument(
            "--domain",
            action="append",
            default=[],
            metavar="CHANNEL_SLUG:HOST",
            help="a domain of one of the channels; repeat for more",
        )
        self.add_environment_argument(
            parser,
            help_text="the environment of the domains and custom schemes, e.g. release-staging (default: production)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug, name = options["slug"], options["name"]
        channel_specs = [self._channel_spec(value) for value in options["channel"]]
        slugs = [channel_slug for channel_slug, _ in channel_specs]
        if len(set(slugs)) != len(slugs):
            self.fail("--channel: a channel slug is given twice.")
        domain_specs = [self._domain_spec(value, slugs) for value in options["domain"]]
        environment = self.environment_from(options["environment"])
        if Programmer.objects.filter(slug=slug).exists():
            self.fail(f"Programmer “{slug}” already exists.")
        taken = sorted(Channel.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        if taken:
            self.fail(f"--channel: requestor id already in use: {', '.join(taken)}.")
        try:
            with transaction.atomic():
                programmer = services.programmer_create(slug=slug, name=name, actor=ACTOR)
                channels = {
                    channel_slug: services.channel_create(
                        programmer=programmer,
                        slug=channel_slug,
                        name=channel_name,
                        actor=ACTOR,
                        environment=environment,
                    )
                    for channel_slug, channel_name in channel_specs
                }
                for channel_slug, host in domain_specs:
                    services.channel_domain_add(
                        channel=channels[channel_slug], host=host, actor=ACTOR, environment=environment
                    )
        except ValidationError as exc:
            self.fail(exc)
        self.stdout.write(f"Created programmer {programmer.slug} ({programmer.name}) in {environment.name}")
        for channel in channels.values():
            schemes = ", ".join(s.scheme for s in channel.custom_schemes.filter(environment=environment))
            hosts = ", ".join(d.host for d in channel.domains.filter(environment=environment)) or "none"
            self.stdout.write(f"  channel {channel.slug}: custom scheme {schemes}; domains: {hosts}")

    def _channel_spec(self, value: str) -> tuple[str, str]:
        channel_slug, _, channel_name = value.partition(":")
        channel_slug, channel_name = channel_slug.strip(), channel_name.strip()
        if not channel_slug:
            self.fail(f"--channel “{value}”: expected SLUG or SLUG:NAME.")
        return channel_slug, channel_name or channel_slug

    def _domain_spec(self, value: str, channel_slugs: list[str]) -> tuple[str, str]:
        channel_slug, separator, host = value.partition(":")
        channel_slug, host = channel_slug.strip(), host.strip()
        if not separator or not channel_slug or not host:
            self.fail(f"--domain “{value}”: expected CHANNEL_SLUG:HOST.")
        if channel_slug not in channel_slugs:
            self.fail(f"--domain “{value}”: {channel_slug} is not one of the --channel values.")
        return channel_slug, host
