"""The sign-in protection apps under readable admin headings (their own configs have none)."""

from axes.apps import AppConfig as AxesConfig
from django_otp.plugins.otp_static.apps import DefaultConfig as StaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TOTPConfig


class SignInLockoutsConfig(AxesConfig):
    verbose_name = "Sign-in lock-outs"


class StaffAuthenticatorsConfig(TOTPConfig):
    verbose_name = "Staff authenticator apps (TOTP)"


class StaffRecoveryCodesConfig(StaticConfig):
    verbose_name = "Staff recovery codes"
