"""The programmers' dashboard through the Django test client: pages, create, revocation request, rules."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oauth.models import Client as OAuthClient
from registered_apps import services
from registered_apps.models import (
    Access,
    ApplicationStatus,
    AuditEvent,
    RegisteredApplication,
    RevocationRequest,
    UsageDaily,
)
from software_statements.models import SoftwareStatement
from tests.factories import ChannelFactory, UserFactory, make_application, member
from tests.helpers import push_all

pytestmark = pytest.mark.django_db


def programmer_url(name, programmer):
    return reverse(f"registered_apps:programmer_{name}", kwargs={"programmer_slug": programmer.slug})


def channel_url(name, channel):
    return reverse(f"registered_apps:channel_{name}", kwargs={"channel_slug": channel.slug})


def detail_url(application):
    return reverse("registered_apps:application_detail", kwargs={"application_id": application.pk})


def valid_post(chosen, **overrides):
    data = {
        "name": "Player",
        "version": "1.0.0",
        "coverage": "subset",
        "channels": [c.slug for c in chosen],
        "platforms": ["ios", "web"],
        "scopes": ["api:client:v2"],
        "domains": [f"watch.{chosen[0].slug}.example.com"],
        "redirect_uris": f"https://watch.{chosen[0].slug}.example.com/callback",
    }
    data.update(overrides)
    return data


# --- Sign in and home -----------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(client, application):
    for url in ("/", detail_url(application), programmer_url("applications", application.programmer)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_login_page_signs_a_user_in_and_lands_on_home(client, rw_user):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    response = client.post("/accounts/login/", {"username": "rw", "password": "password-for-tests"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"Demo Networks" in response.content


def test_password_reset_and_change_pages_render(client, rw_user, login_as):
    assert client.get(reverse("password_reset")).status_code == 200
    assert client.get(reverse("password_reset_done")).status_code == 200
    login_as(rw_user)
    response = client.get(reverse("password_change"))
    assert response.status_code == 200 and b'name="new_password1"' in response.content


def test_home_lists_the_programmers_and_channels_the_user_may_see(login_as, rw_user, channel_user, other_user):
    page = login_as(rw_user).get("/").content.decode()
    assert "Demo Networks" in page and "demo-one" in page and "demo-three" in page
    assert "Other Networks" not in page and "other-one" not in page

    page = login_as(channel_user).get("/").content.decode()
    assert "Demo Networks" in page and "demo-one" in page
    assert "demo-two" not in page and "demo-three" not in page


def test_sign_out_is_a_post_with_csrf(login_as, rw_user):
    client = login_as(rw_user)
    page = client.get("/").content.decode()
    assert 'action="/accounts/logout/"' in page
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


# --- Programmer and channel tabs ------------------------------------------------------------------


def test_every_tab_of_a_programmer_and_a_channel_renders(login_as, rw_user, channels, application):
    client = login_as(rw_user)
    for name in ("channels", "applications", "schemes", "changes", "changes_audit", "usage"):
        assert client.get(programmer_url(name, application.programmer)).status_code == 200, name
        assert client.get(channel_url(name, channels[0])).status_code == 200, name


def test_custom_schemes_tab_shows_the_schemes_of_visible_channels_only(login_as, channel_user, channels):
    page = login_as(channel_user).get(programmer_url("schemes", channels[0].programmer)).content.decode()
    assert channels[0].custom_schemes.get().scheme in page
    assert channels[1].custom_schemes.get().scheme not in page


def test_channel_page_lists_only_applications_covering_that_channel(login_as, rw_user, programmer, channels):
    everywhere = make_application(programmer, name="Everywhere")
    on_two = make_application(programmer, name="On two", all_channels=False, channels=[channels[1]])
    on_one = make_application(programmer, name="On one", level="channel", all_channels=False, channel=channels[0])
    page = login_as(rw_user).get(channel_url("applications", channels[0])).content.decode()
    assert detail_url(everywhere) in page and detail_url(on_one) in page
    assert detail_url(on_two) not in page


def test_application_list_searches_and_filters(login_as, rw_user, programmer, channels):
    ios = make_application(programmer, name="Phone player", platforms=["ios"])
    roku = make_application(
        programmer, name="Roku player", platforms=["roku"], all_channels=False, channels=[channels[1]]
    )
    revoked = make_application(programmer, name="Old player", platforms=["roku"])
    services.registered_application_revoke(application=revoked, reason="old", actor="tests")
    client = login_as(rw_user)
    url = programmer_url("applications", programmer)

    def listed(**params):
        page = client.get(url, params).content.decode()
        return {app.name for app in (ios, roku, revoked) if detail_url(app) in page}

    assert listed() == {"Phone player", "Roku player", "Old player"}
    assert listed(q="phone") == {"Phone player"}
    assert listed(q=str(roku.pk)) == {"Roku player"}
    assert listed(platform="roku") == {"Roku player", "Old player"}
    assert listed(status="revoked") == {"Old player"}
    assert listed(status="active", platform="roku") == {"Roku player"}
    assert listed(channel="demo-one") == {"Phone player", "Old player"}
    assert listed(q="nothing like this") == set()


def test_application_list_paginates(login_as, rw_user, programmer, channels):
    for number in range(30):
        make_application(programmer, name=f"App {number:02d}")
    client = login_as(rw_user)
    first = client.get(programmer_url("applications", programmer)).content.decode()
    second = client.get(programmer_url("applications", programmer), {"page": 2}).content.decode()
    assert first.count('class="cell-title"') == 25 and second.count('class="cell-title"') == 5
    assert "Page 1 of 2" in first and 'rel="next"' in first and 'rel="prev"' in second


def test_changes_log_of_a_channel_member_leaves_out_other_channels(login_as, channel_user, programmer, channels):
    mine = make_application(programmer, name="Mine", all_channels=False, channels=[channels[0]])
    theirs = make_application(programmer, name="Theirs", all_channels=False, channels=[channels[1]])
    page = login_as(channel_user).get(programmer_url("changes_audit", programmer)).content.decode()
    assert detail_url(mine) in page
    assert detail_url(theirs) not in page


def test_usage_tab_sums_the_visible_applications(login_as, channel_user, programmer, channels):
    mine = make_application(programmer, name="Mine", all_channels=False, channels=[channels[0]])
    theirs = make_application(programmer, name="Theirs", all_channels=False, channels=[channels[1]])
    today = timezone.now().date()
    UsageDaily.objects.create(application=mine, day=today, platform="ios", registrations=3, tokens=41)
    UsageDaily.objects.create(application=theirs, day=today, platform="ios", registrations=5, tokens=999)
    page = login_as(channel_user).get(programmer_url("usage", programmer)).content.decode()
    assert "41 in 30 days" in page and "3 in 30 days" in page
    # Their 999 tokens appear neither in a cell nor in a sum (1,040); an id may hold "999", so cells only.
    cells = re.findall(r">\s*([\d,]+)\s*<", page)
    assert "999" not in cells and "1040" not in cells and "1,040" not in cells
    assert "Theirs" not in page and detail_url(theirs) not in page


# --- Create -------------------------------------------------------------------------------------


def test_read_write_member_creates_a_programmer_level_application_for_two_of_three_channels(
    login_as, rw_user, programmer, channels
):
    client = login_as(rw_user)
    url = programmer_url("application_create", programmer)
    assert client.get(url).status_code == 200
    response = client.post(url, valid_post(channels[:2]))
    # Staged, not created: it waits for the review and push.
    assert response.status_code == 302 and response["Location"] == programmer_url("applications", programmer)
    assert not RegisteredApplication.objects.exists()
    client.post(reverse("registered_apps:changes_push"), {"description": "First player"})
    application = RegisteredApplication.objects.get(name="Player")
    assert application.level == "programmer" and not application.all_channels
    assert sorted(c.slug for c in application.channels.all()) == ["demo-one", "demo-two"]
    assert sorted(p.code for p in application.platforms.all()) == ["ios", "web"]
    assert application.created_by == rw_user
    event = AuditEvent.objects.get(action="application.create", object_id=str(application.pk))
    assert event.actor_user == rw_user and event.ip_address == "127.0.0.1"


def test_all_channels_wins_over_leftover_channel_ticks(login_as, rw_user, programmer, channels):
    response = login_as(rw_user).post(
        programmer_url("application_create", programmer), valid_post(channels[:1], coverage="all")
    )
    assert response.status_code == 302
    push_all(rw_user)
    application = RegisteredApplication.objects.get(name="Player")
    assert application.all_channels and not application.channels.exists()


def test_invalid_form_shows_each_error_next_to_its_field_and_saves_nothing(login_as, rw_user, programmer, channels):
    response = login_as(rw_user).post(
        programmer_url("application_create", programmer),
        valid_post(
            channels[:1], name="", platforms=["web"], scopes=[], domains=[], redirect_uris="http://evil.example"
        ),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) >= {"name", "scopes", "domains", "redirect_uris"}
    page = response.content.decode()
    assert "Nothing was saved." in page
    for field in ("name", "scopes", "domains", "redirect_uris"):
        assert f'id="field-{field}"' in page
        block = page.split(f'id="field-{field}"', 1)[1].split('<div class="field', 1)[0]
        assert 'class="errorlist' in block, field
    assert not RegisteredApplication.objects.exists()
    assert not AuditEvent.objects.filter(action="application.create").exists()


def test_duplicate_name_and_version_is_reported_on_the_version_field(login_as, rw_user, programmer, channels):
    make_application(programmer, name="Player")
    response = login_as(rw_user).post(programmer_url("application_create", programmer), valid_post(channels[:1]))
    assert "already has an application" in " ".join(response.context["form"].errors["version"])
    assert RegisteredApplication.objects.count() == 1


def test_channel_user_creates_a_channel_level_application(login_as, channel_user, channels):
    client = login_as(channel_user)
    data = valid_post(channels[:1])
    del data["coverage"], data["channels"]
    response = client.post(channel_url("application_create", channels[0]), data)
    assert response.status_code == 302
    push_all(channel_user)
    application = RegisteredApplication.objects.get()
    assert application.level == "channel" and application.channel == channels[0]


def test_channel_user_cannot_choose_all_channels_or_a_foreign_channel(login_as, channel_user, programmer, channels):
    client = login_as(channel_user)
    url = programmer_url("application_create", programmer)
    page = client.get(url).content.decode()
    assert 'value="all"' not in page and "demo-two" not in page
    # "all" is not offered: a posted coverage=all is ignored, and with no channel chosen nothing is created.
    response = client.post(url, valid_post(channels[:1], coverage="all", channels=[]))
    assert response.status_code == 200 and "channels" in response.context["form"].errors
    response = client.post(url, valid_post(channels[1:2]))
    assert response.status_code == 200 and "channels" in response.context["form"].errors
    assert not RegisteredApplication.objects.exists()
    # The channel pages of channels outside their reach do not exist for them.
    assert client.get(channel_url("application_create", channels[1])).status_code == 404
    assert client.post(channel_url("application_create", channels[1]), valid_post(channels[1:2])).status_code == 404


def test_read_only_member_gets_403_on_create_and_sees_no_create_button(login_as, ro_user, programmer, channels):
    client = login_as(ro_user)
    page = client.get(programmer_url("applications", programmer)).content.decode()
    assert programmer_url("application_create", programmer) not in page
    assert client.get(programmer_url("application_create", programmer)).status_code == 403
    assert client.post(programmer_url("application_create", programmer), valid_post(channels[:1])).status_code == 403
    assert client.post(channel_url("application_create", channels[0]), valid_post(channels[:1])).status_code == 403
    assert not RegisteredApplication.objects.exists()


def test_new_version_from_an_existing_application_is_pre_filled(login_as, rw_user, programmer, channels):
    source = make_application(
        programmer,
        name="Player",
        version="3.2.1",
        all_channels=False,
        channels=channels[:2],
        platforms=["ios", "roku"],
        scopes=["api:client:v2", "analytics:client"],
    )
    client = login_as(rw_user)
    detail = client.get(detail_url(source)).content.decode()
    new_version = f"{programmer_url('application_create', programmer)}?from={source.pk}"
    assert new_version in detail
    form = client.get(new_version).context["form"]
    assert form.initial["name"] == "Player" and form.initial["version"] == "4.0.0"
    assert form.initial["coverage"] == "subset" and sorted(form.initial["channels"]) == ["demo-one", "demo-two"]
    assert sorted(form.initial["platforms"]) == ["ios", "roku"]
    assert sorted(form.initial["scopes"]) == ["analytics:client", "api:client:v2"]


# --- Detail -------------------------------------------------------------------------------------


def test_detail_shows_configuration_statements_clients_and_usage(login_as, rw_user, programmer, channels):
    application = make_application(programmer, name="Player", all_channels=False, channels=channels[:2])
    statement = SoftwareStatement.objects.create(
        application=application, kid="statement-key-1", issued_at=timezone.now(), issued_by=rw_user
    )
    OAuthClient.objects.create(
        registered_application=application,
        statement=statement,
        client_type="confidential",
        authorization_grant_type="client-credentials",
        name="device",
    )
    today = timezone.now().date()
    UsageDaily.objects.create(application=application, day=today, platform="ios", registrations=2, tokens=17)
    UsageDaily.objects.create(application=application, day=today, platform="roku", registrations=1, tokens=3)
    UsageDaily.objects.create(application=application, day=today - timedelta(days=40), registrations=50, tokens=500)
    response = login_as(rw_user).get(detail_url(application))
    page = response.content.decode()
    assert str(statement.jti) in page and statement.kid in page and "rw" in page
    assert response.context["clients"] == {"total": 1, "active": 1}
    assert response.context["usage_totals"] == {"registrations": 3, "tokens": 20}
    assert '<svg viewBox="0 0 600 120" preserveAspectRatio="none" role="img"' in page and "<title>" in page
    # Axis labels are HTML (they keep their size on a phone), the outer day labels at the plot's edges.
    assert '<div class="chart-x-slot chart-x-start"><span>' in page
    assert '<div class="chart-x-slot chart-x-end"><span>' in page
    assert "style=" not in page  # the Content-Security-Policy allows no inline style
    assert "demo-one" in page and "demo-two" in page
    assert 'id="download-form"' in page and "New version from this one" in page


def test_read_only_member_sees_no_download_create_or_revocation_controls(login_as, ro_user, application):
    page = login_as(ro_user).get(detail_url(application)).content.decode()
    assert 'id="download-form"' not in page and "data-copy-statement" not in page
    assert "Request revocation" not in page and "New version from this one" not in page


def test_channel_user_cannot_manage_an_all_channels_application(login_as, channel_user, application):
    client = login_as(channel_user)
    page = client.get(detail_url(application)).content.decode()
    assert 'id="download-form"' not in page and "Request revocation" not in page
    url = reverse("registered_apps:application_revocation_request", kwargs={"application_id": application.pk})
    assert client.post(url, {"reason": "mine?"}).status_code == 403
    assert not RevocationRequest.objects.exists()


# --- Revocation request ---------------------------------------------------------------------------


def test_revocation_request_records_the_reason_and_shows_it_pending(login_as, rw_user, application):
    client = login_as(rw_user)
    url = reverse("registered_apps:application_revocation_request", kwargs={"application_id": application.pk})
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "The key leaked in a public repository."}, follow=True)
    request = RevocationRequest.objects.get()
    assert request.application == application and request.requested_by == rw_user
    assert request.state == RevocationRequest.State.PENDING
    page = response.content.decode()
    assert "Revocation requested" in page and "The key leaked in a public repository." in page
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACTIVE


def test_revocation_request_without_a_reason_shows_the_error_and_saves_nothing(login_as, rw_user, application):
    url = reverse("registered_apps:application_revocation_request", kwargs={"application_id": application.pk})
    response = login_as(rw_user).post(url, {"reason": "   "})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    assert not RevocationRequest.objects.exists()


def test_read_only_member_gets_403_on_revocation_request(login_as, ro_user, application):
    url = reverse("registered_apps:application_revocation_request", kwargs={"application_id": application.pk})
    client = login_as(ro_user)
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "please"}).status_code == 403
    assert not RevocationRequest.objects.exists()


# --- CSRF ---------------------------------------------------------------------------------------


def test_posts_without_a_csrf_token_are_refused(rw_user, programmer, channels, application):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rw_user)
    create = client.post(programmer_url("application_create", programmer), valid_post(channels[:1]))
    revoke = client.post(
        reverse("registered_apps:application_revocation_request", kwargs={"application_id": application.pk}),
        {"reason": "x"},
    )
    assert create.status_code == 403 and revoke.status_code == 403
    assert RegisteredApplication.objects.count() == 1 and not RevocationRequest.objects.exists()


def test_every_dashboard_form_carries_a_csrf_token(login_as, rw_user, programmer, channels, application):
    client = login_as(rw_user)
    for url in (
        "/",
        programmer_url("application_create", programmer),
        channel_url("application_create", channels[0]),
        detail_url(application),
        reverse("registered_apps:application_revocation_request", kwargs={"application_id": application.pk}),
        reverse("password_change"),
    ):
        page = client.get(url).content.decode()
        post_forms = page.count('method="post"')
        assert post_forms and page.count('name="csrfmiddlewaretoken"') == post_forms, url


def test_a_user_with_memberships_of_two_programmers_sees_both(login_as, programmer, channels, other_user):
    both = UserFactory(username="both")
    member(both, programmer, Access.READ_ONLY)
    other_programmer = other_user.memberships.get().programmer
    member(both, other_programmer, Access.READ_WRITE)
    ChannelFactory(programmer=other_programmer, slug="other-two")
    page = login_as(both).get("/").content.decode()
    assert "Demo Networks" in page and "Other Networks" in page and "other-two" in page
