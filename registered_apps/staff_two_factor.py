"""The staff second factor (django-otp): an authenticator app (TOTP, RFC 6238) and single-use recovery codes.

The admin accepts only a session verified by one of them (dcr_project.admin_site). Enrolment runs from the
CLI (`manage.py staff_totp`), from seed_demo, and in the browser (dcr_project.two_factor_views) through the
functions here, each writing its audit event in the same transaction. Keys and codes go to the caller
once and are never logged or written to an audit event.
"""

from django.contrib.auth.models import User
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .services import Actor, audit_event_record

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_CODES_NAME = "Recovery codes"
RECOVERY_CODE_COUNT = 10


def staff_has_authenticator(user: User) -> bool:
    """Whether the user has a confirmed authenticator app (then browser enrolment is closed to them)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def staff_totp_device_create(*, user: User, confirmed: bool, actor: Actor, replace: bool = False) -> TOTPDevice:
    """A new TOTP device for a staff user: confirmed at once from the CLI, or unconfirmed until the user
    types its first code (browser enrolment). Unconfirmed devices from an abandoned enrolment are dropped;
    a confirmed one is kept unless `replace` (a lost phone), so nobody silently gains a second key."""
    if not user.is_staff:
        raise ValueError(f"{user.username} is not staff: only staff accounts use a second factor.")
    with transaction.atomic():
        existing = TOTPDevice.objects.filter(user=user)
        if not replace and existing.filter(confirmed=True).exists():
            raise ValueError(f"{user.username} already has an authenticator app (replace it explicitly).")
        existing.delete()
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=confirmed)
        if confirmed:
            _record(actor=actor, action="staff_totp_enrolled", user=user, device=device)
    return device


def staff_totp_device_confirm(*, device: TOTPDevice, token: str, actor: Actor) -> bool:
    """Confirm a browser enrolment with the first code the app shows. False: wrong code, nothing changed."""
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if locked.confirmed or not locked.verify_token(token):
            return False
        locked.confirmed = True
        locked.save(update_fields=["confirmed"])
        _record(actor=actor, action="staff_totp_enrolled", user=locked.user, device=locked)
    device.refresh_from_db()
    return True


def staff_recovery_codes_issue(*, user: User, actor: Actor) -> list[str]:
    """Ten new single-use recovery codes, replacing any earlier ones; returned once, stored as tokens of
    a static device (each deleted when used)."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_CODES_NAME, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
        _record(actor=actor, action="staff_recovery_codes_issued", user=user, device=device)
    return codes


def _record(*, actor: Actor, action: str, user: User, device: TOTPDevice | StaticDevice) -> None:
    audit_event_record(
        actor=actor, action=action, target=user, programmer=None, details={"device": device.persistent_id}
    )
