"""The programmers' dashboard, mounted at the site root (views in `registered_apps/dashboard/`)."""

from django.urls import path

from . import preferences
from .dashboard import applications, changes_log, channels, exports, home, review, usage

app_name = "registered_apps"

urlpatterns = [
    path("", home.home, name="home"),
    path("favicon.ico", home.favicon, name="favicon"),
    path("environment/", home.environment_choose, name="environment_choose"),
    path("language/", preferences.language_choose, name="language_choose"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("changes/review/", review.changes_review, name="changes_review"),
    path("changes/push/", review.changes_push, name="changes_push"),
    path("changes/dismiss/", review.changes_dismiss, name="changes_dismiss"),
    path("changes/<int:change_id>/remove/", review.change_remove, name="change_remove"),
    path("pushes/<int:push_id>/promote/", review.push_promote, name="push_promote"),
    path(
        "programmers/<slug:programmer_slug>/",
        applications.programmer_applications,
        name="programmer_applications",
    ),
    path(
        "programmers/<slug:programmer_slug>/applications/new/",
        applications.programmer_application_create,
        name="programmer_application_create",
    ),
    path("programmers/<slug:programmer_slug>/channels/", channels.programmer_channels, name="programmer_channels"),
    path("programmers/<slug:programmer_slug>/custom-schemes/", channels.programmer_schemes, name="programmer_schemes"),
    path("programmers/<slug:programmer_slug>/changes/", changes_log.programmer_changes, name="programmer_changes"),
    path(
        "programmers/<slug:programmer_slug>/changes/audit/",
        changes_log.programmer_changes_audit,
        name="programmer_changes_audit",
    ),
    path(
        "programmers/<slug:programmer_slug>/changes/compare/",
        changes_log.programmer_changes_compare,
        name="programmer_changes_compare",
    ),
    path(
        "programmers/<slug:programmer_slug>/changes.csv",
        exports.programmer_changes_csv,
        name="programmer_changes_csv",
    ),
    path("programmers/<slug:programmer_slug>/usage/", usage.programmer_usage, name="programmer_usage"),
    path("programmers/<slug:programmer_slug>/usage.csv", exports.programmer_usage_csv, name="programmer_usage_csv"),
    path("channels/<slug:channel_slug>/", applications.channel_applications, name="channel_applications"),
    path(
        "channels/<slug:channel_slug>/applications/new/",
        applications.channel_application_create,
        name="channel_application_create",
    ),
    path("channels/<slug:channel_slug>/channel/", channels.channel_channels, name="channel_channels"),
    path("channels/<slug:channel_slug>/custom-schemes/", channels.channel_schemes, name="channel_schemes"),
    path("channels/<slug:channel_slug>/changes/", changes_log.channel_changes, name="channel_changes"),
    path(
        "channels/<slug:channel_slug>/changes/audit/", changes_log.channel_changes_audit, name="channel_changes_audit"
    ),
    path(
        "channels/<slug:channel_slug>/changes/compare/",
        changes_log.channel_changes_compare,
        name="channel_changes_compare",
    ),
    path("channels/<slug:channel_slug>/changes.csv", exports.channel_changes_csv, name="channel_changes_csv"),
    path("channels/<slug:channel_slug>/usage/", usage.channel_usage, name="channel_usage"),
    path("channels/<slug:channel_slug>/usage.csv", exports.channel_usage_csv, name="channel_usage_csv"),
    path(
        "applications/<uuid:application_id>/",
        applications.application_detail,
        name="application_detail",
    ),
    path(
        "applications/<uuid:application_id>/revocation-request/",
        applications.application_revocation_request,
        name="application_revocation_request",
    ),
]
