"""The fleet: a million clients in the table, token requests from a client picked at random each time, and
bearer calls with the tokens of thousands of clients (README "Against the floor: `make bench`").

Production never asks for tokens from one client over and over: every install registers its own client
and comes back about once per token lifetime, so nearly every request is from a client that no worker
has seen for hours. These scenarios measure that case.

How the fleet is seeded, fast: one client is registered through the real endpoint (`POST
/o/client/register`, in `bench.scenarios.build`), then its row is copied `BENCH_FLEET_CLIENTS` times in
one `INSERT ... SELECT ... FROM generate_series(1, n)` on PostgreSQL, each copy with a new `client_id`
(`bench-fleet-0000001`, ... numbered, so wrk's Lua script computes them instead of reading a list) and
a `created` spread over the past year. Every copy's `client_secret` is the hash of the one plaintext
secret the registration returned, made as registration makes it (the current key, salted with the
copy's own client id: pgcrypto's `hmac` in the same statement), so that secret authenticates every copy
and the token path compares hashes without reading a salt first. A `VACUUM ANALYZE` of the table
follows, as autovacuum would do within a minute after such a load in production: the planner gets
statistics for a table it last saw nearly empty, and the visibility map lets counts use index-only
scans. Registration also writes a `client.register` audit event for the programmer: each copy gets a
copy of the original's, so the programmer's changes log is as long as production's would be.

Registration writes each client's record to the hot-path store; the copies skip registration, so their
records are then written the way an operator would after a bulk import (`manage.py
load_client_records`), when that command exists and BENCH_FLEET_LOAD_RECORDS is not 0. With 0, every
fleet request measures the store's miss (a read-through from PostgreSQL), as after Redis lost its data.
"""

import atexit
import io
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.progress import ProgressMeter

from . import http
from .wrk import Request, lua_string

CLIENT_ID_PREFIX = "bench-fleet-"
SEED_SLICE = 50_000
TOKEN_PATH = "/o/client/token"
SESSION_PATH = "/api/v2/session"
FORM = "application/x-www-form-urlencoded"

# Seeds each wrk thread's random generator with the run's seed and the thread's index (set by
# report.lua's setup()), so that two threads, or two slices of one scenario, never replay one sequence.
_SEED_RANDOM = """
local seeded = false
local function seed_once()
  if not seeded then
    math.randomseed(bench_seed + 7919 * (thread_index or 0))
    seeded = true
  end
end
"""


def client_id(count: int, number: int) -> str:
    """The id of copy `number` (1 to `count`) of a fleet of `count` clients."""
    return f"{CLIENT_ID_PREFIX}{number:0{max(7, len(str(count)))}d}"


@dataclass(frozen=True)
class Fleet:
    """`count` copies of one registered client, all authenticated by `client_secret`."""

    count: int
    client_secret: str
    template_client_id: str
    seed_seconds: float
    vacuum_seconds: float
    audit_events: int = 0

    @property
    def width(self) -> int:
        return max(7, len(str(self.count)))

    def client_id(self, number: int) -> str:
        return client_id(self.count, number)


def seed(*, template_client_id: str, client_secret: str, count: int, slice_size: int = SEED_SLICE) -> Fleet:
    """Copy the template client's row `count` times in one transaction (PostgreSQL only)."""
    from django.db import connection, transaction

    from oauth.hashers import ALGORITHM, client_secret_current_key
    from oauth.models import Client
    from registered_apps.models import AuditEvent

    if connection.vendor != "postgresql":
        raise RuntimeError("the fleet is seeded with generate_series: PostgreSQL only")
    key_id, hmac_key = client_secret_current_key()
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
    table = connection.ops.quote_name(Client._meta.db_table)
    width = max(7, len(str(count)))
    targets, sources, parameters = [], [], []
    for field in Client._meta.concrete_fields:
        column = connection.ops.quote_name(field.column)
        if field.primary_key:
            continue  # the identity column numbers the copies
        targets.append(column)
        if field.name == "client_id":
            sources.append(f"%s || lpad(g::text, {width}, '0')")
            parameters.append(CLIENT_ID_PREFIX)
        elif field.name == "client_secret":
            # The same secret, hashed as registration hashes it: under the current key, salted with
            # the copy's own client id (pgcrypto's hmac), so the token path's store can compare it.
            client_id_sql = f"(%s || lpad(g::text, {width}, '0'))"
            sources.append(
                f"%s || {client_id_sql} || '$' || "
                f"encode(hmac(convert_to({client_id_sql} || '$' || %s, 'UTF8'), %s, 'sha256'), 'hex')"
            )
            parameters += [f"{ALGORITHM}${key_id}$", CLIENT_ID_PREFIX, CLIENT_ID_PREFIX, client_secret, hmac_key]
        elif field.name == "created":
            # Spread over about a year, newest first, like a fleet that grew over time.
            sources.append(f"source.{column} - make_interval(secs => (g * 31536000.0 / %s)::float8)")
            parameters.append(count)
        else:
            sources.append(f"source.{column}")
    statement = (
        f"INSERT INTO {table} ({', '.join(targets)}) SELECT {', '.join(sources)} "
        f"FROM {table} AS source CROSS JOIN generate_series(%s, %s) AS g WHERE source.client_id = %s"
    )
    started = time.monotonic()
    inserted = 0
    # In slices of `slice_size` copies, so that the progress (a bar on a terminal, lines otherwise) moves.
    with transaction.atomic(), ProgressMeter("Seeding the fleet", stream=sys.stderr, total=count) as progress:
        for first in range(1, count + 1, slice_size):
            last = min(count, first + slice_size - 1)
            with connection.cursor() as cursor:
                cursor.execute(statement, [*parameters, first, last, template_client_id])
                inserted += cursor.rowcount
            progress.advance(last - first + 1)
    if inserted != count:
        raise RuntimeError(f"copying client {template_client_id!r} inserted {inserted} rows, not {count}")
    audit_events = _copy_registration_events(template_client_id)
    seeded = time.monotonic() - started
    started = time.monotonic()
    with connection.cursor() as cursor:
        # Outside a transaction: Django runs in autocommit.
        cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(AuditEvent._meta.db_table)}")
    return Fleet(
        count=count,
        client_secret=client_secret,
        template_client_id=template_client_id,
        seed_seconds=round(seeded, 1),
        vacuum_seconds=round(time.monotonic() - started, 1),
        audit_events=audit_events,
    )


def _copy_registration_events(template_client_id: str) -> int:
    """Each registration writes a `client.register` audit event for its programmer: give every copy a
    copy of the template's, dated like the copy, so the programmer's changes log holds as many rows as
    production's would. Returns how many were written (0 when the template has none)."""
    from django.db import connection

    from oauth.models import Client
    from registered_apps.models import AuditEvent

    quote = connection.ops.quote_name
    targets, sources = [], []
    for field in AuditEvent._meta.concrete_fields:
        if field.primary_key:
            continue
        targets.append(quote(field.column))
        if field.name == "object_id":
            sources.append(f"CAST(copy.{quote('id')} AS varchar)")
        elif field.name == "created_at":
            sources.append(f"copy.{quote('created')}")
        else:
            sources.append(f"event.{quote(field.column)}")
    clients, events = quote(Client._meta.db_table), quote(AuditEvent._meta.db_table)
    template_pk = Client.objects.values_list("pk", flat=True).get(client_id=template_client_id)
    statement = (
        f"INSERT INTO {events} ({', '.join(targets)}) SELECT {', '.join(sources)} "
        f"FROM {clients} AS copy CROSS JOIN (SELECT * FROM {events} WHERE {quote('action')} = 'client.register' "
        f"AND {quote('object_id')} = %s LIMIT 1) AS event WHERE copy.{quote('client_id')} LIKE %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [str(template_pk), CLIENT_ID_PREFIX + "%"])
        return int(cursor.rowcount)


def load_records() -> float | None:
    """`manage.py load_client_records`: the seconds it took, or None when the command does not exist."""
    from django.core.management import call_command, get_commands

    if "load_client_records" not in get_commands():
        return None
    started = time.monotonic()
    call_command("load_client_records", stdout=io.StringIO())
    return round(time.monotonic() - started, 1)


def _token_body(fleet: Fleet, client_id: str) -> str:
    return http.form({"grant_type": "client_credentials", "client_secret": fleet.client_secret, "client_id": client_id})


def token_request(fleet: Fleet) -> tuple[Request, Callable[[], Request]]:
    """The wrk request (a client picked at random per request, in Lua) and a Python sampler of the same."""

    def one(number: int) -> Request:
        return Request(
            "POST",
            TOKEN_PATH,
            _token_body(fleet, fleet.client_id(number)),
            {"Content-Type": FORM, "Accept": "application/json"},
            '"access_token"',
        )

    # The form's fields are URL-safe already (token_urlsafe secret, [A-Za-z0-9-] ids).
    body_prefix = _token_body(fleet, "")
    lua = (
        _SEED_RANDOM
        + f"""
local fleet_size = {fleet.count}
local id_format = {lua_string(CLIENT_ID_PREFIX + "%0" + str(fleet.width) + "d")}
local body_prefix = {lua_string(body_prefix)}

function request()
  seed_once()
  return wrk.format(nil, nil, nil, body_prefix .. string.format(id_format, math.random(1, fleet_size)))
end
"""
    )
    example = one(1)
    request = Request(example.method, example.path, example.body, example.headers, example.expect_body, lua=lua)
    return request, lambda: one(random.randint(1, fleet.count))


def mint_tokens(base_url: str, fleet: Fleet, count: int, *, threads: int = 8) -> list[str]:
    """Access tokens of `count` distinct fleet clients picked at random, through the real token endpoint."""
    numbers = random.sample(range(1, fleet.count + 1), min(count, fleet.count))

    def mint(number: int) -> str:
        answer = http.request(
            base_url,
            "POST",
            TOKEN_PATH,
            _token_body(fleet, fleet.client_id(number)),
            {"Content-Type": FORM, "Accept": "application/json"},
        )
        if answer.status // 100 != 2:
            raise RuntimeError(f"minting a token for {fleet.client_id(number)} answered {answer.describe()}")
        return str(answer.json()["access_token"])

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(mint, numbers))


def session_request(tokens: list[str]) -> tuple[Request, Callable[[], Request]]:
    """GET /api/v2/session with one of `tokens` picked at random per request; wrk reads them from a file
    (one per line) that lives until the harness exits."""
    handle, name = tempfile.mkstemp(prefix="dcr-bench-fleet-tokens-", suffix=".txt")
    with os.fdopen(handle, "w") as file:
        file.write("\n".join(tokens) + "\n")
    atexit.register(Path(name).unlink, missing_ok=True)

    def one(token: str) -> Request:
        return Request(
            "GET",
            SESSION_PATH,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            expect_body='"client_id"',
        )

    lua = (
        _SEED_RANDOM
        + f"""
local tokens = nil

function request()
  seed_once()
  if tokens == nil then
    tokens = {{}}
    for line in io.lines({lua_string(name)}) do
      if line ~= "" then tokens[#tokens + 1] = line end
    end
  end
  local headers = {{["Accept"] = "application/json", ["Authorization"] = "Bearer " .. tokens[math.random(1, #tokens)]}}
  return wrk.format(nil, nil, headers, nil)
end
"""
    )
    example = one(tokens[0])
    request = Request(example.method, example.path, headers=example.headers, expect_body=example.expect_body, lua=lua)
    return request, lambda: one(random.choice(tokens))


def worker_rss(master_pid: int) -> list[dict[str, Any]]:
    """VmRSS of each child of the gunicorn master (its workers), from /proc, in MiB."""
    workers = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            # The command name may hold spaces and parentheses: the fields after the last ")" are fixed.
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent != master_pid:
                continue
            status = Path(f"/proc/{entry}/status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        rss_kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), None)
        if rss_kib is not None:
            workers.append({"pid": int(entry), "rss_mib": round(rss_kib / 1024, 1)})
    return sorted(workers, key=lambda worker: worker["pid"])
