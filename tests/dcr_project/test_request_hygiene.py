"""A NUL in the query string is a 400 everywhere (PostgreSQL text cannot hold one: the admin's list
filters answered 500), JSON on the API paths, and nothing else changes for ordinary queries."""

import pytest

from tests.helpers import assert_api_error, assert_json_error


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


@pytest.mark.parametrize("path", ["/.well-known/jwks.json?%00", "/o/client/token?a=%00"])
def test_api_paths_answer_the_json_error(client, path, db):
    response = client.get(path)
    assert_json_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [("/api/v2/session?x=%00", 400, "bad_request"), ("/api/v2/nothing-here", 404, "bad_request")],
)
def test_the_protected_api_answers_in_its_enhanced_error_shape(client, path, status, code, db):
    assert_api_error(client.get(path), status, code, "none")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/oauth/client/?created__year=99999999999999999999",
        "/admin/registered_apps/registeredapplication/?created_at__year=99999999999999999999",
        "/admin/software_statements/softwarestatement/?issued_at__year=99999999999999999999",
        "/admin/registered_apps/auditevent/?created_at__year=99999999999999999999",
        "/admin/registered_apps/usagedaily/?day__year=99999999999999999999",
        "/admin/registered_apps/usagedaily/?day__year=2026&day__month=99999999999999999999",
        "/admin/registered_apps/auditevent/?created_at__year=2026&created_at__month=1&created_at__day=99999999999999",
        "/admin/oauth/client/?last_used_at__year=99999999999999999999",
        "/admin/oauth/client/?created__year=-99999999999999999999",
    ],
)
def test_admin_date_filters_out_of_range_are_not_500(login_as, tam, application, path):
    response = login_as(tam).get(path)
    # Django's answer to lookups it cannot apply: back to the list with ?e=1.
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_admin_date_filters_in_range_still_filter(login_as, tam, application):
    year = application.created_at.year
    page = login_as(tam).get(f"/admin/registered_apps/registeredapplication/?created_at__year={year}")
    assert page.status_code == 200
    assert str(application.pk) in page.content.decode()
    page = login_as(tam).get(f"/admin/registered_apps/registeredapplication/?created_at__year={year - 1}")
    assert page.status_code == 200
    assert str(application.pk) not in page.content.decode()


def test_an_admin_list_whose_query_can_match_nothing_answers_200(login_as, tam, application):
    # `pk__in=` with nothing in it compiles to no query at all (EmptyResultSet).
    response = login_as(tam).get("/admin/registered_apps/registeredapplication/?id__in=")
    assert response.status_code in (200, 302)
    assert response.status_code != 500


# --- Request header fields over the limits (dcr_project.middleware.RequestHeadLimitMiddleware) --------


@pytest.mark.parametrize("path", ["/o/client/token", "/api/v2/session", "/.well-known/jwks.json"])
def test_a_header_field_over_8_kib_on_an_api_path_is_the_json_431(client, path, db):
    response = client.get(path, headers={"X-Padding": "a" * (8 * 1024)})
    if path.startswith("/api/v2/"):  # the protected API's enhanced error codes
        body = assert_api_error(response, 431, "bad_request", "none")
        assert "header" in body["message"]
    else:
        body = assert_json_error(response, 431, "invalid_request")
        assert "header" in body["error_description"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Request-ID"]


def test_header_fields_over_32_kib_in_all_are_the_json_431(client, db):
    headers = {f"X-Padding-{index}": "a" * (7 * 1024) for index in range(5)}
    assert_json_error(client.get("/.well-known/jwks.json", headers=headers), 431, "invalid_request")


def test_headers_within_the_limits_change_nothing(client, db):
    headers = {f"X-Padding-{index}": "a" * (7 * 1024) for index in range(4)}
    assert client.get("/.well-known/jwks.json", headers=headers).status_code == 200


def test_a_header_over_the_limit_on_a_page_is_a_plain_431(client, db):
    response = client.get("/accounts/login/", headers={"Cookie": "a=" + "b" * (9 * 1024)})
    assert response.status_code == 431
    assert response["Content-Type"].startswith("text/plain")
