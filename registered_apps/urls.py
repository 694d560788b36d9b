"""The programmers' dashboard, mounted at the site root."""

from django.urls import path

from . import change_views, views

app_name = "registered_apps"

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("environment/", change_views.environment_choose, name="environment_choose"),
    path("changes/review/", change_views.changes_review, name="changes_review"),
    path("changes/push/", change_views.changes_push, name="changes_push"),
    path("changes/dismiss/", change_views.changes_dismiss, name="changes_dismiss"),
    path("changes/<int:change_id>/remove/", change_views.change_remove, name="change_remove"),
    path("pushes/<int:push_id>/promote/", change_views.push_promote, name="push_promote"),
    path("programmers/<slug:programmer_slug>/", views.programmer_applications, name="programmer_applications"),
    path(
        "programmers/<slug:programmer_slug>/applications/new/",
        views.programmer_application_create,
        name="programmer_application_create",
    ),
    path("programmers/<slug:programmer_slug>/channels/", views.programmer_channels, name="programmer_channels"),
    path("programmers/<slug:programmer_slug>/custom-schemes/", views.programmer_schemes, name="programmer_schemes"),
    path("programmers/<slug:programmer_slug>/changes/", change_views.programmer_changes, name="programmer_changes"),
    path(
        "programmers/<slug:programmer_slug>/changes/audit/",
        change_views.programmer_changes_audit,
        name="programmer_changes_audit",
    ),
    path(
        "programmers/<slug:programmer_slug>/changes/compare/",
        change_views.programmer_changes_compare,
        name="programmer_changes_compare",
    ),
    path(
        "programmers/<slug:programmer_slug>/changes.csv",
        change_views.programmer_changes_csv,
        name="programmer_changes_csv",
    ),
    path("programmers/<slug:programmer_slug>/usage/", views.programmer_usage, name="programmer_usage"),
    path(
        "programmers/<slug:programmer_slug>/usage.csv", change_views.programmer_usage_csv, name="programmer_usage_csv"
    ),
    path("channels/<slug:channel_slug>/", views.channel_applications, name="channel_applications"),
    path(
        "channels/<slug:channel_slug>/applications/new/",
        views.channel_application_create,
        name="channel_application_create",
    ),
    path("channels/<slug:channel_slug>/channel/", views.channel_channels, name="channel_channels"),
    path("channels/<slug:channel_slug>/custom-schemes/", views.channel_schemes, name="channel_schemes"),
    path("channels/<slug:channel_slug>/changes/", change_views.channel_changes, name="channel_changes"),
    path(
        "channels/<slug:channel_slug>/changes/audit/", change_views.channel_changes_audit, name="channel_changes_audit"
    ),
    path(
        "channels/<slug:channel_slug>/changes/compare/",
        change_views.channel_changes_compare,
        name="channel_changes_compare",
    ),
    path("channels/<slug:channel_slug>/changes.csv", change_views.channel_changes_csv, name="channel_changes_csv"),
    path("channels/<slug:channel_slug>/usage/", views.channel_usage, name="channel_usage"),
    path("channels/<slug:channel_slug>/usage.csv", change_views.channel_usage_csv, name="channel_usage_csv"),
    path("applications/<uuid:application_id>/", views.application_detail, name="application_detail"),
    path(
        "applications/<uuid:application_id>/revocation-request/",
        views.application_revocation_request,
        name="application_revocation_request",
    ),
]
