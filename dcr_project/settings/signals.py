"""The abuse signals' thresholds (README "Abuse signals"), each `DCR_SIGNAL_*` from its environment
variable, its default from `core.conf.DEFAULTS`; the code reads them as `core.conf.dcr.signal_*`."""

from core.conf import DEFAULTS as _DEFAULTS  # underscored: not a setting, and not star-imported into base

from .env import env

# How often the signals task runs (the beat), in seconds: a signal is raised within one period.
DCR_SIGNAL_SECONDS = env.int("DCR_SIGNAL_SECONDS", default=_DEFAULTS.signal_seconds)
# A surge: this hour's registrations at least DCR_SIGNAL_SURGE_FACTOR times the hourly mean of the last
# DCR_SIGNAL_BASELINE_DAYS days, and at least DCR_SIGNAL_SURGE_MIN.
DCR_SIGNAL_BASELINE_DAYS = env.int("DCR_SIGNAL_BASELINE_DAYS", default=_DEFAULTS.signal_baseline_days)
DCR_SIGNAL_SURGE_FACTOR = env.float("DCR_SIGNAL_SURGE_FACTOR", default=_DEFAULTS.signal_surge_factor)
DCR_SIGNAL_SURGE_MIN = env.int("DCR_SIGNAL_SURGE_MIN", default=_DEFAULTS.signal_surge_min)
# A foreign platform: this hour, at least DCR_SIGNAL_FOREIGN_MIN registrations naming a platform the
# application was not made for, and at least DCR_SIGNAL_FOREIGN_SHARE of the statement's registrations.
DCR_SIGNAL_FOREIGN_MIN = env.int("DCR_SIGNAL_FOREIGN_MIN", default=_DEFAULTS.signal_foreign_min)
DCR_SIGNAL_FOREIGN_SHARE = env.float("DCR_SIGNAL_FOREIGN_SHARE", default=_DEFAULTS.signal_foreign_share)
# A crowded network: at least this many clients of one statement registered from one /24 (IPv4) or
# /48 (IPv6) in one hour.
DCR_SIGNAL_NETWORK_MIN = env.int("DCR_SIGNAL_NETWORK_MIN", default=_DEFAULTS.signal_network_min)
# Clients that never came back: of the clients whose first token came in one hour, at least
# DCR_SIGNAL_ONE_TOKEN_MIN, and at least DCR_SIGNAL_ONE_TOKEN_SHARE of them, took no second token within
# DCR_SIGNAL_ONE_TOKEN_WAIT seconds (longer than an access token lives: a device comes back when its expires).
DCR_SIGNAL_ONE_TOKEN_MIN = env.int("DCR_SIGNAL_ONE_TOKEN_MIN", default=_DEFAULTS.signal_one_token_min)
DCR_SIGNAL_ONE_TOKEN_SHARE = env.float("DCR_SIGNAL_ONE_TOKEN_SHARE", default=_DEFAULTS.signal_one_token_share)
DCR_SIGNAL_ONE_TOKEN_WAIT = env.int("DCR_SIGNAL_ONE_TOKEN_WAIT", default=_DEFAULTS.signal_one_token_wait)
# A signal is critical when its figure reaches this many times its threshold.
DCR_SIGNAL_CRITICAL_FACTOR = env.float("DCR_SIGNAL_CRITICAL_FACTOR", default=_DEFAULTS.signal_critical_factor)
