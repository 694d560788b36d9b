"""create_registered_app --programmer SLUG (--all-channels | --channel SLUG ... | --channel-level SLUG)
--name NAME [--version V] --platform P ... --scope S ... [--domain D ...] [--redirect-uri U ...] [--statement]
[--environment SLUG]

Prints the application id; with --statement, a new statement on the last line (signed with the
environment's key, for its issuer). The application and its statement are created in one transaction:
a failure leaves nothing behind. The domains and custom schemes are those of the environment
(production by default).
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandParser
from django.db import transaction

from registered_apps.management.commands._base import RegistryCommand
from registered_apps.models import ApplicationLevel, Channel, Programmer
from registered_apps.services import registered_application_create
from software_statements.services import software_statement_issue

ACTOR = "command:create_registered_app"


class Command(RegistryCommand):
    help = "Create a registered application for a programmer (as a TAM would) and optionally issue its statement."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # The README's walk-through passes --version (the application's), an option Django gives every command (Django's
        # version): here --version is the application's.
        kwargs.setdefault("conflict_handler", "resolve")
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--programmer", required=True, metavar="SLUG")
        coverage = parser.add_mutually_exclusive_group(required=True)
        coverage.add_argument("--all-channels", action="store_true", help="programmer level, every channel")
        coverage.add_argument(
            "--channel", action="append", metavar="SLUG", help="programmer level, these channels; repeat for more"
        )
        coverage.add_argument("--channel-level", metavar="SLUG", help="channel level, this one channel")
        parser.add_argument("--name", required=True)
        parser.add_argument("--version", default="1.0.0", dest="app_version", metavar="V", help="default 1.0.0")
        parser.add_argument("--platform", action="append", required=True, metavar="P", help="repeat for more")
        parser.add_argument("--scope", action="append", required=True, metavar="S", help="repeat for more")
        parser.add_argument("--domain", action="append", default=[], metavar="D")
        parser.add_argument("--redirect-uri", action="append", default=[], metavar="U")
        parser.add_argument("--statement", action="store_true", help="also issue a statement (printed last)")
        self.add_environment_argument(
            parser, help_text="where the application exists, e.g. release-staging (default: production)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        programmer = Programmer.objects.filter(slug=options["programmer"]).first()
        if programmer is None:
            self.fail(f"--programmer: no programmer “{options['programmer']}”.")
        environment = self.environment_from(options["environment"])
        level = ApplicationLevel.PROGRAMMER
        channel = None
        channels: list[Channel] = []
        if options["channel_level"]:
            level = ApplicationLevel.CHANNEL
            channel = self._channels(programmer, [options["channel_level"]], "--channel-level")[0]
        elif options["channel"]:
            channels = self._channels(programmer, options["channel"], "--channel")
        token = None
        try:
            with transaction.atomic():
                application = registered_application_create(
                    programmer=programmer,
                    level=level,
                    channel=channel,
                    all_channels=bool(options["all_channels"]),
                    channels=channels,
                    platforms=options["platform"],
                    scopes=options["scope"],
                    domains=options["domain"],
                    redirect_uris=options["redirect_uri"],
                    name=options["name"],
                    version=options["app_version"],
                    environment=environment,
                    actor=ACTOR,
                )
                if options["statement"]:
                    token, _ = software_statement_issue(application=application, actor=ACTOR)
        except ValidationError as exc:
            self.fail(exc)
        self.stdout.write(str(application.pk))
        if token is not None:
            self.stdout.write(token)

    def _channels(self, programmer: Programmer, slugs: list[str], option: str) -> list[Channel]:
        found = {c.slug: c for c in Channel.objects.filter(programmer=programmer, slug__in=slugs)}
        missing = [slug for slug in slugs if slug not in found]
        if missing:
            self.fail(f"{option}: {programmer.slug} has no channel {', '.join(missing)}.")
        return [found[slug] for slug in dict.fromkeys(slugs)]
