"""Cross-tenant: a user of another programmer requests every dashboard URL of the first programmer's
objects, with every method the dashboard answers, and none succeeds or changes anything."""

import pytest
from django.urls import reverse

from registered_apps.models import (
    AuditEvent,
    Environment,
    PendingChange,
    Push,
    RegisteredApplication,
    RevocationRequest,
)
from registered_apps.services import changes
from software_statements.models import SoftwareStatement
from tests.factories import make_application
from tests.helpers import push_all

pytestmark = pytest.mark.django_db


def first_programmer_urls(programmer, channels, application, push=None, pending=None):
    """Every dashboard URL that names one of the first programmer's objects."""
    urls = []
    tabs = ("applications", "channels", "schemes", "changes", "changes_audit", "changes_compare", "changes_csv")
    for tab in (*tabs, "usage", "usage_csv", "application_create"):
        urls.append(reverse(f"registered_apps:programmer_{tab}", kwargs={"programmer_slug": programmer.slug}))
        for channel in channels:
            urls.append(reverse(f"registered_apps:channel_{tab}", kwargs={"channel_slug": channel.slug}))
    for name in ("application_detail", "application_revocation_request"):
        urls.append(reverse(f"registered_apps:{name}", kwargs={"application_id": application.pk}))
    urls.append(reverse("software_statements:download", kwargs={"application_id": application.pk}))
    if push is not None:
        urls.append(reverse("registered_apps:push_promote", kwargs={"push_id": push.pk}))
    if pending is not None:
        urls.append(reverse("registered_apps:change_remove", kwargs={"change_id": pending.pk}))
    return urls


def create_payload(channels):
    return {
        "name": "Intruder",
        "version": "1.0.0",
        "coverage": "all",
        "channels": [c.slug for c in channels],
        "platforms": ["ios"],
        "scopes": ["api:client:v2"],
        "reason": "because",
    }


def test_another_programmers_user_gets_404_on_every_dashboard_url(client, programmer, channels, other_user, rw_user):
    application = make_application(programmer, name="Target", all_channels=False, channels=channels[:2])
    production = Environment.objects.get(is_production=True)
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    push = push_all(rw_user)
    pending = changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[1])
    events_before = AuditEvent.objects.count()
    client.force_login(other_user)
    urls = first_programmer_urls(programmer, channels, application, push, pending)
    assert len(urls) >= 44
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url, create_payload(channels) if method == "post" else None)
            # 404 for everything the user cannot see; 405 where the URL only accepts the other method.
            assert response.status_code in (404, 405), (method, url, response.status_code)
    assert list(RegisteredApplication.objects.values_list("name", flat=True)) == ["Target"]
    assert not RevocationRequest.objects.exists()
    assert not SoftwareStatement.objects.exists()
    assert AuditEvent.objects.count() == events_before
    assert list(PendingChange.objects.values_list("pk", flat=True)) == [pending.pk] and Push.objects.count() == 1


def test_another_programmers_user_sees_nothing_of_the_first_on_their_own_pages(
    client, programmer, channels, other_user
):
    application = make_application(programmer, name="Target")
    client.force_login(other_user)
    own = other_user.memberships.get().programmer
    home = client.get("/").content.decode()
    assert "Demo Networks" not in home and "demo-one" not in home
    own_list = reverse("registered_apps:programmer_applications", kwargs={"programmer_slug": own.slug})
    page = client.get(own_list, {"channel": "demo-one", "q": str(application.pk)}).content.decode()
    assert "Target" not in page
    create = reverse("registered_apps:programmer_application_create", kwargs={"programmer_slug": own.slug})
    # "New version from" another programmer's application is not a way to read it.
    assert client.get(create, {"from": str(application.pk)}).status_code == 404
    response = client.post(create, {**create_payload(channels), "coverage": "subset"})
    assert response.status_code == 200 and "channels" in response.context["form"].errors
    assert RegisteredApplication.objects.count() == 1


def test_channel_user_gets_404_for_applications_and_channels_outside_their_channels(
    login_as, channel_user, programmer, channels
):
    outside = make_application(programmer, name="Outside", all_channels=False, channels=[channels[1]])
    client = login_as(channel_user)
    for url in (
        reverse("registered_apps:application_detail", kwargs={"application_id": outside.pk}),
        reverse("registered_apps:application_revocation_request", kwargs={"application_id": outside.pk}),
        reverse("registered_apps:channel_applications", kwargs={"channel_slug": channels[1].slug}),
        reverse("registered_apps:channel_application_create", kwargs={"channel_slug": channels[2].slug}),
    ):
        assert client.get(url).status_code == 404, url
    assert not RevocationRequest.objects.exists()
