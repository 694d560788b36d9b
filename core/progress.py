"""Progress of a long command (loading a million client records, a first purge, seeding the bench's
fleet): a progress bar on a terminal (rich: count, percentage, rate, time left), plain periodic lines
otherwise (logs, CI): one each `every_fraction` of the total and at least every `every_seconds`, and one
at the end.

    with ProgressMeter("Loading client records", stream=self.stderr) as progress:
        progress.set_total(count)
        ...
        progress.advance(len(batch))
"""

import time
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "?/s", style="progress.data.speed")


class ProgressMeter:
    def __init__(
        self,
        description: str,
        *,
        stream: Any,
        total: int | None = None,
        every_seconds: float = 10.0,
        every_fraction: float = 0.1,
    ) -> None:
        # A Django command's self.stdout/self.stderr (OutputWrapper) ends every write with a newline,
        # which a bar redrawn in place cannot have: write to the stream it wraps.
        self.stream: TextIO = getattr(stream, "_out", stream)
        self.description = description
        self.total = total
        self.done = 0
        self.every_seconds = every_seconds
        self.every_fraction = every_fraction
        self.started = time.monotonic()
        self._last_line_at = self.started
        self._last_step = 0
        self._bar: Progress | None = None
        self._task: Any = None
        isatty = getattr(self.stream, "isatty", None)
        if isatty is not None and isatty():
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                RateColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream, force_terminal=True),
            )
            self._task = self._bar.add_task(description, total=total)
            self._bar.start()

    def __enter__(self) -> "ProgressMeter":
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.close(finished=kind is None)

    def set_total(self, total: int) -> None:
        self.total = total
        if self._bar is not None:
            self._bar.update(self._task, total=total)

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            return
        now = time.monotonic()
        step = self._step()
        if step > self._last_step or now - self._last_line_at >= self.every_seconds:
            self._last_step = step
            self._line(now)

    def close(self, *, finished: bool = True) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif finished:
            elapsed = time.monotonic() - self.started
            rate = self.done / elapsed if elapsed > 0 else 0.0
            self._write(f"{self.description}: {self._count()} done in {elapsed:,.1f} s ({rate:,.0f}/s)")

    def _step(self) -> int:
        if not self.total or self.every_fraction <= 0:
            return 0
        return int(min(self.done, self.total) / self.total / self.every_fraction + 1e-9)

    def _count(self) -> str:
        if self.total is None:
            return f"{self.done:,}"
        percent = 100 * self.done / self.total if self.total else 100.0
        return f"{self.done:,} of {self.total:,} ({percent:.0f}%)"

    def _line(self, now: float) -> None:
        self._last_line_at = now
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        line = f"{self.description}: {self._count()}, {rate:,.0f}/s"
        if self.total is not None and rate > 0 and self.done < self.total:
            line += f", about {(self.total - self.done) / rate:,.0f} s left"
        self._write(line)

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
