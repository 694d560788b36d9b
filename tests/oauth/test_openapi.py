"""The OpenAPI document: it loads, documents every endpoint, and Schemathesis (property-based requests
generated from it, sent through the real WSGI stack) finds no 5xx and no response that contradicts it."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from dcr_project.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application).include(
    path_regex=r"^/(o/client/|api/v2/|\.well-known/)"
)

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture
def _keep_the_test_connection():
    """As Django's test client does: requests through the raw WSGI app must not close the connection
    that holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("_keep_the_test_connection")
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_every_generated_request_as_documented(case):
    case.call_and_validate(checks=CHECKS)


def test_document_lists_every_endpoint(client):
    document = client.get("/api/schema/?format=json").json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path, method in [
        ("/o/client/register", "post"),
        ("/o/client/token", "post"),
        ("/o/client/introspect", "post"),
        ("/o/client/revoke", "post"),
        ("/api/v2/session", "get"),
        ("/.well-known/oauth-authorization-server", "get"),
    ]:
        assert method in paths[path], path
    assert "application/x-www-form-urlencoded" in paths["/o/client/token"]["post"]["requestBody"]["content"]
    assert set(paths["/o/client/token"]["post"]["responses"]) >= {"201", "400", "401", "429"}
    assert document["components"]["securitySchemes"]["accessToken"]["scheme"] == "bearer"


def test_docs_page_renders_without_any_external_asset(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/o/client/token" in page and "/api/v2/session" in page
    assert "http://" not in page.replace("http://testserver", "") and "https://" not in page
    assert "<script" not in page
