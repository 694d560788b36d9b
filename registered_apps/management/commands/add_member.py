"""add_member USERNAME --programmer SLUG [--channel SLUG ...] --access read_write|read_only [--email EMAIL]
[--password-stdin]"""

import secrets
import sys
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from registered_apps import services
from registered_apps.models import Access, Channel, Programmer

from ._base import RegistryCommand

ACTOR = "command:add_member"


class Command(RegistryCommand):
    help = (
        "Create or update a dashboard user and its membership of a programmer. A new user without "
        "--password-stdin gets a generated password, printed once; an existing user keeps theirs."
    )
    # Tests and scripts calling the command in-process hand it a stdin.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--programmer", required=True, metavar="SLUG")
        parser.add_argument(
            "--channel",
            action="append",
            default=[],
            metavar="SLUG",
            help="narrow the membership to these channels (default: every channel)",
        )
        parser.add_argument("--access", required=True, choices=Access.values)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from the first line of stdin"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        programmer = Programmer.objects.filter(slug=options["programmer"]).first()
        if programmer is None:
            self.fail(f"--programmer: no programmer “{options['programmer']}”.")
        wanted = list(dict.fromkeys(options["channel"]))
        channels = list(Channel.objects.filter(programmer=programmer, slug__in=wanted))
        missing = sorted(set(wanted) - {c.slug for c in channels})
        if missing:
            self.fail(f"--channel: {programmer.slug} has no channel {', '.join(missing)}.")

        password: str | None = None
        generated = False
        if options["password_stdin"]:
            stdin = options.get("stdin") or sys.stdin
            password = stdin.readline().rstrip("\r\n")
            if not password:
                self.fail("--password-stdin: stdin gave no password.")
        try:
            with transaction.atomic():
                if password is None and not User.objects.filter(username=options["username"]).exists():
                    password, generated = secrets.token_urlsafe(18), True
                user, created = services.dashboard_user_set(
                    username=options["username"], email=options["email"], password=password, actor=ACTOR
                )
                membership = services.membership_set(
                    user=user, programmer=programmer, access=options["access"], channels=channels, actor=ACTOR
                )
        except ValidationError as exc:
            self.fail(exc)
        reach = ", ".join(c.slug for c in channels) or "every channel"
        self.stdout.write(
            f"{'Created' if created else 'Updated'} user {user.username}: {membership.access} on "
            f"{programmer.slug} ({reach})"
        )
        if generated:
            self.stdout.write(f"Password (shown once): {password}")
        elif password is None:
            self.stdout.write("Password unchanged.")
