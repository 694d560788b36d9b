"""Query-count guards: the review page, the changes log and compare cost the same for one change or many."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registered_apps import services
from registered_apps.models import PendingChange, Push
from registered_apps.services import changes
from tests.helpers import push_all

pytestmark = pytest.mark.django_db

REVIEW_QUERY_BUDGET = 10
LOG_QUERY_BUDGET = 12
COMPARE_QUERY_BUDGET = 10


def count_queries(client, url, params=None):
    """Queries of the page in the steady state: one unmeasured request first, so that the process's caches
    with an expiry (the environments table's, 60 s) are as fresh for every measured request however long
    the test took to build its data (on a loaded machine, the 45 pushes took longer than that)."""
    client.get(url, params or {})
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.status_code
    return len(captured), response


def stage_every_kind(user, environment, programmer, channels, number, tam, channel=None):
    """One pending change of each kind (six), `number` making the values unique, on `channel` (default:
    one of `channels` after the other)."""
    one = channel or channels[number % len(channels)]
    host = f"gone-{number}.example.com"
    services.channel_domain_add(channel=one, host=host, actor=tam, environment=environment)
    services.registered_application_create(
        programmer=programmer,
        level="programmer",
        all_channels=True,
        platforms=["web"],
        scopes=["api:client:v2"],
        domains=[host],
        name=f"Uses {number}",
        environment=environment,
        actor=tam,
    )
    changes.application_create_stage(
        user=user,
        environment=environment,
        spec=services.ApplicationSpec(
            programmer=programmer,
            level="programmer",
            all_channels=False,
            channels=[one],
            platforms=["ios"],
            scopes=["api:client:v2"],
            name=f"App {number}",
            environment=environment,
        ),
    )
    changes.channel_create_stage(
        user=user, environment=environment, programmer=programmer, slug=f"new-{number}", name=f"New {number}"
    )
    changes.channel_settings_stage(
        user=user, environment=environment, channel=one, display_name=f"Name {number}", default_redirect_url=""
    )
    changes.channel_domain_add_stage(user=user, environment=environment, channel=one, host=f"add-{number}.example.com")
    changes.channel_domain_remove_stage(user=user, environment=environment, channel=one, host=host)
    changes.custom_scheme_create_stage(user=user, environment=environment, channel=one)


@pytest.mark.parametrize(
    "kind",
    [
        "application.create",
        "channel.create",
        "domain.add",
        "domain.delete",
        "custom_scheme.generate",
        "channel.settings",
    ],
)
def test_review_page_with_1_or_20_changes_of_a_kind_runs_the_same_queries(
    client, rw_user, programmer, channels, staging, tam, kind
):
    client.force_login(rw_user)
    client.post(reverse("registered_apps:environment_choose"), {"environment": "release-staging"})
    url = reverse("registered_apps:changes_review")

    def stage(number):
        # Settings of one channel replace each other: 20 settings changes need 20 channels.
        channel = channels[0] if kind != "channel.settings" else None
        if kind == "channel.settings":
            channel = services.channel_create(programmer=programmer, slug=f"settings-{number}", name="S", actor=tam)
        if kind == "application.create":
            changes.application_create_stage(
                user=rw_user,
                environment=staging,
                spec=services.ApplicationSpec(
                    programmer=programmer,
                    level="programmer",
                    all_channels=True,
                    platforms=["ios"],
                    scopes=["api:client:v2"],
                    name=f"App {number}",
                    environment=staging,
                ),
            )
        elif kind == "channel.create":
            changes.channel_create_stage(
                user=rw_user, environment=staging, programmer=programmer, slug=f"new-{number}", name="New"
            )
        elif kind == "domain.add":
            changes.channel_domain_add_stage(
                user=rw_user, environment=staging, channel=channel, host=f"add-{number}.example.com"
            )
        elif kind == "domain.delete":
            host = f"del-{number}.example.com"
            domain = services.channel_domain_add(channel=channel, host=host, actor=tam, environment=staging)
            services.registered_application_create(
                programmer=programmer,
                level="programmer",
                all_channels=True,
                platforms=["web"],
                scopes=["api:client:v2"],
                domains=[domain.host],
                name=f"Web {number}",
                environment=staging,
                actor=tam,
            )
            changes.channel_domain_remove_stage(user=rw_user, environment=staging, channel=channel, host=host)
        elif kind == "custom_scheme.generate":
            changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channel)
        else:
            changes.channel_settings_stage(
                user=rw_user, environment=staging, channel=channel, display_name=f"N {number}", default_redirect_url=""
            )

    stage(0)
    small, _ = count_queries(client, url)
    for number in range(1, 20):
        stage(number)
    large, response = count_queries(client, url)
    assert len(response.context["described"]) == 20
    assert large == small and large <= REVIEW_QUERY_BUDGET, (kind, small, large)


def test_review_page_with_every_kind_costs_the_same_for_6_or_30_changes(
    client, rw_user, programmer, channels, staging, tam
):
    client.force_login(rw_user)
    client.post(reverse("registered_apps:environment_choose"), {"environment": "release-staging"})
    url = reverse("registered_apps:changes_review")
    stage_every_kind(rw_user, staging, programmer, channels, 0, tam)
    small, _ = count_queries(client, url)
    for number in range(1, 5):
        stage_every_kind(rw_user, staging, programmer, channels, number, tam)
    large, response = count_queries(client, url)
    # The settings of one channel replace each other: 3 channels, 3 settings changes.
    assert len(response.context["described"]) == PendingChange.objects.count() >= 27
    assert large == small and large <= REVIEW_QUERY_BUDGET, (small, large)
    print(f"review page: {small} queries for 6 changes, {large} for {PendingChange.objects.count()}")


@pytest.mark.parametrize("user_fixture", ["rw_user", "channel_user"])
def test_changes_log_with_1_or_45_pushes_of_many_changes_runs_the_same_queries(
    request, client, rw_user, programmer, channels, staging, tam, user_fixture
):
    viewer = request.getfixturevalue(user_fixture)
    client.force_login(viewer)
    url = reverse("registered_apps:programmer_changes", kwargs={"programmer_slug": programmer.slug})
    # On the channel member's channel: every push shows (without its new channel, which is not theirs).
    stage_every_kind(rw_user, staging, programmer, channels, 0, tam, channel=channels[0])
    push_all(rw_user, staging)
    small, first = count_queries(client, url)
    assert len(first.context["entries"]) == 1
    for number in range(1, 45):
        stage_every_kind(rw_user, staging, programmer, channels, number, tam, channel=channels[0])
        push_all(rw_user, staging, f"Push {number}")
    large, response = count_queries(client, url, {"page": 2})
    assert len(response.context["entries"]) == 20
    assert sum(len(entry["changes"]) for entry in response.context["entries"]) >= 20 * 3
    filtered, _ = count_queries(client, url, {"environment": "release-staging", "page": 3})
    assert large == small == filtered and large <= LOG_QUERY_BUDGET, (small, large, filtered)
    print(f"changes log ({user_fixture}): {small} queries for 1 push, {large} for a page of 20")


def test_compare_of_a_short_and_a_long_range_runs_the_same_queries(client, rw_user, programmer, channels, staging, tam):
    client.force_login(rw_user)
    url = reverse("registered_apps:programmer_changes_compare", kwargs={"programmer_slug": programmer.slug})
    for number in range(30):
        stage_every_kind(rw_user, staging, programmer, channels, number, tam)
        push_all(rw_user, staging, f"Push {number}")
    pushes = list(Push.objects.order_by("pk"))
    small, short = count_queries(client, url, {"a": pushes[0].pk, "b": pushes[1].pk})
    large, long = count_queries(client, url, {"a": pushes[0].pk, "b": pushes[-1].pk})
    assert len(long.context["rows"]) > len(short.context["rows"])
    assert large == small and large <= COMPARE_QUERY_BUDGET, (small, large)
    print(f"compare: {small} queries for a range of 1 push, {large} for 29")
