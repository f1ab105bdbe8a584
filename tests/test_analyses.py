"""First analyses: census, summary table, feature importance, profiles, performance.

Each statistic is recomputed independently (per-sample loops, scikit-learn,
pandas) and compared; ALGORITHMS.md §4 invariants 9–11.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import log_loss, roc_auc_score

from govreport.analyses.census import classify_regime, summarize_census
from govreport.analyses.importance import feature_importance, importance_percent
from govreport.analyses.neurons import summarize_neurons
from govreport.analyses.performance import performance_metrics
from govreport.analyses.profiles import profile_features
from govreport.analyses.summary import summarize_top_regions
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.regions import RegionTable, extract_regions


def small_network(
    seed: int = 0, d: int = 3, zero_column: int | None = None
) -> PiecewiseLinearNetwork:
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=(6, d))
    if zero_column is not None:
        w0[:, zero_column] = 0.0
    maps = (
        AffineMap(readonly(w0), readonly(rng.normal(size=6) * 0.5)),
        AffineMap(readonly(rng.normal(size=(4, 6)) / 2), readonly(rng.normal(size=4) * 0.5)),
        AffineMap(readonly(rng.normal(size=(1, 4))), readonly(rng.normal(size=1))),
    )
    return PiecewiseLinearNetwork(maps, (0.0, 0.0), "sigmoid")


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    x = np.round(rng.normal(size=(800, 3)), 0)
    y = (rng.uniform(size=800) < 0.4).astype(np.float64)
    return x, y


def test_census_counts_match_a_direct_count(data) -> None:
    x, y = data
    extraction = extract_regions(small_network(), x, y[:, None])
    census = summarize_census(extraction, min_samples=20)
    counts = pd.Series(extraction.sample_regions).value_counts().to_numpy()
    assert census.samples == 800
    assert census.regions == counts.size
    assert census.singleton_regions == int((counts == 1).sum())
    assert census.min_samples_coverage == pytest.approx(counts[counts >= 20].sum() / 800)
    top1 = next(p for p in census.top_coverage if p.k == 1)
    assert top1.share == pytest.approx(counts.max() / 800)
    assert census.coverage_curve.share[-1] == pytest.approx(1.0)
    assert list(census.coverage_curve.share) == sorted(census.coverage_curve.share)


def test_regime_thresholds() -> None:
    assert classify_regime(999, 1000) == "fragmented"
    assert classify_regime(10, 1000) == "coarse"
    assert classify_regime(100, 1000) == "intermediate"


def test_dead_and_always_on_neurons_are_counted_per_layer() -> None:
    # Layer 1: neuron 0 always on (bias 10), neuron 1 never on (bias -10), neuron 2 = relu(x).
    maps = (
        AffineMap(readonly([[0.0], [0.0], [1.0]]), readonly([10.0, -10.0, 0.0])),
        AffineMap(readonly([[1.0, 1.0, 1.0]]), readonly([0.0])),
    )
    network = PiecewiseLinearNetwork(maps, (0.0,), "identity")
    extraction = extract_regions(network, np.array([[-1.0], [1.0], [2.0]]))
    (layer,) = summarize_neurons(extraction)
    assert (layer.width, layer.dead, layer.always_on) == (3, 1, 1)


def test_summary_table_matches_independent_recomputation(data) -> None:
    x, y = data
    network = small_network()
    extraction = extract_regions(network, x, y[:, None])
    table = summarize_top_regions(extraction, x, y, task="binary", top=5)
    assert table.shown == 5 and table.local_metric == "AUC"
    frame = pd.DataFrame({"region": extraction.sample_regions, "y": y})
    for row in table.rows:
        region = row.rank - 1
        members = frame["region"] == region
        assert row.count == members.sum()
        assert row.response_mean == pytest.approx(frame.loc[members, "y"].mean())
        if row.count > 1:
            assert row.response_std == pytest.approx(frame.loc[members, "y"].std(ddof=1))
        else:
            assert math.isnan(row.response_std)
        w, b = extraction.table.weights[region, 0], extraction.table.biases[region, 0]
        local_y = y[members]
        if np.unique(local_y).size < 2:
            assert math.isnan(row.local_metric)
        else:
            assert row.local_metric == pytest.approx(roc_auc_score(local_y, x[members] @ w + b))
        assert row.global_metric == pytest.approx(roc_auc_score(y, x @ w + b))


def test_summary_counts_sum_to_n_when_all_regions_are_shown(data) -> None:
    x, y = data
    extraction = extract_regions(small_network(), x, y[:, None])
    table = summarize_top_regions(extraction, x, y, task="binary", top=10**6)
    assert sum(row.count for row in table.rows) == 800
    assert all(0.0 <= row.response_mean <= 1.0 for row in table.rows)


def test_local_auc_is_nan_for_a_single_class_region() -> None:
    x = np.array([[0.0, 0.0, 0.0]] * 5 + [[1.0, 2.0, 3.0]] * 5)
    y = np.array([1.0] * 5 + [0.0, 1.0, 0.0, 1.0, 0.0])
    extraction = extract_regions(small_network(), x, y[:, None])
    table = summarize_top_regions(extraction, x, y, task="binary", top=2)
    by_mean = {row.response_mean: row for row in table.rows}
    assert math.isnan(by_mean[1.0].local_metric)
    assert by_mean[1.0].response_std == 0.0


def slow_importance(table: RegionTable, regions: np.ndarray) -> np.ndarray:
    """FI_j ∝ Σ_i w_{r(i),j}² over samples (ALGORITHMS.md §1.4, per-sample form)."""
    squares = np.array([table.weights[r, 0] ** 2 for r in regions]).sum(axis=0)
    return 100 * squares / squares.sum()


def test_feature_importance_is_the_per_sample_sum_of_squared_coefficients(data) -> None:
    x, _ = data
    extraction = extract_regions(small_network(), x)
    raw = importance_percent(extraction.table)[0]
    np.testing.assert_allclose(raw, slow_importance(extraction.table, extraction.sample_regions))
    assert (raw >= 0).all() and raw.sum() == pytest.approx(100.0)


def test_feature_with_a_zero_input_column_has_zero_importance(data) -> None:
    x, _ = data
    extraction = extract_regions(small_network(zero_column=1), x)
    result = feature_importance(extraction.table, x.std(axis=0), ["a", "b", "c"], ["logit"])
    by_name = {f.name: f for f in result[0].features}
    assert by_name["b"].raw_pct == 0.0 and by_name["b"].scaled_pct == 0.0
    assert sum(f.raw_pct for f in result[0].features) == pytest.approx(100.0)


def test_feature_importance_does_not_depend_on_region_order(data) -> None:
    x, _ = data
    table = extract_regions(small_network(), x).table
    permutation = np.random.default_rng(0).permutation(table.n_regions)
    shuffled = RegionTable(*(getattr(table, f)[permutation] for f in RegionTable.__slots__))
    np.testing.assert_allclose(importance_percent(shuffled), importance_percent(table))


def test_scaled_importance_uses_coefficient_times_feature_std(data) -> None:
    x, _ = data
    table = extract_regions(small_network(), x).table
    std = np.array([1.0, 10.0, 0.1])
    scaled = importance_percent(table, std)[0]
    squares = np.einsum("r,rd->d", table.counts, (table.weights[:, 0] * std) ** 2)
    np.testing.assert_allclose(scaled, 100 * squares / squares.sum())


def test_profile_segments_have_the_region_slope_range_and_zero_mean(data) -> None:
    x, _ = data
    extraction = extract_regions(small_network(), x)
    (profile,) = profile_features(extraction, x, features=[(2, "c", 40.0, 30.0)], top_regions=4)
    assert profile.regions_drawn == 4
    for segment in profile.regions:
        region = segment.rank - 1
        values = x[extraction.sample_regions == region, 2]
        slope = extraction.table.weights[region, 0, 2]
        assert segment.slope == slope
        assert (segment.x_min, segment.x_max) == (values.min(), values.max())
        effects = slope * (values - values.mean())
        assert effects.mean() == pytest.approx(0.0, abs=1e-12)
        assert segment.y_min == pytest.approx(slope * (values.min() - values.mean()))
        assert segment.y_max == pytest.approx(slope * (values.max() - values.mean()))
        if segment.density is not None:
            grid = np.array(segment.density.x)
            integral = np.trapezoid(segment.density.y, grid)
            assert 0.5 < integral <= 1.0 + 1e-9


def test_a_coded_feature_gets_its_values_and_no_kernel_density(data) -> None:
    """A kernel density of a status code spreads mass between and beyond the codes: a
    feature with few whole-number values is drawn by its values; a continuous one keeps
    its density."""
    x, _ = data
    coded = np.clip(x, -3, 3)  # the fixture's values are whole numbers: seven codes -3 ... 3
    extraction = extract_regions(small_network(), coded)
    (profile,) = profile_features(extraction, coded, features=[(2, "c", 40.0, 30.0)], top_regions=4)
    drawn = [s for s in profile.regions if not s.withheld]
    assert drawn and all(s.density is None for s in drawn)
    for segment in drawn:
        values = coded[extraction.sample_regions == segment.rank - 1, 2]
        assert segment.values == tuple(float(v) for v in np.unique(values))
    continuous = x + np.random.default_rng(5).uniform(-0.4, 0.4, size=x.shape)
    extraction = extract_regions(small_network(), continuous)
    (profile,) = profile_features(
        extraction, continuous, features=[(2, "c", 40.0, 30.0)], top_regions=4
    )
    assert any(s.density is not None for s in profile.regions if not s.withheld)


def test_binary_performance_matches_scikit_learn() -> None:
    rng = np.random.default_rng(9)
    logits = rng.normal(size=(500, 1)) * 3
    y = (rng.uniform(size=500) < torch.sigmoid(torch.from_numpy(logits[:, 0])).numpy()).astype(
        float
    )
    metrics = performance_metrics("binary", logits, y)
    proba = 1 / (1 + np.exp(-logits[:, 0]))
    assert metrics["auc"] == pytest.approx(roc_auc_score(y, logits[:, 0]))
    assert metrics["log_loss"] == pytest.approx(log_loss(y, proba), rel=1e-9)
    assert metrics["accuracy"] == pytest.approx(np.mean((proba > 0.5) == y))


def test_regression_and_multiclass_performance_match_direct_formulas() -> None:
    rng = np.random.default_rng(10)
    y = rng.normal(size=200)
    pred = y + rng.normal(size=200) * 0.5
    metrics = performance_metrics("regression", pred[:, None], y)
    assert metrics["rmse"] == pytest.approx(np.sqrt(np.mean((pred - y) ** 2)))
    assert metrics["r2"] == pytest.approx(1 - np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2))
    logits = rng.normal(size=(200, 3))
    labels = rng.integers(0, 3, size=200).astype(float)
    multi = performance_metrics("multiclass", logits, labels)
    proba = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    assert multi["log_loss"] == pytest.approx(log_loss(labels, proba, labels=[0, 1, 2]))


@pytest.mark.parametrize("block", [1, 3, 1000])
def test_importance_by_region_blocks_equals_the_whole_table_sums(
    data, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count-weighted sums run block by block (no copy of all local weights); the
    oracle is the one-shot sum over the whole table, with a plain loop over the regions."""
    from govreport.analyses import importance

    x, _ = data
    table = extract_regions(small_network(), x).table
    assert table.n_regions > 3
    std = np.array([1.0, 10.0, 0.1])
    counts = table.counts.astype(np.float64)
    loop_raw = sum(c * w**2 for c, w in zip(counts, table.weights, strict=True))
    loop_scaled = sum(c * (w * std) ** 2 for c, w in zip(counts, table.weights, strict=True))
    loop_abs = sum(c * np.abs(w) for c, w in zip(counts, table.weights, strict=True))
    monkeypatch.setattr(importance, "REGION_BLOCK", block)
    np.testing.assert_allclose(
        importance_percent(table), 100 * loop_raw / loop_raw.sum(axis=1, keepdims=True), rtol=1e-12
    )
    np.testing.assert_allclose(
        importance_percent(table, std),
        100 * loop_scaled / loop_scaled.sum(axis=1, keepdims=True),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        importance.scaled_effect(table, std), loop_abs * std / counts.sum(), rtol=1e-12
    )
