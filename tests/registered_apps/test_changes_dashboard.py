"""The review-and-push workflow through the Django test client: the environment menu, per-environment
lists, staging from every form, the banner, the review page, push, dismiss, promote, the changes log with
compare, and the CSV exports."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from registered_apps import services
from registered_apps.models import (
    AuditEvent,
    Channel,
    ChannelDomain,
    CustomScheme,
    PendingChange,
    Push,
    PushStatus,
    RegisteredApplication,
    UsageDaily,
)
from registered_apps.services import changes
from tests.factories import make_application
from tests.helpers import push_all

pytestmark = pytest.mark.django_db

REVIEW = reverse("registered_apps:changes_review")
PUSH = reverse("registered_apps:changes_push")
DISMISS = reverse("registered_apps:changes_dismiss")


def programmer_url(name, programmer):
    return reverse(f"registered_apps:programmer_{name}", kwargs={"programmer_slug": programmer.slug})


def channel_url(name, channel):
    return reverse(f"registered_apps:channel_{name}", kwargs={"channel_slug": channel.slug})


def detail_url(application):
    return reverse("registered_apps:application_detail", kwargs={"application_id": application.pk})


def switch(client, slug, next_path="/"):
    return client.post(reverse("registered_apps:environment_choose"), {"environment": slug, "next": next_path})


def new_app_post(**overrides):
    data = {
        "name": "Player",
        "version": "1.0.0",
        "coverage": "all",
        "platforms": ["ios"],
        "scopes": ["api:client:v2"],
    }
    data.update(overrides)
    return data


# --- The environment menu ------------------------------------------------------------------------


def test_every_dashboard_page_has_the_environment_menu_with_production_chosen(login_as, rw_user, application):
    client = login_as(rw_user)
    for url in ("/", programmer_url("applications", application.programmer), detail_url(application), REVIEW):
        page = client.get(url).content.decode()
        assert '<label for="environment-menu">Environment</label>' in page, url
        assert re.search(r'<option value="release-production" selected>Release Production</option>', page), url


def test_switching_environment_keeps_the_choice_and_goes_back(login_as, rw_user, programmer):
    client = login_as(rw_user)
    back = programmer_url("channels", programmer)
    response = switch(client, "release-staging", back)
    assert response.status_code == 302 and response["Location"] == back
    assert client.session["dcr_environment"] == "release-staging"
    page = client.get(back).content.decode()
    assert '<option value="release-staging" selected>Release Staging</option>' in page
    # Only a path of this site is followed; an unknown environment changes nothing.
    assert switch(client, "prequal-staging", "https://evil.example/")["Location"] == "/"
    assert switch(client, "no-such-env", back)["Location"] == back
    assert client.session["dcr_environment"] == "prequal-staging"
    # A GET is not a way to switch (CSRF protection applies to the POST).
    assert client.get(reverse("registered_apps:environment_choose")).status_code == 405


def test_switching_environment_needs_a_csrf_token(rw_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rw_user)
    assert switch(client, "release-staging").status_code == 403


def test_lists_show_the_chosen_environment_only(login_as, rw_user, programmer, channels, staging, tam):
    in_production = make_application(programmer, name="Prod app")
    in_staging = make_application(programmer, name="Staging app", environment=staging)
    services.channel_domain_add(channel=channels[0], host="staging-only.example.com", actor=tam, environment=staging)
    staging_scheme = services.custom_scheme_create(channel=channels[0], actor=tam, environment=staging).scheme
    UsageDaily.objects.create(application=in_staging, day=timezone.now().date(), platform="ios", tokens=77)
    client = login_as(rw_user)

    page = client.get(programmer_url("applications", programmer)).content.decode()
    assert detail_url(in_production) in page and detail_url(in_staging) not in page
    channels_page = client.get(programmer_url("channels", programmer)).content.decode()
    assert "watch.demo-one.example.com" in channels_page and "staging-only.example.com" not in channels_page

    switch(client, "release-staging")
    page = client.get(programmer_url("applications", programmer)).content.decode()
    assert detail_url(in_staging) in page and detail_url(in_production) not in page
    channels_page = client.get(programmer_url("channels", programmer)).content.decode()
    assert "staging-only.example.com" in channels_page and "watch.demo-one.example.com" not in channels_page
    # Channels are global: all three are listed in every environment.
    assert all(c.slug in channels_page for c in channels)
    schemes_page = client.get(programmer_url("schemes", programmer)).content.decode()
    assert (
        staging_scheme in schemes_page
        and channels[0].custom_schemes.filter(environment__is_production=True).get().scheme not in schemes_page
    )
    usage = client.get(programmer_url("usage", programmer))
    assert sum(day.tokens for day in usage.context["series"]) == 77


def test_the_application_page_says_which_environment_it_is_in(login_as, rw_user, programmer, channels, staging):
    application = make_application(programmer, name="Staged", environment=staging)
    client = login_as(rw_user)
    page = client.get(detail_url(application)).content.decode()
    assert '<span class="env-chip" id="application-environment">Release Staging</span>' in page
    assert "This application exists in Release Staging; the dashboard shows Release Production." in page
    switch(client, "release-staging")
    assert "the dashboard shows" not in client.get(detail_url(application)).content.decode()


# --- Staging from the dashboard, the banner, the review page -------------------------------------


def test_a_new_application_waits_as_a_pending_change_with_a_banner_on_every_page(
    login_as, rw_user, programmer, channels, staging
):
    client = login_as(rw_user)
    switch(client, "release-staging")
    response = client.post(programmer_url("application_create", programmer), new_app_post(), follow=True)
    page = response.content.decode()
    assert "“Player 1.0.0” is a pending change in Release Staging" in page
    assert not RegisteredApplication.objects.exists()
    for url in ("/", programmer_url("usage", programmer), channel_url("channels", channels[0])):
        page = client.get(url).content.decode()
        assert '<strong>1 pending change</strong><span class="pending-where"> in Release Staging' in page, url
        assert f'href="{REVIEW}"' in page and ">Review</a>" in page
    # Other environments have their own (none here).
    switch(client, "release-production")
    assert "pending change" not in client.get("/").content.decode()


def test_review_page_lists_each_change_with_old_and_new_values(login_as, rw_user, programmer, channels, staging):
    one = channels[0]
    changes.channel_settings_stage(
        user=rw_user, environment=staging, channel=one, display_name="Demo One TV", default_redirect_url=""
    )
    changes.channel_domain_add_stage(user=rw_user, environment=staging, channel=one, host="tv.example.com")
    client = login_as(rw_user)
    switch(client, "release-staging")
    page = client.get(REVIEW).content.decode()
    assert "Change the settings of channel demo-one" in page and "Add domain tv.example.com to channel demo-one" in page
    settings_rows = re.findall(
        r'<td data-label="Old" class="value-old">(.*?)</td>\s*<td data-label="New" class="value-new">(.*?)</td>', page
    )
    assert ("Demo One", "Demo One TV") in settings_rows  # the old value is the current display name
    assert ("—", "tv.example.com") in settings_rows  # a creation has no old value
    assert 'name="description"' in page and "required" in page.split('name="description"', 1)[1].split(">", 1)[0]
    assert "Configuration description" in page
    assert ">Push changes</button>" in page and ">Dismiss changes…</a>" in page


def test_pushing_without_a_description_is_refused_on_the_server(login_as, rw_user, programmer, channels, production):
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    response = login_as(rw_user).post(PUSH, {"description": "  "})
    assert response.status_code == 400 and "Nothing was pushed." in response.content.decode()
    assert not Push.objects.exists() and PendingChange.objects.count() == 1


def test_push_from_the_review_page_applies_and_lands_on_the_changes_log(
    login_as, rw_user, programmer, channels, staging
):
    client = login_as(rw_user)
    switch(client, "release-staging")
    client.post(programmer_url("application_create", programmer), new_app_post())
    reviewed = client.get(REVIEW).context["form"].initial["reviewed"]
    response = client.post(PUSH, {"description": "Living room launch", "reviewed": reviewed})
    assert response.status_code == 302
    assert response["Location"] == programmer_url("changes", programmer) + "?environment=release-staging"
    application = RegisteredApplication.objects.get()
    assert application.environment == staging
    push = Push.objects.get()
    assert push.status == PushStatus.SUCCESSFUL and push.description == "Living room launch"
    event = AuditEvent.objects.get(action="push")
    assert event.ip_address == "127.0.0.1" and event.details["count"] == 1
    log = client.get(response["Location"]).content.decode()
    assert "Living room launch" in log and "Successful" in log and "Release Staging" in log and "rw" in log
    assert detail_url(application) in log and str(application.pk) in log
    assert "pending change" not in log


def test_a_failed_push_shows_its_message_and_keeps_the_changes(login_as, rw_user, programmer, channels, production):
    client = login_as(rw_user)
    client.post(programmer_url("application_create", programmer), new_app_post())
    make_application(programmer, name="Player")  # taken meanwhile
    response = client.post(PUSH, {"description": "Too late"}, follow=True)
    page = response.content.decode()
    assert (
        "Nothing was pushed to Release Production. Change 1 of 1 (Create registered application Player 1.0.0)" in page
    )
    assert PendingChange.objects.count() == 1 and Push.objects.get().status == PushStatus.FAILED
    log = client.get(programmer_url("changes", programmer)).content.decode()
    assert "Failed" in log and "Too late" in log and "already has an application" in log


def test_dismiss_drops_the_pending_changes_and_the_banner(login_as, rw_user, programmer, channels, production):
    client = login_as(rw_user)
    client.post(programmer_url("application_create", programmer), new_app_post())
    page = client.post(DISMISS, {"confirm": "yes"}, follow=True).content.decode()
    assert "Dismissed 1 pending change in Release Production." in page
    assert not PendingChange.objects.exists() and not RegisteredApplication.objects.exists()
    assert "pending change</strong>" not in client.get("/").content.decode()


def test_one_change_can_be_removed_from_the_review_page(login_as, rw_user, ro_user, channels, production):
    keep = changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    drop = changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[1])
    url = reverse("registered_apps:change_remove", kwargs={"change_id": drop.pk})
    assert login_as(ro_user).post(url).status_code == 404  # someone else's
    assert login_as(rw_user).post(url).status_code == 302
    assert list(PendingChange.objects.values_list("pk", flat=True)) == [keep.pk]


def test_read_only_member_sees_the_review_page_but_can_push_nothing(
    login_as, ro_user, rw_user, programmer, channels, production
):
    client = login_as(ro_user)
    page = client.get(REVIEW).content.decode()
    assert "No pending changes in Release Production" in page and "Push changes" not in page
    assert client.post(PUSH, {"description": "sneaky"}).status_code == 403
    assert client.post(programmer_url("application_create", programmer), new_app_post()).status_code == 403
    for action in ({"action": "generate_scheme"}, {"action": "add_domain", "host": "x.example.com"}):
        assert client.post(channel_url("channels", channels[0]), action).status_code == 403
    assert (
        client.post(programmer_url("channels", programmer), {"action": "add_channel", "slug": "x"}).status_code == 403
    )
    channel_page = client.get(channel_url("channels", channels[0])).content.decode()
    assert "Generate custom scheme" not in channel_page and "Add domain" not in channel_page
    assert "Add channel" not in client.get(programmer_url("channels", programmer)).content.decode()
    # A member who lost write access keeps their old pending changes: visible, not pushable.
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    rw_user.memberships.update(access="read_only")
    client = login_as(rw_user)
    page = client.get(REVIEW).content.decode()
    assert "Generate custom scheme" in page and ">Push changes</button>" not in page
    assert client.post(PUSH, {"description": "x"}).status_code == 403
    assert PendingChange.objects.count() == 1 and not Push.objects.exists()


# --- Channel self-service -----------------------------------------------------------------------


def test_add_channel_is_staged_and_shows_its_errors_inline(login_as, rw_user, channel_user, programmer, channels):
    client = login_as(rw_user)
    url = programmer_url("channels", programmer)
    assert "Add channel" in client.get(url).content.decode()
    response = client.post(url, {"action": "add_channel", "slug": "demo-one", "name": "Again"})
    assert response.status_code == 400
    assert "already exists in Release Production" in response.content.decode()
    response = client.post(url, {"action": "add_channel", "slug": "demo-four", "name": "Demo Four"}, follow=True)
    assert "Add channel demo-four (custom scheme adbe.u-" in response.content.decode()
    assert not Channel.objects.filter(slug="demo-four").exists()
    push_all(rw_user)
    assert Channel.objects.get(slug="demo-four").name == "Demo Four"
    # A channel member cannot add channels.
    assert login_as(channel_user).post(url, {"action": "add_channel", "slug": "x", "name": "X"}).status_code == 403


def test_channel_settings_domains_and_schemes_are_staged_from_the_channel_page(
    login_as, rw_user, programmer, channels, production
):
    one = channels[0]
    client = login_as(rw_user)
    url = channel_url("channels", one)
    page = client.get(url).content.decode()
    for text in ("Display name", "Default redirect URL", "Save settings", "Add domain", "Generate custom scheme"):
        assert text in page
    response = client.post(
        url, {"action": "settings", "display_name": "Demo One", "default_redirect_url": "https://evil.example/"}
    )
    assert response.status_code == 400 and "must use one of the application" in response.content.decode()
    client.post(url, {"action": "settings", "display_name": "Demo One TV", "default_redirect_url": ""})
    bad_host = client.post(url, {"action": "add_domain", "host": "no spaces allowed"})
    assert bad_host.status_code == 400 and "is not a valid host name" in bad_host.content.decode()
    client.post(url, {"action": "add_domain", "host": "tv.example.com"})
    client.post(url, {"action": "delete_domain", "host": "watch.demo-one.example.com"})
    client.post(url, {"action": "generate_scheme"})
    assert [c.kind for c in PendingChange.objects.order_by("pk")] == [
        "channel.settings",
        "domain.add",
        "domain.delete",
        "custom_scheme.generate",
    ]
    page = client.get(url).content.decode()
    assert "Deletion pending" in page and "Add domain tv.example.com to channel demo-one" in page
    assert 'value="Demo One TV"' in page  # the form shows the pending settings
    push_all(rw_user)
    assert set(ChannelDomain.objects.filter(channel=one).values_list("host", flat=True)) == {"tv.example.com"}
    assert CustomScheme.objects.filter(channel=one, environment=production).count() == 2
    programmer_page = client.get(programmer_url("channels", programmer)).content.decode()
    assert "Demo One TV" in programmer_page


def test_a_channel_member_changes_only_their_channels(login_as, channel_user, channels):
    client = login_as(channel_user)
    assert client.post(channel_url("channels", channels[0]), {"action": "generate_scheme"}).status_code == 302
    assert client.post(channel_url("channels", channels[1]), {"action": "generate_scheme"}).status_code == 404
    assert PendingChange.objects.count() == 1


# --- Promote, log, compare ----------------------------------------------------------------------


def test_promote_from_the_log_stages_the_changes_in_the_target_and_switches_to_it(
    login_as, rw_user, ro_user, programmer, channels, staging, production
):
    client = login_as(rw_user)
    switch(client, "release-staging")
    client.post(programmer_url("application_create", programmer), new_app_post())
    client.post(PUSH, {"description": "Staging first"})
    push = Push.objects.get()
    log = client.get(programmer_url("changes", programmer)).content.decode()
    assert f'action="{reverse("registered_apps:push_promote", kwargs={"push_id": push.pk})}"' in log
    assert '<label for="promote-' in log and ">Promote to</label>" in log
    assert '<option value="release-production" selected>Release Production</option>' in log

    url = reverse("registered_apps:push_promote", kwargs={"push_id": push.pk})
    assert login_as(ro_user).post(url, {"target": "release-production"}).status_code == 403
    assert "Promote to" not in login_as(ro_user).get(programmer_url("changes", programmer)).content.decode()

    client = login_as(rw_user)
    response = client.post(url, {"target": "release-production"}, follow=True)
    page = response.content.decode()
    assert "Staged the 1 change of push #" in page and "in Release Production" in page
    assert client.session["dcr_environment"] == "release-production"
    assert PendingChange.objects.get().environment == production
    client.post(PUSH, {"description": "Then production"})
    assert set(RegisteredApplication.objects.values_list("environment__slug", flat=True)) == {
        "release-staging",
        "release-production",
    }
    log = client.get(programmer_url("changes", programmer)).content.decode()
    assert "promoted from #" in log


def test_the_log_filters_by_environment_and_paginates(login_as, rw_user, programmer, channels, staging, production):
    for number in range(22):
        changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[0])
        push_all(rw_user, staging, f"Staging push {number}")
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    push_all(rw_user, production, "The production push")
    client = login_as(rw_user)
    url = programmer_url("changes", programmer)
    everything = client.get(url)
    assert everything.context["page"].paginator.count == 23
    assert "The production push" in everything.content.decode() and "Page 1 of 2" in everything.content.decode()
    only_production = client.get(url, {"environment": "release-production"}).content.decode()
    assert "The production push" in only_production and "Staging push" not in only_production
    only_staging = client.get(url, {"environment": "release-staging", "page": 2}).content.decode()
    assert "Staging push 0" in only_staging and "The production push" not in only_staging


def test_compare_shows_the_net_change_and_refuses_two_environments(
    login_as, rw_user, programmer, channels, staging, production
):
    one = channels[0]
    for name in ("A", "B", "C"):
        changes.channel_settings_stage(
            user=rw_user, environment=staging, channel=one, display_name=name, default_redirect_url=""
        )
        push_all(rw_user, staging, f"Name {name}")
    a, _, c = Push.objects.order_by("pk")
    client = login_as(rw_user)
    url = programmer_url("changes_compare", programmer)
    response = client.get(url, {"a": c.pk, "b": a.pk})
    assert response.status_code == 200
    page = response.content.decode()
    assert '<td data-label="Entity type">Channel</td>' in page and "Display name" in page
    assert re.search(r'class="value-old">A</td>\s*<td data-label="New" class="value-new">C</td>', page)
    # The log's checkboxes send ?push=&push=.
    assert client.get(url, {"push": [a.pk, c.pk]}).context["rows"] == response.context["rows"]

    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=one)
    elsewhere = push_all(rw_user, production)
    refused = client.get(url, {"a": a.pk, "b": elsewhere.pk})
    assert refused.status_code == 400
    assert "compare two entries of the same environment" in refused.content.decode()
    assert client.get(url, {"a": a.pk}).status_code == 400
    assert client.get(url, {"a": a.pk, "b": 999999}).status_code == 404


def test_a_channel_members_log_and_compare_leave_out_other_channels(
    login_as, rw_user, channel_user, programmer, channels, staging
):
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[0])
    mine = push_all(rw_user, staging, "On demo-one")
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[1])
    theirs = push_all(rw_user, staging, "On demo-two")
    client = login_as(channel_user)
    page = client.get(programmer_url("changes", programmer)).content.decode()
    assert "On demo-one" in page and "On demo-two" not in page
    compare = programmer_url("changes_compare", programmer)
    assert client.get(compare, {"a": mine.pk, "b": theirs.pk}).status_code == 404
    promote = reverse("registered_apps:push_promote", kwargs={"push_id": theirs.pk})
    assert client.post(promote, {"target": "release-production"}).status_code == 404


def test_the_audit_events_stay_visible_under_the_changes_log(login_as, rw_user, programmer, channels, tam):
    application = make_application(programmer, name="By the TAM", actor=tam)
    services.registered_application_revoke(application=application, reason="Leaked", actor=tam)
    page = login_as(rw_user).get(programmer_url("changes_audit", programmer)).content.decode()
    assert "Revoked application" in page and "Leaked" in page and detail_url(application) in page
    assert "application.revoke" not in page
    assert 'aria-current="page">Audit events</a>' in page


# --- CSV exports --------------------------------------------------------------------------------


def read_csv(response):
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_changes_log_csv_has_one_row_per_property_and_defuses_formulas(
    login_as, rw_user, programmer, channels, staging, production
):
    changes.channel_settings_stage(
        user=rw_user, environment=staging, channel=channels[0], display_name="=HYPERLINK(1)", default_redirect_url=""
    )
    push_all(rw_user, staging, "+cmd|' /C calc'!A0")
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    push_all(rw_user, production, "@production")
    client = login_as(rw_user)
    response = client.get(programmer_url("changes_csv", programmer), {"environment": "release-staging"})
    assert re.fullmatch(
        r'attachment; filename="changes_demo-networks_release-staging_\d{8}T\d{6}Z\.csv"',
        response["Content-Disposition"],
    )
    rows = read_csv(response)
    assert rows[0][:4] == ["push", "pushed_at_utc", "environment", "status"] and rows[0][-3:] == [
        "property",
        "old",
        "new",
    ]
    assert len(rows) == 2  # one property changed (the redirect URL stays empty)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["description"] == "'+cmd|' /C calc'!A0"
    assert row["new"] == "'=HYPERLINK(1)" and row["old"] == "Demo One" and row["environment"] == "Release Staging"
    everything = read_csv(client.get(programmer_url("changes_csv", programmer)))
    assert {r[5] for r in everything[1:]} == {"'+cmd|' /C calc'!A0", "'@production"}


def test_usage_csv_has_the_numbers_of_the_usage_page(login_as, rw_user, programmer, channels):
    one = make_application(programmer, name="One")
    two = make_application(programmer, name="-Two")
    today = timezone.now().date()
    for offset, (app, registrations, tokens) in enumerate([(one, 3, 40), (two, 1, 7), (one, 2, 11)]):
        UsageDaily.objects.create(
            application=app,
            day=today - timedelta(days=offset),
            platform="ios",
            registrations=registrations,
            tokens=tokens,
        )
    UsageDaily.objects.create(application=one, day=today - timedelta(days=45), registrations=99, tokens=999)
    client = login_as(rw_user)
    page = client.get(programmer_url("usage", programmer))
    response = client.get(programmer_url("usage_csv", programmer))
    assert re.fullmatch(
        r'attachment; filename="usage_demo-networks_release-production_\d{8}-\d{8}\.csv"',
        response["Content-Disposition"],
    )
    rows = read_csv(response)
    assert rows[0] == ["day_utc", "registrations", "tokens"] and len(rows) == 31
    assert [(r[0], int(r[1]), int(r[2])) for r in rows[1:]] == [
        (day.day.isoformat(), day.registrations, day.tokens) for day in page.context["series"]
    ]
    per_app = read_csv(client.get(programmer_url("usage_csv", programmer), {"by": "application"}))
    totals = {r[1]: (int(r[5]), int(r[6])) for r in per_app[1:]}
    assert totals == {
        row["application__name"] if not row["application__name"].startswith("-") else "'" + row["application__name"]: (
            row["registrations"],
            row["tokens"],
        )
        for row in page.context["top"]
    }
    assert totals == {"One": (5, 51), "'-Two": (1, 7)}
