"""What the run is doing, on stderr: stage by stage, rows done for the long stages.

The pipeline marks its stages with :func:`stage` and reports rows with :func:`advance`;
both do nothing unless a reporter is installed with :func:`reporting` (the CLI installs
one; the Python API stays silent). The reporter lives in a context variable, so the
stages stay pure functions of their inputs and a library caller never sees output.

Three levels, chosen by the CLI:
- ``quiet`` (``-q``, or stderr is not a terminal): nothing at all;
- ``normal``: one line per stage, redrawn in place with rows done and elapsed seconds;
  a stage that passes over the rows more than once (train then test data, or one
  assignment pass per candidate model count) names each pass with :func:`part`;
- ``verbose`` (``-v``): one permanent line per finished stage with its wall time, on
  any stderr (terminal or not), so a log keeps the timings.

Written by hand rather than with tqdm or rich (neither is a dependency): the row counts
come from deep inside pure analysis functions (Insens's chunks, the sign checks'
chunks, the nearest-neighbour blocks), which may not take a progress object as a
parameter and may not print; a context variable read by two no-op-by-default
functions (:func:`part`, :func:`advance`) keeps them so. What is drawn is one line per
stage, never nested bars, and the same reporter records the ``-v`` timings that go into
results.json. tqdm's bars wrap an iterable or need a handle passed down, and rich's live
display takes over the terminal; either would add a dependency for one line of text.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal, TextIO

Level = Literal["quiet", "normal", "verbose"]

#: Seconds between two redraws of a stage line (one per chunk would flood a slow terminal);
#: a pass that reaches its last row is drawn at once, so its bar is seen full.
REDRAW_SECONDS = 0.2
#: Seconds between two redraws of a stage line that counts no rows (its elapsed time
#: still moves: a long stage never looks frozen).
TICK_SECONDS = 1.0
#: Terminal width assumed when the terminal does not say.
DEFAULT_COLUMNS = 80
#: Characters of the bar (half on a terminal narrower than 100 columns).
BAR = 20
#: What every line starts with (left out of a drawn line that would not fit otherwise).
PREFIX = "govreport: "


@dataclass(slots=True)
class StageTiming:
    """A finished stage: its label and wall time in seconds."""

    label: str
    seconds: float


@dataclass(slots=True)
class Reporter:
    """Writes stage lines to ``stream``; collects every finished stage's wall time.

    ``interactive``: redraw the current stage line in place (``\\r``); only for a terminal.
    ``columns``: the terminal's width; a longer line is shortened in the pass's words (a
    line that wraps could not be redrawn in place), the row count is always kept.
    """

    stream: TextIO
    level: Level
    interactive: bool
    columns: int = DEFAULT_COLUMNS
    timings: list[StageTiming] = field(default_factory=list)
    _label: str = ""
    _detail: str = ""
    _active: bool = False
    _total: int | None = None
    _done: int = 0
    _started: float = 0.0
    _drawn: float = 0.0
    _width: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _ticker: threading.Thread | None = None

    def start(self) -> None:
        """On a terminal, redraw the current line every :data:`TICK_SECONDS` from a
        background thread until :meth:`close` (the stages themselves only count rows)."""
        if not self.interactive or self.level == "quiet" or self._ticker is not None:
            return
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick, name="govreport-progress", daemon=True)
        self._ticker.start()

    def close(self) -> None:
        """Stop the redrawing thread (if any)."""
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            self._stop.set()
            ticker.join()

    def _tick(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            with self._lock:
                if time.perf_counter() - self._drawn >= TICK_SECONDS:
                    self._redraw()

    def begin(self, label: str, total_rows: int | None) -> None:
        """Start a stage of ``total_rows`` rows (None: not counted in rows)."""
        with self._lock:
            self._label, self._detail, self._total, self._done = label, "", total_rows, 0
            self._active = True
            self._started = time.perf_counter()
            self._redraw()

    def part(self, detail: str, total_rows: int | None) -> None:
        """A new pass of the current stage: ``detail`` names it, its rows count from 0."""
        with self._lock:
            if not self._active:  # outside any stage: nothing to attach the pass to
                return
            self._detail, self._total, self._done = detail, total_rows, 0
            self._redraw()

    def advance(self, rows: int) -> None:
        """``rows`` more rows of the current stage are done."""
        with self._lock:
            self._done += rows
            total = self._total
            finished = total is not None and self._done >= total > self._done - rows  # just now
            if finished or time.perf_counter() - self._drawn >= REDRAW_SECONDS:
                self._redraw()

    def end(self) -> None:
        """The current stage is done: record its time, finish its line."""
        with self._lock:
            seconds = time.perf_counter() - self._started
            self._active = False
            self.timings.append(StageTiming(self._label, seconds))
            if self.level == "verbose":
                self._clear()
                self.stream.write(f"govreport: {self._label}: {seconds:.1f} s\n")
                self.stream.flush()
            elif self.interactive:
                self._clear()

    def _redraw(self) -> None:
        self._drawn = time.perf_counter()
        self._draw()

    def _line(self) -> str:
        elapsed = time.perf_counter() - self._started
        total = self._total
        if total:
            width = BAR if self.columns >= 100 else BAR // 2
            bar = "#" * int(min(1.0, self._done / total) * width)
            tail = f" [{bar:<{width}}] {self._done:,}/{total:,} rows {elapsed:.0f} s"
            widest = f" [{bar:<{width}}] {total:,}/{total:,} rows 9999 s"
        else:
            tail = f" ... {elapsed:.0f} s"
            widest = " ... 9999 s"
        # room for the words at the widest count, so that they do not shift as rows are done;
        # the last column is left free (writing it wraps the line on some terminals)
        room = self.columns - 1 - len(widest)
        return _fit(self._label, self._detail, room) + tail

    def _draw(self) -> None:
        if not self._active or not self.interactive or self.level == "quiet":
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


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"


def _fit(label: str, detail: str, room: int) -> str:
    """``govreport: label: detail`` in at most ``room`` characters: without the prefix if
    need be, then with the stage's words cut before the pass's, then cut at the end."""
    text = f"{label}: {detail}" if detail else label
    if len(text) + len(PREFIX) <= room:
        return PREFIX + text
    if detail:
        keep = max(room - len(detail) - 2, min(len(label), 16))
        text = f"{_cut(label, keep)}: {detail}"
    return _cut(text, room)


_REPORTER: ContextVar[Reporter | None] = ContextVar("govreport_progress", default=None)


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[Reporter | None]:
    """Install ``reporter`` for the stages run inside the block (None: silent)."""
    token = _REPORTER.set(reporter)
    if reporter is not None:
        reporter.start()
    try:
        yield reporter
    finally:
        if reporter is not None:
            reporter.close()
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


def part(detail: str, total_rows: int | None = None) -> None:
    """A new pass over rows within the current stage (no-op without a reporter).

    ``detail`` in plain words ("test data", "assigning clients to 8 models"); the row
    count restarts at 0 of ``total_rows``.
    """
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter.part(detail, total_rows)


def advance(rows: int) -> None:
    """``rows`` more rows of the current stage are done (no-op without a reporter)."""
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter.advance(rows)


def terminal_columns(stream: TextIO) -> int:
    """The width of the terminal ``stream`` writes to (:data:`DEFAULT_COLUMNS` when unknown)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return DEFAULT_COLUMNS
    return columns if columns > 0 else DEFAULT_COLUMNS


def terminal_reporter(stream: TextIO, *, quiet: bool, verbose: bool) -> Reporter | None:
    """The CLI's reporter: None when ``quiet``, or when ``stream`` is not a terminal and
    not ``verbose`` (a log file or a pipe gets no progress lines, only ``-v`` timings)."""
    interactive = bool(getattr(stream, "isatty", lambda: False)())
    if quiet or not (interactive or verbose):
        return None
    level: Level = "verbose" if verbose else "normal"
    columns = terminal_columns(stream) if interactive else DEFAULT_COLUMNS
    return Reporter(stream=stream, level=level, interactive=interactive, columns=columns)


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
