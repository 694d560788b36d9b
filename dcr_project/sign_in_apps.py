"""The sign-in protection apps under readable admin headings (their own configs have none)."""

from axes.apps import AppConfig as AxesConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as StaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TOTPConfig


class SignInLockoutsConfig(AxesConfig):
    verbose_name = _("Sign-in lock-outs")


class StaffAuthenticatorsConfig(TOTPConfig):
    verbose_name = _("Staff authenticator apps (TOTP)")


class StaffRecoveryCodesConfig(StaticConfig):
    verbose_name = _("Staff recovery codes")
