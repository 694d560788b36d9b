"""The plumbing of `make bench-peer` (bench/peer_*.py), cheaply: the side-by-side summary, and one second
of wrk through the harness's own requests against ours (a live server) and the peer (oidc-provider,
bench/peer/, started and stopped by the harness's own code), every answer checked."""

import base64
import json
import os
import shutil

import jwt
import pytest
import redis
from django.conf import settings

from bench import http, wrk
from bench.peer_report import compare, summarise, table
from bench.peer_scenarios import PEER_OF, ours_fleet, pairs, peer_fleet
from bench.peer_servers import Peer, _group_alive, node_missing, npm_ci
from bench.scenarios import register_request
from bench.services import free_port
from software_statements.services import software_statement_issue
from tests.factories import make_application


def _run(rps: float, p50: float, p99: float, non_2xx: int = 0) -> dict:
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": non_2xx, "bad_body": 0, "socket_errors": 0,
            "cpu_ms_per_request": round(2000 / rps, 3)}  # fmt: skip


def test_the_summary_takes_medians_per_server_and_compares_the_bearer_call_with_the_peers_introspection():
    rounds = {
        "floor": {"ours": [_run(3000, 2, 4), _run(2000, 3, 5), _run(2500, 2.5, 9)]},
        "token": {
            "ours": [_run(1200, 6, 10), _run(900, 7, 30), _run(1000, 6.5, 12)],
            "peer": [_run(3000, 2, 9), _run(3300, 2.1, 8), _run(2000, 3, 20)],
        },
        "introspect": {"ours": [_run(1500, 5, 9)] * 3, "peer": [_run(3000, 2, 8)] * 3},
        "session": {"ours": [_run(2400, 3, 6)] * 3},
        "register": {"ours": [_run(400, 18, 30), _run(410, 18, 33, non_2xx=2)], "peer": [_run(2700, 2.5, 12)] * 2},
    }

    summary = summarise(rounds, PEER_OF)

    token = summary["token"]
    assert (token["ours"]["rps"], token["ours"]["p50_ms"], token["ours"]["p99_ms"]) == (1000, 6.5, 12)
    assert (token["peer"]["rps"], token["peer"]["p99_ms"]) == (3000, 9)
    assert token["ours"]["cpu_ms_per_request"] == 2.0
    assert token["ratio"] == round(1000 / 3000, 3)
    assert token["ratio_rounds"] == [0.4, round(900 / 3300, 3), 0.5]
    assert token["ratio_to_floor"] == round(1000 / 2500, 3)
    # The bearer call has no peer run of its own: the peer's introspection stands for it, and says so.
    assert summary["session"]["peer_is"] == "introspect"
    assert summary["session"]["ratio"] == round(2400 / 3000, 3)
    assert summary["floor"]["peer"] is None
    # A non-2xx answer in any round fails that server's row, and the table says which.
    assert summary["register"]["ours"]["status"] == "failed"
    assert summary["register"]["peer"]["status"] == "ok"
    rendered = table(summary)
    assert "| token | 1,000 | 3,000 | **0.33** (0.40, 0.27, 0.50) | 1.0 |" in rendered
    assert "| session | 2,400 | 3,000 (its introspect) | **0.80**" in rendered
    assert "register" in rendered and "ours:" in rendered.split("| register |")[1]
    # Before and after (e.g. another server behind make serve): ours' numbers of both runs side by side.
    faster = summarise({**rounds, "token": {**rounds["token"], "ours": [_run(2000, 3, 6)] * 3}}, PEER_OF)
    assert "| token | 1,000 / 2,000 | 0.33 / 0.67 | 2.00 / 1.00 | 12.0 / 6.0 |" in compare(
        {"scenarios": summary}, {"scenarios": faster}
    )


@pytest.fixture
def peer(tmp_path):
    """The peer as the harness starts it (one worker), on this test's Redis database; stopped after,
    with its whole process group."""
    missing = node_missing() or ("" if shutil.which("wrk") else "wrk is not installed")
    if missing:
        pytest.skip(f"the peer harness needs node, npm and wrk: {missing}")
    if not settings.REDIS_URL:
        pytest.skip("the peer keeps its state in Redis: REDIS_URL is not set (embedded default)")
    try:
        npm_ci()
    except Exception as exc:  # no registry here: nothing to measure against
        pytest.skip(f"npm ci of bench/peer failed: {exc}")
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    server = Peer(
        port=free_port(),
        workers=1,
        redis_url=settings.REDIS_URL,
        environment=dict(os.environ),
        log_path=tmp_path / "peer.log",
    )
    server.start(timeout=60)
    group = server.process.pid
    yield server
    server.stop()
    assert not _group_alive(group), "the peer's process group outlived stop()"


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_one_second_of_token_requests_on_each_server_every_answer_checked(live_server, programmer, channels, peer):
    statement, _ = software_statement_issue(application=make_application(programmer, name="Bench"), actor="tests")
    register = register_request(statement)
    built = pairs(ours_fleet(live_server.url, register, 3), peer_fleet(peer.base_url, 3), register)

    # The peer as configured: its token is an ES256 JWT for the default resource server, signed with the
    # key it publishes.
    answer = http.request(peer.base_url, "POST", built["token"].peer.path, built["token"].peer.body,
                          built["token"].peer.headers)  # fmt: skip
    assert answer.status == 200, answer.describe()
    access_token = answer.json()["access_token"]
    jwks = http.request(peer.base_url, "GET", "/jwks").json()
    header = json.loads(base64.urlsafe_b64decode(access_token.split(".")[0] + "=="))
    assert header["alg"] == "ES256"
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"]))
    claims = jwt.decode(access_token, key, algorithms=["ES256"], audience="https://api.bench.example/")
    assert claims["scope"] == "api:client:v2"

    for base_url, request in ((live_server.url, built["token"].ours), (peer.base_url, built["token"].peer)):
        cpu_before = peer.cpu_seconds()
        result = wrk.run(base_url, request, duration=1, connections=2, threads=1, timeout=10)
        assert result.requests > 0
        assert (result.non_2xx, result.bad_body, result.socket_errors) == (0, 0, 0), result.first_failure
    # The peer's process group (its primary and worker) is what the harness charges CPU time to.
    assert peer.cpu_seconds() > cpu_before

    # Every answer is checked: a wrong secret on the peer is counted, not measured as throughput.
    wrong = built["token"].peer
    wrong = wrk.Request(wrong.method, wrong.path, wrong.body.replace("client_secret=", "client_secret=x"),
                        wrong.headers, wrong.expect_body)  # fmt: skip
    result = wrk.run(peer.base_url, wrong, duration=1, connections=2, threads=1, timeout=10)
    assert result.requests > 0 and result.non_2xx == result.requests
    assert result.first_failure.startswith("401")
