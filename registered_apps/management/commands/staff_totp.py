"""staff_totp USERNAME [--replace]: enrol a staff user's authenticator app and print their recovery codes."""

from typing import Any

from django.contrib.auth.models import User

from registered_apps.staff_two_factor import staff_recovery_codes_issue, staff_totp_device_create

from ._base import RegistryCommand

ACTOR = "command:staff_totp"


class Command(RegistryCommand):
    help = (
        "Give a staff user a confirmed authenticator app (TOTP) and 10 single-use recovery codes; prints the "
        "otpauth:// URI (add it to the app) and the codes once. The admin requires one of them at sign-in."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--replace", action="store_true", help="replace an authenticator app the user already has (a lost phone)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            self.fail(f"no user “{options['username']}”.")
        try:
            device = staff_totp_device_create(user=user, confirmed=True, actor=ACTOR, replace=options["replace"])
        except ValueError as exc:
            self.fail(str(exc))
        codes = staff_recovery_codes_issue(user=user, actor=ACTOR)
        self.stdout.write(f"Authenticator app for {user.username} (add this URI to the app; shown once):")
        self.stdout.write(f"  {device.config_url}")
        self.stdout.write("Recovery codes (each works once, instead of a code from the app; shown once):")
        self.stdout.write("  " + "  ".join(codes))
