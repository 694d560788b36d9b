"""revoke_registered_app APP_ID --reason TEXT"""

import uuid
from typing import Any

from django.core.exceptions import ValidationError

from registered_apps import services
from registered_apps.models import ApplicationStatus, RegisteredApplication

from ._base import RegistryCommand


class Command(RegistryCommand):
    help = "Revoke a registered application: its statements and clients stop working."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("app_id", metavar="APP_ID", help="the application id (its software_id)")
        parser.add_argument("--reason", required=True, help="recorded with the revocation")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            app_id = uuid.UUID(options["app_id"].strip())
        except ValueError:
            self.fail(f"“{options['app_id']}” is not an application id (a UUID).")
        application = RegisteredApplication.objects.select_related("programmer").filter(pk=app_id).first()
        if application is None:
            self.fail(f"No registered application {app_id}.")
        if application.status == ApplicationStatus.REVOKED:
            self.fail(f"{application} ({app_id}) is already revoked since {application.revoked_at:%Y-%m-%d %H:%M} UTC.")
        try:
            services.registered_application_revoke(
                application=application, reason=options["reason"], actor="command:revoke_registered_app"
            )
        except ValidationError as exc:
            self.fail(exc)
        self.stdout.write(f"Revoked {application} ({app_id}) of {application.programmer.slug}.")
