"""A request the client got wrong in a way Django calls suspicious (a Host header not in ALLOWED_HOSTS, a
`_to_field` the admin refuses, too many form fields) is one WARNING line without a traceback, and the
request's own log line with its 400: anyone can send such requests, and a 2 KB traceback each at ERROR
let them fill the log and page whoever watches ERRORs."""

import json
import logging

import pytest
from django.test import override_settings

from core.json_log import JSONFormatter


@pytest.fixture
def records(caplog):
    caplog.set_level(logging.INFO)

    def named(name: str) -> list[logging.LogRecord]:
        return [record for record in caplog.records if record.name == name]

    return named


def assert_one_warning_line(records: list[logging.LogRecord], *, mentions: str) -> None:
    [record] = records
    assert record.levelno == logging.WARNING and record.levelname == "WARNING"
    assert record.exc_info is None and record.exc_text is None and record.stack_info is None
    # As the production formatter writes it, and as the plain one does.
    line = JSONFormatter().format(record)
    assert "\n" not in line and "exc" not in json.loads(line) and json.loads(line)["level"] == "WARNING"
    plain = logging.Formatter("%(levelname)s %(name)s %(message)s").format(record)
    assert "\n" not in plain and "Traceback" not in plain
    assert mentions in plain


def assert_request_line(records: list[logging.LogRecord], status: int) -> None:
    assert [record.status for record in records] == [status]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "method,path",
    [("get", "/"), ("get", "/accounts/login/"), ("get", "/admin/"), ("post", "/o/client/token"), ("get", "/healthz")],
)
def test_a_bad_host_header_is_one_warning_line_and_a_400(db, client, records, method, path):
    response = getattr(client, method)(path, HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert_one_warning_line(records("django.security.DisallowedHost"), mentions="'evil.example'")
    assert_request_line(records("dcr.request"), 400)
    assert not records("django.request")


@override_settings(SECURE_SSL_REDIRECT=True)
def test_a_bad_host_header_is_one_line_also_where_https_is_enforced(db, client, records):
    # SecurityMiddleware reads the host for its redirect, before any other middleware does.
    assert client.get("/", HTTP_HOST="evil.example").status_code == 400
    assert_one_warning_line(records("django.security.DisallowedHost"), mentions="'evil.example'")


def test_a_to_field_the_admin_refuses_is_one_warning_line(login_as, tam, records):
    assert login_as(tam).get("/admin/auth/group/?_popup=1&_to_field=user").status_code == 400
    assert_one_warning_line(records("django.security.DisallowedModelAdminToField"), mentions="user")


def test_too_many_form_fields_is_one_warning_line(db, client, records):
    fields = {f"field{number}": "x" for number in range(1100)}
    assert client.post("/accounts/login/", fields).status_code == 400
    assert_one_warning_line(records("django.security.TooManyFieldsSent"), mentions="DATA_UPLOAD_MAX_NUMBER_FIELDS")


def test_errors_of_this_service_keep_their_level_and_traceback(db, client, records):
    """Only the client mistakes are demoted: an exception in a view is still an ERROR with its traceback."""
    logger = logging.getLogger("django.request")
    try:
        raise RuntimeError("a bug of ours")
    except RuntimeError:
        logger.exception("Internal Server Error: /")
    [record] = records("django.request")
    assert record.levelno == logging.ERROR and record.exc_info is not None
