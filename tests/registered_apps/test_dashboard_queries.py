"""Query-count guards: the application list and the detail page cost the same at any size."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from oauth.models import Client as OAuthClient
from registered_apps.models import Platform, RegisteredApplication, Scope, UsageDaily
from software_statements.models import SoftwareStatement
from tests.factories import make_application

pytestmark = pytest.mark.django_db

# 15: one for the person's own applications staged and not yet pushed (listed first, marked pending).
LIST_QUERY_BUDGET = 15
# 19: two for the abuse signals (the application's signals, its statements' registrations per day).
DETAIL_QUERY_BUDGET = 19


def bulk_applications(programmer, channels, count, start=0):
    """Many applications at once (the service's per-application checks would make this test slow)."""
    applications = RegisteredApplication.objects.bulk_create(
        RegisteredApplication(programmer=programmer, name=f"Bulk {start + n:04d}", all_channels=(n % 3 == 0))
        for n in range(count)
    )
    platforms = list(Platform.objects.filter(code__in=["ios", "roku", "web"]))
    scope = Scope.objects.get(code="api:client:v2")
    RegisteredApplication.platforms.through.objects.bulk_create(
        RegisteredApplication.platforms.through(registeredapplication_id=app.pk, platform_id=platform.pk)
        for app in applications
        for platform in platforms
    )
    RegisteredApplication.scopes.through.objects.bulk_create(
        RegisteredApplication.scopes.through(registeredapplication_id=app.pk, scope_id=scope.pk) for app in applications
    )
    RegisteredApplication.channels.through.objects.bulk_create(
        RegisteredApplication.channels.through(registeredapplication_id=app.pk, channel_id=channel.pk)
        for app in applications
        if not app.all_channels
        for channel in channels[:2]
    )
    return applications


def count_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured), response


@pytest.mark.parametrize("user_fixture", ["rw_user", "channel_user"])
def test_application_list_with_500_applications_runs_a_constant_number_of_queries(
    request, client, programmer, channels, user_fixture
):
    client.force_login(request.getfixturevalue(user_fixture))
    url = reverse("registered_apps:programmer_applications", kwargs={"programmer_slug": programmer.slug})
    bulk_applications(programmer, channels, 5)
    small, _ = count_queries(client, url)
    bulk_applications(programmer, channels, 495, start=5)
    large, response = count_queries(client, url)
    assert response.context["page"].paginator.count == 500
    assert large == small and large <= LIST_QUERY_BUDGET, (small, large)
    filtered_small, _ = count_queries(client, url, {"q": "Bulk", "platform": "ios", "channel": "demo-one", "page": 3})
    assert filtered_small <= LIST_QUERY_BUDGET


def test_detail_page_runs_a_constant_number_of_queries(client, rw_user, programmer, channels):
    client.force_login(rw_user)
    application = make_application(programmer, name="Player", all_channels=False, channels=channels[:2])
    url = reverse("registered_apps:application_detail", kwargs={"application_id": application.pk})

    def grow(statements, clients, days):
        now = timezone.now()
        rows = SoftwareStatement.objects.bulk_create(
            SoftwareStatement(
                application=application, kid="k1", issued_at=now - timedelta(minutes=n), issued_by=rw_user
            )
            for n in range(statements)
        )
        OAuthClient.objects.bulk_create(
            OAuthClient(
                registered_application=application,
                statement=rows[n % len(rows)],
                client_id=f"client-{now.timestamp()}-{n}",
                client_type="confidential",
                authorization_grant_type="client-credentials",
            )
            for n in range(clients)
        )
        UsageDaily.objects.bulk_create(
            UsageDaily(application=application, day=now.date() - timedelta(days=n), platform=platform, tokens=n)
            for n in range(days)
            for platform in ("ios", "roku")
        )

    grow(statements=1, clients=1, days=1)
    small, _ = count_queries(client, url)
    SoftwareStatement.objects.all().delete()
    UsageDaily.objects.all().delete()
    grow(statements=80, clients=40, days=45)
    large, response = count_queries(client, url)
    assert response.context["statement_count"] == 80 and response.context["clients"]["total"] == 40
    assert large == small and large <= DETAIL_QUERY_BUDGET, (small, large)
