"""The production log handler (core.log_stream): lines held at most its interval, a warning at once,
nothing lost at a normal exit (a multiprocessing child's too), nothing written twice across a fork.
Each case runs in a process of its own whose standard error is a pipe, read as a log collector would."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from core.random_ids import random_hex, random_uuid

ROOT = Path(__file__).resolve().parents[2]
PREAMBLE = """
import logging, os, sys, time
from core.log_stream import BufferedStreamHandler
handler = BufferedStreamHandler(interval={interval})
handler.setFormatter(logging.Formatter("%(message)s"))
log = logging.getLogger("t")
log.addHandler(handler)
log.setLevel(logging.INFO)
log.propagate = False
"""


def _start(body: str, interval: float) -> subprocess.Popen[bytes]:
    code = PREAMBLE.format(interval=interval) + textwrap.dedent(body)
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def _ready(stream, wait: float) -> bool:
    import select

    return bool(select.select([stream], [], [], wait)[0])


def test_info_lines_wait_for_the_interval_and_a_warning_writes_them_out_at_once():
    process = _start(
        """
        log.info("first")
        log.info("second")
        print("logged", flush=True)
        sys.stdin = None
        time.sleep(3)
        log.warning("third")
        time.sleep(30)
        """,
        interval=60,
    )
    try:
        assert process.stdout.readline() == b"logged\n"
        assert not _ready(process.stderr, 1.0)  # held: nothing for a whole second
        assert _ready(process.stderr, 10)
        assert os.read(process.stderr.fileno(), 4096) == b"first\nsecond\nthird\n"
    finally:
        process.kill()
        process.wait()


def test_a_held_line_is_written_after_the_interval():
    process = _start('log.info("soon")\nprint("logged", flush=True)\ntime.sleep(30)', interval=0.3)
    try:
        assert process.stdout.readline() == b"logged\n"
        started = time.monotonic()
        assert _ready(process.stderr, 10)
        assert os.read(process.stderr.fileno(), 4096) == b"soon\n"
        assert time.monotonic() - started < 5
    finally:
        process.kill()
        process.wait()


def test_a_normal_exit_and_a_multiprocessing_childs_exit_write_out_what_is_held():
    process = _start(
        """
        import multiprocessing
        def child():
            log.info("from the child")
        log.info("before the fork")
        worker = multiprocessing.get_context("fork").Process(target=child)
        worker.start()
        worker.join()
        log.info("parent at exit")
        """,
        interval=60,
    )
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    # The fork wrote out the parent's line first: the child does not repeat it.
    assert err.decode().splitlines() == ["before the fork", "from the child", "parent at exit"]


def test_random_ids_are_what_their_names_say_and_a_forked_child_draws_its_own():
    import uuid

    value = random_uuid()
    assert str(uuid.UUID(value)) == value and uuid.UUID(value).version == 4
    assert len(random_hex()) == 32 and int(random_hex(), 16) >= 0
    assert len({random_uuid() for _ in range(2000)}) == 2000
    reader, writer = os.pipe()
    random_hex()  # this thread's pool now holds bytes the child would inherit
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.write(writer, random_hex().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(reader, 64).decode()
    assert child != random_hex()
