"""The wrk scenarios: what each one sends, and the one-off calls (a registration, a token) they need.

A scenario whose endpoint is not routed yet, or whose data cannot be made (no statement service), is
reported as "not available" rather than failed; an endpoint that exists and answers wrongly fails.
"""

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.urls import Resolver404, resolve

from . import fleet, http
from .names import TARGET_RATIOS as TARGETS
from .seed import ApiSeed
from .urls import FLOOR_PATH
from .wrk import Request

REGISTER_PATH = "/o/client/register"
TOKEN_PATH = "/o/client/token"
SESSION_PATH = "/api/v2/session"
INTROSPECT_PATH = "/o/client/introspect"

FORM = "application/x-www-form-urlencoded"
USER_AGENT = "BenchPlayer/1.0 (iPhone; iOS 17.4; Scale/3.00)"
DEVICE_INFO = base64.b64encode(
    json.dumps(
        {
            "model": "iPhone15,2",
            "vendor": "Apple",
            "manufacturer": "Apple",
            "osName": "iOS",
            "osFamily": "iOS",
            "osVersion": "17.4",
            "platform": "ios",
            "primaryHardwareType": "Mobile",
            "connectionType": "WiFi",
            "applicationId": "com.example.bench-player",
            "version": "1.0.0",
        }
    ).encode()
).decode()


@dataclass
class Scenario:
    name: str
    what: str
    request: Request | None = None
    # Why the scenario cannot run: "not available" (not built yet) or a failed set-up call.
    missing: str = ""
    failed: str = ""
    # A slow scenario is not warmed up: its in-flight requests would spill into the measurement.
    warm_up: bool = True
    # Connections for this scenario when not the configured number (a slow one: one per worker).
    connections: int | None = None
    target: float | None = None
    # A fleet scenario varies its request (in Lua for wrk): this gives one such request at random, for
    # the checks before measuring, the in-process query count and the profile.
    sample: Callable[[], Request] | None = None
    # Facts about the scenario's set-up carried into its results entry (the fleet's size, seed time).
    facts: dict[str, Any] = field(default_factory=dict)

    def example(self) -> Request | None:
        return self.sample() if self.sample is not None else self.request


def routed(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def _form_post(path: str, data: dict[str, str], expect: str | None) -> Request:
    return Request("POST", path, http.form(data), {"Content-Type": FORM, "Accept": "application/json"}, expect)


def register_request(statement: str) -> Request:
    return Request(
        "POST",
        REGISTER_PATH,
        json.dumps({"software_statement": statement}),
        {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "X-Device-Info": DEVICE_INFO,
        },
        '"client_secret"',
    )


def call(base_url: str, request: Request) -> http.Response:
    return http.request(base_url, request.method, request.path, request.body, request.headers)


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def build(
    base_url: str,
    seed: ApiSeed,
    *,
    fleet_clients: int = 0,
    fleet_tokens: int = 0,
    fleet_load_records: bool = True,
) -> dict[str, Scenario]:
    """Every scenario, after the one-off calls through the real HTTP stack that they depend on.

    With `fleet_clients`, the registered client is copied that many times (bench.fleet) and the fleet
    scenarios are built on the copies, `session_fleet` with tokens of `fleet_tokens` of them."""
    scenarios = _scenarios(seed, fleet_clients=fleet_clients, fleet_tokens=fleet_tokens)
    _mark_missing(scenarios, seed)
    if scenarios["register"].missing and scenarios["token"].missing:
        return scenarios
    credentials = _registered(base_url, scenarios, seed)
    if credentials is None or scenarios["token"].missing:
        return scenarios
    access_token = _token(base_url, scenarios, credentials)
    if access_token is None:
        return scenarios
    scenarios["session"].request = Request(
        "GET",
        SESSION_PATH,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        expect_body='"client_id"',
    )
    scenarios["introspect"].request = _form_post(
        INTROSPECT_PATH, {"token": access_token, **credentials}, '"active"%s*:%s*true'
    )
    if fleet_clients > 0 and not scenarios["token_fleet"].missing:
        _build_fleet(
            base_url,
            scenarios,
            credentials,
            fleet_clients=fleet_clients,
            fleet_tokens=fleet_tokens,
            load_records=fleet_load_records,
        )
    elif fleet_clients <= 0:
        for name in ("token_fleet", "session_fleet"):
            scenarios[name].missing = "BENCH_FLEET_CLIENTS is 0"
    _stamps_republished()
    return scenarios


# The scenarios that need the set-up registration (and, after "register", its token).
DEPENDENT = ("register", "token", "token_fleet", "session", "session_fleet", "introspect")


def _scenarios(seed: ApiSeed, *, fleet_clients: int, fleet_tokens: int) -> dict[str, Scenario]:
    """Every scenario, before the set-up calls give the dependent ones their requests."""
    return {
        "floor": Scenario("floor", "GET a trivial JSON view", Request("GET", FLOOR_PATH, expect_body='"status"')),
        "token": Scenario("token", f"POST {TOKEN_PATH} (client_credentials)", target=TARGETS["token"]),
        "token_fleet": Scenario(
            "token_fleet",
            f"POST {TOKEN_PATH} (client_credentials), a client of {fleet_clients:,} picked at random per request",
            target=TARGETS["token_fleet"],
        ),
        "register": Scenario("register", f"POST {REGISTER_PATH} (same statement)", target=TARGETS["register"]),
        "session": Scenario("session", f"GET {SESSION_PATH} (bearer)", target=TARGETS["session"]),
        "session_fleet": Scenario(
            "session_fleet",
            f"GET {SESSION_PATH} (bearer), tokens of {fleet_tokens:,} fleet clients picked at random per request",
            target=TARGETS["session_fleet"],
        ),
        "introspect": Scenario("introspect", f"POST {INTROSPECT_PATH}", target=TARGETS["introspect"]),
    }


def _mark_missing(scenarios: dict[str, Scenario], seed: ApiSeed) -> None:
    """Mark the scenarios whose endpoint is not routed, or that need a statement the seed has not."""
    for path, names in (
        (REGISTER_PATH, ("register", "token", "token_fleet", "session", "session_fleet", "introspect")),
        (TOKEN_PATH, ("token", "token_fleet", "session", "session_fleet", "introspect")),
        (SESSION_PATH, ("session", "session_fleet")),
        (INTROSPECT_PATH, ("introspect",)),
    ):
        if not routed(path):
            for name in names:
                scenarios[name].missing = scenarios[name].missing or f"{path} is not routed yet"
    if seed.statement is None:
        for name in DEPENDENT:
            scenarios[name].missing = scenarios[name].missing or seed.statement_missing


def _registered(base_url: str, scenarios: dict[str, Scenario], seed: ApiSeed) -> dict[str, str] | None:
    """One registration through the real endpoint gives the client the other scenarios use; None (the
    dependent scenarios marked failed) when it fails."""
    assert seed.statement is not None
    registration = register_request(seed.statement)
    scenarios["register"].request = registration
    answer = call(base_url, registration)
    if answer.status // 100 != 2:
        reason = f"the set-up registration answered {answer.describe()}"
        for name in DEPENDENT:
            scenarios[name].failed = scenarios[name].failed or reason
        return None
    client = answer.json()
    return {"client_id": client["client_id"], "client_secret": client["client_secret"]}


def _token(base_url: str, scenarios: dict[str, Scenario], credentials: dict[str, str]) -> str | None:
    """One token for the client; None (the scenarios after "register" marked failed) when it fails."""
    token_request = _form_post(TOKEN_PATH, {"grant_type": "client_credentials", **credentials}, '"access_token"')
    scenarios["token"].request = token_request
    answer = call(base_url, token_request)
    if answer.status // 100 != 2:
        reason = f"the set-up token request answered {answer.describe()}"
        for name in DEPENDENT[1:]:
            scenarios[name].failed = scenarios[name].failed or reason
        return None
    return answer.json()["access_token"]


def _stamps_republished() -> None:
    """What beat does every minute in production (the bench runs no worker): write recent revocation
    stamps again, which also tells bearer checks that the newest stamps are complete."""
    try:
        from oauth.tasks import revocation_stamps_republish_recent
    except ImportError:  # an older tree
        return
    _log(f"revocation stamps republished: {revocation_stamps_republish_recent()}")


def _build_fleet(
    base_url: str,
    scenarios: dict[str, Scenario],
    credentials: dict[str, str],
    *,
    fleet_clients: int,
    fleet_tokens: int,
    load_records: bool,
) -> None:
    """Copy the registered client `fleet_clients` times, write their records to the hot-path store (when
    `load_records`), then mint tokens of `fleet_tokens` of the copies."""
    token_fleet, session_fleet = scenarios["token_fleet"], scenarios["session_fleet"]
    _log(f"fleet: copying client {credentials['client_id'][:8]}... {fleet_clients:,} times")
    try:
        clients = fleet.seed(
            template_client_id=credentials["client_id"], client_secret=credentials["client_secret"], count=fleet_clients
        )
    except Exception as exc:  # the one-client numbers must survive a fleet that could not be made
        for scenario in (token_fleet, session_fleet):
            scenario.failed = f"seeding the fleet failed: {exc}"
        return
    _log(
        f"fleet: {fleet_clients:,} clients and {clients.audit_events:,} audit events in {clients.seed_seconds:.1f} s, "
        f"then VACUUM ANALYZE in {clients.vacuum_seconds:.1f} s"
    )
    facts: dict[str, Any] = {
        "fleet_clients": fleet_clients,
        "fleet_seed_s": clients.seed_seconds,
        "fleet_vacuum_analyze_s": clients.vacuum_seconds,
        "fleet_audit_events": clients.audit_events,
        "fleet_records_loaded_s": None,
    }
    if load_records:
        try:
            facts["fleet_records_loaded_s"] = fleet.load_records()
        except Exception as exc:  # measured without them then, and said so
            _log(f"fleet: load_client_records failed ({exc}); the fleet's records stay out of the store")
        if facts["fleet_records_loaded_s"] is not None:
            _log(f"fleet: the copies' records written to the store in {facts['fleet_records_loaded_s']:.1f} s")
    token_fleet.request, token_fleet.sample = fleet.token_request(clients)
    token_fleet.facts = dict(facts)
    if fleet_tokens <= 0:
        session_fleet.missing = "no tokens asked for (session_fleet not selected)"
        return
    started = time.monotonic()
    try:
        tokens = fleet.mint_tokens(base_url, clients, fleet_tokens)
    except (RuntimeError, OSError) as exc:
        session_fleet.failed = str(exc)
        return
    _log(f"fleet: {len(tokens):,} tokens of distinct clients minted in {time.monotonic() - started:.1f} s")
    session_fleet.request, session_fleet.sample = fleet.session_request(tokens)
    session_fleet.facts = {**facts, "fleet_tokens": len(tokens)}
