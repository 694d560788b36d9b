"""The abuse signals' counters: kept by the registration's and the token's own round trip (Redis, or this
process without it), flushed into the hourly rows by the signals task, each count once."""

import pytest
from django.test import override_settings

from core.hot_store.signal_counts import NETWORKS_TTL, network_of, networks_key, signal_hour
from core.redis import redis_client
from oauth.signal_flush import crowded_networks
from oauth.tasks import signals_compute_now
from software_statements.models import StatementHour
from software_statements.services import software_statement_issue
from tests.oauth.api import device_info_header, get_token, register

ANDROID = device_info_header({"osName": "Android", "model": "Pixel"})
IOS = device_info_header({"osName": "iOS", "model": "iPhone"})

pytestmark = pytest.mark.django_db


def _register(client, statement, address, info):
    response = register(client, statement, REMOTE_ADDR=address, HTTP_X_DEVICE_INFO=info)
    assert response.status_code == 201, response.content
    return response.json()


def _scenario(client, application):
    token, statement = software_statement_issue(application=application, actor="tests")
    first = _register(client, token, "203.0.113.5", IOS)
    second = _register(client, token, "203.0.113.6", ANDROID)
    _register(client, token, "198.51.100.7", ANDROID)
    get_token(client, first)
    get_token(client, first)
    get_token(client, first)  # a third token counts nothing more
    get_token(client, second)
    return statement


def _assert_hour(statement):
    row = StatementHour.objects.get(statement=statement)
    assert (row.registrations, row.first_tokens, row.second_tokens) == (3, 2, 1)
    assert row.foreign_platforms == {"android": 2}  # the application is made for iOS only
    assert row.application_id == statement.application_id


def test_redis_counts_go_to_the_hourly_rows_once(client, application, django_assert_num_queries):
    statement = _scenario(client, application)
    hour = signal_hour()
    crowded = crowded_networks([hour], 2)
    assert [(c.network, c.clients, c.statement_jti) for c in crowded] == [("203.0.113.0/24", 2, str(statement.jti))]
    ttl = redis_client().ttl(networks_key(hour))
    assert 0 < ttl <= NETWORKS_TTL
    signals_compute_now()
    _assert_hour(statement)
    signals_compute_now()  # nothing pending: nothing added twice
    _assert_hour(statement)


def test_a_token_still_reads_and_writes_no_database(client, application, django_assert_num_queries):
    token, _ = software_statement_issue(application=application, actor="tests")
    credentials = _register(client, token, "203.0.113.5", IOS)
    get_token(client, credentials)
    with django_assert_num_queries(0):
        get_token(client, credentials)  # the second token: counted for the signals in the same script


@override_settings(REDIS_URL="")
def test_without_redis_this_process_counts_the_same(client, application):
    statement = _scenario(client, application)
    crowded = crowded_networks([signal_hour()], 2)
    assert [(c.network, c.clients) for c in crowded] == [("203.0.113.0/24", 2)]
    signals_compute_now()
    _assert_hour(statement)


@pytest.mark.parametrize(
    ("address", "network"),
    [("203.0.113.77", "203.0.113.0/24"), ("2001:db8:1:2::5", "2001:db8:1::/48"), (None, ""), ("nonsense", "")],
)
def test_network_of_an_address(address, network):
    assert network_of(address) == network
