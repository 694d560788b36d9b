"""issue_software_statement APP_ID [--environment SLUG]: print a new software statement (the compact JWS
alone), signed with the key of the application's environment. `--environment` only checks: a slug that is
not the application's environment is refused (a statement works only in its application's environment)."""

import uuid
from typing import Any

from registered_apps.management.commands._base import RegistryCommand
from registered_apps.models import RegisteredApplication
from software_statements.services import ApplicationRevokedError, software_statement_issue

ACTOR = "command:issue_software_statement"


class Command(RegistryCommand):
    help = "Issue a new software statement for a registered application and print it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("app_id", metavar="APP_ID", help="the application id (its software_id)")
        self.add_environment_argument(
            parser,
            help_text="refuse unless the application is in this environment (default: the application's own)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            app_id = uuid.UUID(options["app_id"].strip())
        except ValueError:
            self.fail(f"“{options['app_id']}” is not an application id (a UUID).")
        application = RegisteredApplication.objects.select_related("environment").filter(pk=app_id).first()
        if application is None:
            self.fail(f"No registered application {app_id}.")
        if options["environment"] is not None:
            asked = self.environment_from(options["environment"])
            if asked.pk != application.environment_id:
                self.fail(
                    f"Application {app_id} is in {application.environment.name} ({application.environment.slug}), "
                    f"not {asked.slug}; its statements work only there."
                )
        try:
            token, _ = software_statement_issue(application=application, actor=ACTOR)
        except ApplicationRevokedError as exc:
            self.fail(exc)
        self.stdout.write(token)
