"""The hot paths' own Redis connections (`core.hot_store.redis_store.RedisStore._script`) are blocking
sockets whose timeout the kernel keeps (`core.redis.kernel_timeouts`): a Redis that takes the command
and never answers still costs a request its timeout, not a hung worker, and the store falls back."""

import socket
import struct
import threading
import time

import pytest
import redis
from django.test import override_settings

from core.hot_store import hot_store
from core.redis import evalsha_on, kernel_timeouts
from tests.oauth.api import token_request


class SilentRedis:
    """Answers every command +OK (redis-py's handshake: CLIENT SETINFO, SELECT, ...; HELLO with the
    protocol asked for, PING with PONG) except the scripts, which it takes and never answers."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.scripts_held = 0
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        buffer = b""
        while True:
            try:
                chunk = connection.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while True:
                command, buffer = _one_command(buffer)
                if command is None:
                    break
                if command[0].upper() in (b"EVALSHA", b"EVAL"):
                    self.scripts_held += 1
                elif command[0].upper() == b"HELLO":  # RESP3's handshake: the protocol agreed
                    connection.sendall(b"%1\r\n$5\r\nproto\r\n:" + command[1] + b"\r\n")
                elif command[0].upper() == b"PING":  # redis-py's health check
                    connection.sendall(b"+PONG\r\n")
                else:
                    connection.sendall(b"+OK\r\n")

    def close(self) -> None:
        self.server.close()
        for connection in self._connections:
            connection.close()


def _one_command(buffer: bytes) -> tuple[list[bytes] | None, bytes]:
    """The first RESP array of bulk strings in `buffer` and what follows it (None while incomplete)."""
    if not buffer.startswith(b"*") or b"\r\n" not in buffer:
        return None, buffer
    head, rest = buffer.split(b"\r\n", 1)
    parts = []
    for _ in range(int(head[1:])):
        if b"\r\n" not in rest:
            return None, buffer
        length_line, rest = rest.split(b"\r\n", 1)
        length = int(length_line[1:])
        if len(rest) < length + 2:
            return None, buffer
        parts.append(rest[:length])
        rest = rest[length + 2 :]
    return parts, rest


@pytest.fixture
def silent_redis():
    server = SilentRedis()
    yield server
    server.close()


def test_a_redis_that_never_answers_a_script_costs_a_token_request_its_timeout_then_the_fallback(
    client, credentials, silent_redis, caplog
):
    form = {key: credentials[key] for key in ("client_id", "client_secret")}
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{silent_redis.port}/0"):
        store = hot_store()
        started = time.monotonic()
        response = token_request(client, {"grant_type": "client_credentials", **form})
        elapsed = time.monotonic() - started
        connection = store.primary._own.connection
    assert response.status_code == 200, response.content
    assert silent_redis.scripts_held >= 1
    # core.redis builds the client with a 0.5 s socket timeout: one wait, not a hang.
    assert 0.4 <= elapsed < 5
    assert "Redis unreachable" in caplog.text
    assert connection._sock is None  # dropped after the failure: the next call connects again


def test_evalsha_on_makes_the_socket_blocking_and_a_silent_reply_still_fails_in_time(silent_redis):
    connection = redis.Redis(
        host="127.0.0.1", port=silent_redis.port, socket_timeout=0.3
    ).connection_pool.make_connection()
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        evalsha_on(connection, "0" * 40, ["key"], ["arg", 1, b"\x00"])
    assert 0.25 <= time.monotonic() - started < 3
    assert silent_redis.scripts_held == 1
    connection.connect()
    kernel_timeouts(connection)
    sock = connection._sock
    assert sock.gettimeout() is None
    seconds, microseconds = struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16))
    assert (seconds, microseconds) == (0, 300_000)
    connection.disconnect()


class _Recorder:
    """A connected connection's two calls that `evalsha_on` makes, recorded (a socket is there)."""

    _sock = object()

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send_packed_command(self, command: list[bytes]) -> None:
        self.sent.extend(command)

    def read_response(self) -> str:
        return "answered"


def test_evalsha_on_sends_what_redis_py_packs():
    arguments = ("0" * 40, ["k1", "k2"], ["text", b"\x00\xff", 3, 1.5, "\u00e9"])
    packed = (
        redis.Redis()
        .connection_pool.make_connection()
        .pack_command("EVALSHA", arguments[0], 2, *arguments[1], *arguments[2])
    )
    recorder = _Recorder()
    assert evalsha_on(recorder, *arguments) == "answered"
    assert b"".join(recorder.sent) == b"".join(packed)
