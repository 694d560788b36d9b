"""The admin requires a second factor: staff sign in with a password and a code from their authenticator
app (or a recovery code), and a session without one is refused as if it were not staff (django-otp)."""

import re

from django.contrib import admin
from django.contrib.auth.models import User
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

TOTP_CODE = re.compile(r"\d{6}")


def staff_device_for_code(user: User, code: str) -> Device | None:
    """The one device a code is for: six digits are the authenticator app's, anything else a recovery code.
    One device, not each in turn, so that a wrong code counts against only that device's throttle."""
    model = TOTPDevice if TOTP_CODE.fullmatch(code.strip()) else StaticDevice
    return model.objects.filter(user=user, confirmed=True).first()


class StaffAuthenticationForm(OTPAdminAuthenticationForm):
    """Username, password and code in one step: the device follows from the code (no device list)."""

    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": "Enter the code from your authenticator app, or a recovery code.",
        "device_required": "This account has no authenticator app yet: sign in on the dashboard to set one up.",
        "invalid_token": "That code is not valid. Check your authenticator app and try again.",
    }

    def _chosen_device(self, user: User) -> Device | None:
        return staff_device_for_code(user, self.cleaned_data.get("otp_token") or "")


class StaffAdminSite(OTPAdminSite):
    login_form = StaffAuthenticationForm
    login_template = "admin/login_two_factor.html"


# The admin site object stays the one every ModelAdmin registered with (registered_apps.admin and the
# third-party apps); only its class changes, so its views now check the second factor.
admin.site.__class__ = StaffAdminSite
