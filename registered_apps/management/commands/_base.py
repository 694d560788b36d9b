"""What the registry's commands share: one-line errors, service errors turned into them, and the
`--environment SLUG` option (production when omitted)."""

import sys
from typing import Any, NoReturn

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.service_errors import validation_error_line

from ...environments import environment_production
from ...models import Environment


class RegistryCommand(BaseCommand):
    """Bad arguments print one line on stderr and exit non-zero; nothing is half-created because
    each command does its work in one transaction."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if parser.called_from_command_line:

            def error(message: str) -> NoReturn:
                sys.stderr.write(f"{parser.prog}: error: {message} (see --help)\n")
                sys.exit(2)

            parser.error = error  # type: ignore[method-assign]
        return parser

    def fail(self, error: ValidationError | str) -> NoReturn:
        raise CommandError(validation_error_line(error) if isinstance(error, ValidationError) else error)

    def add_environment_argument(self, parser: Any, *, help_text: str = "") -> None:
        """`--environment SLUG` on `parser` (or on one of its argument groups)."""
        parser.add_argument(
            "--environment",
            metavar="SLUG",
            help=help_text or "the environment to work in, e.g. release-staging (default: the production environment)",
        )

    def environment_from(self, slug: str | None) -> Environment:
        """The environment `--environment` names, production when it is omitted; an unknown slug is a
        one-line error that lists the valid ones."""
        if slug is None:
            # Through the environments module: it puts the defaults back in a database emptied by hand.
            return Environment.objects.get(pk=environment_production().id)
        found = Environment.objects.filter(slug=slug.strip()).first()
        if found is None:
            valid = ", ".join(Environment.objects.order_by("order", "pk").values_list("slug", flat=True))
            self.fail(f"--environment: no environment “{slug}”; valid: {valid}.")
        return found
