"""A real run per task (binary, multiclass, regression) from results to rendered files.

The runs come from ``conftest.task_run``: the public API on a tiny torch network
and a pandas DataFrame. Each is checked against an independent float64 torch
computation, round-tripped through results.json, and rendered to HTML and JUnit.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import FEATURES, RUN_TIME, tiny_frame, tiny_module
from sklearn.metrics import mean_squared_error, roc_auc_score

from govreport.pipeline import render_outputs
from govreport.results import ResultsError, dump, load_results, results_from_json


def _float64_logits(task: str, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The network's pre-link outputs in float64, computed by torch alone (the oracle)."""
    module = tiny_module(task).double()
    body = module[:5]  # Linear, ReLU, Linear, ReLU, Linear: everything before the link
    with torch.no_grad():
        return body(torch.from_numpy(np.array(x))).numpy()


def test_the_run_reproduces_the_networks_logits_exactly(task_run: tuple[str, Any]) -> None:
    task, outcome = task_run
    results = outcome.results
    frame = tiny_frame(task)
    x = frame[list(FEATURES)].to_numpy(dtype=np.float64)
    y = frame["y"].to_numpy()
    logits = _float64_logits(task, x)
    train = results.regions["train"].census
    assert train.samples == len(x)
    # the local linear models reproduce the network to float64 rounding
    assert train.max_abs_error < 1e-9
    # the canonical network agrees with the float32 module it was converted from
    assert results.model.conversion_max_abs_error < 1e-5
    assert results.model.task == task
    assert results.model.output_dim == logits.shape[1]
    # performance on the training data equals the oracle's, computed by scikit-learn
    metrics = next(p.metrics for p in results.performance if p.dataset == "train")
    if task == "binary":
        assert metrics["auc"] == pytest.approx(roc_auc_score(y, logits[:, 0]), abs=1e-12)
    elif task == "multiclass":
        accuracy = float((logits.argmax(axis=1) == y).mean())
        assert metrics["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    else:
        rmse = float(np.sqrt(mean_squared_error(y, logits[:, 0])))
        assert metrics["rmse"] == pytest.approx(rmse, rel=1e-9)


def test_the_results_round_trip_byte_for_byte(task_run: tuple[str, Any]) -> None:
    _, outcome = task_run
    first = dump(outcome.results)
    assert dump(results_from_json(first, "round trip")) == first


def test_the_rendered_report_and_junit_cover_every_check(task_run: tuple[str, Any]) -> None:
    task, outcome = task_run
    files = render_outputs(outcome.results, pdf=False)
    html = files["report.html"].decode("utf-8")
    words = {
        "binary": "binary classification",
        "multiclass": "multiclass",
        "regression": "regression",
    }
    assert words[task] in html
    assert "<script" not in html.lower()
    assert not re.search(r"\b(src|href)=\"(https?:)?//", html)
    suite = ET.fromstring(files["checks.xml"])
    cases = suite.findall(".//testcase")
    assert len(cases) == len(outcome.evaluation.results) > 0
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {r.check.id for r in outcome.evaluation.results if r.status == "fail"}


INTERVAL_POLICY = """\
schema_version: 1
policy: {id: CI, version: 1.0.0, owner: tests, effective: 2026-01-01}
severity_levels: [info, minor, major, critical]
gate: {fail_on: major}
checks:
  - id: auc_lower
    metric: performance.auc
    dataset: test
    "on": lower_ci
    min: 0.5
    severity: major
"""


def test_a_check_on_an_interval_end_survives_the_render_verification(tmp_path: Path) -> None:
    """results.json of a run with an ``on: lower_ci`` check loads (and so re-renders)."""
    import govreport

    policy = tmp_path / "policy.yaml"
    policy.write_text(INTERVAL_POLICY)
    outcome = govreport.run(
        tiny_module("binary"),
        tiny_frame("binary"),
        "y",
        policy=policy,
        test_data=tiny_frame("binary", rows=120, seed=12),
        run_time=RUN_TIME,
        command="tiny interval run",
        top_regions=5,
        merge_clusters=(2,),
    )
    record = outcome.results.policy.checks[0]
    assert record.on == "lower_ci" and record.point is not None and record.interval is not None
    assert record.observed == record.interval[0] != record.point
    path = tmp_path / "results.json"
    path.write_bytes(dump(outcome.results))
    assert dump(load_results(path)) == path.read_bytes()
    # a forged point value is still refused
    document = json.loads(path.read_text())
    document["policy"]["checks"][0]["point"] = record.point / 2
    path.write_text(json.dumps(document))
    with pytest.raises(ResultsError):
        load_results(path)
