"""What `make bench-peer` sends to each server: a fleet of clients registered through each server's own
registration endpoint, then per scenario one wrk request (a client, or a token, picked at random per
request in Lua) for ours and one for the peer.

- token: ours POST /o/client/token, client_credentials, secret in the body; the peer POST /token, the
  same (with `scope`, so that its JWT carries one as ours does);
- introspect: ours POST /o/client/introspect of a fleet client's own JWT; the peer POST
  /token/introspection of a fleet client's own opaque token (it introspects no JWT);
- session: ours GET /api/v2/session with a fleet client's JWT as bearer; the peer has no protected API
  of its own, and a resource server of its would introspect: its introspection stands for it;
- register: ours POST /o/client/register with one software statement; the peer POST /reg (open);
- floor: ours GET /healthz (a JSON answer through the whole stack), for the ratio to the floor.
"""

import json
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import http
from .wrk import Request, lua_string

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# Both servers get it: ours runs production settings, which redirect plain http to https unless a
# TLS-terminating proxy says the request came over https (README "Production deployment").
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
SCOPE = "api:client:v2"
# bench/peer/server.mjs: the resource server whose tokens are opaque (oidc-provider introspects no JWT).
PEER_OPAQUE_RESOURCE = "https://introspected.bench.example/"
PEER_REGISTRATION = {
    "client_name": "Bench Player",
    "grant_types": ["client_credentials"],
    "response_types": [],
    "redirect_uris": [],
    "token_endpoint_auth_method": "client_secret_post",
}
SCENARIOS = ("floor", "token", "introspect", "session", "register")
# Scenarios whose peer column is the peer's run of another scenario (the bearer call has no peer of
# its own: a resource server of the peer's would introspect, so that is what it is compared with).
PEER_OF = {"session": "introspect"}


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    token: str = ""


@dataclass(frozen=True)
class Pair:
    """One scenario: the request for ours, the request for the peer (None: no peer run of its own)."""

    name: str
    what: str
    ours: Request
    peer: Request | None
    ours_sample: Callable[[], Request]
    peer_sample: Callable[[], Request] | None


def _form(data: dict[str, str]) -> str:
    return http.form(data)


def pick_lua(bodies: Sequence[str] = (), authorizations: Sequence[str] = ()) -> str:
    """Lua defining request(): each request sends one of `bodies` (or, for a GET, one of the bearer
    `authorizations`), picked at random; seeded per wrk run and thread (bench_seed, thread_index)."""
    choices = bodies or authorizations
    if not choices:
        raise ValueError("nothing to pick from")
    table = ",\n".join(lua_string(choice) for choice in choices)
    if bodies:
        build = "return wrk.format(nil, nil, nil, choices[math.random(1, #choices)])"
    else:
        build = (
            "local headers = {}\n"
            "  for name, value in pairs(wrk.headers) do headers[name] = value end\n"
            '  headers["Authorization"] = choices[math.random(1, #choices)]\n'
            "  return wrk.format(nil, nil, headers, nil)"
        )
    return f"""
local choices = {{
{table}
}}
local seeded = false

function request()
  if not seeded then
    math.randomseed(bench_seed + 7919 * (thread_index or 0))
    seeded = true
  end
  {build}
end
"""


def _post(path: str, bodies: Sequence[str], content_type: str, expect: str) -> tuple[Request, Callable[[], Request]]:
    headers = {"Content-Type": content_type, "Accept": JSON, **PROXY_HEADERS}

    def one(body: str) -> Request:
        return Request("POST", path, body, headers, expect)

    example = one(bodies[0])
    lua = pick_lua(bodies=bodies) if len(bodies) > 1 else ""
    request = Request("POST", path, example.body, headers, expect, lua=lua)
    return request, lambda: one(random.choice(bodies))


def _bearer(path: str, tokens: Sequence[str], expect: str) -> tuple[Request, Callable[[], Request]]:
    def one(token: str) -> Request:
        return Request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": JSON, **PROXY_HEADERS},
                       expect_body=expect)  # fmt: skip

    example = one(tokens[0])
    lua = pick_lua(authorizations=[f"Bearer {token}" for token in tokens])
    request = Request("GET", path, headers=example.headers, expect_body=expect, lua=lua)
    return request, lambda: one(random.choice(tokens))


def _in_parallel(count: int, make: Callable[[int], Client], threads: int = 8) -> list[Client]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(make, range(count)))


def _checked(answer: http.Response, what: str) -> dict[str, str]:
    if answer.status // 100 != 2:
        raise RuntimeError(f"{what} answered {answer.describe()}")
    data: dict[str, str] = answer.json()
    return data


def ours_fleet(base_url: str, register: Request, count: int) -> list[Client]:
    """`count` clients registered through ours' POST /o/client/register, each with an access token."""
    headers = {**register.headers, **PROXY_HEADERS}
    token_headers = {"Content-Type": FORM, "Accept": JSON, **PROXY_HEADERS}

    def make(_: int) -> Client:
        client = _checked(http.request(base_url, "POST", register.path, register.body, headers), "ours' registration")
        body = _form({"grant_type": "client_credentials", "client_id": client["client_id"],
                      "client_secret": client["client_secret"]})  # fmt: skip
        token = _checked(http.request(base_url, "POST", "/o/client/token", body, token_headers), "ours' token")
        return Client(client["client_id"], client["client_secret"], token["access_token"])

    return _in_parallel(count, make)


def peer_fleet(base_url: str, count: int) -> list[Client]:
    """`count` clients registered through the peer's open registration, each with an opaque token."""
    headers = {"Content-Type": JSON, "Accept": JSON, **PROXY_HEADERS}
    token_headers = {"Content-Type": FORM, "Accept": JSON, **PROXY_HEADERS}

    def make(_: int) -> Client:
        client = _checked(http.request(base_url, "POST", "/reg", json.dumps(PEER_REGISTRATION), headers), "peer /reg")
        body = _form({"grant_type": "client_credentials", "client_id": client["client_id"],
                      "client_secret": client["client_secret"], "resource": PEER_OPAQUE_RESOURCE})  # fmt: skip
        token = _checked(http.request(base_url, "POST", "/token", body, token_headers), "peer /token")
        return Client(client["client_id"], client["client_secret"], token["access_token"])

    return _in_parallel(count, make)


def pairs(ours: list[Client], peer: list[Client], register: Request) -> dict[str, Pair]:
    """Every scenario's pair of requests over the two fleets."""
    token_ours = [_form({"grant_type": "client_credentials", "client_id": c.client_id,
                         "client_secret": c.client_secret}) for c in ours]  # fmt: skip
    token_peer = [_form({"grant_type": "client_credentials", "client_id": c.client_id,
                         "client_secret": c.client_secret, "scope": SCOPE}) for c in peer]  # fmt: skip
    introspect_ours = [_form({"token": c.token, "client_id": c.client_id, "client_secret": c.client_secret})
                       for c in ours]  # fmt: skip
    introspect_peer = [_form({"token": c.token, "client_id": c.client_id, "client_secret": c.client_secret})
                       for c in peer]  # fmt: skip
    active = '"active"%s*:%s*true'
    built = {
        "floor": (Request("GET", "/healthz", headers=dict(PROXY_HEADERS), expect_body='"status"'), None),
        "token": (
            _post("/o/client/token", token_ours, FORM, '"access_token"'),
            _post("/token", token_peer, FORM, '"access_token"'),
        ),
        "introspect": (
            _post("/o/client/introspect", introspect_ours, FORM, active),
            _post("/token/introspection", introspect_peer, FORM, active),
        ),
        "session": (_bearer("/api/v2/session", [c.token for c in ours], '"client_id"'), None),
        "register": (
            _post(register.path, [register.body], register.headers.get("Content-Type", JSON), '"client_secret"'),
            _post("/reg", [json.dumps(PEER_REGISTRATION)], JSON, '"client_secret"'),
        ),
    }
    what = {
        "floor": "GET /healthz (ours only: the floor, a JSON answer through the whole stack)",
        "token": "client_credentials, secret in the body, a fleet client picked at random per request",
        "introspect": "introspection of a fleet client's own token, authenticated as that client",
        "session": "ours: GET /api/v2/session with a fleet client's JWT; the peer: its introspection",
        "register": "a new client per request (ours: software statement, committed to PostgreSQL; peer: Redis)",
    }
    result = {}
    for name, (ours_built, peer_built) in built.items():
        if isinstance(ours_built, Request):
            ours_request, ours_sample = ours_built, (lambda request=ours_built: request)
        else:
            ours_request, ours_sample = ours_built
        # Our registration carries the device's headers (User-Agent, X-Device-Info) as an app sends them.
        if name == "register":
            ours_request = Request(ours_request.method, ours_request.path, ours_request.body,
                                   {**register.headers, **PROXY_HEADERS}, ours_request.expect_body)  # fmt: skip
            ours_sample = lambda request=ours_request: request  # noqa: E731
        peer_request, peer_sample = peer_built if peer_built is not None else (None, None)
        result[name] = Pair(name, what[name], ours_request, peer_request, ours_sample, peer_sample)
    return result
