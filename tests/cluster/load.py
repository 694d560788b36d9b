"""The load: threads sending token requests (POST /o/client/token) and bearer calls (GET /api/v2/session)
for many registered clients at both nodes, one fresh connection per request as gunicorn's sync workers
serve them, every answer recorded and judged.

A request for a client of an application the TAM revoked must be accepted when it ended before the
revocation was sent, may go either way while the revocation is under way and for one second after the
TAM's request returned (README: revocations bite everywhere within a second), and must be refused after
that: token 400 invalid_client, session 401. A valid client refused, or any other 4xx, is a wrong answer.
"""

import json
import random
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from http.client import HTTPException

from bench import http
from tests.cluster.harness import Node

TOKEN = "/o/client/token"
SESSION = "/api/v2/session"
REGISTER = "/o/client/register"
GRACE = 1.0  # seconds after a revocation returned during which an acceptance is still allowed
TIMEOUT = 10.0


class Verdict(StrEnum):
    OK = "ok"  # the expected success
    REFUSED = "refused"  # a revoked client or token refused as it must be
    WRONG = "wrong"  # a valid client or token refused, or any other unexpected 4xx
    REVOKED_ACCEPTED = "revoked accepted"  # a revoked client got a token, or a revoked token was accepted
    SERVER_ERROR = "5xx"
    FAILED = "failed"  # no answer: connection refused or reset, or timed out


SUCCESSES = (Verdict.OK, Verdict.REFUSED)


@dataclass
class Credential:
    """One registered client (an app install): its application, its secret, the newest token it got."""

    index: int
    application: int
    client_id: str
    client_secret: str
    address: str  # the device's address, sent as X-Forwarded-For
    token: str = ""


@dataclass(frozen=True)
class Record:
    start: float
    end: float
    node: str
    kind: str  # "token" or "session"
    application: int
    credential: int
    status: int  # 0: no answer
    verdict: Verdict


@dataclass
class Revocation:
    application: int
    sent: float
    done: float = 0.0  # when the TAM's request returned

    def state(self, start: float, end: float) -> str:
        if end < self.sent:
            return "active"
        if self.done and start > self.done + GRACE:
            return "revoked"
        return "either"


@dataclass
class Ledger:
    """Every request's record, and the revocations they are judged against."""

    records: list[Record] = field(default_factory=list)
    revocations: dict[int, Revocation] = field(default_factory=dict)
    first_wrong: list[str] = field(default_factory=list)

    def judge(self, kind: str, application: int, start: float, end: float, status: int, body: bytes) -> Verdict:
        if status == 0:
            return Verdict.FAILED
        if status >= 500:
            return Verdict.SERVER_ERROR
        revocation = self.revocations.get(application)
        state = revocation.state(start, end) if revocation is not None else "active"
        accepted = status == 200  # a token (RFC 6749 5.1, the default DCR_TOKEN_SUCCESS_STATUS) or a bearer call
        refused = status == 401 if kind == "session" else status == 400 and _error(body) == "invalid_client"
        if accepted:
            return Verdict.REVOKED_ACCEPTED if state == "revoked" else Verdict.OK
        if refused and state != "active":
            return Verdict.REFUSED
        return Verdict.WRONG

    def add(self, record: Record, body: bytes) -> None:
        self.records.append(record)  # list.append is atomic: no lock needed between the load's threads
        if record.verdict in (Verdict.WRONG, Verdict.REVOKED_ACCEPTED) and len(self.first_wrong) < 10:
            self.first_wrong.append(f"{record.node} {record.kind} {record.verdict}: {record.status} {body[:200]!r}")


def _error(body: bytes) -> str:
    try:
        return str(json.loads(body).get("error", ""))
    except (ValueError, AttributeError):
        return ""


def _headers(credential: Credential) -> dict[str, str]:
    return {"X-Forwarded-For": credential.address, "X-Forwarded-Proto": "https"}


def send(ledger: Ledger, node: Node, kind: str, credential: Credential) -> Record:
    """One token request or one bearer call for `credential`, recorded; a token issued becomes the
    credential's newest."""
    headers = _headers(credential)
    if kind == "token":
        method, path = "POST", TOKEN
        body = http.form(
            {
                "grant_type": "client_credentials",
                "client_id": credential.client_id,
                "client_secret": credential.client_secret,
            }
        )
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        method, path, body = "GET", SESSION, ""
        headers["Authorization"] = f"Bearer {credential.token}"
    start = time.monotonic()
    try:
        answer = http.request(node.url, method, path, body, headers, timeout=TIMEOUT)
        status, content = answer.status, answer.body
    except (OSError, HTTPException):  # refused, reset, timed out, or cut off mid-answer (a worker killed)
        status, content = 0, b""
    end = time.monotonic()
    verdict = ledger.judge(kind, credential.application, start, end, status, content)
    if kind == "token" and status == 200:
        credential.token = json.loads(content)["access_token"]
    record = Record(start, end, node.name, kind, credential.application, credential.index, status, verdict)
    ledger.add(record, content)
    return record


def register(nodes: Sequence[Node], statements: Sequence[str], per_application: int) -> list[Credential]:
    """`per_application` clients of each application, registered through the nodes in turn, each with a
    first token; raises on any refusal (nothing is under test yet)."""
    jobs = [(application, number) for application in range(len(statements)) for number in range(per_application)]

    def one(job: tuple[int, int]) -> Credential:
        application, number = job
        index = application * per_application + number
        node = nodes[index % len(nodes)]
        address = f"198.18.{index // 250}.{index % 250 + 1}"
        answer = http.request(
            node.url,
            "POST",
            REGISTER,
            json.dumps({"software_statement": statements[application]}),
            {"Content-Type": "application/json", "X-Forwarded-For": address, "X-Forwarded-Proto": "https"},
            timeout=60,
        )
        if answer.status != 201:
            raise AssertionError(f"registration through node {node.name}: {answer.describe()}")
        body = answer.json()
        return Credential(index, application, body["client_id"], body["client_secret"], address)

    with ThreadPoolExecutor(max_workers=8) as pool:
        credentials = list(pool.map(one, jobs))
    return credentials


class Load:
    """`threads` threads per node until stopped, each sending token requests and bearer calls for clients
    picked at random: with probability `revoked_share` a client of a revocation target, else another."""

    def __init__(
        self,
        ledger: Ledger,
        nodes: Sequence[Node],
        kept: Sequence[Credential],
        targets: Sequence[Credential],
        *,
        threads: int,
        revoked_share: float = 0.2,
    ) -> None:
        self.ledger, self.nodes, self.kept, self.targets = ledger, nodes, list(kept), list(targets)
        self.revoked_share = revoked_share
        self.stop_event = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(node, seed), daemon=True)
            for seed, node in enumerate(node for node in nodes for _ in range(threads))
        ]

    def _run(self, node: Node, seed: int) -> None:
        chooser = random.Random(seed)
        while not self.stop_event.is_set():
            pool = self.targets if self.targets and chooser.random() < self.revoked_share else self.kept
            credential = chooser.choice(pool)
            send(self.ledger, node, chooser.choice(("token", "session")), credential)

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        died = sum(1 for thread in self.threads if not thread.is_alive())
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=2 * TIMEOUT)
        if died and exc[0] is None:
            raise RuntimeError(f"{died} load threads died before the phase ended (their traceback is above)")


class Probe:
    """A token request and a bearer call in turn, as fast as they are answered, for one client at one node:
    how soon after a revocation that node refuses them."""

    def __init__(self, ledger: Ledger, node: Node, credential: Credential) -> None:
        self.ledger, self.node, self.credential = ledger, node, credential
        self.records: list[Record] = []
        self.stop_event = threading.Event()
        self.token = credential.token  # issued before the revocation: the bearer calls keep using it
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        probe = Credential(**{**self.credential.__dict__})  # its own copy: new tokens must not replace the old
        while not self.stop_event.is_set():
            for kind in ("token", "session"):
                probe.token = self.token
                self.records.append(send(self.ledger, self.node, kind, probe))

    def __enter__(self) -> "Probe":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join(timeout=2 * TIMEOUT)

    def refused_after(self, done: float) -> float | None:
        """Seconds from `done` until the node refused both the client and its token for good (the end of
        the first request of the last unbroken run of refusals of each kind); None if it never did."""
        latest = 0.0
        for kind in ("token", "session"):
            mine = [record for record in self.records if record.kind == kind and record.end > done]
            refused_from = None
            for record in mine:
                if record.verdict is Verdict.REFUSED:
                    refused_from = refused_from if refused_from is not None else record.end
                else:
                    refused_from = None
            if refused_from is None:
                return None
            latest = max(latest, refused_from - done)
        return latest


def tally(records: Iterable[Record]) -> dict[str, int]:
    counts = {verdict.value: 0 for verdict in Verdict}
    for record in records:
        counts[record.verdict.value] += 1
    return counts
