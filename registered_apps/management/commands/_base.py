"""What the registry's commands share: one-line errors, and service errors turned into them."""

import sys
from typing import Any, NoReturn

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.service_errors import validation_error_line


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
