"""Random identifiers for every request (the request id, an access token's `jti`) without a system call each.

`os.urandom` is a getrandom(2) call, and CPython lets go of the GIL around it: in a web worker whose threads
answer requests side by side, each call is a chance for another thread to take the GIL, a handoff of two
futex calls and a context switch. Here each thread draws 16 bytes at a time from its own 4 KiB of
`os.urandom` output (one call per 256 ids); the bytes are the kernel's CSPRNG output either way. A forked
child never reuses its parent's bytes: the pools are dropped in the child (`os.register_at_fork`), and by
`core.process_state.reset`.
"""

import os
import threading

from . import process_state

_POOL_BYTES = 4096
_ID_BYTES = 16


class _Pool(threading.local):
    data = b""
    offset = 0


class _Pools:
    """Each thread's pool; `clear` (a fork, a test's reset) drops every thread's."""

    def __init__(self) -> None:
        self.local = _Pool()

    def clear(self) -> None:
        self.local = _Pool()


_pools = process_state.register("random-id-pools", _Pools())
os.register_at_fork(after_in_child=_pools.clear)


def random_bytes() -> bytes:
    """16 bytes of the kernel's CSPRNG output, never handed out twice in this process."""
    pool = _pools.local
    offset = pool.offset
    if offset + _ID_BYTES > len(pool.data):
        pool.data = os.urandom(_POOL_BYTES)
        offset = 0
    pool.offset = offset + _ID_BYTES
    return pool.data[offset : offset + _ID_BYTES]


def random_hex() -> str:
    """32 hex digits: 128 random bits."""
    return random_bytes().hex()


def random_uuid() -> str:
    """A random (version 4) UUID in its canonical text form (RFC 9562 5.4), what `str(uuid.uuid4())` gives."""
    value = bytearray(random_bytes())
    value[6] = (value[6] & 0x0F) | 0x40
    value[8] = (value[8] & 0x3F) | 0x80
    text = value.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
