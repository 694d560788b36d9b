"""The OpenAPI document: it loads, documents every endpoint, and Schemathesis (property-based requests
generated from it, sent through the real WSGI stack) finds no 5xx and no response that contradicts it."""

from collections import Counter

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
    assert set(paths["/o/client/token"]["post"]["responses"]) >= {"200", "400", "401", "429"}
    assert document["components"]["securitySchemes"]["accessToken"]["scheme"] == "bearer"


def test_docs_page_renders_without_any_external_asset(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/o/client/token" in page and "/api/v2/session" in page
    assert "http://" not in page.replace("http://testserver", "") and "https://" not in page
    assert "<script" not in page


# --- Stateful: the document's links chain register -> token -> session / introspect -> revoke ---------

STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 6
_REGISTER = "POST /o/client/register"
_DEVICE = ("X-Device-Info", "AP-Device-Identifier")


# The flow leaves out the RFC 7592 operations: a generated call there spends a step on a 401 (its path
# names a client), a linked DELETE would end the flow; the stateless test above and
# tests/oauth/test_client_configuration.py drive them.
_FLOW = schema.exclude(path_regex=r"^/o/client/register/")


class ClientFlow(_FLOW.as_state_machine()):  # type: ignore[misc]
    """Schemathesis' state machine over the linked operations. A registration needs a statement only
    the registry can issue, so every generated registration carries the real one (and no generated
    X-Device-Info or redirect_uri, nor a session call generated device headers, which
    tests/oauth/test_hostile_generated.py covers); everything after it follows the links with the
    credentials and tokens the API answered."""

    statement = ""
    outcomes: Counter[tuple[str, int]] = Counter()
    active_introspections = 0

    def before_call(self, case):
        if case.operation.label == _REGISTER:
            case.body = {"software_statement": self.statement}
        if case.operation.label in (_REGISTER, "GET /api/v2/session"):
            case.headers = {name: value for name, value in (case.headers or {}).items() if name not in _DEVICE}

    def after_call(self, response, case):
        type(self).outcomes[(case.operation.label, response.status_code)] += 1
        if case.operation.label == "POST /o/client/introspect" and response.status_code == 200:
            type(self).active_introspections += response.json().get("active") is True

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        case.validate_response(response, checks=CHECKS)


@pytest.mark.django_db
@pytest.mark.usefixtures("_keep_the_test_connection")
def test_linked_flow_answers_as_documented_and_reaches_the_api_with_a_real_token(statement):
    ClientFlow.statement = statement
    ClientFlow.outcomes = Counter()
    ClientFlow.active_introspections = 0
    ClientFlow.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )
    outcomes = ClientFlow.outcomes
    print(f"stateful: {sum(outcomes.values())} calls in {STATEFUL_SCENARIOS} scenarios:", dict(outcomes))
    assert outcomes[(_REGISTER, 201)] and outcomes[("POST /o/client/token", 200)], outcomes
    assert outcomes[("GET /api/v2/session", 200)], outcomes
    assert ClientFlow.active_introspections, outcomes
    assert outcomes[("POST /o/client/revoke", 200)], outcomes


def test_document_links_register_to_token_to_session_introspect_and_revoke(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    links = {
        (path, status): {name: link["operationId"] for name, link in response.get("links", {}).items()}
        for path, methods in paths.items()
        for operation in methods.values()
        for status, response in operation["responses"].items()
    }
    assert links[("/o/client/register", "201")] == {"token": "client_token"}
    assert links[("/o/client/token", "200")] == {
        "session": "session",
        "introspect": "client_introspect",
        "revoke": "client_revoke",
    }
    assert links[("/o/client/introspect", "200")] == {"revoke": "client_revoke"}
