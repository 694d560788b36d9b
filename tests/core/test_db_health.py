"""core.db_health: Django's per-request health check skipped only while the kept connection's socket shows
it open, and a connection PostgreSQL closed still replaced before the query (real PostgreSQL)."""

import time

import psycopg
import pytest
from django.db import connection

from core.db_health import health_check_by_socket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's socket"),
]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _new_request() -> None:
    """A kept connection at the start of a request: its health check is due again (what
    close_if_unusable_or_obsolete does to a connection it keeps)."""
    assert connection.connection is not None and connection.health_check_enabled
    connection.health_check_done = False


def _terminate(pid: int) -> None:
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    ) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)


def test_an_open_idle_connection_needs_no_round_trip() -> None:
    pid = _backend_pid()
    _new_request()
    sent: list[str] = []
    original = psycopg.Connection.execute

    def counting(self: psycopg.Connection, query: str, *args: object, **kwargs: object) -> object:
        sent.append(str(query))
        return original(self, query, *args, **kwargs)  # type: ignore[arg-type]

    psycopg.Connection.execute = counting  # type: ignore[method-assign]
    try:
        health_check_by_socket(connection)
        assert connection.health_check_done
        assert _backend_pid() == pid  # the same connection, and no SELECT 1 before the query
    finally:
        psycopg.Connection.execute = original  # type: ignore[method-assign]
    assert sent == []


def test_a_connection_the_server_closed_is_replaced_before_the_query() -> None:
    pid = _backend_pid()
    _new_request()
    _terminate(pid)
    deadline = time.monotonic() + 5
    while True:  # the server's FATAL message and the end of the stream arrive on the socket
        health_check_by_socket(connection)
        if not connection.health_check_done or time.monotonic() > deadline:
            break
        connection.health_check_done = False
        time.sleep(0.01)
    assert not connection.health_check_done  # left to Django's check, which reconnects
    assert _backend_pid() != pid


def test_inside_a_transaction_the_check_is_left_to_django() -> None:
    _backend_pid()
    _new_request()
    connection.connection.execute("BEGIN")
    try:
        health_check_by_socket(connection)
        assert not connection.health_check_done
    finally:
        connection.connection.execute("ROLLBACK")
