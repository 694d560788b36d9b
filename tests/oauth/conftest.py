"""Fixtures of the oauth tests: a statement, a registered client, a database that must stay unchanged. The
helpers that speak the API are in tests/oauth/api.py."""

from contextlib import contextmanager
from typing import Any

import pytest

from software_statements.services import software_statement_issue
from tests.hot_state import hot_state_clear

from .api import db_snapshot, register


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


@pytest.fixture
def credentials(client, statement) -> dict[str, Any]:
    response = register(client, statement, HTTP_USER_AGENT="MyApp/1.0 CFNetwork Darwin")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def unchanged_db():
    """Use as `with unchanged_db(): ...`: asserts that the block wrote no row anywhere."""

    @contextmanager
    def check():
        before = db_snapshot()
        yield
        assert db_snapshot() == before

    return check
