"""What the terminal shows while a run works: stage lines, rows done, -q and -v.

The reporter is checked on real runs (the public API and the command line on the tiny
binary net of conftest), against the stage list the pipeline is known to run, and on
hand-driven stages where the expected output is written out in the test.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import govreport
from govreport import progress
from govreport.cli import cli
from tests.conftest import RUN_TIME, tiny_frame, tiny_module


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
    assert "activation regions of the train data [" in text
    assert "0/300 rows" in text and "0/120 rows" in text
    # every stage line is cleared at its end: the stream ends with a carriage return
    assert text.endswith("\r") and "\n" not in text


def test_rows_are_counted_and_drawn_when_the_redraw_interval_has_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0.0)
    stream = _Terminal()
    reporter = progress.Reporter(stream=stream, level="normal", interactive=True)
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
