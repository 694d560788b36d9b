"""The structured request log: one JSON object per request with method, path, status, duration, request id and
the authenticated client id; never the query string."""

import json
import logging

import pytest

from core.json_log import JSONFormatter
from core.request_log import RequestIdFilter
from software_statements.services import software_statement_issue
from tests.hot_state import hot_state_clear
from tests.oauth.api import SESSION, basic, register, token_request


@pytest.fixture
def request_lines(caplog):
    """The request log's records as the production JSON formatter writes them."""
    caplog.set_level(logging.INFO, logger="dcr.request")
    formatter, request_ids = JSONFormatter(), RequestIdFilter()

    def lines() -> list[dict]:
        records = [record for record in caplog.records if record.name in ("dcr.request", "django.request")]
        for record in records:
            request_ids.filter(record)
        return [json.loads(formatter.format(record)) for record in records]

    return lines


def test_each_request_is_one_json_line_and_the_query_string_is_left_out(db, client, request_lines):
    response = client.get("/.well-known/jwks.json?access_token=should-not-be-logged", HTTP_X_REQUEST_ID="trace-0001")

    [line] = request_lines()
    assert line["method"] == "GET" and line["path"] == "/.well-known/jwks.json" and line["status"] == 200
    assert line["request_id"] == "trace-0001" == response["X-Request-ID"]
    assert isinstance(line["duration_ms"], float) and line["client_id"] is None
    assert line["logger"] == "dcr.request" and line["level"] == "INFO"
    assert "should-not-be-logged" not in json.dumps(request_lines())


def test_the_authenticated_client_is_logged_and_a_refused_claim_is_not(client, application, request_lines):
    hot_state_clear()
    statement, _ = software_statement_issue(application=application, actor="tests")
    credentials = register(client, statement).json()
    client_id, secret = credentials["client_id"], credentials["client_secret"]
    token = token_request(client, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, secret))
    client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {token.json()['access_token']}")
    token_request(client, {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "wrong"})

    lines = [line for line in request_lines() if line["logger"] == "dcr.request"]
    assert [(line["path"], line["status"], line["client_id"]) for line in lines] == [
        ("/o/client/register", 201, client_id),
        ("/o/client/token", 200, client_id),
        ("/api/v2/session", 200, client_id),
        ("/o/client/token", 400, None),
    ]


def test_djangos_error_line_carries_the_same_request_id(db, client, request_lines):
    response = client.get("/o/client/nothing-here")

    ids = {line["request_id"] for line in request_lines()}
    assert ids == {response["X-Request-ID"]}
    assert {line["logger"] for line in request_lines()} == {"dcr.request", "django.request"}
