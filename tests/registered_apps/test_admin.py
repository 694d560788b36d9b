"""The TAM admin through the Django test client: actions, the add form, read-only records, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registered_apps import services
from registered_apps.environments import environment_production
from registered_apps.models import (
    ApplicationStatus,
    AuditEvent,
    Channel,
    ChannelDomain,
    Membership,
    Platform,
    Programmer,
    RegisteredApplication,
    RevocationRequest,
    Scope,
    UsageDaily,
)
from tests.factories import ChannelFactory, ProgrammerFactory, UserFactory, make_application
from tests.registered_apps.helpers import bulk_applications, channel_change_data, inline_management

CHANGELIST = "admin:registered_apps_registeredapplication_changelist"


def post_action(client, url_name: str, action: str, objects, **extra):
    data = {"action": action, "_selected_action": [str(o.pk) for o in objects], "index": "0", **extra}
    return client.post(reverse(url_name), data)


# --- Revoke and restore ---------------------------------------------------------------------------


def test_revoke_action_asks_for_a_reason_before_revoking(admin_client, application):
    response = post_action(admin_client, CHANGELIST, "revoke_applications", [application])
    assert response.status_code == 200
    assert b'name="reason"' in response.content and application.name.encode() in response.content
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACTIVE


def test_revoke_action_without_a_reason_shows_the_page_again_and_revokes_nothing(admin_client, application):
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "revoke_applications", "_selected_action": [str(application.pk)], "confirm": "yes", "reason": " "},
    )
    assert response.status_code == 200
    assert b"This field is required" in response.content
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACTIVE
    assert not AuditEvent.objects.filter(action="application.revoke").exists()


def test_revoke_action_with_a_reason_revokes_as_the_admin_user_from_their_ip(admin_client, tam, programmer, channels):
    first = make_application(programmer, name="First")
    second = make_application(programmer, name="Second")
    untouched = make_application(programmer, name="Untouched")
    response = admin_client.post(
        reverse(CHANGELIST),
        {
            "action": "revoke_applications",
            "_selected_action": [str(first.pk), str(second.pk)],
            "confirm": "yes",
            "reason": "Credentials published in a public repository",
        },
        REMOTE_ADDR="192.0.2.7",
    )
    assert response.status_code == 302
    for app in (first, second):
        app.refresh_from_db()
        assert app.status == ApplicationStatus.REVOKED
        assert app.revoked_by == tam and app.revocation_reason == "Credentials published in a public repository"
        event = AuditEvent.objects.get(action="application.revoke", object_id=str(app.pk))
        assert event.actor_user == tam and event.ip_address == "192.0.2.7"
    untouched.refresh_from_db()
    assert untouched.status == ApplicationStatus.ACTIVE


def test_audit_ip_comes_from_the_trusted_proxy_header_when_configured(admin_client, application, settings):
    settings.DCR_TRUSTED_PROXIES = 1
    admin_client.post(
        reverse(CHANGELIST),
        {"action": "revoke_applications", "_selected_action": [str(application.pk)], "confirm": "yes", "reason": "r"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.4",
    )
    assert AuditEvent.objects.get(action="application.revoke").ip_address == "198.51.100.4"


def test_restore_action_reactivates_revoked_applications(admin_client, tam, application):
    services.registered_application_revoke(application=application, reason="mistake", actor=tam)
    response = post_action(admin_client, CHANGELIST, "restore_applications", [application])
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACTIVE and application.revoked_at is None
    assert AuditEvent.objects.get(action="application.restore").actor_user == tam


def test_non_staff_users_cannot_reach_the_admin_actions(client, rw_user, application):
    client.force_login(rw_user)
    response = post_action(client, CHANGELIST, "revoke_applications", [application], confirm="yes", reason="x")
    assert response.status_code == 302 and "/login/" in response["Location"]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACTIVE


# --- Revocation requests --------------------------------------------------------------------------

REQUESTS = "admin:registered_apps_revocationrequest_changelist"


def test_approve_action_revokes_with_the_request_reason(admin_client, tam, rw_user, application):
    request = services.revocation_request_create(application=application, reason="Old build abused", actor=rw_user)
    assert post_action(admin_client, REQUESTS, "approve", [request]).status_code == 302
    application.refresh_from_db()
    request.refresh_from_db()
    assert application.status == ApplicationStatus.REVOKED and application.revocation_reason == "Old build abused"
    assert request.state == RevocationRequest.State.APPROVED and request.decided_by == tam


def test_dismiss_action_keeps_the_application_active(admin_client, tam, rw_user, application):
    request = services.revocation_request_create(application=application, reason="please", actor=rw_user)
    assert post_action(admin_client, REQUESTS, "dismiss", [request]).status_code == 302
    request.refresh_from_db()
    application.refresh_from_db()
    assert request.state == RevocationRequest.State.DISMISSED and request.decided_by == tam
    assert application.status == ApplicationStatus.ACTIVE
    assert AuditEvent.objects.filter(action="application.revocation_request_dismiss", actor_user=tam).exists()


def test_revocation_requests_list_shows_pending_requests(admin_client, rw_user, application):
    services.revocation_request_create(application=application, reason="a visible reason", actor=rw_user)
    response = admin_client.get(reverse(REQUESTS))
    assert response.status_code == 200 and b"a visible reason" in response.content


# --- Creating an application in the admin ---------------------------------------------------------


def add_form_data(programmer, **overrides):
    data = {
        "programmer": str(programmer.pk),
        "environment": str(environment_production().id),
        "level": "programmer",
        "all_channels": "on",
        "name": "Admin made",
        "version": "1.0.0",
        "platforms": [str(Platform.objects.get(code="ios").pk)],
        "scopes": [str(Scope.objects.get(code="api:client:v2").pk)],
        "redirect_uris": "",
    }
    data.update(overrides)
    return data


def test_admin_creates_an_application_through_the_service(admin_client, tam, programmer, channels):
    scheme = channels[0].custom_schemes.get().scheme
    domain = channels[0].domains.get()
    data = add_form_data(
        programmer,
        platforms=[str(p.pk) for p in Platform.objects.filter(code__in=["ios", "web"])],
        domains=[str(domain.pk)],
        redirect_uris=f"{scheme}://callback\nhttps://{domain.host}/back\n",
    )
    response = admin_client.post(reverse("admin:registered_apps_registeredapplication_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    app = RegisteredApplication.objects.get(name="Admin made")
    assert app.created_by == tam and app.all_channels
    assert app.redirect_uris == [f"{scheme}://callback", f"https://{domain.host}/back"]
    assert AuditEvent.objects.get(action="application.create", object_id=str(app.pk)).actor_user == tam


def test_admin_add_form_shows_service_errors_and_creates_nothing(admin_client, programmer, channels):
    data = add_form_data(
        programmer,
        platforms=[str(Platform.objects.get(code="web").pk)],
        redirect_uris="https://evil.example.net/cb",
    )
    response = admin_client.post(reverse("admin:registered_apps_registeredapplication_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "domains" in errors and "redirect_uris" in errors
    assert "The web platform needs at least one domain." in errors["domains"]
    assert not RegisteredApplication.objects.exists()


def test_admin_add_form_refuses_a_duplicate_name_and_version(admin_client, programmer, channels):
    make_application(programmer, name="Admin made")
    response = admin_client.post(reverse("admin:registered_apps_registeredapplication_add"), add_form_data(programmer))
    assert response.status_code == 200
    assert "version" in response.context["adminform"].form.errors
    assert RegisteredApplication.objects.count() == 1


def test_application_change_page_is_read_only_and_cannot_delete(admin_client, application):
    url = reverse("admin:registered_apps_registeredapplication_change", args=[application.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert b'name="_save"' not in response.content and b'name="name"' not in response.content
    admin_client.post(url, {"name": "Renamed"})
    application.refresh_from_db()
    assert application.name == "App"
    delete = reverse("admin:registered_apps_registeredapplication_delete", args=[application.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert RegisteredApplication.objects.filter(pk=application.pk).exists()


def test_changelist_search_finds_applications_by_id_name_and_programmer(admin_client, programmer, channels):
    wanted = make_application(programmer, name="Findable")
    other = make_application(ProgrammerFactory(slug="elsewhere", name="Elsewhere TV"), name="Other")

    def found(term):
        response = admin_client.get(reverse(CHANGELIST), {"q": term})
        return {app.pk for app in response.context["cl"].result_list}

    assert found(str(wanted.pk)) == {wanted.pk}
    assert found("findable") == {wanted.pk}
    assert found("elsewhere") == {other.pk}
    assert found("Elsewhere TV") == {other.pk}


def test_changelist_filters_by_status_platform_and_scope(admin_client, tam, programmer, channels):
    roku = make_application(programmer, name="Roku app", platforms=["roku"], scopes=["api:client:v1"])
    revoked = make_application(programmer, name="Gone")
    services.registered_application_revoke(application=revoked, reason="r", actor=tam)

    def found(**params):
        response = admin_client.get(reverse(CHANGELIST), params)
        return {app.name for app in response.context["cl"].result_list}

    assert found(status__exact="revoked") == {"Gone"}
    assert found(platforms__id__exact=Platform.objects.get(code="roku").pk) == {roku.name}
    assert found(scopes__id__exact=Scope.objects.get(code="api:client:v1").pk) == {roku.name}
    assert found(programmer__id__exact=programmer.pk) == {"Roku app", "Gone"}


# --- The changelist query count -------------------------------------------------------------------


def changelist_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return len(queries)


def test_changelist_query_count_does_not_grow_with_the_number_of_applications(admin_client, programmer, channels):
    bulk_applications(programmer, channels, 10)
    with_ten = changelist_queries(admin_client)
    bulk_applications(programmer, channels, 990)
    assert RegisteredApplication.objects.count() == 1000
    with_thousand = changelist_queries(admin_client)
    assert with_thousand == with_ten
    assert with_thousand <= 15
    # Filtered and searched pages, and the last page, stay constant too.
    assert changelist_queries(admin_client, q="Bulk", status__exact="active") <= with_ten + 2
    assert changelist_queries(admin_client, p="10") == with_ten


def test_changelist_rows_show_channels_and_platforms(admin_client, programmer, channels):
    make_application(
        programmer, name="Subset app", all_channels=False, channels=channels[:2], platforms=["ios", "roku"]
    )
    content = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "demo-one, demo-two" in content and "ios, roku" in content


# --- Programmers, channels, memberships, catalogs -------------------------------------------------


def test_admin_adds_a_programmer_with_channels_that_get_custom_schemes(admin_client, tam, db):
    data = {
        "slug": "acme",
        "name": "Acme TV",
        **inline_management("channels", total=2),
        "channels-0-slug": "acme-one",
        "channels-0-name": "Acme One",
        "channels-1-slug": "acme-two",
        "channels-1-name": "Acme Two",
    }
    response = admin_client.post(reverse("admin:registered_apps_programmer_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    programmer = Programmer.objects.get(slug="acme")
    assert sorted(c.slug for c in programmer.channels.all()) == ["acme-one", "acme-two"]
    assert all(c.custom_schemes.count() == 1 for c in programmer.channels.all())
    assert AuditEvent.objects.filter(actor_user=tam, action="channel.create").count() == 2
    assert AuditEvent.objects.filter(actor_user=tam, action="programmer.create").count() == 1


def test_admin_refuses_a_channel_whose_requestor_id_is_taken(admin_client, programmer, channels):
    data = {
        "slug": "acme",
        "name": "Acme TV",
        **inline_management("channels", total=1),
        "channels-0-slug": "demo-one",
        "channels-0-name": "Clash",
    }
    response = admin_client.post(reverse("admin:registered_apps_programmer_add"), data)
    assert response.status_code == 200
    assert not Programmer.objects.filter(slug="acme").exists()


def test_admin_adds_a_domain_to_a_channel_normalised(admin_client, channels):
    channel = channels[0]
    data = channel_change_data(channel)
    data["domains-TOTAL_FORMS"] = str(int(data["domains-TOTAL_FORMS"]) + 1)
    data["domains-1-host"] = "Live.Example.COM"
    data["domains-1-environment"] = str(environment_production().id)
    data["domains-1-channel"] = str(channel.pk)
    response = admin_client.post(reverse("admin:registered_apps_channel_change", args=[channel.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert ChannelDomain.objects.filter(channel=channel, host="live.example.com").exists()


def test_admin_removes_a_domain_and_the_applications_using_it_lose_it(admin_client, programmer, channels):
    channel = channels[0]
    domain = channel.domains.get()
    application = make_application(programmer, domains=[domain.host])
    data = channel_change_data(channel, **{"domains-0-DELETE": "on"})
    response = admin_client.post(reverse("admin:registered_apps_channel_change", args=[channel.pk]), data)
    assert response.status_code == 302
    assert not ChannelDomain.objects.filter(pk=domain.pk).exists()
    assert not application.domains.exists()


def test_channel_action_generates_a_new_custom_scheme(admin_client, channels):
    channel = channels[1]
    post_action(admin_client, "admin:registered_apps_channel_changelist", "generate_custom_scheme", [channel])
    assert channel.custom_schemes.count() == 2


def test_channel_change_page_shows_custom_schemes_read_only(admin_client, channels):
    channel = channels[0]
    response = admin_client.get(reverse("admin:registered_apps_channel_change", args=[channel.pk]))
    scheme = channel.custom_schemes.get().scheme
    assert scheme.encode() in response.content
    assert b'name="custom_schemes-0-scheme"' not in response.content


def test_admin_membership_refuses_channels_of_another_programmer(admin_client, programmer, channels):
    user = UserFactory(username="newcomer")
    foreign = ChannelFactory(programmer=ProgrammerFactory(), slug="foreign")
    url = reverse("admin:registered_apps_membership_add")
    data = {"user": str(user.pk), "programmer": str(programmer.pk), "access": "read_only", "channels": [foreign.pk]}
    response = admin_client.post(url, data)
    assert response.status_code == 200 and "channels" in response.context["adminform"].form.errors
    assert not Membership.objects.filter(user=user).exists()
    data["channels"] = [channels[2].pk]
    assert admin_client.post(url, data).status_code == 302
    membership = Membership.objects.get(user=user)
    assert list(membership.channels.all()) == [channels[2]]
    assert AuditEvent.objects.filter(action="membership.set", object_id=str(membership.pk)).exists()


def test_admin_adds_and_retires_catalog_entries(admin_client, programmer, channels):
    url = reverse("admin:registered_apps_platform_add")
    assert admin_client.post(url, {"code": "steamdeck", "name": "Steam Deck", "active": "on"}).status_code == 302
    steamdeck = Platform.objects.get(code="steamdeck")
    assert make_application(programmer, name="Deck", platforms=["steamdeck"])
    post_action(admin_client, "admin:registered_apps_platform_changelist", "retire", [steamdeck])
    steamdeck.refresh_from_db()
    assert not steamdeck.active
    assert AuditEvent.objects.filter(action="platform.retire").exists()
    delete = reverse("admin:registered_apps_platform_delete", args=[steamdeck.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


def test_audit_events_and_usage_are_read_only_in_the_admin(admin_client, application):
    event = AuditEvent.objects.first()
    UsageDaily.objects.create(application=application, day="2026-01-01", platform="ios", registrations=3, tokens=9)
    usage = UsageDaily.objects.get()
    for model, obj in (("auditevent", event), ("usagedaily", usage)):
        assert admin_client.get(reverse(f"admin:registered_apps_{model}_changelist")).status_code == 200
        assert admin_client.get(reverse(f"admin:registered_apps_{model}_add")).status_code == 403
        change = reverse(f"admin:registered_apps_{model}_change", args=[obj.pk])
        assert admin_client.get(change).status_code == 200
        assert admin_client.post(change, {"action": "tampered"}).status_code == 403
        delete = reverse(f"admin:registered_apps_{model}_delete", args=[obj.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action == "application.create"
    assert UsageDaily.objects.get().tokens == 9


def test_channel_slug_and_programmer_cannot_change_after_creation(admin_client, channels):
    channel = channels[0]
    data = channel_change_data(channel, slug="renamed", name="New name")
    response = admin_client.post(reverse("admin:registered_apps_channel_change", args=[channel.pk]), data)
    assert response.status_code == 302
    channel = Channel.objects.get(pk=channel.pk)
    assert channel.slug == "demo-one" and channel.name == "New name"
    assert AuditEvent.objects.filter(action="channel.change", object_id=str(channel.pk)).exists()


@pytest.mark.parametrize(
    "model",
    [
        "programmer",
        "channel",
        "membership",
        "platform",
        "scope",
        "registeredapplication",
        "revocationrequest",
        "usagedaily",
        "auditevent",
    ],
)
def test_every_admin_page_renders_for_a_tam(admin_client, rw_user, application, model):
    services.revocation_request_create(application=application, reason="smoke", actor=rw_user)
    UsageDaily.objects.create(application=application, day="2026-01-02", platform="web", tokens=1)
    changelist = admin_client.get(reverse(f"admin:registered_apps_{model}_changelist"))
    assert changelist.status_code == 200
    rows = list(changelist.context["cl"].result_list)
    assert rows, model
    assert admin_client.get(reverse(f"admin:registered_apps_{model}_change", args=[rows[0].pk])).status_code == 200
    assert admin_client.get(reverse(f"admin:registered_apps_{model}_add")).status_code in (200, 403)
