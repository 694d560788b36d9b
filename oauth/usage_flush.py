"""The usage flush: pending counters (see `oauth.usage`) into `UsageDaily` rows, each count exactly once.

1. Claim: one Lua call RENAMEs the pending hash to `dcr:usage:batch:<uuid>`. From then on the batch
   never changes (new events go to a fresh pending hash).
2. Count: in ONE database transaction, insert the ledger row `UsageFlushBatch(batch_id)` (unique),
   then add the batch's counts to the daily rows (`INSERT ... ON CONFLICT DO UPDATE SET x = x + n`).
3. Forget: DEL the batch key.

Every run first claims, then processes every `dcr:usage:batch:*` key it finds, its own and any left
by a flush that died. A batch whose id is in the ledger was counted: its key is only deleted. Two
flushes working on the same batch race on the ledger's primary key, so one commits and the other
rolls back. A crash before the commit leaves the batch for the next run; one after the commit
leaves only a key that the next run deletes. No count is lost, none is added twice.

On Redis Cluster (REDIS_CLUSTER_NODES, `core.hot_store.cluster_store`) the pending hashes are one per
shard (`{<shard tag>}:dcr:usage:pending`): a run claims each shard's hash once (RENAME within its slot to
`{<shard tag>}:dcr:usage:batch:<uuid>`), then scans every primary for batch keys and counts each as
above, so every batch, whichever shard it came from, has its own ledger row and is counted exactly once.

The in-process fallback counter (`oauth.usage.local_usage`: no REDIS_URL, or Redis down while the
event happened) is drained into its own batch; it lives and dies with this process.

Clients' last use rides along (`last_used_flush`): the token path records a client's use at most once
a day in the hash `dcr:lastused:pending` (client pk -> unix time), never in the database. A flush
claims that hash the same way and writes it in ONE statement per batch. Setting a time that is only
ever moved forward is idempotent, so a batch written twice changes nothing and needs no ledger.
"""

import dataclasses
import logging
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import redis
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from redis.cluster import RedisCluster

from core import process_state
from core.conf import dcr
from core.hot_store import LAST_USED_PENDING_KEY, local_last_used
from core.hot_store.cluster_connect import cluster_connect
from core.hot_store.cluster_store import PREFIXES
from core.metrics import usage_flush_succeeded
from core.redis import redis_connect, redis_settings
from registered_apps.models import RegisteredApplication, UsageDaily

from .models import Client, UsageFlushBatch
from .usage import PENDING_KEY, local_usage, usage_field_parse

logger = logging.getLogger(__name__)

BATCH_PREFIX = "dcr:usage:batch:"
LAST_USED_BATCH_PREFIX = "dcr:lastused:batch:"
# Ledger rows only need to outlive a leftover batch key, which the next run (a minute later) deletes.
LEDGER_RETENTION = timedelta(days=7)

_CLAIM_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  return 1
end
return 0
"""


@dataclasses.dataclass
class FlushReport:
    batches: int = 0
    already_counted: int = 0
    registrations: int = 0
    tokens: int = 0
    dropped: int = 0
    last_used: int = 0


@process_state.memoized("usage-flush-redis-clients", maxsize=4)
def _redis(url: str, sentinels: tuple[str, ...], service: str) -> redis.Redis:
    # Not the request path's client: a flush may read a large hash, so it gets longer timeouts.
    return redis_connect(url, sentinels, service, socket_connect_timeout=2, socket_timeout=30)


UsageClient = redis.Redis | RedisCluster


def usage_redis() -> UsageClient | None:
    """The hot-path store's Redis (a cluster with REDIS_CLUSTER_NODES), with the flush's timeouts."""
    nodes = dcr.redis_cluster_nodes
    if nodes:
        return cluster_connect(nodes, socket_connect_timeout=2, socket_timeout=30)
    url, sentinels, service = redis_settings()
    return _redis(url, sentinels, service) if url else None


def _plain_redis() -> redis.Redis | None:
    url, sentinels, service = redis_settings()
    return _redis(url, sentinels, service) if url else None


def _shards(client: UsageClient) -> tuple[str, ...]:
    """The key prefix of each shard: one Redis has one, unprefixed."""
    return PREFIXES if isinstance(client, RedisCluster) else ("",)


def _batches_claim(client: UsageClient, pending: str, batch_prefix: str) -> str | None:
    """Move each shard's pending hash to a new batch key of its slot; returns the last batch id, or None
    if nothing was pending."""
    claimed = None
    for prefix in _shards(client):
        batch_id = uuid.uuid4().hex
        if client.eval(_CLAIM_SCRIPT, 2, prefix + pending, prefix + batch_prefix + batch_id):  # type: ignore[arg-type]
            claimed = batch_id
    return claimed


def _batch_keys(client: UsageClient, batch_prefix: str) -> list[str]:
    """Every batch key there is (on every primary of a cluster)."""
    pattern = ("*" if isinstance(client, RedisCluster) else "") + batch_prefix + "*"
    return sorted(_text(key) for key in client.scan_iter(match=pattern, count=500))


def usage_batch_claim(client: UsageClient) -> str | None:
    """Step 1: move the pending hash (each shard's) to a new batch key; returns a batch id, or None if
    nothing was pending."""
    return _batches_claim(client, PENDING_KEY, BATCH_PREFIX)


def usage_batch_keys(client: UsageClient) -> list[str]:
    return _batch_keys(client, BATCH_PREFIX)


def usage_batch_count(*, batch_id: str, counts: dict[str, int], report: FlushReport | None = None) -> bool:
    """Step 2: add a batch's counts to the daily rows and write its ledger row, in one transaction.

    Returns False, changing nothing, when the batch was already counted."""
    report = report if report is not None else FlushReport()
    rows, dropped = _rows(counts)
    try:
        with transaction.atomic():
            # First, so that a second flush of the same batch waits here and then fails, before it
            # has touched (or locked) any daily row.
            UsageFlushBatch.objects.create(
                batch_id=batch_id,
                fields=len(counts),
                registrations=sum(r for r, _ in rows.values()),
                tokens=sum(t for _, t in rows.values()),
            )
            _add(rows)
    except IntegrityError:
        if UsageFlushBatch.objects.filter(pk=batch_id).exists():
            report.already_counted += 1
            return False
        raise
    report.batches += 1
    report.registrations += sum(r for r, _ in rows.values())
    report.tokens += sum(t for _, t in rows.values())
    report.dropped += dropped
    return True


def usage_batch_flush(client: UsageClient, key: str, report: FlushReport) -> None:
    """Steps 2 and 3 for one batch key."""
    batch_id = key.rpartition(BATCH_PREFIX)[2]
    if UsageFlushBatch.objects.filter(pk=batch_id).exists():
        report.already_counted += 1
        client.delete(key)
        return
    raw = client.hgetall(key)
    if not raw:  # another flush finished it meanwhile
        return
    counts = {_text(field): int(value) for field, value in raw.items()}  # type: ignore[union-attr]
    usage_batch_count(batch_id=batch_id, counts=counts, report=report)
    client.delete(key)


def usage_flush() -> FlushReport:
    """One flush run: claim the pending counters, count every batch found, drain the local fallback."""
    report = FlushReport()
    client = usage_redis()
    complete = True
    if client is not None:
        try:
            usage_batch_claim(client)
            for key in usage_batch_keys(client):
                usage_batch_flush(client, key, report)
        except redis.RedisError as exc:
            # The batches stay in Redis and are counted by the first run after it is back.
            complete = False
            logger.warning("usage flush: Redis unreachable (%s); pending counts stay there", type(exc).__name__)
    _flush_local(report)
    report.last_used = last_used_flush()
    if complete:
        _flush_success_record(client)
    if report.batches or report.dropped or report.last_used:
        logger.info("usage flush: %s", report)
    return report


def _flush_success_record(client: UsageClient | None) -> None:
    """For the usage-flush lag metric (core.metrics); a record lost to Redis failing now only makes the
    lag look longer until the next run."""
    try:
        # The metrics read it from REDIS_URL's Redis (`dcr_project.operations`), also beside a cluster.
        usage_flush_succeeded(_plain_redis() if isinstance(client, RedisCluster) else client)
    except redis.RedisError as exc:
        logger.warning("usage flush: its time could not be recorded (%s)", type(exc).__name__)


def usage_flush_ledger_purge(*, now: object = None) -> int:
    cutoff = (now or timezone.now()) - LEDGER_RETENTION  # type: ignore[operator]
    return UsageFlushBatch.objects.filter(flushed_at__lt=cutoff).delete()[0]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _flush_local(report: FlushReport) -> None:
    counts = local_usage.drain()
    if not counts:
        return
    try:
        usage_batch_count(batch_id=f"local-{uuid.uuid4().hex}", counts=counts, report=report)
    except Exception:
        local_usage.restore(counts)
        raise


def _rows(counts: dict[str, int]) -> tuple[dict[tuple[uuid.UUID, object, str], tuple[int, int]], int]:
    """(application id, day, platform) -> (registrations, tokens), keeping only known applications."""
    totals: dict[tuple[uuid.UUID, object, str], list[int]] = defaultdict(lambda: [0, 0])
    dropped = 0
    for field, count in counts.items():
        try:
            parsed = usage_field_parse(field)
        except ValueError:
            logger.warning("usage flush: dropping unreadable field %r", field[:200])
            dropped += count
            continue
        if count <= 0:
            continue
        index = 0 if parsed.kind == "registrations" else 1
        totals[(parsed.application_id, parsed.day, parsed.platform[:64])][index] += count
    known = set(RegisteredApplication.objects.filter(pk__in={key[0] for key in totals}).values_list("pk", flat=True))
    rows: dict[tuple[uuid.UUID, object, str], tuple[int, int]] = {}
    for key, (registrations, tokens) in totals.items():
        if key[0] in known:
            rows[key] = (registrations, tokens)
        else:
            logger.warning("usage flush: dropping counts of unknown application %s", key[0])
            dropped += registrations + tokens
    return rows, dropped


def _add(rows: dict[tuple[uuid.UUID, object, str], tuple[int, int]]) -> None:
    """x = x + n for each row (inserting missing rows), in a fixed order so that concurrent flushes
    of different batches cannot deadlock."""
    if not rows:
        return
    meta = UsageDaily._meta
    application_field = meta.get_field("application")
    day_field = meta.get_field("day")
    table = connection.ops.quote_name(meta.db_table)
    # The table name is our model's, quoted; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (application_id, day, platform, registrations, tokens) VALUES (%s, %s, %s, %s, %s) "  # noqa: S608
        "ON CONFLICT (application_id, day, platform) DO UPDATE SET "
        f"registrations = {table}.registrations + excluded.registrations, "
        f"tokens = {table}.tokens + excluded.tokens"
    )
    params = [
        (
            application_field.get_db_prep_value(application_id, connection),  # type: ignore[union-attr]
            day_field.get_db_prep_value(day, connection),  # type: ignore[union-attr]
            platform,
            registrations,
            tokens,
        )
        for (application_id, day, platform), (registrations, tokens) in sorted(rows.items(), key=lambda r: str(r[0]))
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


# --- Clients' last use ---------------------------------------------------------------------------------


def last_used_flush() -> int:
    """Write pending last-use times to the clients (Redis batches, then this process's); returns how
    many clients were written."""
    written = 0
    client = usage_redis()
    if client is not None:
        try:
            _batches_claim(client, LAST_USED_PENDING_KEY, LAST_USED_BATCH_PREFIX)
            for key in _batch_keys(client, LAST_USED_BATCH_PREFIX):
                raw = client.hgetall(key)
                written += clients_last_used_write({int(pk): int(at) for pk, at in raw.items()})  # type: ignore[union-attr]
                client.delete(key)
        except redis.RedisError as exc:
            logger.warning("last-use flush: Redis unreachable (%s); pending times stay there", type(exc).__name__)
    local = local_last_used.drain()
    try:
        written += clients_last_used_write({int(pk): int(at) for pk, at in local.items()})
    except Exception:
        local_last_used.restore(local)
        raise
    return written


def clients_last_used_write(times: dict[int, int]) -> int:
    """Move each client's `last_used_at` forward to the given unix time (never back) and clear its idle
    mark, in one statement; returns how many rows the batch named."""
    if not times:
        return 0
    table = connection.ops.quote_name(Client._meta.db_table)
    rows = sorted(times.items())
    if connection.vendor == "postgresql":
        # One statement for the whole batch; the table name is our model's, quoted; values are parameters.
        sql = (
            f"UPDATE {table} AS c SET last_used_at = to_timestamp(v.at), idle_since = NULL "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, at) "
            "WHERE c.id = v.id AND (c.last_used_at IS NULL OR c.last_used_at < to_timestamp(v.at))"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [[pk for pk, _ in rows], [at for _, at in rows]])
    else:
        field = Client._meta.get_field("last_used_at")
        params = []
        for pk, at in rows:
            value = field.get_db_prep_value(datetime.fromtimestamp(at, tz=UTC), connection)  # type: ignore[union-attr]
            params.append((value, pk, value))
        sql = (
            f"UPDATE {table} SET last_used_at = %s, idle_since = NULL "  # noqa: S608
            "WHERE id = %s AND (last_used_at IS NULL OR last_used_at < %s)"
        )
        with connection.cursor() as cursor, transaction.atomic():
            cursor.executemany(sql, params)
    return len(rows)
