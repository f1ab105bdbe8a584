"""What the terminal shows while a run works: stage lines, rows done, -q and -v.

The reporter is checked on real runs (the public API and the command line on the tiny
binary net of conftest), against the stage list the pipeline is known to run, and on
hand-driven stages where the expected output is written out in the test.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import govreport
from govreport import progress
from govreport.cli import cli
from tests.conftest import RUN_TIME, tiny_frame, tiny_module

REPO = Path(__file__).resolve().parent.parent


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _run_tiny(rows: int = 300) -> govreport.Outcome:
    return govreport.run(
        tiny_module("binary"),
        tiny_frame("binary", rows=rows),
        "y",
        test_data=tiny_frame("binary", rows=120, seed=12),
        run_time=RUN_TIME,
        command="progress test",
        merge_clusters=(2,),
    )


def test_without_a_reporter_the_api_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    outcome = _run_tiny()
    assert outcome.results.run.stage_seconds is None
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_verbose_reporter_prints_every_stage_with_its_time_and_records_them() -> None:
    stream = io.StringIO()  # not a terminal: -v still prints, once per finished stage
    reporter = progress.terminal_reporter(stream, quiet=False, verbose=True)
    assert reporter is not None
    with progress.reporting(reporter):
        outcome = _run_tiny()
    lines = stream.getvalue().splitlines()
    labels = [line.removeprefix("govreport: ").rsplit(": ", 1)[0] for line in lines]
    for expected in (
        "reading the policy, model and data",
        "activation regions of the train data",
        "activation regions of the test data",
        "checking the converted network against the model file",
        "inactive-state sensitivity (Insens)",
        "simplification by merging regions",
        "evaluating the policy",
    ):
        assert expected in labels
    assert all(line.endswith(" s") and line.startswith("govreport: ") for line in lines)
    assert "\r" not in stream.getvalue()  # no redraws on a non-terminal
    recorded = outcome.results.run.stage_seconds
    assert recorded is not None
    # the provenance holds every stage run before the results were assembled, no other
    assert set(recorded) == set(labels) and all(v >= 0 for v in recorded.values())


def test_a_terminal_sees_a_row_count_redrawn_in_place_and_cleared() -> None:
    stream = _Terminal()
    reporter = progress.terminal_reporter(stream, quiet=False, verbose=False)
    assert reporter is not None and reporter.interactive
    with progress.reporting(reporter):
        _run_tiny(rows=300)
    text = stream.getvalue()
    assert "\ractivation regions of the train data [" in text  # 80 columns: no prefix
    assert "0/300 rows" in text and "0/120 rows" in text
    # every stage line is cleared at its end: the stream ends with a carriage return
    assert text.endswith("\r") and "\n" not in text


def test_rows_are_counted_and_drawn_when_the_redraw_interval_has_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0.0)
    stream = _Terminal()
    reporter = progress.Reporter(stream=stream, level="normal", interactive=True, columns=120)
    with progress.reporting(reporter), progress.stage("scoring", total_rows=1000):
        for _ in range(4):
            progress.advance(250)
    text = stream.getvalue()
    assert "[#####               ] 250/1,000 rows" in text
    assert "[####################] 1,000/1,000 rows" in text
    assert [t.label for t in reporter.timings] == ["scoring"]


def test_quiet_or_a_pipe_without_verbose_installs_no_reporter() -> None:
    assert progress.terminal_reporter(_Terminal(), quiet=True, verbose=True) is None
    assert progress.terminal_reporter(io.StringIO(), quiet=False, verbose=False) is None
    assert progress.terminal_reporter(_Terminal(), quiet=False, verbose=False) is not None


def test_cli_verbose_records_stage_times_and_default_run_does_not(tmp_path: Path) -> None:
    model = tmp_path / "model.pt"
    torch.jit.script(tiny_module("binary")).save(str(model))
    data = tmp_path / "train.csv"
    tiny_frame("binary").to_csv(data, index=False)
    base = ["run", "--model", str(model), "--data", str(data), "--target", "y", "--no-pdf"]
    env = {"SOURCE_DATE_EPOCH": "1767225600"}
    runner = CliRunner()
    quiet = runner.invoke(cli, [*base, "--out", str(tmp_path / "a"), "-q"], env=env)
    verbose = runner.invoke(cli, [*base, "--out", str(tmp_path / "b"), "-v"], env=env)
    assert quiet.exit_code in (0, 1) and verbose.exit_code in (0, 1), verbose.output
    assert quiet.stderr == ""
    assert "govreport: activation regions of the train data: " in verbose.stderr
    assert "govreport: rendering the HTML report: " in verbose.stderr
    first = json.loads((tmp_path / "a" / "results.json").read_text())
    second = json.loads((tmp_path / "b" / "results.json").read_text())
    assert "stage_seconds" not in first["run"]
    assert "activation regions of the train data" in second["run"]["stage_seconds"]


SIGN_POLICY = """\
schema_version: 1
policy: {id: MRM-PROGRESS, version: 1.0.0, owner: Tests, effective: 2026-01-01}
gate: {fail_on: major}
checks:
  - {id: exactness, metric: regions.max_abs_error, max: 1.0e-6, severity: critical}
  - id: sign_x0
    metric: slopes.sign_violation_share
    params: {expected: {x0: "+"}}
    max: 0.5
    severity: minor
  - id: sign_x2
    metric: slopes.sign_violation_share
    params: {expected: {x2: "+"}, coded: {x2: [-2, -1, 0, 1, 2]}}
    max: 0.5
    severity: minor
"""


def _coded_frame(rows: int, seed: int = 11) -> pd.DataFrame:
    """The tiny binary frame with x2 made a code in -2 ... 2 (a discrete sign check)."""
    frame = tiny_frame("binary", rows=rows, seed=seed)
    frame["x2"] = np.clip(np.round(frame["x2"]), -2, 2)
    return frame


def test_every_long_stage_shows_its_passes_with_rows_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each pass over the rows is drawn with its rows done, up to the data set's size."""
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0.0)
    policy = tmp_path / "policy.yaml"
    policy.write_text(SIGN_POLICY)
    stream = _Terminal()
    reporter = progress.Reporter(stream=stream, level="normal", interactive=True, columns=400)
    with progress.reporting(reporter):
        govreport.run(
            tiny_module("binary"),
            _coded_frame(300),
            "y",
            policy=policy,
            test_data=_coded_frame(120, seed=12),
            run_time=RUN_TIME,
            command="progress test",
            merge_clusters=(2, 3),
        )
    drawn = {line.rstrip() for line in stream.getvalue().split("\r")}
    full = "[####################]"

    def seen(prefix: str, rows: int) -> bool:
        done = f"{prefix} {full} {rows:,}/{rows:,} rows"
        return any(line.startswith(done) for line in drawn)

    assert seen("govreport: activation regions of the train data", 300)
    assert seen("govreport: inactive-state sensitivity (Insens): training data", 300)
    assert seen("govreport: inactive-state sensitivity (Insens): test data", 120)
    for feature in ("x0", "x2"):  # continuous (slopes) and coded (finite steps)
        assert seen(f"govreport: sign constraints: {feature} on the train data", 300)
    nearest = "govreport: performance and region statistics: nearest training clients of each"
    assert seen(f"{nearest} training client", 300) and seen(f"{nearest} holdout client", 120)
    views = [line for line in drawn if line.startswith("govreport: views of all clients: x")]
    assert any(f"{full} 300/300 rows" in line for line in views)
    merging = "govreport: simplification by merging regions: "
    assert any(line.startswith(f"{merging}trying 2 merged models ...") for line in drawn)
    assert any(line.startswith(f"{merging}trying 3 merged models ...") for line in drawn)
    assert any(line.startswith(f"{merging}the merged models on the test data") for line in drawn)
    challengers = "govreport: challenger models: "
    assert any(line.startswith(f"{challengers}gradient boosting on ") for line in drawn)
    # a pass never counts past its rows
    counts = [re.search(r"\] ([\d,]+)/([\d,]+) rows", line) for line in drawn]
    pairs = [(int(m[1].replace(",", "")), int(m[2].replace(",", ""))) for m in counts if m]
    assert len(pairs) > 10 and all(done <= total for done, total in pairs)


def test_a_long_line_is_shortened_in_its_words_and_keeps_the_row_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0.0)
    stream = _Terminal()
    reporter = progress.Reporter(stream=stream, level="normal", interactive=True, columns=80)
    with progress.reporting(reporter), progress.stage("a stage with a rather long name in words"):
        progress.part("the test data", 1000)
        for _ in range(4):
            progress.advance(250)
    lines = [line.rstrip() for line in stream.getvalue().split("\r") if line.strip()]
    assert lines and all(len(line) <= 79 for line in lines)  # never wraps: redrawn in place
    # no room for the prefix; the stage's words are cut, the pass and the count are kept
    assert re.fullmatch(
        r"a stage with a rather long…: the test data \[#{10}\] 1,000/1,000 rows \d+ s", lines[-1]
    )
    words = {line.split(" [")[0] for line in lines if "/1,000 rows" in line}
    assert words == {"a stage with a rather long…: the test data"}  # the same as rows are done


def test_a_pass_outside_any_stage_draws_nothing() -> None:
    stream = _Terminal()
    reporter = progress.Reporter(stream=stream, level="normal", interactive=True)
    with progress.reporting(reporter):
        progress.part("stray", 10)
        progress.advance(10)
    assert stream.getvalue() == "" and reporter.timings == []


def _on_a_terminal(tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    """``govreport run`` on the tiny binary net in a child process whose stderr is a
    pseudo-terminal of 200 columns: (exit code, what the terminal received, stdout)."""
    model = tmp_path / "model.pt"
    torch.jit.script(tiny_module("binary")).save(str(model))
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    tiny_frame("binary", rows=400).to_csv(train, index=False)
    tiny_frame("binary", rows=150, seed=12).to_csv(test, index=False)
    args = ["run", "--model", model, "--data", train, "--test-data", test, "--target", "y"]
    args += ["--merge-clusters", "2", "--no-pdf", "--out", tmp_path / "out", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONWARNINGS")}
    env |= {"PYTHONPATH": str(REPO), "SOURCE_DATE_EPOCH": "1767225600"}
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
    child = subprocess.Popen(
        [sys.executable, "-m", "govreport", *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    received = bytearray()
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        received += data
    os.close(master)
    assert child.stdout is not None
    stdout = child.stdout.read().decode()
    return child.wait(), received.decode(), stdout


def test_a_pseudo_terminal_sees_the_bars_fill_and_nothing_else(tmp_path: Path) -> None:
    code, terminal, stdout = _on_a_terminal(tmp_path)
    assert code in (0, 1), terminal
    assert "wrote" in stdout and "govreport:" not in stdout  # progress only on stderr
    drawn = [line.rstrip() for line in terminal.split("\r") if line.strip()]
    bar = "[####################]"
    assert f"govreport: inactive-state sensitivity (Insens): training data {bar} 400/400 rows" in (
        " ".join(drawn)
    )
    assert any(line.startswith("govreport: activation regions of the test data") for line in drawn)
    assert all(line.startswith("govreport: ") for line in drawn), drawn  # no warning, no log
    assert "\n" not in terminal  # every line redrawn in place, then cleared


def test_a_pseudo_terminal_with_quiet_sees_nothing(tmp_path: Path) -> None:
    code, terminal, stdout = _on_a_terminal(tmp_path, "-q")
    assert code in (0, 1) and "wrote" in stdout
    assert terminal == ""


def test_a_stage_without_rows_is_still_redrawn_and_the_redrawing_stops_with_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "TICK_SECONDS", 0.01)
    stream = _Terminal()
    reporter = progress.Reporter(stream=stream, level="normal", interactive=True)
    with progress.reporting(reporter), progress.stage("fitting"):
        for _ in range(1000):  # wait (up to 10 s) for the background redraws
            if stream.getvalue().count("\rgovreport: fitting ... ") >= 3:
                break
            time.sleep(0.01)
    assert stream.getvalue().count("\rgovreport: fitting ... ") >= 3
    assert reporter._ticker is None  # joined when the run ended
    after = stream.getvalue()
    time.sleep(0.05)
    assert stream.getvalue() == after and after.endswith("\r")  # cleared, then silent


def test_no_redrawing_thread_without_a_terminal() -> None:
    reporter = progress.terminal_reporter(io.StringIO(), quiet=False, verbose=True)
    assert reporter is not None
    with progress.reporting(reporter):
        assert reporter._ticker is None
