"""What the run is doing, on stderr: stage by stage, rows done for the long stages.

The pipeline marks its stages with :func:`stage` and reports rows with :func:`advance`;
both do nothing unless a reporter is installed with :func:`reporting` (the CLI installs
one; the Python API stays silent). The reporter lives in a context variable, so the
stages stay pure functions of their inputs and a library caller never sees output.

Three levels, chosen by the CLI:
- ``quiet`` (``-q``, or stderr is not a terminal): nothing at all;
- ``normal``: one line per stage, redrawn in place with rows done and elapsed seconds;
- ``verbose`` (``-v``): one permanent line per finished stage with its wall time, on
  any stderr (terminal or not), so a log keeps the timings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal, TextIO

Level = Literal["quiet", "normal", "verbose"]

#: Seconds between two redraws of a stage line (one per chunk would flood a slow terminal).
REDRAW_SECONDS = 0.2


@dataclass(slots=True)
class StageTiming:
    """A finished stage: its label and wall time in seconds."""

    label: str
    seconds: float


@dataclass(slots=True)
class Reporter:
    """Writes stage lines to ``stream``; collects every finished stage's wall time.

    ``interactive``: redraw the current stage line in place (``\\r``); only for a terminal.
    """

    stream: TextIO
    level: Level
    interactive: bool
    timings: list[StageTiming] = field(default_factory=list)
    _label: str = ""
    _total: int | None = None
    _done: int = 0
    _started: float = 0.0
    _drawn: float = 0.0
    _width: int = 0

    def begin(self, label: str, total_rows: int | None) -> None:
        """Start a stage of ``total_rows`` rows (None: not counted in rows)."""
        self._label, self._total, self._done = label, total_rows, 0
        self._started = self._drawn = time.perf_counter()
        self._draw()

    def advance(self, rows: int) -> None:
        """``rows`` more rows of the current stage are done."""
        self._done += rows
        now = time.perf_counter()
        if now - self._drawn >= REDRAW_SECONDS:
            self._drawn = now
            self._draw()

    def end(self) -> None:
        """The current stage is done: record its time, finish its line."""
        seconds = time.perf_counter() - self._started
        self.timings.append(StageTiming(self._label, seconds))
        if self.level == "verbose":
            self._clear()
            self.stream.write(f"govreport: {self._label}: {seconds:.1f} s\n")
            self.stream.flush()
        elif self.interactive:
            self._clear()

    def _line(self) -> str:
        elapsed = time.perf_counter() - self._started
        if self._total:
            share = min(1.0, self._done / self._total)
            bar = "#" * int(share * 20)
            rows = f"[{bar:<20}] {self._done:,}/{self._total:,} rows"
            return f"govreport: {self._label} {rows} {elapsed:.0f} s"
        return f"govreport: {self._label} ... {elapsed:.0f} s"

    def _draw(self) -> None:
        if not self.interactive or self.level == "quiet":
            return
        line = self._line()
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def _clear(self) -> None:
        if self.interactive and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


_REPORTER: ContextVar[Reporter | None] = ContextVar("govreport_progress", default=None)


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[Reporter | None]:
    """Install ``reporter`` for the stages run inside the block (None: silent)."""
    token = _REPORTER.set(reporter)
    try:
        yield reporter
    finally:
        _REPORTER.reset(token)


@contextmanager
def stage(label: str, total_rows: int | None = None) -> Iterator[None]:
    """Mark a pipeline stage (``label`` in plain words; ``total_rows`` for a row count).

    Stages do not nest: an inner stage inside an outer one reports as its own line.
    """
    reporter = _REPORTER.get()
    if reporter is None:
        yield
        return
    reporter.begin(label, total_rows)
    try:
        yield
    finally:
        reporter.end()


def advance(rows: int) -> None:
    """``rows`` more rows of the current stage are done (no-op without a reporter)."""
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter.advance(rows)


def terminal_reporter(stream: TextIO, *, quiet: bool, verbose: bool) -> Reporter | None:
    """The CLI's reporter: None when ``quiet``, or when ``stream`` is not a terminal and
    not ``verbose`` (a log file or a pipe gets no progress lines, only ``-v`` timings)."""
    interactive = bool(getattr(stream, "isatty", lambda: False)())
    if quiet or not (interactive or verbose):
        return None
    level: Level = "verbose" if verbose else "normal"
    return Reporter(stream=stream, level=level, interactive=interactive)


def verbose_timings() -> dict[str, float] | None:
    """Seconds of each stage finished so far, by label, when ``-v`` asked for them; else None.

    A repeated label (e.g. a stage run once per data set) adds up.
    """
    reporter = _REPORTER.get()
    if reporter is None or reporter.level != "verbose":
        return None
    seconds: dict[str, float] = {}
    for timing in reporter.timings:
        seconds[timing.label] = seconds.get(timing.label, 0.0) + round(timing.seconds, 3)
    return seconds
