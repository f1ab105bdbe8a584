"""Bootstrap intervals and challenger models (issue 13).

Weighted metrics against scikit-learn/scipy on explicitly repeated rows; DeLong's
test against a brute-force pairwise computation; the challengers' metrics against
the same scikit-learn models fitted here.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from govreport.analyses import challengers, uncertainty
from govreport.analyses.challengers import delong
from govreport.analyses.uncertainty import (
    _SortedScores,
    bootstrap,
    stratified_subsample,
    weighted_auc,
    weighted_ks,
)
from govreport.metrics import INTERVAL_METRICS, METRICS

# --------------------------------------------------------------------------- weighted metrics


def _weights_case(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = np.round(rng.normal(size=300), 1)  # ties on purpose
    y = (rng.random(300) < expit(z)).astype(np.float64)
    w = rng.integers(0, 4, size=300).astype(np.float64)
    return z, y, w


def test_weighted_auc_equals_sklearn_on_the_repeated_rows() -> None:
    z, y, w = _weights_case()
    pos, neg = _SortedScores(z, y).class_weights(w)
    rows = np.repeat(np.arange(z.size), w.astype(int))
    assert weighted_auc(pos, neg) == pytest.approx(roc_auc_score(y[rows], z[rows]), abs=1e-12)


def test_weighted_ks_equals_scipy_on_the_repeated_rows() -> None:
    z, y, w = _weights_case(1)
    pos, neg = _SortedScores(z, y).class_weights(w)
    rows = np.repeat(np.arange(z.size), w.astype(int))
    zr, yr = z[rows], y[rows]
    expected = stats.ks_2samp(zr[yr == 1], zr[yr == 0]).statistic
    assert weighted_ks(pos, neg) == pytest.approx(expected, abs=1e-12)


def test_stratified_subsample_keeps_the_class_shares() -> None:
    y = np.array([1.0] * 200 + [0.0] * 800)
    rows = stratified_subsample("binary", y, 100, np.random.default_rng(0))
    assert rows.size == 100 and np.unique(rows).size == 100
    assert y[rows].sum() == 20
    assert stratified_subsample("binary", y, 5000, np.random.default_rng(0)).size == 1000


def test_bootstrap_is_seeded_and_brackets_the_point() -> None:
    rng = np.random.default_rng(2)
    z = rng.normal(size=800)
    y = (rng.random(800) < expit(z)).astype(np.float64)
    logits = z[:, None]
    used, first = bootstrap("binary", logits, y, np.random.default_rng(7), resamples=200)
    _, again = bootstrap("binary", logits, y, np.random.default_rng(7), resamples=200)
    _, other = bootstrap("binary", logits, y, np.random.default_rng(8), resamples=200)
    assert used == 800
    assert first == again and first != other
    auc = next(i for i in first if i.metric == "performance.auc")
    assert auc.point == pytest.approx(roc_auc_score(y, z))
    assert auc.lower < auc.point < auc.upper
    # the bootstrap standard error of the AUC is close to DeLong's analytic one
    se = delong(y, z, -z).std_error / 2  # var(A - (1 - A)) = 4 var(A)
    assert auc.std_error == pytest.approx(se, rel=0.25)
    assert all(i.metric in INTERVAL_METRICS for i in first)


def test_bootstrap_on_large_data_uses_the_subsample() -> None:
    rng = np.random.default_rng(4)
    z = rng.normal(size=3000)
    y = (rng.random(3000) < expit(z)).astype(np.float64)
    used, found = bootstrap("binary", z[:, None], y, rng, resamples=20, max_rows=1000)
    assert used == 1000
    point = next(i for i in found if i.metric == "performance.auc").point
    assert point == pytest.approx(roc_auc_score(y, z))  # the point is on the full data


def test_regression_intervals_hold_the_point() -> None:
    rng = np.random.default_rng(6)
    y = rng.normal(size=400)
    pred = y + rng.normal(scale=0.5, size=400)
    _, found = bootstrap("regression", pred[:, None], y, rng, resamples=100)
    by = {i.metric: i for i in found}
    assert set(by) == {"performance.rmse", "performance.mae", "performance.r2"}
    assert by["performance.rmse"].point == pytest.approx(np.sqrt(np.mean((pred - y) ** 2)))
    for i in found:
        assert i.lower <= i.point <= i.upper


# --------------------------------------------------------------------------- DeLong


def _brute_force_delong(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """AUC difference and its DeLong variance from the pairwise kernel, by definition."""
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    m, n = pos.size, neg.size

    def psi(x: float, w: float) -> float:
        return 1.0 if x > w else 0.5 if x == w else 0.0

    comps = []
    for s in (a, b):
        kernel = np.array([[psi(s[i], s[j]) for j in neg] for i in pos])
        comps.append((kernel.mean(), kernel.mean(axis=1), kernel.mean(axis=0)))
    (auc_a, v10a, v01a), (auc_b, v10b, v01b) = comps

    def cov(u: np.ndarray, v: np.ndarray) -> float:
        return float(np.sum((u - u.mean()) * (v - v.mean())) / (u.size - 1))

    var = (cov(v10a, v10a) + cov(v10b, v10b) - 2 * cov(v10a, v10b)) / m + (
        cov(v01a, v01a) + cov(v01b, v01b) - 2 * cov(v01a, v01b)
    ) / n
    return auc_a - auc_b, var


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delong_matches_a_brute_force_pairwise_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(60) < 0.4).astype(np.float64)
    a = np.round(y + rng.normal(size=60), 1)  # ties within and across classes
    b = np.round(0.5 * y + rng.normal(size=60), 1)
    diff, var = _brute_force_delong(y, a, b)
    test = delong(y, a, b)
    assert test.auc_a == pytest.approx(roc_auc_score(y, a))
    assert test.auc_b == pytest.approx(roc_auc_score(y, b))
    assert test.difference == pytest.approx(diff)
    assert test.std_error == pytest.approx(math.sqrt(var))
    assert test.p_value == pytest.approx(2 * stats.norm.sf(abs(diff / math.sqrt(var))))


def test_delong_of_a_score_with_itself_is_not_significant() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(100) < 0.5).astype(np.float64)
    s = rng.normal(size=100) + y
    test = delong(y, s, s)
    assert test.difference == 0 and test.p_value == 1.0


# --------------------------------------------------------------------------- challengers


def _ctx(task: str, x: np.ndarray, y: np.ndarray, logits: np.ndarray, split: int) -> Any:
    def data(name: str, rows: slice) -> Any:
        dataset = SimpleNamespace(name=name, x=x[rows], y=y[rows], n_rows=len(y[rows]))
        return SimpleNamespace(
            name=name, dataset=dataset, extraction=SimpleNamespace(logits=logits[rows])
        )

    return SimpleNamespace(
        task=task,
        train=data("train", slice(0, split)),
        test=data("test", slice(split, None)),
        options=SimpleNamespace(seed=0),
    )


def test_challengers_are_scored_on_the_holdout_and_compared_by_delong() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1200, 4))
    y = (rng.random(1200) < expit(x[:, 0] + x[:, 1] ** 2 - 1)).astype(np.float64)
    network = (x[:, 0] + 0.5 * x[:, 1] ** 2)[:, None]  # a stand-in "network" score
    result = challengers.run(_ctx("binary", x, y, network, 800))
    assert result.holdout == "test" and result.train_rows_used == 800
    names = [c.name for c in result.challengers]
    assert names == ["Logistic regression", "Gradient boosting"]
    hgb = HistGradientBoostingClassifier(random_state=0).fit(x[:800], y[:800])
    expected = roc_auc_score(y[800:], hgb.decision_function(x[800:]))
    assert result.challengers[1].metrics["auc"] == pytest.approx(expected)
    net_auc = roc_auc_score(y[800:], network[800:, 0])
    best = max(result.challengers, key=lambda c: c.metrics["auc"])
    assert result.best == best.name
    assert result.auc_gain == pytest.approx(net_auc - best.metrics["auc"])
    assert result.delong_p == pytest.approx(
        delong(y[800:], network[800:, 0], _challenger_score(best.name, x, y)).p_value
    )
    values = challengers.observed(result)
    assert set(values) == {
        ("benchmark.auc_gain", "test"),
        ("benchmark.delong_p", "test"),
        ("benchmark.accuracy_gain", "test"),
    }
    assert all(metric in METRICS for metric, _ in values)
    lo, hi = challengers.intervals(result)[("benchmark.auc_gain", "test")]
    assert lo < result.auc_gain < hi


def _challenger_score(name: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if name == "Gradient boosting":
        model = HistGradientBoostingClassifier(random_state=0).fit(x[:800], y[:800])
        return np.asarray(model.decision_function(x[800:]))
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    return np.asarray(model.fit(x[:800], y[:800]).decision_function(x[800:]))


def test_regression_challengers_report_the_rmse_gain() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=600)
    network = (y + rng.normal(scale=1.0, size=600))[:, None]  # a poor model
    result = challengers.run(_ctx("regression", x, y, network, 400))
    ridge = next(c for c in result.challengers if c.name == "Ridge regression")
    assert ridge.metrics["rmse"] < 0.2
    assert result.rmse_gain < 0  # the challenger is better: negative gain
    assert set(challengers.observed(result)) == {("benchmark.rmse_gain", "test")}


def test_uncertainty_stage_on_a_context() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (rng.random(400) < expit(x[:, 0])).astype(np.float64)
    ctx = _ctx("binary", x, y, x[:, :1], 300)
    ctx.datasets = (ctx.train, ctx.test)
    result = uncertainty.run(ctx)
    assert [d.dataset for d in result.datasets] == ["train", "test"]
    bounds = uncertainty.intervals(result)
    assert ("performance.auc", "test") in bounds
    width = uncertainty.observed(result)[("uncertainty.auc_ci_width", "test")]
    lo, hi = bounds[("performance.auc", "test")]
    assert width == pytest.approx(hi - lo)


def test_every_interval_metric_is_registered() -> None:
    assert set(METRICS) >= INTERVAL_METRICS


def test_no_challenger_is_trained_on_a_single_class() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = np.zeros(200)
    y[150:] = 1.0  # the training rows (first 100) hold class 0 only
    result = challengers.run(_ctx("binary", x, y, x[:, :1], 100))
    assert result.challengers == () and result.best == ""
    assert np.isnan(challengers.observed(result)[("benchmark.auc_gain", "test")])
