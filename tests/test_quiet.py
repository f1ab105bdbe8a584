"""A successful run prints no warnings: stderr stays empty (matplotlib, numpy, WeasyPrint).

Runs the real command line in a subprocess (pytest would otherwise catch the
warnings itself) with Python's default warning filters (what a user sees: UserWarning
and RuntimeWarning shown, ResourceWarning hidden), on the simulation example
(its first 400 training and 150 test rows), PDF included.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
SIMULATION = REPO / "examples" / "simulation"


def test_a_successful_run_on_the_example_prints_nothing_on_stderr(tmp_path: Path) -> None:
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    pd.read_csv(SIMULATION / "train.csv", nrows=400).to_csv(train, index=False)
    pd.read_csv(SIMULATION / "test.csv", nrows=150).to_csv(test, index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONWARNINGS", "MPL"))}
    env |= {"PYTHONPATH": str(REPO), "SOURCE_DATE_EPOCH": "1767225600"}
    args = ["--model", SIMULATION / "model.pt", "--data", train, "--test-data", test]
    args += ["--target", "y", "--out", tmp_path / "out"]
    done = subprocess.run(
        [sys.executable, "-m", "govreport", "run", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    assert done.stderr == ""
    assert (tmp_path / "out" / "report.pdf").is_file()
    assert "wrote" in done.stdout
