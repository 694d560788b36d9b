"""The cluster scenario: the phases, what each measures, the database's checks, the report and its rules.

Each phase runs the load at both nodes, injects its fault, lets the load run on, stops it, then flushes
the usage counters (oauth.usage_flush, as Celery beat runs it; a thread here also runs it every few
seconds throughout, so flushes meet the faults too) and compares the tokens counted in PostgreSQL with the
200 answers the load received in that phase:

- revocations: the TAM signs in to the admin on node A and revokes applications one after the other
  while a probe sends node B a token request and a bearer call for a client of that application in turn;
  the time from the TAM's answer until node B refuses both for good is the revocation's time;
- Redis stopped for 10 s (a clean stop, the append-only file kept) and started again;
- PostgreSQL restarted (pg_ctl restart -m fast: every connection cut);
- one web worker SIGKILLed on each node (the server starts another).

A phase has recovered when every request succeeds again (the expected success, or the refusal a revoked
client or token must get); its recovery time runs from the fault until the last request that did not.
"""

import contextlib
import json
import os
import platform
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.cluster.harness import Cluster, Node, Seed, admin_revoke, tam_sign_in, wait_workers_back, worker_kill
from tests.cluster.load import (
    SESSION,
    TOKEN,
    Credential,
    Ledger,
    Load,
    Probe,
    Record,
    Revocation,
    Verdict,
    register,
    send,
    tally,
)
from tests.processes import process_cpu_seconds

FLUSH_EVERY = 5.0  # seconds between the background usage flushes (beat's default is 60)


@dataclass(frozen=True)
class Config:
    full: bool
    targets: int  # applications revoked during the run, one revocation each
    kept: int  # applications never revoked
    clients_per_application: int
    threads_per_node: int
    warmup: float  # seconds of load before a phase's fault
    after: float  # seconds of load after the fault ended
    redis_down: float = 10.0
    throughput_seconds: float = 0.0  # 0: no wrk phase

    @classmethod
    def make(cls, *, full: bool) -> "Config":
        if full:
            return cls(True, 20, 4, 20, 4, warmup=5, after=15, throughput_seconds=20)
        return cls(False, 5, 2, 8, 3, warmup=2, after=6)


@dataclass
class Phase:
    name: str
    fault: str
    seconds: float = 0.0
    sent: int = 0
    sent_per_node: dict[str, int] = field(default_factory=dict)
    verdicts: dict[str, int] = field(default_factory=dict)
    fault_at: float | None = None  # monotonic time of the fault
    fault_seconds: float | None = None  # how long the fault itself lasted
    recovery_seconds: float | None = None
    clean_tail_seconds: float = 0.0  # from the last unsuccessful request to the end of the load
    revocations_ms: list[float | None] = field(default_factory=list)
    tokens_issued: int = 0  # 200 answers received
    tokens_unanswered: int = 0  # token requests that got no answer or a 5xx: issued or not, unknown
    # Tokens that may be counted twice: when Redis stops, a worker whose client-gate script Redis ran but
    # whose reply the stop cut off counts the token again in its fallback (at most one per worker).
    double_count_allowance: int = 0
    revoked_accepted_clients: list[int] = field(default_factory=list)  # which clients, when any
    revoked_accepted_applications: list[int] = field(default_factory=list)
    usage_counted: int = 0  # tokens added to UsageDaily by the flushes of this phase

    @property
    def revocation_worst_ms(self) -> float | None:
        known = [value for value in self.revocations_ms if value is not None]
        return max(known) if known and len(known) == len(self.revocations_ms) else None


@dataclass
class Throughput:
    scenario: str
    seconds: float
    per_node: dict[str, dict[str, Any]]
    usage_counted: int = 0
    tokens_issued: int = 0  # 2xx answers to token requests
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)  # web, redis, postgresql

    @property
    def total_rps(self) -> float:
        return round(sum(node["rps"] for node in self.per_node.values()), 1)


@dataclass
class Report:
    config: dict[str, Any]
    machine: dict[str, Any]
    phases: list[Phase] = field(default_factory=list)
    throughput: list[Throughput] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    first_wrong: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the rules broken (`problems`)
    setup_seconds: float = 0.0
    total_seconds: float = 0.0

    def as_json(self) -> str:
        data = asdict(self)
        for phase, raw in zip(self.phases, data["phases"], strict=True):
            raw["revocation_worst_ms"] = phase.revocation_worst_ms
        return json.dumps(data, indent=2)


# --- usage ---------------------------------------------------------------------------------------


class Beat:
    """Runs the usage flush every FLUSH_EVERY seconds in a thread, as Celery beat would (failures during
    a fault are expected: the counts stay in Redis or in the ledger's care for the next run)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.failures = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from django.db import connections

        from oauth.usage_flush import usage_flush

        while not self.stop_event.wait(FLUSH_EVERY):
            with self.lock:
                try:
                    usage_flush()
                except Exception:
                    self.failures += 1
                finally:
                    connections.close_all()  # a restart may have cut them; the next run opens new ones

    def flushed_tokens(self) -> int:
        """Flush now (retrying while a restarted service comes back) and return the tokens counted so far."""
        from django.db import connections
        from django.db.models import Sum

        from oauth.usage_flush import usage_flush
        from registered_apps.models import UsageDaily

        with self.lock:
            attempt = 1
            while True:
                try:
                    usage_flush()
                    return int(UsageDaily.objects.aggregate(total=Sum("tokens"))["total"] or 0)
                except Exception:
                    if attempt == 10:
                        raise
                    attempt += 1
                    time.sleep(1)
                finally:
                    connections.close_all()

    def __enter__(self) -> "Beat":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join(timeout=60)


# --- the run ---------------------------------------------------------------------------------------


class Run:
    def __init__(self, cluster: Cluster, seed: Seed, config: Config, report: Report) -> None:
        self.cluster, self.seed, self.config, self.report = cluster, seed, config, report
        self.nodes = cluster.nodes
        self.ledger = Ledger()
        self.credentials: list[Credential] = []
        self.beat = Beat()
        self.baseline = 0  # tokens counted in UsageDaily at the last flush

    @property
    def targets(self) -> list[Credential]:
        return [c for c in self.credentials if c.application < self.config.targets]

    @property
    def kept(self) -> list[Credential]:
        return [c for c in self.credentials if c.application >= self.config.targets]

    def load(self) -> Load:
        return Load(self.ledger, self.nodes, self.kept, self.targets, threads=self.config.threads_per_node)

    def prepare(self) -> None:
        self.credentials = register(self.nodes, self.seed.statements, self.config.clients_per_application)
        # A first token each (the bearer calls need one), through the node that did not register it.
        for credential in self.credentials:
            node = self.nodes[(credential.index + 1) % len(self.nodes)]
            record = send(self.ledger, node, "token", credential)
            assert record.verdict is Verdict.OK, self.ledger.first_wrong or record
        self.ledger.records.clear()
        self.baseline = self.beat.flushed_tokens()
        assert self.baseline == len(self.credentials), (self.baseline, len(self.credentials))

    @contextlib.contextmanager
    def phase(self, name: str, fault: str) -> Iterator[Phase]:
        phase = Phase(name, fault)
        mark = len(self.ledger.records)
        started = time.monotonic()
        with self.load():
            yield phase
        phase.seconds = round(time.monotonic() - started, 1)
        records = self.ledger.records[mark:]
        self._account(phase, records, stopped=time.monotonic())
        counted = self.beat.flushed_tokens()
        phase.usage_counted, self.baseline = counted - self.baseline, counted
        self.report.phases.append(phase)
        print(_phase_line(phase), flush=True)

    def _account(self, phase: Phase, records: list[Record], stopped: float) -> None:
        phase.sent = len(records)
        phase.sent_per_node = {node.name: sum(1 for r in records if r.node == node.name) for node in self.nodes}
        phase.verdicts = tally(records)
        tokens = [r for r in records if r.kind == "token"]
        phase.tokens_issued = sum(1 for r in tokens if r.status == 200)
        phase.tokens_unanswered = sum(1 for r in tokens if r.verdict in (Verdict.FAILED, Verdict.SERVER_ERROR))
        # Recovery is about answers that failed; a revoked token accepted is a rule broken (counted apart).
        unsuccessful = [r for r in records if r.verdict in (Verdict.FAILED, Verdict.SERVER_ERROR, Verdict.WRONG)]
        accepted = [r for r in records if r.verdict is Verdict.REVOKED_ACCEPTED]
        phase.revoked_accepted_clients = sorted({r.credential for r in accepted})
        phase.revoked_accepted_applications = sorted({r.application for r in accepted})
        last = max((r.end for r in unsuccessful), default=None)
        if phase.fault_at is not None:
            phase.recovery_seconds = round(max(0.0, last - phase.fault_at), 2) if last is not None else 0.0
        phase.clean_tail_seconds = round(stopped - last, 2) if last is not None else round(phase.seconds, 2)

    # --- the phases ---

    def throughput(self) -> None:
        """wrk at both nodes at once for a fixed time: token requests from the kept clients picked at random,
        then bearer calls with their tokens. Both nodes share this machine's cores with PostgreSQL, Redis
        and wrk."""
        from bench import wrk

        seconds = self.config.throughput_seconds
        kept = self.kept
        bodies = [
            (
                urlencode(
                    {"grant_type": "client_credentials", "client_id": c.client_id, "client_secret": c.client_secret}
                ),
                c.address,
            )
            for c in kept
        ]
        scenarios = {
            "token": wrk.Request(
                "POST",
                TOKEN,
                body=bodies[0][0],
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                expect_body='"access_token"',
                lua=_lua_requests("POST", TOKEN, [(body, address, "") for body, address in bodies]),
            ),
            "session": wrk.Request(
                "GET",
                SESSION,
                expect_body='"client_id"',
                lua=_lua_requests("GET", SESSION, [("", c.address, c.token) for c in kept]),
            ),
        }
        for name, request in scenarios.items():
            before = self.beat.flushed_tokens()
            cpu_before = self.cpu_seconds()
            results: dict[str, Any] = {}

            def one(node: Node, request: wrk.Request = request, results: dict[str, Any] = results) -> None:
                results[node.name] = wrk.run(node.url, request, duration=seconds, connections=8, threads=1, timeout=10)

            threads = [threading.Thread(target=one, args=(node,)) for node in self.nodes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            time.sleep(1)  # requests wrk left in flight finish
            cpu = {part: after - cpu_before[part] for part, after in self.cpu_seconds().items()}
            counted = self.beat.flushed_tokens()
            self.baseline = counted
            entry = Throughput(
                name,
                seconds,
                {
                    node: {
                        "rps": round(result.rps, 1),
                        "requests": result.requests,
                        "p50_ms": round(result.p50_ms, 1),
                        "p99_ms": round(result.p99_ms, 1),
                        "non_2xx": result.non_2xx,
                        "bad_body": result.bad_body,
                        "socket_errors": result.socket_errors,
                        "first_failure": result.first_failure,
                    }
                    for node, result in sorted(results.items())
                },
                usage_counted=counted - before,
            )
            served = sum(result.requests for result in results.values())
            entry.cpu_ms_per_request = {part: round(1000 * used / served, 3) for part, used in cpu.items()}
            if name == "token":
                entry.tokens_issued = sum(result.requests - result.non_2xx for result in results.values())
            self.report.throughput.append(entry)
            print(
                f"throughput {name}: "
                + ", ".join(
                    f"node {n} {v['rps']}/s p50 {v['p50_ms']} ms p99 {v['p99_ms']} ms"
                    for n, v in entry.per_node.items()
                ),
                flush=True,
            )

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by the nodes' web servers, by Redis and by PostgreSQL."""
        assert self.cluster.redis is not None and self.cluster.redis.process is not None
        assert self.cluster.postgres is not None
        return {
            "web": sum(process_cpu_seconds(node.process.pid) for node in self.nodes if node.process is not None),
            "redis": process_cpu_seconds(self.cluster.redis.process.pid),
            "postgresql": process_cpu_seconds(self.cluster.postgres.pid),
        }

    def revocations(self) -> None:
        node_a, node_b = self.nodes
        cookies = tam_sign_in(node_a, self.seed)
        with self.phase("revocations", f"{self.config.targets} TAM revocations on node A") as phase:
            time.sleep(self.config.warmup)
            for application in range(self.config.targets):
                credential = next(c for c in self.targets if c.application == application)
                with Probe(self.ledger, node_b, credential) as probe:
                    time.sleep(0.5)  # node B's workers have read this application's stamps meanwhile
                    revocation = Revocation(application, sent=time.monotonic())
                    self.ledger.revocations[application] = revocation
                    answer = admin_revoke(node_a, cookies, self.seed.applications[application])
                    revocation.done = time.monotonic()
                    assert answer.status == 302, f"the admin's revocation answered {answer.describe()}"
                    time.sleep(1.5)
                refused = probe.refused_after(revocation.done)
                phase.revocations_ms.append(round(refused * 1000, 1) if refused is not None else None)
            time.sleep(1)

    def redis_stopped(self) -> None:
        seconds = self.config.redis_down
        with self.phase("redis", f"Redis stopped {seconds:.0f} s, started again") as phase:
            time.sleep(self.config.warmup)
            phase.double_count_allowance = sum(len(node.workers()) for node in self.nodes)
            phase.fault_at = fault_at = time.monotonic()
            with self.cluster.redis_stopped():
                time.sleep(seconds)
            phase.fault_seconds = round(time.monotonic() - fault_at, 2)
            time.sleep(self.config.after)

    def postgres_restarted(self) -> None:
        assert self.cluster.postgres is not None
        with self.phase("postgresql", "PostgreSQL restarted (pg_ctl restart -m fast)") as phase:
            time.sleep(self.config.warmup)
            phase.fault_at = fault_at = time.monotonic()
            self.cluster.postgres.restart()
            phase.fault_seconds = round(time.monotonic() - fault_at, 2)
            time.sleep(self.config.after)

    def workers_killed(self) -> None:
        with self.phase("workers", "one web worker SIGKILLed on each node") as phase:
            time.sleep(self.config.warmup)
            phase.fault_at = time.monotonic()
            killed = [(node, worker_kill(node)) for node in self.nodes]
            phase.fault_seconds = round(max(wait_workers_back(node, pid) for node, pid in killed), 2)
            time.sleep(self.config.after)

    def checks(self) -> dict[str, Any]:
        """What the database and Redis hold at the end, against what the load was told."""
        from django.db import connection, connections
        from django.db.models import Count, Sum

        from core.hot_store import USAGE_PENDING_KEY
        from oauth.models import Client, UsageFlushBatch
        from oauth.usage_flush import BATCH_PREFIX, usage_redis
        from registered_apps.models import ApplicationStatus, AuditEvent, RegisteredApplication, UsageDaily

        connections.close_all()
        ours = {c.client_id for c in self.credentials}
        in_database = list(Client.objects.values_list("client_id", flat=True))
        usage = UsageDaily.objects.aggregate(tokens=Sum("tokens"), registrations=Sum("registrations"))
        ledger = UsageFlushBatch.objects.aggregate(tokens=Sum("tokens"), registrations=Sum("registrations"))
        duplicates = (
            UsageDaily.objects.values("application", "day", "platform").annotate(rows=Count("id")).filter(rows__gt=1)
        )
        revoked = [self.seed.applications[a] for a in range(self.config.targets)]
        revoke_events = (
            AuditEvent.objects.filter(action="application.revoke").values("object_id").annotate(events=Count("id"))
        )
        redis = usage_redis()
        assert redis is not None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_total_relation_size(%s), pg_total_relation_size(%s)",
                [Client._meta.db_table, AuditEvent._meta.db_table],
            )
            client_bytes, audit_bytes = cursor.fetchone()
        return {
            "registrations": len(self.credentials),
            "clients_in_database": len(in_database),
            "clients_distinct": len(set(in_database)),
            "clients_unknown": len(set(in_database) - ours),
            "clients_missing": len(ours - set(in_database)),
            "usage_registrations": int(usage["registrations"] or 0),
            "usage_tokens": int(usage["tokens"] or 0),
            "ledger_tokens": int(ledger["tokens"] or 0),
            "ledger_registrations": int(ledger["registrations"] or 0),
            "usage_duplicate_rows": duplicates.count(),
            "usage_rows_of_unknown_applications": UsageDaily.objects.exclude(
                application__in=RegisteredApplication.objects.all()
            ).count(),
            "redis_batches_left": sum(1 for _ in redis.scan_iter(match=BATCH_PREFIX + "*")),
            "redis_pending_fields_left": int(redis.hlen(USAGE_PENDING_KEY)),
            "revoked_applications": RegisteredApplication.objects.filter(
                pk__in=revoked, status=ApplicationStatus.REVOKED
            ).count(),
            "revocations_expected": len(revoked),
            "revoke_events": {str(row["object_id"]): row["events"] for row in revoke_events},
            "active_applications": RegisteredApplication.objects.filter(status=ApplicationStatus.ACTIVE).count(),
            "kept_applications": self.config.kept,
            # The first token of each client, then every 200 the load received.
            "tokens_issued_total": len(self.credentials) + sum(p.tokens_issued for p in self.report.phases),
            "background_flush_failures": self.beat.failures,
            # For sizing PostgreSQL: a client row with its indexes, an audit event with its indexes.
            "client_row_bytes": round(client_bytes / max(1, len(in_database))),
            "audit_event_bytes": round(audit_bytes / max(1, AuditEvent.objects.count())),
        }


def _lua_requests(method: str, path: str, entries: list[tuple[str, str, str]]) -> str:
    """wrk's request(): one of `entries` (body, device address, bearer token) at random per request."""
    from bench.wrk import lua_string

    rows = ",\n".join(f"  {{{lua_string(b)}, {lua_string(a)}, {lua_string(t)}}}" for b, a, t in entries)
    return f"""
local entries = {{
{rows}
}}
local seeded = false
function request()
  if not seeded then
    math.randomseed(bench_seed + 7919 * (thread_index or 0))
    seeded = true
  end
  local entry = entries[math.random(#entries)]
  local headers = {{["X-Forwarded-For"] = entry[2], ["X-Forwarded-Proto"] = "https"}}
  if entry[1] ~= "" then headers["Content-Type"] = "application/x-www-form-urlencoded" end
  if entry[3] ~= "" then headers["Authorization"] = "Bearer " .. entry[3] end
  return wrk.format({lua_string(method)}, {lua_string(path)}, headers, entry[1] ~= "" and entry[1] or nil)
end
"""


def _phase_line(phase: Phase) -> str:
    counts = phase.verdicts
    worst = phase.revocation_worst_ms
    return (
        f"{phase.name}: sent {phase.sent} ({', '.join(f'{n} {c}' for n, c in phase.sent_per_node.items())}), "
        f"failed {counts['failed']}, 5xx {counts['5xx']}, wrong {counts['wrong']}, "
        f"revoked accepted {counts['revoked accepted']}, fault {phase.fault_seconds} s, "
        f"recovery {phase.recovery_seconds} s, clean tail {phase.clean_tail_seconds} s"
        + (f", revocation worst {worst} ms" if phase.revocations_ms else "")
        + f", tokens issued {phase.tokens_issued} (unanswered {phase.tokens_unanswered}), counted {phase.usage_counted}"
    )


# --- the whole run ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    from bench.machine import describe

    described = describe()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu_model": described["cpu_model"],
        "cores": described["cores"],
        "memory_gb": described["memory_gb"],
        "python": platform.python_version(),
        "granian": described["granian"],
        "wrk": described["wrk"],
        "commit": commit,
        "load_average_at_start": described["load_average_at_start"],
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def run(config: Config, base: Path) -> Report:
    """Build the cluster, run every phase, check the database, tear everything down."""
    from bench.services import exclusive_run

    report = Report(config=asdict(config), machine=machine())
    started = time.monotonic()
    with exclusive_run(wait_seconds=float(os.environ.get("CLUSTER_LOCK_WAIT", "900"))):
        cluster = Cluster(base=base, applications=config.targets + config.kept)
        try:
            seed = cluster.open()
            the_run = Run(cluster, seed, config, report)
            with the_run.beat:
                the_run.prepare()
                report.setup_seconds = round(time.monotonic() - started, 1)
                print(f"setup: {len(the_run.credentials)} clients on 2 nodes in {report.setup_seconds} s", flush=True)
                if config.throughput_seconds:
                    the_run.throughput()
                the_run.revocations()
                the_run.redis_stopped()
                the_run.postgres_restarted()
                the_run.workers_killed()
            report.checks = the_run.checks()
            report.first_wrong = the_run.ledger.first_wrong
        finally:
            cluster.close()
    report.total_seconds = round(time.monotonic() - started, 1)
    return report


# --- the rules and the table -----------------------------------------------------------------------


def problems(report: Report, *, clean_tail: float = 3.0) -> list[str]:
    """Every rule the run must keep; empty when it kept them all."""
    found: list[str] = []
    for phase in report.phases:
        counts = phase.verdicts
        where = f"{phase.name}:"
        if any(count == 0 for count in phase.sent_per_node.values()) or len(phase.sent_per_node) != 2:
            found.append(f"{where} the load did not reach both nodes ({phase.sent_per_node})")
        if counts["revoked accepted"]:
            found.append(f"{where} {counts['revoked accepted']} revoked clients or tokens accepted after a second")
        if counts["wrong"]:
            found.append(f"{where} {counts['wrong']} wrong answers (a valid client or token refused, or another 4xx)")
        if phase.clean_tail_seconds < clean_tail:
            found.append(
                f"{where} not recovered: a request failed {phase.clean_tail_seconds} s before the load stopped"
            )
        ceiling = phase.tokens_issued + phase.tokens_unanswered + phase.double_count_allowance
        if not phase.tokens_issued <= phase.usage_counted <= ceiling:
            found.append(
                f"{where} usage counted {phase.usage_counted} tokens, the load received {phase.tokens_issued} "
                f"({phase.tokens_unanswered} token requests got no answer, "
                f"{phase.double_count_allowance} may be counted twice)"
            )
        if phase.revocations_ms:
            if None in phase.revocations_ms:
                found.append(f"{where} node B never refused a revoked application's client and token for good")
            elif max(v for v in phase.revocations_ms if v is not None) >= 1000:
                found.append(f"{where} a revocation took {phase.revocation_worst_ms} ms to reach node B")
    for entry in report.throughput:
        # wrk stops with up to 8 requests per node in flight: the server may have issued and counted them.
        in_flight = 8 * len(entry.per_node)
        if (
            entry.scenario == "token"
            and not entry.tokens_issued <= entry.usage_counted <= entry.tokens_issued + in_flight
        ):
            found.append(f"throughput token: {entry.usage_counted} tokens counted, {entry.tokens_issued} answered")
        for node, result in entry.per_node.items():
            if result["non_2xx"] or result["bad_body"] or result["socket_errors"] or not result["requests"]:
                found.append(f"throughput {entry.scenario} node {node}: {result}")
    checks = report.checks
    if checks:
        expectations = {
            "clients_in_database": checks["registrations"],
            "clients_distinct": checks["registrations"],
            "clients_unknown": 0,
            "clients_missing": 0,
            "usage_registrations": checks["registrations"],
            "ledger_tokens": checks["usage_tokens"],
            "ledger_registrations": checks["usage_registrations"],
            "usage_duplicate_rows": 0,
            "usage_rows_of_unknown_applications": 0,
            "redis_batches_left": 0,
            "redis_pending_fields_left": 0,
            "revoked_applications": checks["revocations_expected"],
            "active_applications": checks["kept_applications"],
        }
        for name, expected in expectations.items():
            if checks[name] != expected:
                found.append(f"database: {name} is {checks[name]}, expected {expected}")
        if sorted(checks["revoke_events"].values()) != [1] * checks["revocations_expected"]:
            found.append(f"database: application.revoke events per application {checks['revoke_events']}")
        unanswered = sum(p.tokens_unanswered + p.double_count_allowance for p in report.phases)
        wrk_counted = sum(t.usage_counted for t in report.throughput)
        issued = checks["tokens_issued_total"] + wrk_counted
        if not issued <= checks["usage_tokens"] <= issued + unanswered:
            found.append(f"database: {checks['usage_tokens']} tokens counted, {issued} issued, {unanswered} unanswered")
    return found


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(report: Report) -> str:
    """The report as Markdown: the phases, the throughput, the database's checks."""
    lines = [
        "| phase | fault | sent | failed | 5xx | wrong | revoked accepted | fault lasted s | recovery s "
        "| revocation worst ms | tokens issued (200) | usage counted |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for phase in report.phases:
        counts = phase.verdicts
        revocation = phase.revocation_worst_ms
        if phase.revocations_ms and revocation is not None:
            known = [v for v in phase.revocations_ms if v is not None]
            revocation_cell = f"{revocation:.0f} (median {statistics.median(known):.0f}, n={len(known)})"
        else:
            revocation_cell = _cell(revocation)
        lines.append(
            "| "
            + " | ".join(
                [
                    phase.name,
                    phase.fault,
                    _cell(phase.sent),
                    _cell(counts["failed"]),
                    _cell(counts["5xx"]),
                    _cell(counts["wrong"]),
                    _cell(counts["revoked accepted"]),
                    _cell(phase.fault_seconds),
                    _cell(phase.recovery_seconds),
                    revocation_cell,
                    _cell(phase.tokens_issued),
                    _cell(phase.usage_counted),
                ]
            )
            + " |"
        )
    accepted = [phase for phase in report.phases if phase.verdicts["revoked accepted"]]
    if accepted:
        lines += [
            "",
            "Revoked and accepted after the second: "
            + "; ".join(
                f"{phase.name}: {phase.verdicts['revoked accepted']} answers, clients "
                f"{', '.join(map(str, phase.revoked_accepted_clients))} of applications "
                f"{', '.join(map(str, phase.revoked_accepted_applications))}"
                for phase in accepted
            )
            + ".",
        ]
    if report.throughput:
        lines += [
            "",
            "| throughput (wrk, both nodes at once) | seconds | node A req/s | node B req/s | cluster req/s "
            "| p50 ms (A / B) | p99 ms (A / B) | non-2xx | usage counted "
            "| CPU ms per request: web / Redis / PostgreSQL |",
            "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | --- |",
        ]
        for entry in report.throughput:
            a, b = entry.per_node["A"], entry.per_node["B"]
            lines.append(
                f"| {entry.scenario} | {entry.seconds:.0f} | {a['rps']:,.0f} | {b['rps']:,.0f} "
                f"| {entry.total_rps:,.0f} "
                f"| {a['p50_ms']} / {b['p50_ms']} | {a['p99_ms']} / {b['p99_ms']} "
                f"| {a['non_2xx'] + b['non_2xx']} | {entry.usage_counted:,} "
                f"| {' / '.join(f'{cpu:.3f}' for cpu in entry.cpu_ms_per_request.values())} |"
            )
    checks = report.checks
    if checks:
        lines += [
            "",
            f"Database at the end: {checks['clients_in_database']:,} clients for {checks['registrations']:,} "
            f"registrations ({checks['clients_distinct']:,} distinct, {checks['clients_unknown']} unknown, "
            f"{checks['clients_missing']} missing); usage rows count {checks['usage_registrations']:,} registrations "
            f"and {checks['usage_tokens']:,} tokens, the flush ledger {checks['ledger_registrations']:,} and "
            f"{checks['ledger_tokens']:,}; {checks['usage_duplicate_rows']} duplicated usage rows; "
            f"{checks['redis_batches_left']} usage batches and {checks['redis_pending_fields_left']} pending counters "
            f"left in Redis; {checks['revoked_applications']} of {checks['revocations_expected']} applications "
            f"revoked with one audit event each, {checks['active_applications']} active. Background flushes that "
            f"failed during faults: {checks['background_flush_failures']}. On disk (table and indexes): "
            f"{checks['client_row_bytes']:,} bytes per client, {checks['audit_event_bytes']:,} per audit event.",
        ]
    return "\n".join(lines)


def describe(report: Report) -> str:
    config, where = report.config, report.machine
    return (
        f"{'Full' if config['full'] else 'Reduced'} run on {where['cpu_model']} ({where['cores']} cores, "
        f"{where['memory_gb']} GB), commit {where['commit']}, {where['date']}: 2 nodes x 2 web workers "
        f"(production settings), {config['targets'] + config['kept']} applications x "
        f"{config['clients_per_application']} clients, {config['threads_per_node']} load threads per node; "
        f"setup {report.setup_seconds} s, whole run {report.total_seconds} s."
    )


def write_markdown(report: Report, path: Path, command: str) -> None:
    text = "\n".join(
        [
            "# Cluster test: two nodes under load and faults",
            "",
            f"Written by `{command}` (tests/cluster/). {describe(report)}",
            "",
            table(report),
            "",
        ]
    )
    path.write_text(text)
