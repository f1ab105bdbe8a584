"""Multiclass, complete (issue 11 item 7): every section covers every shown class, the region
tables name the dominant class, one-vs-rest AUC per class and macro AUC as metrics, and
``--classes-shown``. Oracles: brute-force activation patterns and class counts from the torch
module, sklearn's ``roc_auc_score(multi_class="ovr")``."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from scipy.special import softmax
from sklearn.metrics import roc_auc_score

import govreport
from govreport.cli import cli
from govreport.errors import InputError
from tests.conftest import FEATURES, RUN_TIME, tiny_frame, tiny_module

NAMES = {0: "low", 1: "mid", 2: "high"}
#: The labels in class-index order (text labels are sorted).
CLASSES = ("high", "low", "mid")


def labelled(rows: int = 300, seed: int = 11) -> pd.DataFrame:
    frame = tiny_frame("multiclass", rows=rows, seed=seed)
    frame["y"] = frame["y"].map(NAMES)
    return frame


def run(**options: Any) -> Any:
    return govreport.run(
        tiny_module("multiclass"),
        labelled(),
        "y",
        test_data=labelled(120, 12),
        run_time=RUN_TIME,
        command="multiclass test",
        top_regions=5,
        profile_features=2,
        profile_regions=3,
        merge_clusters=(2, 3),
        **options,
    )


@pytest.fixture(scope="module")
def outcome() -> Any:
    return run()


@pytest.fixture(scope="module")
def html(outcome: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("mc-all")
    govreport.render(outcome.results, out, pdf=False)
    return (out / "report.html").read_text(encoding="utf-8")


def probabilities(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    """Softmax probabilities of the module in double precision."""
    module = tiny_module("multiclass").double()
    x = torch.tensor(frame[list(FEATURES)].to_numpy(), dtype=torch.float64)
    with torch.no_grad():
        logits = module[:-1](x).numpy()
    return np.asarray(softmax(logits, axis=1))


def class_index(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    return frame["y"].map({name: k for k, name in enumerate(CLASSES)}).to_numpy()


def test_every_class_has_its_coefficient_and_cluster_tables_and_figures(html: str) -> None:
    for name in CLASSES:
        assert f"Scale-aware local coefficients w·std across samples, class {name}" in html
        assert f"Mean and sign of the local coefficients across samples, class {name}" in html
        assert f"logit of {name} per standard deviation" in html  # the box plot's caption
        assert f"Top features of the main groups, class {name}" in html or (
            f"Top features of the main clusters, class {name}" in html
        )
    for k in (1, 2):
        assert f'id="fig-coef-box-{k}"' in html or f"coef-box-{k}" in html
        assert f"clusters-fi-{k}" in html
    assert "FI shown for output" not in html  # the binary-only note is gone


def test_classes_shown_limits_the_per_class_views(tmp_path: Path) -> None:
    outcome = run(classes_shown=["mid"])
    assert outcome.results.run.options.classes_shown == ("mid",)
    govreport.render(outcome.results, tmp_path, pdf=False)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Scale-aware local coefficients w·std across samples, class mid" in html
    for name in ("high", "low"):
        assert f"across samples, class {name}" not in html
        assert f"main groups, class {name}" not in html and f"clusters, class {name}" not in html


def test_classes_shown_bad_name_raises() -> None:
    with pytest.raises(InputError, match="'medium' is not a class"):
        run(classes_shown=["medium"])


def test_classes_shown_bad_name_is_exit_2(tmp_path: Path) -> None:
    torch.jit.save(torch.jit.script(tiny_module("multiclass")), str(tmp_path / "model.pt"))
    labelled().to_csv(tmp_path / "data.csv", index=False)
    args = ["run", "--model", tmp_path / "model.pt", "--data", tmp_path / "data.csv"]
    args += ["--target", "y", "--classes-shown", "mid,medium", "--out", tmp_path / "o"]
    args += ["--no-pdf"]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 2
    message = [line for line in result.output.splitlines() if "medium" in line]
    assert len(message) == 1 and "is not a class of the model" in message[0]
    assert not (tmp_path / "o" / "report.html").exists()


def test_dominant_class_per_region_matches_a_brute_force_count(outcome: Any, html: str) -> None:
    frame = labelled()
    module = tiny_module("multiclass").double()
    x = torch.tensor(frame[list(FEATURES)].to_numpy(), dtype=torch.float64)
    with torch.no_grad():
        h1 = module[1](module[0](x))
        h2 = module[3](module[2](h1))
    patterns = [
        tuple((a > 0).tolist()) + tuple((b > 0).tolist())
        for a, b in zip(h1.numpy(), h2.numpy(), strict=True)
    ]
    y = class_index(frame)
    regions: dict[tuple[bool, ...], list[int]] = {}
    for row, pattern in enumerate(patterns):
        regions.setdefault(pattern, []).append(row)
    truth = []
    for rows in regions.values():
        counts = Counter(int(y[r]) for r in rows)
        shares = tuple(counts.get(c, 0) / len(rows) for c in range(3))
        truth.append((len(rows), shares))
    rows = outcome.results.regions["train"].summary_table.rows
    assert rows
    for row in rows:
        candidates = [s for n, s in truth if n == row.count]
        assert any(np.allclose(row.class_shares, s) for s in candidates), row.rank
        shares = np.asarray(row.class_shares)
        assert row.dominant_class == int(np.flatnonzero(shares == shares.max())[0])
    assert ">Dominant class<" in html and ">Response mean<" not in html


def test_one_vs_rest_and_macro_auc_match_sklearn(outcome: Any) -> None:
    results = outcome.results
    for dataset, frame in (("train", labelled()), ("test", labelled(120, 12))):
        y, p = class_index(frame), probabilities(frame)
        macro = roc_auc_score(y, p, multi_class="ovr", average="macro")
        per_class = roc_auc_score(y, p, multi_class="ovr", average=None)
        perf = next(m for m in results.performance if m.dataset == dataset)
        assert perf.metrics["macro_auc"] == pytest.approx(macro, abs=1e-9)
        assert perf.metrics["min_class_auc"] == pytest.approx(min(per_class), abs=1e-9)
        out = next(d for d in results.outcomes.datasets if d.dataset == dataset)
        assert [c.label for c in out.multiclass.classes] == list(CLASSES)
        assert [c.auc for c in out.multiclass.classes] == pytest.approx(list(per_class), abs=1e-9)


def test_default_policy_checks_the_lowest_class_auc(outcome: Any) -> None:
    checks = {r.check.id: r for r in outcome.evaluation.results}
    assert "min_class_auc_holdout" in checks and "macro_auc_holdout" in checks
    frame = labelled(120, 12)
    per_class = roc_auc_score(
        class_index(frame), probabilities(frame), multi_class="ovr", average=None
    )
    check = checks["min_class_auc_holdout"]
    assert check.observed == pytest.approx(min(per_class), abs=1e-9)
    assert (check.status == "pass") == (min(per_class) >= 0.6)
    assert checks["macro_auc_holdout"].observed == pytest.approx(
        roc_auc_score(class_index(frame), probabilities(frame), multi_class="ovr"), abs=1e-9
    )


def test_integer_labels_are_named_by_index_or_default_name(tmp_path: Path) -> None:
    outcome = govreport.run(
        tiny_module("multiclass"),
        tiny_frame("multiclass"),
        "y",
        run_time=RUN_TIME,
        top_regions=5,
        profile_features=2,
        profile_regions=3,
        merge_clusters=(2, 3),
        classes_shown=["1", "class 2"],
    )
    govreport.render(outcome.results, tmp_path, pdf=False)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "across samples, class 1<" in html and "across samples, class 2<" in html
    assert "across samples, class 0" not in html
    assert re.search(r"\bclass class\b", html.replace('class="', "")) is None


def test_fairness_says_why_it_is_not_run_for_a_multiclass_model(html: str) -> None:
    assert "this model is a multiclass classifier" in html
    assert "No feature is marked protected" not in html  # the binary wording would mislead
