"""seed_demo: idempotent demo data for `make run` - a programmer, channels, users of each kind, the TAM's
second factor and an active registered application (a new version when the last was revoked); prints the
logins.

The channels get their domain (the same host name everywhere) and a custom scheme (generated in each)
in every environment, so that a new user can create an application in any of them out of the box; the
demo application is production's."""

import importlib
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from registered_apps import services
from registered_apps.environments import environments_ensure
from registered_apps.models import (
    Access,
    ApplicationStatus,
    Channel,
    Environment,
    Membership,
    Platform,
    Programmer,
    RegisteredApplication,
    Scope,
)
from registered_apps.staff_two_factor import staff_recovery_codes_issue, staff_totp_device_create

from ._base import RegistryCommand

ACTOR = "command:seed_demo"
PROGRAMMER = ("demo-networks", "Demo Networks")
CHANNELS = [
    ("demo-news", "Demo News", "watch.demo-news.example.com"),
    ("demo-sports", "Demo Sports", "watch.demo-sports.example.com"),
    ("demo-movies", "Demo Movies", "watch.demo-movies.example.com"),
]
# Fixed passwords, printed on every run: this is demo data for a development machine, never for
# production (the production settings do not run seed_demo).
USERS = [
    # username, password, role, access, channels, superuser
    ("tam", "lantern-orbit-7", "TAM superuser (admin at /admin/)", None, (), True),
    ("demo-programmer", "harbor-violet-3", "read-write, every channel", Access.READ_WRITE, (), False),
    ("demo-channel", "meadow-copper-5", "read-write, demo-news only", Access.READ_WRITE, ("demo-news",), False),
    ("demo-readonly", "signal-tundra-9", "read-only, every channel", Access.READ_ONLY, (), False),
]
APPLICATION_NAME, APPLICATION_VERSION = "Demo Player", "1.0.0"


class Command(RegistryCommand):
    help = "Create the demo programmer, channels, users and application (idempotent) and print the logins."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            environments_ensure()
            self._catalogs()
            programmer = self._programmer()
            channels = self._channels(programmer)
            self._users(programmer, channels)
            otpauth_uri, recovery_codes = self._tam_second_factor()
            application = self._application(programmer, channels)

        self.stdout.write("")
        self.stdout.write("Demo logins (fixed demo passwords, for a development machine only):")
        for username, password, role, *_ in USERS:
            self.stdout.write(f"  {username:<16} {password:<18} {role}")
        self.stdout.write("  dashboard: /accounts/login/   admin: /admin/")
        self.stdout.write(
            "  tam's second factor: add this URI to an authenticator app (TOTP); the admin asks for its code:"
        )
        self.stdout.write(f"    {otpauth_uri}")
        self.stdout.write(f"  tam's recovery codes (each works once): {' '.join(recovery_codes)}")
        self.stdout.write(
            f"Demo application: {application.name} {application.version} ({application.pk}), {application.status}"
        )

    def _catalogs(self) -> None:
        # The data migration seeds them; re-create any that were deleted, without touching `active`.
        seeded = importlib.import_module("registered_apps.migrations.0002_catalogs")
        for code, name in seeded.PLATFORMS:
            Platform.objects.get_or_create(code=code, defaults={"name": name})
        for code, name in seeded.SCOPES:
            Scope.objects.get_or_create(code=code, defaults={"name": name})

    def _programmer(self) -> Programmer:
        slug, name = PROGRAMMER
        existing = Programmer.objects.filter(slug=slug).first()
        return existing or services.programmer_create(slug=slug, name=name, actor=ACTOR)

    def _channels(self, programmer: Programmer) -> dict[str, Channel]:
        environments = list(Environment.objects.order_by("order", "pk"))
        production = next(environment for environment in environments if environment.is_production)
        channels = {}
        for slug, name, host in CHANNELS:
            channel = Channel.objects.filter(slug=slug).first()
            if channel is None:
                channel = services.channel_create(
                    programmer=programmer, slug=slug, name=name, actor=ACTOR, environment=production
                )
            for environment in environments:
                if not channel.custom_schemes.filter(environment=environment).exists():
                    services.custom_scheme_create(channel=channel, actor=ACTOR, environment=environment)
                services.channel_domain_add(channel=channel, host=host, actor=ACTOR, environment=environment)
            channels[slug] = channel
        return channels

    def _users(self, programmer: Programmer, channels: dict[str, Channel]) -> None:
        for username, password, _role, access, channel_slugs, superuser in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user, _ = services.dashboard_user_set(
                    username=username,
                    email=f"{username}@example.com",
                    password=password,
                    superuser=superuser,
                    actor=ACTOR,
                )
            if access and not Membership.objects.filter(user=user, programmer=programmer).exists():
                services.membership_set(
                    user=user,
                    programmer=programmer,
                    access=access,
                    channels=[channels[slug] for slug in channel_slugs],
                    actor=ACTOR,
                )

    def _tam_second_factor(self) -> tuple[str, list[str]]:
        """The demo TAM's authenticator app and recovery codes: made once, then printed again on every run
        (demo data, like the fixed passwords), so `make run` always shows how to open the admin."""
        tam = User.objects.get(username="tam")
        device = TOTPDevice.objects.filter(user=tam, confirmed=True).first()
        if device is None:
            device = staff_totp_device_create(user=tam, confirmed=True, actor=ACTOR)
        codes = list(StaticToken.objects.filter(device__user=tam).order_by("pk").values_list("token", flat=True))
        if not codes:
            codes = staff_recovery_codes_issue(user=tam, actor=ACTOR)
        return device.config_url, codes

    def _application(self, programmer: Programmer, channels: dict[str, Channel]) -> RegisteredApplication:
        """The active demo application; when every version of it was revoked (step 6 of the README's
        walk-through revokes it), a new version, so that each run leaves one to use."""
        production = Environment.objects.get(is_production=True)
        versions = RegisteredApplication.objects.filter(
            programmer=programmer, environment=production, name=APPLICATION_NAME
        )
        active = versions.filter(status=ApplicationStatus.ACTIVE).order_by("-created_at").first()
        if active:
            return active
        taken = set(versions.values_list("version", flat=True))
        version, patch = APPLICATION_VERSION, 0
        while version in taken:
            patch += 1
            version = f"1.0.{patch}"
        news = channels["demo-news"]
        scheme = news.custom_schemes.filter(environment=production).first()
        assert scheme is not None
        host = CHANNELS[0][2]
        return services.registered_application_create(
            programmer=programmer,
            level="programmer",
            all_channels=True,
            platforms=["ios", "android", "tvos", "web"],
            scopes=["api:client:v2"],
            domains=[host],
            redirect_uris=[f"{scheme.scheme}://callback", f"https://{host}/callback"],
            actor=ACTOR,
            name=APPLICATION_NAME,
            version=version,
            environment=production,
        )
