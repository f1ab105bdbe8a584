"""Outcomes analysis (issue 13): curves, KS, Brier, calibration tables and tests, residuals.

Every number is checked against an independent computation: scikit-learn
(roc_auc_score, roc_curve, brier_score_loss, average_precision_score), scipy
(ks_2samp, chi2) or a hand-made table.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, softmax
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    roc_auc_score,
    roc_curve,
)

from govreport.analyses.outcomes import (
    CalibrationBin,
    binary_outcomes,
    downsample,
    hosmer_lemeshow,
    multiclass_outcomes,
    observed,
    regression_outcomes,
    reliability_table,
    spiegelhalter,
)


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    z = rng.normal(size=3000)
    y = (rng.random(3000) < expit(1.3 * z - 0.8)).astype(np.float64)
    return z, y


def test_binary_metrics_match_scikit_learn_and_scipy(scored) -> None:
    z, y = scored
    p = expit(z)
    out = binary_outcomes(z, y)
    assert out.auc == pytest.approx(roc_auc_score(y, z), abs=1e-12)
    assert out.gini == pytest.approx(2 * roc_auc_score(y, z) - 1, abs=1e-12)
    assert out.brier == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert out.average_precision == pytest.approx(average_precision_score(y, p), abs=1e-12)
    # KS as scipy's two-sample statistic between the classes' scores.
    ks = stats.ks_2samp(z[y == 1], z[y == 0]).statistic
    assert out.ks == pytest.approx(ks, abs=1e-12)
    base = y.mean()
    assert out.base_rate == pytest.approx(base)
    assert out.majority_accuracy == pytest.approx(max(base, 1 - base))
    assert out.brier_reference == pytest.approx(brier_score_loss(y, np.full_like(p, base)))
    assert out.calibration_in_the_large == pytest.approx(p.mean() - base)


def test_roc_curve_is_sklearn_roc_downsampled_to_200_points(scored) -> None:
    z, y = scored
    fpr, tpr, _ = roc_curve(y, z)
    out = binary_outcomes(z, y)
    assert len(fpr) > 200 and len(out.roc.x) <= 200
    assert (out.roc.x[0], out.roc.y[0]) == (fpr[0], tpr[0])
    assert (out.roc.x[-1], out.roc.y[-1]) == (fpr[-1], tpr[-1])
    # every stored point is a point of the full curve
    full = set(zip(fpr.tolist(), tpr.tolist(), strict=True))
    assert all((a, b) in full for a, b in zip(out.roc.x, out.roc.y, strict=True))
    assert len(out.pr.x) <= 200


def test_downsample_keeps_short_curves_whole() -> None:
    x = np.array([0.0, 0.5, 1.0])
    curve = downsample(x, x)
    assert curve.x == (0.0, 0.5, 1.0)
    long = np.linspace(0, 1, 1001)
    assert len(downsample(long, long, 50).x) == 50


def test_reliability_table_against_a_hand_made_table() -> None:
    p = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.7])
    y = np.array([0.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    bins = reliability_table(p, y, groups=3)
    # sorted: 0.1(0) 0.2(1) | 0.3(0) 0.7(0) | 0.8(1) 0.9(1)
    assert [b.n for b in bins] == [2, 2, 2]
    assert [b.n_positive for b in bins] == [1, 0, 2]
    assert [b.mean_predicted for b in bins] == pytest.approx([0.15, 0.5, 0.85])
    assert [b.observed_rate for b in bins] == pytest.approx([0.5, 0.0, 1.0])
    assert [(b.min_predicted, b.max_predicted) for b in bins] == [
        (0.1, 0.2),
        (0.3, 0.7),
        (0.8, 0.9),
    ]


def test_hosmer_lemeshow_against_a_direct_formula() -> None:
    bins = [
        CalibrationBin(
            n=100,
            n_positive=12,
            mean_predicted=0.10,
            observed_rate=0.12,
            min_predicted=0.0,
            max_predicted=0.2,
        ),
        CalibrationBin(
            n=100,
            n_positive=25,
            mean_predicted=0.30,
            observed_rate=0.25,
            min_predicted=0.2,
            max_predicted=0.4,
        ),
        CalibrationBin(
            n=50,
            n_positive=40,
            mean_predicted=0.70,
            observed_rate=0.80,
            min_predicted=0.4,
            max_predicted=1.0,
        ),
    ]
    expected = (
        (12 - 10) ** 2 / (10 * 0.9) + (25 - 30) ** 2 / (30 * 0.7) + (40 - 35) ** 2 / (35 * 0.3)
    )
    statistic, df, p = hosmer_lemeshow(bins)
    assert statistic == pytest.approx(expected)
    assert df == 1
    assert p == pytest.approx(stats.chi2.sf(expected, 1))


def test_a_calibrated_model_passes_and_a_shifted_one_fails_calibration() -> None:
    rng = np.random.default_rng(11)
    z = rng.normal(size=20000)
    y = (rng.random(20000) < expit(z)).astype(np.float64)
    good = binary_outcomes(z, y)
    assert good.hl_p > 0.01 and good.spiegelhalter_p > 0.01
    bad = binary_outcomes(z + 0.5, y)  # over-predicts everywhere
    assert bad.hl_p < 1e-6 and bad.spiegelhalter_p < 1e-6
    assert bad.max_decile_gap > 0.05
    assert bad.calibration_in_the_large > 0.05


def test_spiegelhalter_against_the_formula() -> None:
    p = np.array([0.2, 0.4, 0.6, 0.9])
    y = np.array([0.0, 1.0, 1.0, 1.0])
    numerator = sum((yi - pi) * (1 - 2 * pi) for yi, pi in zip(y, p, strict=True))
    variance = sum((1 - 2 * pi) ** 2 * pi * (1 - pi) for pi in p)
    z, pvalue = spiegelhalter(p, y)
    assert z == pytest.approx(numerator / math.sqrt(variance))
    assert pvalue == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_score_histogram_counts_each_class(scored) -> None:
    z, y = scored
    out = binary_outcomes(z, y)
    assert sum(out.scores.counts["1"]) == int(y.sum())
    assert sum(out.scores.counts["0"]) == int((1 - y).sum())
    assert len(out.scores.edges) == len(out.scores.counts["0"]) + 1


def test_multiclass_one_vs_rest_matches_scikit_learn() -> None:
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(600, 3))
    y = rng.integers(0, 3, size=600).astype(np.float64)
    out = multiclass_outcomes(logits, y)
    prob = softmax(logits, axis=1)
    for k, c in enumerate(out.classes):
        assert c.auc == pytest.approx(roc_auc_score(y == k, prob[:, k]))
        assert c.prevalence == pytest.approx(np.mean(y == k))
    counts = np.bincount(y.astype(int))
    assert out.majority_accuracy == pytest.approx(counts.max() / 600)
    assert out.majority_class == f"class {counts.argmax()}"
    onehot = np.eye(3)[y.astype(int)]
    assert out.brier == pytest.approx(np.mean(np.sum((prob - onehot) ** 2, axis=1)))


def test_regression_residuals_against_direct_formulas() -> None:
    rng = np.random.default_rng(9)
    y = rng.normal(size=500)
    pred = y + rng.normal(scale=0.3, size=500) + 0.1
    out = regression_outcomes(pred, y)
    r = pred - y
    assert out.rmse == pytest.approx(np.sqrt(np.mean(r**2)))
    assert out.mae == pytest.approx(np.mean(np.abs(r)))
    assert out.r2 == pytest.approx(1 - np.sum(r**2) / np.sum((y - y.mean()) ** 2))
    assert out.mean_residual == pytest.approx(r.mean())
    assert out.baseline_rmse == pytest.approx(y.std())
    assert out.residual_quantiles["median"] == pytest.approx(np.median(r))
    assert sum(b.n for b in out.bins) == 500
    assert sum(out.residuals.counts["0"]) == 500


def test_observed_metric_ids_are_registered(scored) -> None:
    from govreport.analyses.outcomes import DatasetOutcomes, OutcomesResult
    from govreport.metrics import METRICS

    z, y = scored
    result = OutcomesResult(
        task="binary",
        curve_points=200,
        groups=10,
        datasets=(DatasetOutcomes("test", y.size, binary=binary_outcomes(z, y)),),
    )
    values = observed(result)
    assert ("outcomes.max_decile_gap", "test") in values
    assert all(metric in METRICS for metric, _ in values)
    lift = values[("outcomes.accuracy_lift", "test")]
    assert lift == pytest.approx(np.mean((z > 0) == (y == 1)) - max(y.mean(), 1 - y.mean()))
