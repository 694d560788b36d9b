"""The application page when the application has more clients than are worth counting on every view:
exact counts up to a limit, "10,000+" past it, and never a count that reads all of its clients."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from oauth.models import Client as OAuthClient
from registered_apps import selectors
from registered_apps.selectors import ClientCounts, application_client_counts

pytestmark = pytest.mark.django_db


def make_clients(application, count: int, *, revoked: int = 0) -> None:
    now = timezone.now()
    OAuthClient.objects.bulk_create(
        OAuthClient(
            client_id=f"scale-{n:06d}",
            registered_application=application,
            client_type=OAuthClient.CLIENT_CONFIDENTIAL,
            authorization_grant_type=OAuthClient.GRANT_CLIENT_CREDENTIALS,
            client_secret="not-a-secret",
            hash_client_secret=False,
            revoked_at=now if n < revoked else None,
        )
        for n in range(count)
    )


def detail_url(application) -> str:
    return reverse("registered_apps:application_detail", kwargs={"application_id": application.pk})


def test_client_counts_are_exact_up_to_the_limit(application):
    make_clients(application, 4, revoked=1)
    assert application_client_counts(application, limit=4) == ClientCounts(total=4, active=3)
    assert application_client_counts(application) == ClientCounts(total=4, active=3)


def test_client_counts_stop_at_the_limit_and_say_there_are_more(application):
    make_clients(application, 6, revoked=1)
    assert application_client_counts(application, limit=4) == ClientCounts(
        total=4, active=4, total_more=True, active_more=True
    )
    # Over the limit in all, the active ones (5) within it: counted exactly.
    assert application_client_counts(application, limit=5) == ClientCounts(
        total=5, active=5, total_more=True, active_more=False
    )


def test_detail_page_reads_the_clients_only_through_a_limit(login_as, rw_user, application):
    make_clients(application, 12, revoked=2)
    with CaptureQueriesContext(connection) as captured:
        response = login_as(rw_user).get(detail_url(application))
    assert response.status_code == 200
    assert response.context["clients"] == {"total": 12, "active": 10}
    reads = [query["sql"] for query in captured.captured_queries if '"oauth_client"' in query["sql"]]
    assert reads and all(" LIMIT " in sql.upper() for sql in reads), reads


def test_detail_page_past_the_limit_shows_the_limit_and_a_plus(login_as, rw_user, application):
    limit = selectors.CLIENT_COUNT_LIMIT
    make_clients(application, limit + 1, revoked=1)
    response = login_as(rw_user).get(detail_url(application))
    page = response.content.decode()
    assert f'<div class="value" id="client-count">{limit:,}+</div>' in page
    # One is revoked: exactly `limit` are active, and that is counted, not capped.
    assert f"{limit:,} active" in page and f"{limit:,}+ active" not in page
