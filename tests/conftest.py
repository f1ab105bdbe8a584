"""Shared fixtures: one tiny network per task, and a real govreport run of each.

``tiny_module(task)`` is a hand-seeded ``nn.Sequential`` (3 inputs, two ReLU
layers) with the task's output link: sigmoid (binary), softmax over three
classes (multiclass) or none (regression). ``tiny_frame(task)`` is data drawn
with a fixed seed whose target the task accepts. ``task_run`` runs the whole
pipeline on them through the public API, once per session and task, so the
analysis, results and render tests can share real results instead of
hand-written documents.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import settings as hypothesis_settings

TASKS = ("binary", "multiclass", "regression")
FEATURES = ("x0", "x1", "x2")
RUN_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def tiny_module(task: str) -> torch.nn.Sequential:
    """3 -> 8 -> 6 -> k network in float32 with fixed weights (seed 7) and the task's link."""
    torch.manual_seed(7)
    outputs = 3 if task == "multiclass" else 1
    layers: list[torch.nn.Module] = [
        torch.nn.Linear(3, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 6),
        torch.nn.ReLU(),
        torch.nn.Linear(6, outputs),
    ]
    if task == "binary":
        layers.append(torch.nn.Sigmoid())
    elif task == "multiclass":
        layers.append(torch.nn.Softmax(dim=1))
    return torch.nn.Sequential(*layers).eval()


def tiny_frame(task: str, rows: int = 300, seed: int = 11) -> pd.DataFrame:
    """``rows`` rows of three standard-normal features and a target the task accepts."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    score = x[:, 0] - 0.5 * x[:, 1] + 0.25 * x[:, 2] + rng.normal(scale=0.5, size=rows)
    if task == "binary":
        y: np.ndarray[Any, Any] = (score > 0).astype(np.int64)
    elif task == "multiclass":
        y = np.digitize(score, [-0.5, 0.5]).astype(np.int64)
    else:
        y = score
    frame = pd.DataFrame(x, columns=list(FEATURES))
    frame["y"] = y
    return frame


@pytest.fixture(scope="session", params=TASKS)
def task_run(request: pytest.FixtureRequest) -> tuple[str, Any]:
    """(task, govreport.Outcome) of a real run on :func:`tiny_module` and :func:`tiny_frame`."""
    import govreport

    task = str(request.param)
    outcome = govreport.run(
        tiny_module(task),
        tiny_frame(task),
        "y",
        test_data=tiny_frame(task, rows=120, seed=12),
        run_time=RUN_TIME,
        command=f"tiny {task} run",
        top_regions=5,
        profile_features=2,
        profile_regions=3,
        merge_clusters=(2, 3),
    )
    return task, outcome


# Property tests draw the same examples on every run (CI must not pass or fail by chance);
# ``pytest --hypothesis-profile=explore`` searches afresh, as benchmarks/fuzz.py does longer.
hypothesis_settings.register_profile("deterministic", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile("deterministic")
