"""The abuse signals' counters (`core.hot_store.signal_counts`) into the hourly rows (`StatementHour`),
each count exactly once, as the usage flush does (`oauth.usage_flush`): claim the pending hash (RENAME to
a batch key, each shard's on a cluster), add every batch found to the rows in ONE transaction with its
ledger row (`UsageFlushBatch`, id "signals-<uuid>"), then delete the batch. Then this process's own
counts (`local_signals`: the embedded default, or Redis down) the same way.
"""

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import redis
from django.db import IntegrityError, transaction

from core.hot_store.signal_counts import (
    FOREIGN,
    SIGNALS_PENDING_KEY,
    hour_start,
    local_networks,
    local_signals,
    networks_key,
    signal_field_parse,
)
from software_statements.models import SoftwareStatement, StatementHour

from .models import UsageFlushBatch
from .usage_flush import UsageClient, _batch_keys, _batches_claim, _shards, _text, usage_redis

logger = logging.getLogger(__name__)

BATCH_PREFIX = "dcr:signals:batch:"
LEDGER_PREFIX = "signals-"


@dataclass
class HourCounts:
    registrations: int = 0
    first_tokens: int = 0
    second_tokens: int = 0
    foreign: dict[str, int] = field(default_factory=dict)


def _rows(counts: dict[str, int]) -> dict[tuple[str, str, str], HourCounts]:
    """(statement jti, application id, hour) -> its counts; unreadable fields are dropped (logged)."""
    rows: dict[tuple[str, str, str], HourCounts] = defaultdict(HourCounts)
    for name, count in counts.items():
        try:
            hour, application_id, statement_jti, kind = signal_field_parse(name)
        except ValueError:
            logger.warning("signals flush: dropping unreadable field %r", name[:200])
            continue
        row = rows[(statement_jti, application_id, hour)]
        if kind.startswith(FOREIGN):
            platform = kind[len(FOREIGN) :][:64]
            row.foreign[platform] = row.foreign.get(platform, 0) + count
        elif kind == "reg":
            row.registrations += count
        elif kind == "first":
            row.first_tokens += count
        else:
            row.second_tokens += count
    return rows


def _known(rows: dict[tuple[str, str, str], HourCounts]) -> dict[str, Any]:
    """jti -> application id of the statements the rows name that exist (a deleted one's counts go)."""
    jtis = set()
    for jti, _, _ in rows:
        try:
            jtis.add(uuid.UUID(jti))
        except ValueError:
            continue
    return {
        str(pk): app for pk, app in SoftwareStatement.objects.filter(pk__in=jtis).values_list("pk", "application_id")
    }


def signal_batch_count(*, batch_id: str, counts: dict[str, int]) -> bool:
    """Add a batch to the hourly rows with its ledger row, in one transaction; False when it was counted."""
    rows = _rows(counts)
    known = _known(rows)
    try:
        with transaction.atomic():
            UsageFlushBatch.objects.create(batch_id=LEDGER_PREFIX + batch_id, fields=len(counts))
            for (jti, _, hour), added in sorted(rows.items()):
                if jti in known:
                    _add(jti, known[jti], hour, added)
    except IntegrityError:
        if UsageFlushBatch.objects.filter(pk=LEDGER_PREFIX + batch_id).exists():
            return False
        raise
    return True


def _add(jti: str, application_id: Any, hour: str, added: HourCounts) -> None:
    row, _ = StatementHour.objects.select_for_update().get_or_create(
        statement_id=jti, hour=hour_start(hour), defaults={"application_id": application_id}
    )
    row.registrations += added.registrations
    row.first_tokens += added.first_tokens
    row.second_tokens += added.second_tokens
    for platform, count in added.foreign.items():
        row.foreign_platforms[platform] = row.foreign_platforms.get(platform, 0) + count
    row.save()


def _batch_flush(client: UsageClient, key: str) -> None:
    batch_id = key.rpartition(BATCH_PREFIX)[2]
    if not UsageFlushBatch.objects.filter(pk=LEDGER_PREFIX + batch_id).exists():
        raw = client.hgetall(key)
        if not raw:  # another run finished it meanwhile
            return
        signal_batch_count(batch_id=batch_id, counts={_text(f): int(v) for f, v in raw.items()})  # type: ignore[union-attr]
    client.delete(key)


def signal_counts_flush() -> bool:
    """One run; False when Redis could not be read (its counts stay there for the next run)."""
    complete = True
    client = usage_redis()
    if client is not None:
        try:
            _batches_claim(client, SIGNALS_PENDING_KEY, BATCH_PREFIX)
            for key in _batch_keys(client, BATCH_PREFIX):
                _batch_flush(client, key)
        except redis.RedisError as exc:
            complete = False
            logger.warning("signals flush: Redis unreachable (%s); pending counts stay there", type(exc).__name__)
    local = local_signals.drain()
    if local:
        try:
            signal_batch_count(batch_id=f"local-{uuid.uuid4().hex}", counts=local)
        except Exception:
            local_signals.restore(local)
            raise
    return complete


# --- Networks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkCount:
    hour: str
    application_id: str
    statement_jti: str
    network: str
    clients: int


def _network_entry(hour: str, name: str, count: int) -> NetworkCount | None:
    parts = name.split("|")
    if len(parts) != 3:
        return None
    return NetworkCount(hour, parts[0], parts[1], parts[2], count)


def crowded_networks(hours: list[str], minimum: int) -> list[NetworkCount]:
    """The networks that registered at least `minimum` clients of one statement in one of `hours` (read
    where the hot path counts them: Redis, each shard's hash on a cluster, and this process)."""
    found: list[NetworkCount] = []
    client = usage_redis()
    if client is not None:
        try:
            for hour in hours:
                for prefix in _shards(client):
                    for name, value in client.hscan_iter(prefix + networks_key(hour), count=1000):
                        entry = _network_entry(hour, _text(name), int(value))
                        if entry is not None and entry.clients >= minimum:
                            found.append(entry)
        except redis.RedisError as exc:
            logger.warning("signals: networks unreadable (%s)", type(exc).__name__)
    local = local_networks.drain()
    kept = {name: count for name, count in local.items() if name.partition("|")[0] in hours}
    local_networks.restore(kept)  # older hours are forgotten
    for name, count in kept.items():
        hour, _, rest = name.partition("|")
        entry = _network_entry(hour, rest, int(count))
        if entry is not None and entry.clients >= minimum:
            found.append(entry)
    return found
