"""The usage flush: pending counters into daily rows exactly once, through overlaps and crashes."""

import datetime
import logging
import os
import random
import threading

import pytest
import redis
from django.db import connection
from django.db.models import Sum

from oauth import usage_flush as flush
from oauth.models import UsageFlushBatch
from oauth.tasks import usage_flush as usage_flush_task
from oauth.usage import PENDING_KEY, local_usage, usage_field
from registered_apps.models import UsageDaily
from tests.factories import make_application
from tests.helpers import requires_redis

DAY = datetime.date(2026, 3, 14)


@pytest.fixture(autouse=True)
def _empty_local_counter():
    local_usage.clear()
    yield
    local_usage.clear()


@pytest.fixture
def redis_client():
    client = flush.usage_redis()
    assert client is not None
    client.delete(PENDING_KEY, *flush.usage_batch_keys(client))
    yield client
    client.delete(PENDING_KEY, *flush.usage_batch_keys(client))


def count(client, application, platform="ios", kind="tokens", amount=1, day=DAY):
    client.hincrby(
        PENDING_KEY, usage_field(day=day, application_id=application.pk, platform=platform, kind=kind), amount
    )


def totals(application=None):
    rows = UsageDaily.objects.all() if application is None else UsageDaily.objects.filter(application=application)
    result = rows.aggregate(registrations=Sum("registrations"), tokens=Sum("tokens"))
    return result["registrations"] or 0, result["tokens"] or 0


@requires_redis
def test_flush_moves_pending_counts_into_daily_rows_per_platform_and_empties_redis(application, redis_client):
    count(redis_client, application, "ios", "registrations", 2)
    count(redis_client, application, "ios", "tokens", 5)
    count(redis_client, application, "roku", "tokens", 3)
    count(redis_client, application, "roku", "tokens", 1, day=DAY + datetime.timedelta(days=1))

    report = usage_flush_task.apply().get()

    rows = {
        (r.day, r.platform): (r.registrations, r.tokens) for r in UsageDaily.objects.filter(application=application)
    }
    assert rows == {
        (DAY, "ios"): (2, 5),
        (DAY, "roku"): (0, 3),
        (DAY + datetime.timedelta(days=1), "roku"): (0, 1),
    }
    assert report["batches"] == 1 and report["tokens"] == 9 and report["registrations"] == 2
    assert not redis_client.exists(PENDING_KEY)
    assert flush.usage_batch_keys(redis_client) == []


@requires_redis
def test_a_second_flush_adds_to_the_existing_daily_rows(application, redis_client):
    count(redis_client, application, amount=4)
    flush.usage_flush()
    count(redis_client, application, amount=6)
    flush.usage_flush()
    flush.usage_flush()  # nothing pending: changes nothing

    assert UsageDaily.objects.get(application=application, day=DAY, platform="ios").tokens == 10
    assert UsageFlushBatch.objects.count() == 2


@requires_redis
def test_a_flush_that_died_before_its_commit_leaves_the_batch_for_the_next_flush(application, redis_client):
    count(redis_client, application, amount=7)
    batch_id = flush.usage_batch_claim(redis_client)  # step 1 done, then the worker died
    assert batch_id and redis_client.exists(flush.BATCH_PREFIX + batch_id)
    count(redis_client, application, amount=1)  # traffic goes on into a fresh pending hash

    report = flush.usage_flush()

    assert totals(application) == (0, 8)
    assert report.batches == 2
    assert flush.usage_batch_keys(redis_client) == []


@requires_redis
def test_a_flush_that_died_after_its_commit_is_not_counted_twice(application, redis_client):
    count(redis_client, application, amount=7)
    batch_id = flush.usage_batch_claim(redis_client)
    counts = {k.decode(): int(v) for k, v in redis_client.hgetall(flush.BATCH_PREFIX + batch_id).items()}
    assert flush.usage_batch_count(batch_id=batch_id, counts=counts)  # committed; died before DEL

    report = flush.usage_flush()

    assert totals(application) == (0, 7)
    assert report.already_counted == 1 and report.batches == 0
    assert flush.usage_batch_keys(redis_client) == []


@requires_redis
def test_an_overlapping_flush_of_the_same_batch_counts_it_once(application, redis_client):
    count(redis_client, application, amount=5)
    batch_id = flush.usage_batch_claim(redis_client)
    counts = {k.decode(): int(v) for k, v in redis_client.hgetall(flush.BATCH_PREFIX + batch_id).items()}

    # While the first flush holds its batch, a second one starts and finds the batch key.
    second = flush.usage_flush()
    first_counted = flush.usage_batch_count(batch_id=batch_id, counts=counts)

    assert second.batches == 1
    assert first_counted is False
    assert totals(application) == (0, 5)


def test_the_in_process_counter_is_flushed_too(application):
    local_usage.increment(usage_field(day=DAY, application_id=application.pk, platform="web", kind="registrations"))
    local_usage.increment(usage_field(day=DAY, application_id=application.pk, platform="web", kind="registrations"))

    report = flush.usage_flush()

    assert UsageDaily.objects.get(application=application, day=DAY, platform="web").registrations == 2
    assert report.registrations == 2
    assert local_usage.snapshot() == {}


def test_counts_of_unknown_applications_and_unreadable_fields_are_dropped_and_the_rest_counted(application, caplog):
    local_usage.increment(usage_field(day=DAY, application_id=application.pk, platform="ios", kind="tokens"))
    local_usage.increment(
        usage_field(day=DAY, application_id="0b0e6a4e-8d0f-4d7a-9a55-000000000000", platform="ios", kind="tokens")
    )
    local_usage.increment("not|a|field")

    with caplog.at_level(logging.WARNING, logger="oauth.usage_flush"):
        report = flush.usage_flush()

    assert totals() == (0, 1)
    assert report.dropped == 2
    assert "unknown application" in caplog.text


def test_with_redis_unreachable_the_flush_logs_and_still_flushes_the_in_process_counter(settings, application, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    local_usage.increment(usage_field(day=DAY, application_id=application.pk, platform="ios", kind="tokens"))

    with caplog.at_level(logging.WARNING, logger="oauth.usage_flush"):
        report = flush.usage_flush()

    assert "Redis unreachable" in caplog.text
    assert report.tokens == 1 and totals(application) == (0, 1)


def test_old_ledger_rows_are_purged(db):
    UsageFlushBatch.objects.create(batch_id="old")
    UsageFlushBatch.objects.create(batch_id="recent")
    UsageFlushBatch.objects.filter(batch_id="old").update(flushed_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))

    assert flush.usage_flush_ledger_purge() == 1
    assert list(UsageFlushBatch.objects.values_list("batch_id", flat=True)) == ["recent"]


@requires_redis
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="concurrent flushes need PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_flushes_under_live_traffic_count_every_event_exactly_once(programmer, channels, redis_client):
    applications = [make_application(programmer, name=f"App {n}") for n in range(3)]
    sent = {"tokens": 0, "registrations": 0}
    stop = threading.Event()
    errors = []

    def traffic():
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        rng = random.Random(7)
        for _ in range(3000):
            kind = rng.choice(["tokens", "registrations"])
            count(client, rng.choice(applications), rng.choice(["ios", "roku", "web"]), kind)
            sent[kind] += 1
        stop.set()

    def flusher():
        try:
            while not stop.is_set():
                flush.usage_flush()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=traffic)] + [threading.Thread(target=flusher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    flush.usage_flush()

    assert errors == []
    assert totals() == (sent["registrations"], sent["tokens"])
    assert UsageFlushBatch.objects.count() >= 2
    assert flush.usage_batch_keys(redis_client) == [] and not redis_client.exists(PENDING_KEY)
