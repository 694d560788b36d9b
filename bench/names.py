"""The scenarios' names, in the order they run, and the targets issues 7 and 10 set (no Django needed here)."""

# The fleet scenarios run right after their one-client counterparts.
API_SCENARIOS = (
    "floor",
    "token",
    "token_fleet",
    "register",
    "session",
    "session_fleet",
    "introspect",
)
FLEET_SCENARIOS = ("token_fleet", "session_fleet")
# The pages: the dashboard under 10,000 applications, then the admin and the dashboard over the fleet.
DASHBOARD_SCENARIOS = ("dashboard_list", "dashboard_detail")
FLEET_PAGES = (
    "admin_client_list",
    "admin_client_search",
    "admin_client_search_application",
    "dashboard_fleet_list",
    "dashboard_fleet_detail",
    "dashboard_fleet_changes",
)
# Ratios to the floor, measured in the same run.
TARGET_RATIOS = {
    "token": 0.55,
    "token_fleet": 0.5,
    "register": 0.25,
    "session": 0.7,
    "session_fleet": 0.7,
    "introspect": 0.5,
}
# Median render time of the dashboard pages under data, milliseconds.
DASHBOARD_TARGET_MS = 150.0
# Median render time of the pages over the fleet's million clients, milliseconds.
FLEET_PAGE_TARGET_MS = 300.0
