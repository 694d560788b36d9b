"""Helpers the tests import (fixtures stay in the conftest files): the API's error shape, the Redis
marker, the migrated catalogs."""

import importlib
import os
from typing import Any

import pytest

from registered_apps.models import Platform, Scope


def seed_catalogs() -> None:
    """The platform and scope catalogs as the data migration writes them (idempotent)."""
    seed = importlib.import_module("registered_apps.migrations.0002_catalogs")
    for code, name in seed.PLATFORMS:
        Platform.objects.get_or_create(code=code, defaults={"name": name})
    for code, name in seed.SCOPES:
        Scope.objects.get_or_create(code=code, defaults={"name": name})


def assert_json_error(response, status: int, error: str) -> dict[str, Any]:
    """The documented error shape: JSON with `error` and a one-sentence `error_description`."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["error"] == error, body
    assert isinstance(body["error_description"], str) and body["error_description"]
    return body


def assert_api_error(response, status: int, code: str, action: str) -> dict[str, Any]:
    """The protected API's error shape (the original's enhanced error codes, oauth/api_errors.py): the
    status repeated, the code, a sentence, the action, a help URL and the request id as `trace`."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) - {"details"} == {"status", "code", "message", "action", "helpUrl", "trace"}, body
    assert (body["status"], body["code"], body["action"]) == (status, code, action), body
    assert isinstance(body["message"], str) and body["message"]
    assert body["helpUrl"].endswith("/api/docs/") and body["trace"] == response["X-Request-ID"], body
    return body


requires_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI provides it)")


def push_all(user, environment=None, description: str = "Pushed by the tests"):
    """Push a user's pending changes in an environment (default: production), as the review page does;
    fails the test when the push fails."""
    from registered_apps.environments import environment_production
    from registered_apps.models import Environment, PushStatus
    from registered_apps.services.changes.pushing import pending_changes_push

    if environment is None:
        environment = Environment.objects.get(pk=environment_production().id)
    elif isinstance(environment, str):
        environment = Environment.objects.get(slug=environment)
    push = pending_changes_push(user=user, environment=environment, description=description)
    assert push.status == PushStatus.SUCCESSFUL, push.failure
    return push
