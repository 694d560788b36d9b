"""Long commands show their progress on stderr (core.progress): plain periodic lines when stderr is not a
terminal (logs, CI), a progress bar (count, percentage, rate, time left) on a terminal (a pseudo-terminal
here); their result line on stdout is unchanged."""

import datetime
import fcntl
import io
import os
import pty
import re
import struct
import termios
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from bench import fleet
from oauth.models import Client
from tests.oauth.api import register

CLIENTS = 10


@pytest.fixture
def clients(client, statement) -> list[str]:
    ids = []
    for _ in range(CLIENTS):
        response = register(client, statement)
        assert response.status_code < 300, response.content
        ids.append(response.json()["client_id"])
    return ids


def idle(client_ids: list[str]) -> None:
    long_ago = timezone.now() - datetime.timedelta(days=900)
    Client.objects.filter(client_id__in=client_ids).update(created=long_ago, last_used_at=long_ago)


def progress_lines(text: str, description: str) -> list[tuple[int, int]]:
    """(done, total) of each periodic line."""
    pattern = rf"^{description}: (\d+) of (\d+) \(\d+%\), [\d,]+/s(?:, about [\d,]+ s left)?$"
    return [(int(done), int(total)) for done, total in re.findall(pattern, text, re.M)]


def test_load_client_records_prints_periodic_lines_when_not_on_a_terminal(clients):
    out, err = io.StringIO(), io.StringIO()
    call_command("load_client_records", "--batch", "1", stdout=out, stderr=err)

    lines = progress_lines(err.getvalue(), "Loading client records")
    # One line each tenth of the way, in order, up to the total.
    assert [done for done, _ in lines] == list(range(1, CLIENTS + 1))
    assert {total for _, total in lines} == {CLIENTS}
    assert re.search(rf"^Loading client records: {CLIENTS} of {CLIENTS} \(100%\) done in ", err.getvalue(), re.M)
    assert out.getvalue() == f"Loaded the records of {CLIENTS} active clients.\n"


def test_purge_idle_clients_prints_periodic_lines_when_not_on_a_terminal(settings, clients):
    settings.DCR_CLIENT_PURGE_DAYS = 400
    idle(clients[:6])
    out, err = io.StringIO(), io.StringIO()
    call_command("purge_idle_clients", "--batch", "2", stdout=out, stderr=err)

    assert progress_lines(err.getvalue(), "Purging idle clients") == [(2, 6), (4, 6), (6, 6)]
    assert re.search(r"^Purging idle clients: 6 of 6 \(100%\) done in ", err.getvalue(), re.M)
    assert out.getvalue() == "Deleted 6 clients idle for 400 days.\n"
    assert Client.objects.count() == CLIENTS - 6


def test_load_client_records_draws_a_bar_on_a_terminal(clients):
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO once the terminal's other side is closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    out = io.StringIO()
    with open(secondary, "w", closefd=True) as terminal:
        call_command("load_client_records", "--batch", "1", stdout=out, stderr=terminal)
    reader.join(timeout=10)
    os.close(main)
    drawn = b"".join(chunks).decode(errors="replace")

    assert "\x1b[" in drawn  # redrawn in place with terminal control sequences, not line by line
    assert "━" in drawn  # rich's bar
    assert f"{CLIENTS}/{CLIENTS}" in drawn and "100%" in drawn  # count and percentage
    assert re.search(r"[\d,]+/s", drawn)  # rate
    assert re.search(r"\d:\d\d:\d\d", drawn)  # time left
    assert "Loading client records:" not in drawn  # no plain lines on a terminal
    assert out.getvalue() == f"Loaded the records of {CLIENTS} active clients.\n"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bench's fleet is seeded with generate_series")
def test_the_bench_fleet_seeding_prints_periodic_lines(transactional_db, clients, capsys):
    # transactional_db: the seeding ends with VACUUM, which no transaction may hold.
    template = clients[0]
    client_secret = "not-used-to-sign-in-here"  # the copies' secret; only their count matters here
    seeded = fleet.seed(template_client_id=template, client_secret=client_secret, count=20, slice_size=5)

    err = capsys.readouterr().err
    assert progress_lines(err, "Seeding the fleet") == [(5, 20), (10, 20), (15, 20), (20, 20)]
    assert re.search(r"^Seeding the fleet: 20 of 20 \(100%\) done in ", err, re.M)
    assert seeded.count == 20
    assert Client.objects.filter(client_id__startswith=fleet.CLIENT_ID_PREFIX).count() == 20
