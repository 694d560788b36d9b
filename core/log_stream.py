"""The production log handler: standard error through a buffer, written out at most `LOG_FLUSH_SECONDS`
after a line (README "Configuration").

Python's standard error is line-buffered and `logging.StreamHandler` flushes after every record: one
write(2) per request line, a system call during which CPython lets go of the GIL (in a web worker whose
threads answer requests side by side, a handoff to another thread). Here lines gather in a 64 KiB buffer
and a thread of the handler's own writes them out `interval` seconds after the first one, or at once
when the buffer fills. A WARNING or worse is written out with everything before it at once, so an error
is never held back. The thread waits on an event while nothing is pending: an idle server's handler
costs no CPU.

What a buffer risks: a process killed outright (SIGKILL, the OOM killer) loses the lines of its last
`interval`. A process that exits normally writes them out (logging's own exit hook calls `flush`; a
multiprocessing child, such as a web server's worker, through a multiprocessing finalizer, since such a
child ends with `os._exit`), and a fork writes the buffer out first so that the child does not write
the parent's lines again.
"""

import io
import logging
import os
import sys
import threading
import time
from multiprocessing import util
from typing import Any, TextIO

_BUFFER_BYTES = 65536


class BufferedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    def __init__(self, stream: TextIO | None = None, interval: float = 0.5) -> None:
        if stream is None:
            # A stream of our own on standard error's descriptor, with a real buffer (sys.stderr writes
            # each line as it comes).
            stream = io.TextIOWrapper(
                io.BufferedWriter(io.FileIO(os.dup(sys.stderr.fileno()), "w"), _BUFFER_BYTES),
                encoding="utf-8",
                errors="backslashreplace",
                write_through=False,
            )
        super().__init__(stream)
        self.interval = float(interval)
        self._pending = False
        self._wake = threading.Event()
        self._thread_pid = 0
        os.register_at_fork(before=self.flush)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
            # logging.Handler.handle holds self.lock around emit.
            self.stream.write(line)
            if record.levelno >= logging.WARNING or self.interval <= 0:
                self.stream.flush()
                self._pending = False
            elif not self._pending:
                self._pending = True
                self._flusher_start()
                self._wake.set()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._pending = False
            if self.stream and hasattr(self.stream, "flush"):
                self.stream.flush()

    def _flusher_start(self) -> None:
        """The flushing thread of this process, and its exit hook (a forked child makes its own: a
        multiprocessing child starts with no finalizer of its parent's)."""
        if self._thread_pid != os.getpid():
            self._thread_pid = os.getpid()
            self._wake = threading.Event()
            threading.Thread(target=self._flush_loop, name="dcr-log-flush", daemon=True).start()
            util.Finalize(self, self.flush, exitpriority=100)

    def _flush_loop(self) -> None:
        wake = self._wake
        while True:
            wake.wait()
            time.sleep(self.interval)
            wake.clear()
            try:
                self.flush()
            except (OSError, ValueError):  # the stream closed under us (the process is ending)
                return


def buffered_stream_handler(interval: Any = 0.5) -> BufferedStreamHandler:
    """For LOGGING's "()" key (dcr_project/settings/logs.py)."""
    return BufferedStreamHandler(interval=float(interval))
