"""Fixtures of the registered_apps tests (helpers they import: tests/registered_apps/helpers.py)."""

import pytest


@pytest.fixture
def admin_client(login_as, tam):
    """The Django test client signed in as a TAM (staff, second factor verified)."""
    return login_as(tam)
