"""A real run per task (binary, multiclass, regression) from results to rendered files.

The runs come from ``conftest.task_run``: the public API on a tiny torch network
and a pandas DataFrame. Each is checked against an independent float64 torch
computation, round-tripped through results.json, and rendered to HTML and JUnit.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest
import torch
from conftest import FEATURES, tiny_frame, tiny_module
from sklearn.metrics import mean_squared_error, roc_auc_score

from govreport.pipeline import render_outputs
from govreport.results import dump, results_from_json


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
