"""issue_software_statement APP_ID: print a new software statement (the compact JWS alone)."""

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

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            app_id = uuid.UUID(options["app_id"].strip())
        except ValueError:
            self.fail(f"“{options['app_id']}” is not an application id (a UUID).")
        application = RegisteredApplication.objects.filter(pk=app_id).first()
        if application is None:
            self.fail(f"No registered application {app_id}.")
        try:
            token, _ = software_statement_issue(application=application, actor=ACTOR)
        except ApplicationRevokedError as exc:
            self.fail(exc)
        self.stdout.write(token)
