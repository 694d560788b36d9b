"""rotate_signing_keys [--purpose statement|access_token] [--environment SLUG | --all-environments]: next
becomes active, active becomes retiring, in one environment (production by default) or in each."""

from typing import Any

from registered_apps.management.commands._base import RegistryCommand
from registered_apps.models import Environment
from software_statements.keys import signing_key_rotate
from software_statements.models import KeyPurpose, KeyState, SigningKey

ACTOR = "command:rotate_signing_keys"


class Command(RegistryCommand):
    help = (
        "Rotate the signing keys of one purpose, or of both when --purpose is omitted, in one environment "
        "(production by default) or in every one. Statements and tokens signed before stay valid while their "
        "key is retiring."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--purpose", choices=KeyPurpose.values, help="statement or access_token (default: both)")
        where = parser.add_mutually_exclusive_group()
        self.add_environment_argument(
            where, help_text="the environment whose keys rotate, e.g. release-staging (default: production)"
        )
        where.add_argument("--all-environments", action="store_true", help="rotate the keys of every environment")

    def handle(self, *args: Any, **options: Any) -> None:
        purposes = [options["purpose"]] if options["purpose"] else list(KeyPurpose.values)
        if options["all_environments"]:
            environments = list(Environment.objects.order_by("order", "pk"))
        else:
            environments = [self.environment_from(options["environment"])]
        for environment in environments:
            for purpose in purposes:
                active = signing_key_rotate(purpose=purpose, environment_id=environment.pk, actor=ACTOR)
                keys = SigningKey.objects.filter(environment=environment, purpose=purpose)
                waiting = keys.get(state=KeyState.NEXT)
                retiring = keys.filter(state=KeyState.RETIRING).count()
                self.stdout.write(
                    f"{environment.slug} {purpose}: active {active.kid} ({active.algorithm}), next {waiting.kid}, "
                    f"{retiring} retiring"
                )
