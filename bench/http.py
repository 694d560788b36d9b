"""A minimal HTTP client over http.client: one request, one connection, cookies handled by the caller."""

import http.client
import json
import time
import urllib.parse
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    elapsed_s: float

    def json(self) -> Any:
        return json.loads(self.body)

    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for name, value in self.headers:
            if name.lower() == "set-cookie":
                jar.load(value)
        return {name: morsel.value for name, morsel in jar.items()}

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def describe(self) -> str:
        text = " ".join(self.body[:600].decode("utf-8", "replace").split())
        return f"{self.status} {text[:300]}"


def request(
    base_url: str,
    method: str,
    path: str,
    body: str | bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Response:
    parts = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    payload = body.encode() if isinstance(body, str) else body
    started = time.perf_counter()
    try:
        connection.request(method, path, body=payload or None, headers=headers or {})
        answer = connection.getresponse()
        content = answer.read()
        elapsed = time.perf_counter() - started
        return Response(answer.status, answer.getheaders(), content, elapsed)
    finally:
        connection.close()


def form(data: dict[str, str]) -> str:
    return urllib.parse.urlencode(data)
