"""The client admin over a fleet of clients: a client id is found through the unique index, and the
list never counts or scans the whole table (every read of it is bounded by a LIMIT)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oauth.admin import EstimatedCountPaginator
from registered_apps.models import Programmer
from tests.factories import make_application, make_clients

pytestmark = pytest.mark.django_db

LIST = "/admin/oauth/client/"


def client_table_queries(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if '"oauth_client"' in query["sql"]]


def test_search_by_an_exact_client_id_finds_that_client_by_equality(login_as, tam, application):
    make_clients(application, 30)
    admin = login_as(tam)
    with CaptureQueriesContext(connection) as captured:
        page = admin.get(LIST, {"q": "fleet-00012"})
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert [client.client_id for client in page.context["cl"].result_list] == ["fleet-00012"]
    reads = client_table_queries(captured)
    assert reads and all("LIKE" not in sql.upper() for sql in reads), reads
    assert any('"oauth_client"."client_id" = ' in sql for sql in reads), reads


def test_search_by_an_application_name_or_programmer_lists_its_clients(login_as, tam, application):
    other = make_application(Programmer.objects.create(slug="elsewhere-tv", name="Elsewhere TV"), name="Other Player")
    make_clients(application, 3, prefix="mine")
    make_clients(other, 2, prefix="theirs")
    admin = login_as(tam)

    assert application.name == "App"
    by_name = admin.get(LIST, {"q": "aPP"})
    assert sorted(c.client_id for c in by_name.context["cl"].result_list) == ["mine-00000", "mine-00001", "mine-00002"]
    by_programmer = admin.get(LIST, {"q": "elsewhere"})
    assert sorted(c.client_id for c in by_programmer.context["cl"].result_list) == ["theirs-00000", "theirs-00001"]
    # No substring search of client ids: that reads every row of the table.
    assert admin.get(LIST, {"q": "mine-0000"}).context["cl"].result_count == 0


@pytest.mark.parametrize("query", ["", "?platform=ios&state=active", "?p=2"])
def test_client_list_reads_the_client_table_only_with_a_limit(login_as, tam, application, query):
    """No COUNT over the whole table, no DISTINCT of its platforms, no date hierarchy over it."""
    make_clients(application, 150)
    admin = login_as(tam)
    with CaptureQueriesContext(connection) as captured:
        page = admin.get(LIST + query)
    assert page.status_code == 200
    assert len(page.context["cl"].result_list) == (100 if query != "?p=2" else 50)
    reads = client_table_queries(captured)
    assert reads
    for sql in reads:
        assert " LIMIT " in sql.upper(), sql
        assert "DISTINCT" not in sql.upper() and "MIN(" not in sql.upper(), sql


def test_past_the_exact_count_limit_the_list_estimates_on_postgresql(login_as, tam, application, monkeypatch):
    # Above the page size (100), as the real limit is above the admin's "show all" (200): past the
    # limit the list always paginates, whatever the estimate says.
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_limit", 120)
    make_clients(application, 150)
    admin = login_as(tam)
    with CaptureQueriesContext(connection) as captured:
        page = admin.get(LIST)
    assert page.status_code == 200
    assert len(page.context["cl"].result_list) == 100
    body = page.content.decode()
    if connection.vendor == "postgresql":
        # The planner's estimate, said to be one; never a count of the table.
        assert page.context["cl"].paginator.estimated
        assert page.context["cl"].result_count > 120
        assert f"about {page.context['cl'].result_count} clients" in body
        assert all("COUNT(" not in sql.upper() or " LIMIT " in sql.upper() for sql in client_table_queries(captured))
    else:
        assert not page.context["cl"].paginator.estimated
        assert page.context["cl"].result_count == 150
        assert "150 clients" in body and "about" not in body


def test_platform_filter_offers_the_catalog_and_filters(login_as, tam, application):
    make_clients(application, 3, prefix="apple", platform="ios")
    make_clients(application, 2, prefix="stick", platform="roku")
    admin = login_as(tam)
    page = admin.get(LIST)
    # tvOS has no client here; Django's own field filter would only offer the values in the table.
    assert "?platform=tvos" in page.content.decode()
    roku = admin.get(LIST, {"platform": "roku"})
    assert sorted(c.client_id for c in roku.context["cl"].result_list) == ["stick-00000", "stick-00001"]
