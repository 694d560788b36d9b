"""The programmers' dashboard, mounted at the site root (`registered_apps/urls.py`): thin views; who
sees and manages what comes from `selectors`, every change goes through `services`. Everything shown is
of the environment picked in the menu at the top (`dashboard_environment`); every edit is staged as a
pending change there (`services.changes`), to be reviewed and pushed (`review`).

`areas` and `usage_days` are the helpers every page shares (no view module imports another); one view
module per page family: `home`, `applications`, `channels`, `usage`, `review` (review, push, dismiss,
promote), `changes_log` (the log, its audit events, compare) and `exports` (CSV)."""
