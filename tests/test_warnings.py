"""No library warning leaks from a run: every warning is recorded, not only those Python
shows by default (matplotlib's UserWarning, numpy's overflow/divide/invalid
RuntimeWarning, scikit-learn's ConvergenceWarning and FutureWarning, pandas').

The command line runs in-process (click's CliRunner, HTML report and every figure, no
PDF) under ``warnings.simplefilter("always")`` on the tiny nets of each task with test
data, and on a fragmented net (a random ReLU net with about one activation region per
client) with test data, sign checks (continuous and coded), and a data dictionary with
a protected feature. ``test_quiet.py`` runs the real command line with the PDF and
Python's default filters. The fragmented run also checks that no profile figure is
empty: its top regions are all below the disclosure threshold (counted here from the
network's own activation patterns), so the all-client views take their place and the
report says why.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from govreport.cli import cli
from tests.conftest import tiny_frame, tiny_module

ENV = {"SOURCE_DATE_EPOCH": "1767225600"}
N_FEATURES = 6
#: The disclosure threshold of the runs (the default).
DISCLOSURE = 10

POLICY = """\
schema_version: 1
policy: {id: MRM-WARNINGS, version: 1.0.0, owner: Tests, effective: 2026-01-01}
gate: {fail_on: major}
checks:
  - {id: exactness, metric: regions.max_abs_error, max: 1.0e-6, severity: critical}
  - {id: auc, metric: performance.auc, dataset: test, min: 0.6, severity: minor}
  - id: sign_f0
    metric: slopes.sign_violation_share
    params: {expected: {f0: "+"}}
    max: 0.5
    severity: minor
  - id: sign_code
    metric: slopes.sign_violation_share
    params: {expected: {code: "-"}, coded: {code: [1, 2, 3]}}
    max: 0.5
    severity: minor
"""

DICTIONARY = """\
schema_version: 1
fairness: {cutoff: 0.5, adverse_class: 1}
features:
  group:
    type: categorical
    values: [1, 2]
    labels: [first, second]
    protected: true
  code:
    type: ordinal
    values: [1, 2, 3]
"""


def _fragmented_net() -> torch.nn.Sequential:
    """8 -> 48 -> 48 -> 1 ReLU net, torch's default init (seed 5): ~one region per row."""
    torch.manual_seed(5)
    return torch.nn.Sequential(
        torch.nn.Linear(N_FEATURES + 2, 48),
        torch.nn.ReLU(),
        torch.nn.Linear(48, 48),
        torch.nn.ReLU(),
        torch.nn.Linear(48, 1),
        torch.nn.Sigmoid(),
    ).eval()


def _fragmented_frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, N_FEATURES))
    frame = pd.DataFrame(x, columns=[f"f{j}" for j in range(N_FEATURES)])
    frame["group"] = rng.integers(1, 3, size=rows)
    frame["code"] = rng.integers(1, 4, size=rows)
    score = x[:, 0] - x[:, 1] - 0.3 * frame["code"] + rng.normal(size=rows)
    frame["y"] = (score > -0.6).astype(np.int64)
    return frame


def _largest_pattern_count(model: torch.nn.Sequential, frame: pd.DataFrame) -> int:
    """Clients in the most common activation pattern, from the ReLUs' own outputs."""
    x = torch.tensor(frame.drop(columns="y").to_numpy(), dtype=torch.float64)
    patterns = []
    with torch.no_grad():
        h = x
        for layer in model.double():
            h = layer(h)
            if isinstance(layer, torch.nn.ReLU):
                patterns.append((h > 0).numpy())
    _, counts = np.unique(np.concatenate(patterns, axis=1), axis=0, return_counts=True)
    return int(counts.max())


def _run(
    tmp_path: Path, model: torch.nn.Sequential, train: pd.DataFrame, test: pd.DataFrame, *extra: str
) -> tuple[list[warnings.WarningMessage], Path]:
    path = tmp_path / "model.pt"
    torch.jit.script(model).save(str(path))
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    out = tmp_path / "out"
    args = ["run", "--model", str(path), "--data", str(tmp_path / "train.csv")]
    args += ["--test-data", str(tmp_path / "test.csv"), "--target", "y", "--no-pdf"]
    args += ["--out", str(out), "-q", *extra]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        done = CliRunner().invoke(cli, args, env=ENV)
    assert done.exit_code in (0, 1), done.output
    return caught, out


def _listed(caught: list[warnings.WarningMessage]) -> str:
    return "\n".join(f"{w.category.__name__} {w.filename}:{w.lineno}: {w.message}" for w in caught)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_run_of_each_task_emits_no_warning(tmp_path: Path, task: str) -> None:
    caught, out = _run(
        tmp_path,
        tiny_module(task),
        tiny_frame(task, rows=400),
        tiny_frame(task, rows=150, seed=12),
        "--merge-clusters",
        "2,3",
    )
    assert caught == [], _listed(caught)
    assert (out / "report.html").is_file()


@pytest.fixture(scope="module")
def fragmented(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[warnings.WarningMessage], Path, int]:
    tmp_path = tmp_path_factory.mktemp("fragmented")
    model = _fragmented_net()
    train, test = _fragmented_frame(1500, 1), _fragmented_frame(500, 2)
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "dictionary.yaml").write_text(DICTIONARY)
    caught, out = _run(
        tmp_path,
        model,
        train,
        test,
        "--policy",
        str(tmp_path / "policy.yaml"),
        "--data-dictionary",
        str(tmp_path / "dictionary.yaml"),
    )
    return caught, out, _largest_pattern_count(model, train)


def test_a_fragmented_run_with_every_stage_emits_no_warning(
    fragmented: tuple[list[warnings.WarningMessage], Path, int],
) -> None:
    caught, out, _ = fragmented
    assert caught == [], _listed(caught)
    results = json.loads((out / "results.json").read_text())
    assert results["fairness"] is not None and results["stability"] is not None
    assert {c["check"] for c in results["sign_constraints"]["checks"]} == {"sign_f0", "sign_code"}


def test_a_fragmented_run_draws_the_all_client_views_instead_of_empty_profiles(
    fragmented: tuple[list[warnings.WarningMessage], Path, int],
) -> None:
    _, out, largest = fragmented
    assert largest < DISCLOSURE  # every region is below the threshold: nothing to profile
    html = (out / "report.html").read_text()
    figures = set(re.findall(r'<figure id="figure-([a-z0-9-]+)"', html))
    assert not any(f.startswith("profile-") for f in figures)
    assert {"slope-by-value", "ice"} <= figures
    assert "No region profile is drawn" in html and "views of all clients" in html


def test_a_net_with_extreme_logits_emits_no_overflow_warning(tmp_path: Path) -> None:
    """Logits in the thousands: exp(-z) overflows unless the sigmoid is computed stably."""
    model = tiny_module("binary")
    with torch.no_grad():
        model[4].weight.mul_(50000.0)  # the output layer: |logit| in the thousands
    caught, out = _run(
        tmp_path,
        model,
        tiny_frame("binary", rows=400),
        tiny_frame("binary", rows=150, seed=12),
        "--merge-clusters",
        "2,3",
    )
    assert caught == [], _listed(caught)
    assert (out / "report.html").is_file()
    x = torch.tensor(
        tiny_frame("binary", rows=400).drop(columns="y").to_numpy(), dtype=torch.float32
    )
    with torch.no_grad():
        logits = model[:5](x)  # without the sigmoid
    assert float(logits.min()) < -1000.0 and float(logits.max()) > 1000.0
