"""Redis behind Sentinel, failing over under load: a primary, a replica and three sentinels (quorum 2)
started here on free ports, the app pointed at the sentinels only (REDIS_URL names no reachable host),
tokens issued continuously while the primary is killed. Tokens keep being issued (the store answers from
the database while no master answers, then from the promoted replica), a revocation made just before the
failover (and replicated: WAIT) still bites during and after it, and the Django cache and Celery's
sentinel:// broker transport reach the new master. Prints requests, errors and the seconds until tokens
are counted in the new primary (the README quotes them)."""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis
from django.core.cache import cache

from core.hot_store import RECORD_PREFIX, USAGE_PENDING_KEY
from oauth.models import Client
from oauth.services import client_revoke
from software_statements.services import software_statement_issue
from tests.hot_state import hot_state_clear
from tests.oauth.api import register, token_request
from tests.processes import free_port

_missing = [name for name in ("redis-server", "redis-sentinel") if shutil.which(name) is None]
pytestmark = [
    pytest.mark.serial,
    pytest.mark.skipif(bool(_missing), reason=f"needs {' and '.join(_missing)} (apt-get install redis-sentinel)"),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason="needs DATABASE_URL to be PostgreSQL (the revocation is read from the database during the outage)",
    ),
    pytest.mark.django_db(transaction=True),
]

SERVICE = "dcr-failover"
STEP = 0.02  # seconds between token requests


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _good(credentials) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
    }


def _pending_tokens(node: redis.Redis) -> int:
    return sum(int(count) for field, count in node.hgetall(USAGE_PENDING_KEY).items() if field.endswith(b"|tokens"))


def test_tokens_are_issued_across_a_sentinel_failover_and_a_revocation_still_bites(settings, client, application):
    processes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="dcr-sentinel-") as tmp:
        directory = Path(tmp)

        def start(*args: str, name: str) -> None:
            log = open(directory / f"{name}.log", "wb")  # noqa: SIM115 - closed with the directory
            processes.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=tmp))

        try:
            primary_port, replica_port = free_port(), free_port()
            common = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp)
            start("redis-server", "--port", str(primary_port), *common, name="primary")
            start(
                "redis-server", "--port", str(replica_port), *common,
                "--replicaof", "127.0.0.1", str(primary_port), name="replica",
            )  # fmt: skip
            sentinel_ports = [free_port() for _ in range(3)]
            for port in sentinel_ports:
                conf = directory / f"sentinel-{port}.conf"
                conf.write_text(
                    f"port {port}\nbind 127.0.0.1\ndir {tmp}\n"
                    f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2\n"
                    f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                    f"sentinel failover-timeout {SERVICE} 3000\n"
                    f"sentinel parallel-syncs {SERVICE} 1\n"
                )
                start("redis-sentinel", str(conf), name=f"sentinel-{port}")

            primary = redis.Redis(port=primary_port, socket_timeout=2)
            replica = redis.Redis(port=replica_port, socket_timeout=2)
            sentinels = [redis.Redis(port=port, socket_timeout=2, decode_responses=True) for port in sentinel_ports]
            _wait(lambda: replica.info("replication")["master_link_status"] == "up", 15, "the replica to sync")

            def sentinels_ready() -> bool:
                states = [sentinel.sentinel_master(SERVICE) for sentinel in sentinels]
                return all(s["num-other-sentinels"] == 2 and s["num-slaves"] == 1 for s in states)

            _wait(sentinels_ready, 30, "the sentinels to see each other and the replica")

            # The app knows only the sentinels: REDIS_URL's host answers nothing, its database is used.
            settings.REDIS_URL = "redis://127.0.0.1:1/0"
            settings.REDIS_SENTINELS = [f"127.0.0.1:{port}" for port in sentinel_ports]
            settings.REDIS_SENTINEL_SERVICE = SERVICE
            settings.CACHES = {
                "default": {
                    "BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": settings.REDIS_URL,
                    "OPTIONS": {
                        "socket_connect_timeout": 0.5,
                        "socket_timeout": 0.5,
                        "pool_class": "core.redis.SentinelMasterPool",
                        "sentinels": settings.REDIS_SENTINELS,
                        "service": SERVICE,
                    },
                }
            }
            settings.DCR_THROTTLE_RATE = settings.DCR_THROTTLE_BURST = 100_000.0
            hot_state_clear()

            statement, _ = software_statement_issue(application=application, actor="tests")
            kept, revoked = (register(client, statement, HTTP_USER_AGENT="MyApp/1.0 CFNetwork Darwin") for _ in "ab")
            kept, revoked = kept.json(), revoked.json()
            assert token_request(client, _good(kept)).status_code == 200
            assert token_request(client, _good(revoked)).status_code == 200
            assert primary.exists(RECORD_PREFIX + kept["client_id"])  # the store is the primary, found by Sentinel
            cache.set("sentinel-probe", "before the failover", 300)

            client_revoke(client=Client.objects.get(client_id=revoked["client_id"]), reason="x", actor="tests")
            assert primary.wait(1, 1000) == 1  # the replica has the stamp and the dropped record
            assert token_request(client, _good(revoked)).status_code == 400
            counted_before = _pending_tokens(replica)

            os.kill(processes[0].pid, signal.SIGKILL)
            processes[0].wait(5)
            killed = time.monotonic()
            requests = errors = revoked_accepted = 0
            recovered: float | None = None
            while time.monotonic() - killed < 30:
                response = token_request(client, _good(kept))
                requests += 1
                errors += response.status_code != 200
                revoked_accepted += token_request(client, _good(revoked)).status_code == 200
                if recovered is None:
                    try:
                        if _pending_tokens(replica) > counted_before:
                            recovered = time.monotonic() - killed
                    except redis.RedisError:
                        pass
                elif time.monotonic() - killed > recovered + 2:
                    break  # two seconds of tokens from the new primary
                time.sleep(STEP)

            print(
                f"\nSentinel failover: {requests} token requests, {errors} errors, tokens counted in the new "
                f"primary {recovered if recovered is None else round(recovered, 2)} s after the primary was killed"
            )
            assert recovered is not None and recovered < 15, "tokens never reached the promoted replica"
            assert errors <= 10, f"{errors} of {requests} token requests failed across the failover"
            assert revoked_accepted == 0, "a client revoked before the failover got a token"
            assert replica.info("replication")["role"] == "master"
            master = sentinels[0].sentinel_get_master_addr_by_name(SERVICE)
            assert int(master[1]) == replica_port
            assert token_request(client, _good(revoked)).status_code == 400
            assert cache.get("sentinel-probe") == "before the failover"

            # Celery's broker and result backend: kombu's sentinel:// transport, as the settings build it.
            from kombu import Connection

            url = ";".join(f"sentinel://127.0.0.1:{port}/0" for port in sentinel_ports)
            with Connection(url, transport_options={"master_name": SERVICE, "socket_timeout": 2}) as connection:
                queue = connection.SimpleQueue("dcr-sentinel-test")
                queue.put({"after": "failover"})
                message = queue.get(timeout=5)
                assert message.payload == {"after": "failover"}
                message.ack()
                queue.close()
            assert replica.exists("_kombu.binding.dcr-sentinel-test")
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
            for process in processes:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(5)
