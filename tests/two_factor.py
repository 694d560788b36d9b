"""Test helpers for the staff second factor: a staff user's authenticator app, its current code, and a
test client session verified by it (what the admin and the second-factor middleware require)."""

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def authenticator(user) -> TOTPDevice:
    """The user's confirmed authenticator app, created when they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    """The code the app shows now (RFC 6238, as django-otp checks it)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def staff_sign_in_data(user) -> dict[str, str]:
    """The admin sign-in form's second-factor field for a staff user."""
    return {"otp_token": current_code(authenticator(user))}


def verify_session(client, user) -> None:
    """Mark a signed-in test client's session as verified by the user's authenticator app."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = authenticator(user).persistent_id
    session.save()
