"""Issue 12 items 6-8: input-space extrapolation, the one headline importance, and the
honesty measures of the simplification (kappa, positives, probability differences).

Every quantity is compared with an independent oracle: a full numpy distance matrix for
the nearest-neighbour distances, sklearn's Cohen's kappa, hand counts, numpy quantiles
of a direct computation, and a per-sample expansion of the region table.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from govreport.analyses.context import feature_scale
from govreport.analyses.exposure import input_extrapolation, kth_neighbor_distances
from govreport.analyses.importance import feature_importance, scaled_effect
from govreport.analyses.simplify.refit import PD_DELTA_LEVELS, fidelity, pd_delta_quantiles
from govreport.render.sections import clusters as clusters_section
from govreport.render.sections import importance as importance_section
from govreport.render.sections.importance import fmt_share_pct
from govreport.render.sections.simplification import verdict
from govreport.render.text import Numbering

# ---------------------------------------------------------------------------
# k-nearest-neighbour distances


def _oracle_kth(queries: np.ndarray, reference: np.ndarray, k: int, loo: bool) -> np.ndarray:
    """k-th nearest distance from the full distance matrix (the slow, obvious way)."""
    full = np.linalg.norm(queries[:, None, :] - reference[None, :, :], axis=2)
    out = []
    for i, row in enumerate(full):
        others = np.delete(row, i) if loo else row
        out.append(np.sort(others)[k - 1])
    return np.asarray(out)


@pytest.mark.parametrize("block", [7, 10_000])  # several blocks, and one
@pytest.mark.parametrize("k", [1, 3])
def test_kth_neighbour_distances_match_a_full_distance_matrix(block: int, k: int) -> None:
    rng = np.random.default_rng(3)
    reference = rng.normal(size=(40, 4))
    reference[5] = reference[6]  # a duplicate row: its nearest other row is at distance 0
    queries = rng.normal(size=(25, 4)) * 2.0
    got = kth_neighbor_distances(queries, reference, k, block_elements=block)
    np.testing.assert_allclose(got, _oracle_kth(queries, reference, k, False), atol=1e-9)
    loo = kth_neighbor_distances(reference, reference, k, exclude_self=True, block_elements=block)
    np.testing.assert_allclose(loo, _oracle_kth(reference, reference, k, True), atol=1e-6)
    if k == 1:
        assert loo[5] < 1e-6 and loo[6] < 1e-6


def test_too_few_reference_rows_for_k_is_an_error() -> None:
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="k = 3"):
        kth_neighbor_distances(x, x, 3, exclude_self=True)


def test_extrapolation_share_is_the_share_beyond_the_training_percentile() -> None:
    rng = np.random.default_rng(5)
    train = rng.normal(size=(300, 3)) * np.array([1.0, 10.0, 100.0])
    inside = rng.normal(size=(200, 3)) * np.array([1.0, 10.0, 100.0])
    far = inside[:50] + np.array([8.0, 80.0, 800.0])  # eight standard deviations away
    holdout = np.vstack([inside, far])
    scale = feature_scale(train)
    result = input_extrapolation(train, holdout, scale, seed=0, k=5)
    assert result is not None
    # Oracle: standardise, full matrices, percentile, share.
    z_train = (train - train.mean(axis=0)) / scale
    z_hold = (holdout - train.mean(axis=0)) / scale
    train_d = _oracle_kth(z_train, z_train, 5, True)
    hold_d = _oracle_kth(z_hold, z_train, 5, False)
    threshold = np.percentile(train_d, 99.0)
    assert result.threshold == pytest.approx(threshold, rel=1e-9)
    assert result.share_beyond == pytest.approx(float(np.mean(hold_d > threshold)))
    assert result.share_beyond >= 50 / 250  # every far row is beyond
    assert result.holdout_quantiles == pytest.approx(tuple(np.quantile(hold_d, (0.5, 0.9, 0.99))))
    assert not result.reference_sampled and not result.query_sampled


def test_a_holdout_drawn_like_the_training_data_extrapolates_about_one_percent() -> None:
    rng = np.random.default_rng(9)
    train, holdout = rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4))
    result = input_extrapolation(train, holdout, feature_scale(train), seed=0)
    assert result is not None and result.share_beyond < 0.03


def test_large_data_is_measured_on_seeded_samples_of_the_stated_size() -> None:
    rng = np.random.default_rng(2)
    train, holdout = rng.normal(size=(500, 3)), rng.normal(size=(400, 3))
    scale = feature_scale(train)
    a = input_extrapolation(train, holdout, scale, seed=1, reference_max=100, query_max=50)
    b = input_extrapolation(train, holdout, scale, seed=1, reference_max=100, query_max=50)
    assert a is not None and a == b  # seeded: reproducible
    assert (a.reference_rows, a.query_rows) == (100, 50)
    assert a.reference_sampled and a.query_sampled
    assert (a.train_rows, a.rows) == (500, 400)


# ---------------------------------------------------------------------------
# Simplification: kappa, positives, probability differences


def test_kappa_agrees_with_sklearn_and_positives_are_counted_by_hand() -> None:
    rng = np.random.default_rng(4)
    network = rng.normal(size=500) - 1.0
    merged = network + rng.normal(scale=1.0, size=500)
    fid = fidelity("binary", network, merged)
    net, mer = network > 0, merged > 0
    assert fid["kappa"] == pytest.approx(cohen_kappa_score(net, mer))
    both = int(np.sum(net & mer))
    assert fid["positive_recall"] == pytest.approx(both / int(net.sum()))
    assert fid["baseline_agreement"] == pytest.approx(max(net.mean(), 1 - net.mean()))


def test_a_constant_merged_model_has_high_agreement_but_kappa_zero() -> None:
    network = np.array([-3.0] * 87 + [2.0] * 13)
    merged = np.full(100, -1.0)  # always "no default"
    fid = fidelity("binary", network, merged)
    assert fid["agreement"] == pytest.approx(0.87)
    assert fid["baseline_agreement"] == pytest.approx(0.87)
    assert fid["kappa"] == pytest.approx(0.0)
    assert fid["positive_recall"] == 0.0


def test_probability_difference_quantiles_match_a_direct_computation() -> None:
    rng = np.random.default_rng(8)
    network, merged = rng.normal(size=300), rng.normal(size=300)
    delta = 1 / (1 + np.exp(-merged)) - 1 / (1 + np.exp(-network))
    got = pd_delta_quantiles(network, merged)
    np.testing.assert_allclose(got, np.quantile(delta, PD_DELTA_LEVELS), atol=1e-12)


# ---------------------------------------------------------------------------
# One headline importance


class _Table:
    """The parts of a RegionTable the importance reads."""

    def __init__(self, counts: np.ndarray, weights: np.ndarray) -> None:
        self.counts = counts
        self.weights = weights


def test_headline_importance_is_the_mean_absolute_scaled_slope_over_samples() -> None:
    rng = np.random.default_rng(6)
    counts = np.array([5, 1, 3])
    weights = rng.normal(size=(3, 1, 4))
    scale = np.array([1.0, 10.0, 0.1, 2.0])
    per_sample = np.repeat(weights[:, 0, :], counts, axis=0)  # one row per sample
    oracle = np.mean(np.abs(per_sample * scale), axis=0)
    got = scaled_effect(_Table(counts, weights), scale)  # type: ignore[arg-type]
    np.testing.assert_allclose(got[0], oracle)


def test_features_are_ordered_by_the_headline_not_by_raw_importance() -> None:
    counts = np.array([10])
    # Raw slopes: "code" has the largest per-unit slope, "amount" the largest per-SD effect.
    weights = np.array([[[2.0, 0.001, 0.5]]])
    scale = np.array([0.5, 5000.0, 1.0])
    out = feature_importance(
        _Table(counts, weights),  # type: ignore[arg-type]
        scale,
        ["code", "amount", "rate"],
        ["y"],
    )
    assert [f.name for f in out[0].features] == ["amount", "code", "rate"]
    assert out[0].features[0].raw_pct < out[0].features[1].raw_pct  # raw would rank otherwise
    assert sum(f.share_pct or 0.0 for f in out[0].features) == pytest.approx(100.0)


def test_table_figure_and_clusters_rank_features_the_same_way(task_run: Any) -> None:
    task, outcome = task_run
    if task != "binary":
        pytest.skip("one task is enough")
    results = outcome.results
    context, specs = importance_section.build(results, Numbering())
    table_names = [row[1] for row in context["importance"]["tables"][0]["rows"]]
    figure_names = [f.name for f in specs[0].data["features"]]
    assert figure_names == table_names[: len(figure_names)]
    headline = [f.name for f in importance_section.ordered(results.importance.outputs[0].features)]
    assert table_names == headline[: len(table_names)]
    # Clusters rank each cluster's features by |w × std|, the same scale.
    assert results.clusters is not None
    for cluster in results.clusters.main:
        feats = cluster.outputs[0].features
        sizes = [abs(f.scaled) for f in feats]
        assert sizes == sorted(sizes, reverse=True)
    data = clusters_section._figure_data(results.clusters)
    for panel in data["panels"]:
        sizes = [abs(v) for v in panel["values"]]
        assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0%"), (0.004, "<0.1%"), (0.049, "<0.1%"), (0.05, "0.1%"), (31.24, "31.2%")],
)
def test_small_shares_print_as_below_a_tenth_of_a_percent(value: float, text: str) -> None:
    assert fmt_share_pct(value) == text
    assert fmt_share_pct(math.nan) == "—"


def test_the_verdict_refuses_the_challenger_label_when_kappa_is_low(task_run: Any) -> None:
    import dataclasses

    task, outcome = task_run
    if task != "binary":
        pytest.skip("one task is enough")
    block = outcome.results.simplification
    evaluations = tuple(
        dataclasses.replace(e, fidelity={**e.fidelity, "kappa": 0.3}) for e in block.evaluation
    )
    low = dataclasses.replace(block, evaluation=evaluations)
    assert "not a credible challenger" in verdict(low)
    assert "κ = 0.30" in verdict(low)
    high = dataclasses.replace(
        block,
        evaluation=tuple(
            dataclasses.replace(
                e,
                fidelity={**e.fidelity, "kappa": 0.95},
                metrics={**e.metrics, "auc": e.network.get("auc")},
            )
            for e in block.evaluation
        ),
    )
    assert "not a credible challenger" not in verdict(high)
