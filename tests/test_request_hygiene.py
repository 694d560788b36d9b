"""A NUL in the query string is a 400 everywhere (PostgreSQL text cannot hold one: the admin's list
filters answered 500), JSON on the API paths, and nothing else changes for ordinary queries."""

import pytest

from tests.conftest import assert_json_error


@pytest.mark.parametrize("query", ["status__exact=%00", "q=%00", "status__exact=a%00b"])
def test_admin_list_filter_with_nul_is_400_not_500(login_as, tam, application, query):
    response = login_as(tam).get(f"/admin/registered_apps/registeredapplication/?{query}")
    assert response.status_code == 400


def test_admin_list_filter_still_filters(login_as, tam, application):
    response = login_as(tam).get("/admin/registered_apps/registeredapplication/?status__exact=active")
    assert response.status_code == 200
    assert application.name in response.content.decode()


def test_dashboard_search_with_nul_is_400(login_as, rw_user, programmer, application):
    response = login_as(rw_user).get(f"/programmers/{programmer.slug}/?q=a%00")
    assert response.status_code == 400
    assert login_as(rw_user).get(f"/programmers/{programmer.slug}/?q={application.name}").status_code == 200


@pytest.mark.parametrize("path", ["/api/v2/session?x=%00", "/.well-known/jwks.json?%00", "/o/client/token?a=%00"])
def test_api_paths_answer_the_json_error(client, path, db):
    response = client.get(path)
    assert_json_error(response, 400, "invalid_request")
