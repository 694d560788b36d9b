"""Fixtures of the oauth tests (the statement, the registered client and `unchanged_db` are in tests/conftest.py,
as tests/core/ and tests/dcr_project/ use them too; the helpers that speak the API are in tests/oauth/api.py)."""

import pytest

from tests.oauth.api import get_token


@pytest.fixture
def access_token(client, credentials) -> str:
    return get_token(client, credentials)["access_token"]
