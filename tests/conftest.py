"""Fixtures more than one test package uses: a programmer with three channels, its users, `login_as`,
`eager_tasks`, the production and staging environments, a statement and the client registered with it,
`unchanged_db`. Helpers that tests import live in tests/helpers.py (and tests/<package>/helpers.py,
tests/oauth/api.py); every test module imports them as `from tests.<module> import ...`."""

from contextlib import contextmanager
from typing import Any

import pytest
from django.core.cache import cache

from registered_apps import services
from registered_apps.models import Access, Environment
from software_statements import keys
from software_statements.services import software_statement_issue
from tests.factories import ChannelFactory, ProgrammerFactory, UserFactory, make_application, member
from tests.helpers import seed_catalogs
from tests.hot_state import hot_state_clear
from tests.oauth.api import db_snapshot, register
from tests.two_factor import verify_session


def pytest_configure(config):
    """The French catalogue compiled from its .po (as `make install` does), so that `pytest` run alone
    serves French too (tools/compile_messages.py; a no-op when the .mo is up to date)."""
    from tools.compile_messages import compile_messages

    compile_messages()


@pytest.fixture(autouse=True)
def _clean_cache():
    """Each test starts with an empty cache and no revocation stamps (the real Redis in CI: FLUSHDB)."""
    cache.clear()
    hot_state_clear()
    yield
    cache.clear()
    hot_state_clear()


@pytest.fixture(autouse=True)
def _fresh_key_caches():
    """No signing key cached in this process survives from another test (software_statements.keys)."""
    keys.clear_key_caches()
    yield
    keys.clear_key_caches()


def _is_transactional(request) -> bool:
    if {"transactional_db", "live_server"} & set(request.fixturenames):
        return True
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))


@pytest.fixture(autouse=True)
def _catalogs_in_transactional_tests(request):
    """A transactional test's teardown flushes every table, the migrated catalogs included, so the
    next transactional test would find none: put them back first (plain tests roll back instead)."""
    if _is_transactional(request):
        if request.node.get_closest_marker("django_db"):
            request.getfixturevalue("_django_db_helper")
        else:
            request.getfixturevalue("transactional_db")
        seed_catalogs()


@pytest.fixture
def programmer(db):
    return ProgrammerFactory(slug="demo-networks", name="Demo Networks")


@pytest.fixture
def channels(programmer):
    return [ChannelFactory(programmer=programmer, slug=slug) for slug in ("demo-one", "demo-two", "demo-three")]


@pytest.fixture
def rw_user(programmer, channels):
    user = UserFactory(username="rw")
    member(user, programmer, Access.READ_WRITE)
    return user


@pytest.fixture
def ro_user(programmer, channels):
    user = UserFactory(username="ro")
    member(user, programmer, Access.READ_ONLY)
    return user


@pytest.fixture
def channel_user(programmer, channels):
    user = UserFactory(username="channel-one")
    member(user, programmer, Access.READ_WRITE, channels=[channels[0]])
    return user


@pytest.fixture
def other_user(db):
    other = ProgrammerFactory(slug="other-networks", name="Other Networks")
    ChannelFactory(programmer=other, slug="other-one")
    user = UserFactory(username="other")
    member(user, other, Access.READ_WRITE)
    return user


@pytest.fixture
def tam(db):
    return UserFactory(username="tam", is_staff=True, is_superuser=True)


@pytest.fixture
def application(programmer, channels):
    return make_application(programmer)


@pytest.fixture
def login_as(client):
    """Sign a user in; a staff user's session is also verified by their authenticator app (the second
    factor the admin and the dashboard require of staff)."""

    def _login(user):
        client.force_login(user)
        if user.is_staff:
            verify_session(client, user)
        return client

    return _login


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in the test's process even when REDIS_URL names a broker (no worker needed)."""
    from dcr_project.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture
def production(db) -> Environment:
    return Environment.objects.get(is_production=True)


@pytest.fixture
def staging(db) -> Environment:
    return Environment.objects.get(slug="release-staging")


@pytest.fixture
def staging_channels(channels, staging):
    """The demo channels with the same host names and their own generated schemes in Release Staging."""
    for channel in channels:
        services.channel_domain_add(
            channel=channel, host=f"watch.{channel.slug}.example.com", environment=staging, actor="tests"
        )
        services.custom_scheme_create(channel=channel, environment=staging, actor="tests")
    return channels


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
