"""Sign-in protection (README "Sign-in protection"): lock-outs (django-axes), password reset limits, and the
staff second factor (django-otp). Environment variables DCR_SIGN_IN_*, DCR_PASSWORD_RESET_* and
DCR_TOTP_ISSUER; defaults from `core.conf.DEFAULTS`."""

from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from core.conf import DEFAULTS as _DEFAULTS  # underscored: not a setting, and not star-imported into base

from .env import env

# First: refuses any sign-in while its account or its address is locked out, before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Sign-in protection: lock-outs (django-axes) ---------------------------------------------------
# Failed sign-ins on the dashboard (/accounts/login/) and the admin are counted per account and, apart,
# per address: DCR_SIGN_IN_FAILURE_LIMIT failures on one username (whoever tries it) or from one address
# (whichever usernames) lock that username or that address out. A username that does not exist locks out
# the same way, so the lock-out says nothing about which accounts exist.
AXES_ENABLED = env.bool("DCR_SIGN_IN_LOCKOUT", default=_DEFAULTS.sign_in_lockout)
AXES_FAILURE_LIMIT = env.int("DCR_SIGN_IN_FAILURE_LIMIT", default=_DEFAULTS.sign_in_failure_limit)
if AXES_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("DCR_SIGN_IN_FAILURE_LIMIT must be at least 1.")
# Minutes a lock-out lasts after the last failed attempt (a failure while locked out starts it again, so
# the page's "try again in N minutes" is true when shown); a TAM lifts one sooner in the admin.
DCR_SIGN_IN_COOLOFF_MINUTES = env.int("DCR_SIGN_IN_COOLOFF_MINUTES", default=_DEFAULTS.sign_in_cooloff_minutes)
if DCR_SIGN_IN_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("DCR_SIGN_IN_COOLOFF_MINUTES must be at least 1 (a TAM lifts lock-outs sooner).")
AXES_COOLOFF_TIME = timedelta(minutes=DCR_SIGN_IN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
# The address the audit events record: REMOTE_ADDR, or X-Forwarded-For behind DCR_TRUSTED_PROXIES proxies.
AXES_CLIENT_IP_CALLABLE = "core.request_ip.request_ip"
# The database handler, not the cache one even with Redis: lock-outs are rows a TAM sees and deletes in the
# admin, survive a Redis flush, and are written only on a failed sign-in (never on the hot paths).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# A success does not clear the failures: with per-address counting it would clear the address's failures
# too, letting anyone with one account reset the counter between guesses at others.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Plain strings: axes' own default is a lazy object that error reports (core.error_reports) cannot mask.
AXES_USERNAME_FORM_FIELD = "username"
# Failed attempts only (AccessAttempt rows); no row for every successful sign-in.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Password reset e-mails, quietly limited (the page answers the same past the limit, nothing more is sent):
# at most DCR_PASSWORD_RESET_LIMIT requests per e-mail address typed, and e-mails per account, in each
# DCR_PASSWORD_RESET_WINDOW_SECONDS. Counted in the cache (Redis when REDIS_URL is set: every worker counts).
DCR_PASSWORD_RESET_LIMIT = env.int("DCR_PASSWORD_RESET_LIMIT", default=_DEFAULTS.password_reset_limit)
DCR_PASSWORD_RESET_WINDOW_SECONDS = env.int(
    "DCR_PASSWORD_RESET_WINDOW_SECONDS", default=_DEFAULTS.password_reset_window_seconds
)
if DCR_PASSWORD_RESET_LIMIT < 1 or DCR_PASSWORD_RESET_WINDOW_SECONDS < 1:
    raise ImproperlyConfigured("DCR_PASSWORD_RESET_LIMIT and DCR_PASSWORD_RESET_WINDOW_SECONDS must be at least 1.")

# --- Sign-in protection: staff second factor (django-otp) -------------------------------------------
# The admin accepts only staff whose session passed a TOTP code or a single-use recovery code.
OTP_TOTP_ISSUER = env("DCR_TOTP_ISSUER", default=_DEFAULTS.totp_issuer)
# Device keys and recovery codes never shown in the admin (a TAM can delete a lost device there).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
