"""rotate_signing_keys [--purpose statement|access_token]: next becomes active, active becomes retiring."""

from typing import Any

from registered_apps.management.commands._base import RegistryCommand
from software_statements.keys import signing_key_rotate
from software_statements.models import KeyPurpose, KeyState, SigningKey

ACTOR = "command:rotate_signing_keys"


class Command(RegistryCommand):
    help = (
        "Rotate the signing keys of one purpose, or of both when --purpose is omitted. Statements and tokens "
        "signed before stay valid while their key is retiring."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--purpose", choices=KeyPurpose.values, help="statement or access_token (default: both)")

    def handle(self, *args: Any, **options: Any) -> None:
        purposes = [options["purpose"]] if options["purpose"] else list(KeyPurpose.values)
        for purpose in purposes:
            active = signing_key_rotate(purpose=purpose, actor=ACTOR)
            waiting = SigningKey.objects.get(purpose=purpose, state=KeyState.NEXT)
            retiring = SigningKey.objects.filter(purpose=purpose, state=KeyState.RETIRING).count()
            self.stdout.write(
                f"{purpose}: active {active.kid} ({active.algorithm}), next {waiting.kid}, {retiring} retiring"
            )
