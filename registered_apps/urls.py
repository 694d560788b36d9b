"""The programmers' dashboard, mounted at the site root."""

from django.urls import path

from . import views

app_name = "registered_apps"

urlpatterns = [
    path("", views.home, name="home"),
    path("programmers/<slug:programmer_slug>/", views.programmer_applications, name="programmer_applications"),
    path(
        "programmers/<slug:programmer_slug>/applications/new/",
        views.programmer_application_create,
        name="programmer_application_create",
    ),
    path("programmers/<slug:programmer_slug>/channels/", views.programmer_channels, name="programmer_channels"),
    path("programmers/<slug:programmer_slug>/custom-schemes/", views.programmer_schemes, name="programmer_schemes"),
    path("programmers/<slug:programmer_slug>/changes/", views.programmer_changes, name="programmer_changes"),
    path("programmers/<slug:programmer_slug>/usage/", views.programmer_usage, name="programmer_usage"),
    path("channels/<slug:channel_slug>/", views.channel_applications, name="channel_applications"),
    path(
        "channels/<slug:channel_slug>/applications/new/",
        views.channel_application_create,
        name="channel_application_create",
    ),
    path("channels/<slug:channel_slug>/channel/", views.channel_channels, name="channel_channels"),
    path("channels/<slug:channel_slug>/custom-schemes/", views.channel_schemes, name="channel_schemes"),
    path("channels/<slug:channel_slug>/changes/", views.channel_changes, name="channel_changes"),
    path("channels/<slug:channel_slug>/usage/", views.channel_usage, name="channel_usage"),
    path("applications/<uuid:application_id>/", views.application_detail, name="application_detail"),
    path(
        "applications/<uuid:application_id>/revocation-request/",
        views.application_revocation_request,
        name="application_revocation_request",
    ),
]
