"""The oauth API as tests speak it: its paths, registering with a statement, token requests, Basic
credentials, and a snapshot of every table a request could write to."""

import base64
import json
from typing import Any
from urllib.parse import quote_plus, urlencode

from django.apps import apps

REGISTER = "/o/client/register"
TOKEN = "/o/client/token"
INTROSPECT = "/o/client/introspect"
REVOKE = "/o/client/revoke"
SESSION = "/api/v2/session"


def device_info_header(info: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(info).encode()).decode()


def register(client, statement: str, **extra: Any):
    body = {"software_statement": statement, **extra.pop("body", {})}
    return client.post(REGISTER, data=json.dumps(body), content_type="application/json", **extra)


def token_request(client, data: dict[str, str] | str, **extra: Any):
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
    assert response.status_code == 200, response.content
    return response.json()


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def db_snapshot() -> dict[str, int]:
    """Row counts of every table an API request could write to."""
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"oauth", "registered_apps", "software_statements"}
    }


def good(credentials, **overrides):
    """A valid client-credentials token form for `credentials`; an override of None drops that field."""
    data = {
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
