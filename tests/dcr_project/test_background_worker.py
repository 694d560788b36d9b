"""Real Celery worker processes against the real Redis and PostgreSQL: a usage flush end to end, and a
task that survives the death of the worker running it (acks_late, reject_on_worker_lost)."""

import datetime
import os
import signal
import subprocess
import time

import psycopg
import pytest
from django.conf import settings
from django.db.models import Sum

from oauth import usage_flush as flush
from oauth.tasks import usage_flush as usage_flush_task
from oauth.usage import PENDING_KEY, usage_field
from registered_apps.models import UsageDaily
from tests.factories import make_application
from tests.processes import Worker

pytestmark = [
    pytest.mark.serial,
    pytest.mark.celery_worker,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="a real worker needs REDIS_URL (CI provides it)"),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the worker process must see the test database: needs PostgreSQL (CI provides it)",
    ),
    # Committed rows, so the worker sees them; the migrated catalogs are restored for later tests.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def start_worker(tmp_path):
    workers: list[Worker] = []

    def start(name: str) -> Worker:
        worker = Worker(name, tmp_path)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.process.poll() is None:
            os.killpg(worker.process.pid, signal.SIGTERM)
            try:
                worker.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()


@pytest.fixture
def counted(programmer, channels):
    """An application with 7 tokens and 2 registrations pending in Redis."""
    application = make_application(programmer)
    client = flush.usage_redis()
    assert client is not None
    today = datetime.datetime.now(datetime.UTC).date()
    client.hincrby(PENDING_KEY, usage_field(day=today, application_id=application.pk, platform="ios", kind="tokens"), 7)
    client.hincrby(
        PENDING_KEY, usage_field(day=today, application_id=application.pk, platform="ios", kind="registrations"), 2
    )
    return application


def totals(application):
    result = UsageDaily.objects.filter(application=application).aggregate(r=Sum("registrations"), t=Sum("tokens"))
    return result["r"] or 0, result["t"] or 0


@pytest.fixture
def ledger_locked():
    """Holds an exclusive lock on the flush ledger from another connection, so that a flush stops right
    after claiming its batch (mid-flush) until `release()`."""
    database = settings.DATABASES["default"]
    connection = psycopg.connect(
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        password=database["PASSWORD"] or None,
        dbname=database["NAME"],
        autocommit=False,
    )
    connection.execute("LOCK TABLE oauth_usageflushbatch IN ACCESS EXCLUSIVE MODE")

    class Lock:
        @staticmethod
        def release() -> None:
            connection.rollback()

    yield Lock
    connection.rollback()
    connection.close()


def wait_for_state(result, state: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while result.state != state:
        assert time.monotonic() < deadline, f"task {result.id} still {result.state}, not {state}"
        time.sleep(0.1)


def test_a_real_worker_flushes_usage_counters_into_daily_rows(start_worker, counted):
    start_worker("flush")

    report = usage_flush_task.delay().get(timeout=60)

    assert report["batches"] == 1 and report["tokens"] == 7 and report["registrations"] == 2
    assert totals(counted) == (2, 7)
    client = flush.usage_redis()
    assert not client.exists(PENDING_KEY) and flush.usage_batch_keys(client) == []


def test_a_flush_whose_worker_is_killed_mid_run_runs_again_on_another_worker_and_counts_once(
    start_worker, counted, ledger_locked
):
    first = start_worker("first")
    result = usage_flush_task.delay()
    wait_for_state(result, "STARTED")
    first.wait_for(result.id)
    time.sleep(0.5)  # the task has claimed its batch and waits on the ledger lock
    client = flush.usage_redis()
    assert len(flush.usage_batch_keys(client)) == 1 and not client.exists(PENDING_KEY)
    second = start_worker("second")

    first.kill(signal.SIGKILL)  # the whole worker, mid-task: its message was never acknowledged
    ledger_locked.release()

    report = result.get(timeout=90)
    assert report["batches"] == 1
    assert totals(counted) == (2, 7)
    second.wait_for(f"Task oauth.usage_flush[{result.id}] succeeded", timeout=10)
    assert flush.usage_batch_keys(client) == []


def test_a_task_whose_pool_process_is_killed_is_handed_back_and_run_again(start_worker, counted, ledger_locked):
    worker = start_worker("pool")
    result = usage_flush_task.delay()
    wait_for_state(result, "STARTED")
    time.sleep(0.5)
    (pool_pid,) = worker.pool_pids()

    os.kill(pool_pid, signal.SIGKILL)  # reject_on_worker_lost: requeued, not marked failed
    worker.wait_for("WorkerLostError")
    ledger_locked.release()

    assert result.get(timeout=90)["batches"] == 1
    assert totals(counted) == (2, 7)
    worker.wait_for(f"Task oauth.usage_flush[{result.id}] succeeded", timeout=10)
