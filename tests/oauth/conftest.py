"""Fixtures of the oauth tests: a statement, a registered client, and helpers that speak the API."""

import base64
import json
from typing import Any

import pytest

from software_statements.services import software_statement_issue
from tests.hot_state import hot_state_clear

REGISTER = "/o/client/register"
TOKEN = "/o/client/token"
INTROSPECT = "/o/client/introspect"
REVOKE = "/o/client/revoke"
SESSION = "/api/v2/session"


@pytest.fixture(autouse=True)
def _fresh_oauth_state():
    """No client record, verified token, bucket, usage count or key survives from another test."""

    hot_state_clear()
    yield
    hot_state_clear()


@pytest.fixture
def statement(application) -> str:
    token, _ = software_statement_issue(application=application, actor="tests")
    return token


def device_info_header(info: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(info).encode()).decode()


def register(client, statement: str, **extra: Any):
    body = {"software_statement": statement, **extra.pop("body", {})}
    return client.post(REGISTER, data=json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def credentials(client, statement) -> dict[str, Any]:
    response = register(client, statement, HTTP_USER_AGENT="MyApp/1.0 CFNetwork Darwin")
    assert response.status_code == 201, response.content
    return response.json()


def token_request(client, data: dict[str, str] | str, **extra: Any):
    from urllib.parse import urlencode

    body = data if isinstance(data, str) else urlencode(data)
    return client.post(TOKEN, data=body, content_type="application/x-www-form-urlencoded", **extra)


def get_token(client, credentials: dict[str, Any], **params: str) -> dict[str, Any]:
    response = token_request(
        client,
        {
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
            **params,
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


def basic(client_id: str, secret: str) -> str:
    from urllib.parse import quote_plus

    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def db_snapshot() -> dict[str, int]:
    """Row counts of every table an API request could write to."""
    from django.apps import apps

    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"oauth", "registered_apps", "software_statements", "oauth2_provider"}
    }


@pytest.fixture
def unchanged_db():
    """Use as `with unchanged_db(): ...`: asserts that the block wrote no row anywhere."""
    from contextlib import contextmanager

    @contextmanager
    def check():
        before = db_snapshot()
        yield
        assert db_snapshot() == before

    return check
