"""The scenarios' names, in the order they run, and the targets issue 7 sets (no Django needed here)."""

# The stock DOT token with PBKDF2 runs last: its slow requests still in flight when wrk stops would
# otherwise land in the next measurement.
API_SCENARIOS = ("floor", "token", "register", "session", "introspect", "dot_token_plain", "dot_token_hashed")
DASHBOARD_SCENARIOS = ("dashboard_list", "dashboard_detail")
# Ratios to the floor, measured in the same run.
TARGET_RATIOS = {"token": 0.5, "register": 0.25, "session": 0.7, "introspect": 0.5}
# Median render time of the dashboard pages under data, milliseconds.
DASHBOARD_TARGET_MS = 150.0
