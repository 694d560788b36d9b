"""Django's connection health check (`CONN_HEALTH_CHECKS`) without its round trip when nothing can be wrong.

With health checks on, the first query of each request on a kept connection is preceded by `SELECT 1`
(`is_usable()`): a round trip to PostgreSQL, about 75 us of the worker's CPU and some of the server's.
A kept connection that PostgreSQL (or PgBouncer) has closed since its last use has something to read on
its socket: the server's FATAL message (`pg_terminate_backend`, a shutdown) or the end of the stream
(a restart, a killed backend). When the socket has nothing to read, the connection is idle and open as far
as a round trip could tell too, so the check is marked done; when it has, Django's own check runs
(`SELECT 1`, and a reconnect when that fails). A connection that dies without a word (a network
partition) hangs `SELECT 1` as much as the query after it, so nothing is lost there.
"""

import select
from typing import Any

from psycopg import pq


def health_check_by_socket(connection: Any) -> None:
    """Before the first query of a request on `connection`: mark Django's health check done when the
    connection's socket shows it idle and open (no round trip); otherwise leave the check to Django.

    `connection` is a django.db connection (typed Any: the stubs lack its health-check attributes)."""
    if connection.vendor != "postgresql" or not connection.health_check_enabled or connection.health_check_done:
        return
    raw = connection.connection
    if raw is None or raw.closed or raw.broken:
        return
    pgconn = raw.pgconn
    if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except (OSError, ValueError):
        return
    if not readable:
        connection.health_check_done = True
