"""Fast paths of the performance, challenger, data-quality and uncertainty stages
(issue 15 item 3) against their reference computations: to the last bit where the
fast path claims the same numbers, to rounding where it claims an exact value that the
reference only approximates."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from govreport.analyses import challengers, data_quality, exposure, performance, uncertainty


def _binary(rng: np.random.Generator, n: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.random(n) < 0.3).astype(np.float64)
    score = rng.standard_normal(n) + y
    if ties:
        score = np.round(score, 1)  # many tied scores, within and across the classes
    return y, score


def _exact_auc(y: np.ndarray, score: np.ndarray) -> Fraction:
    """Brute force over every (positive, negative) pair, in exact arithmetic."""
    pos, neg = score[y == 1], score[y == 0]
    wins = sum(int((p > neg).sum()) * 2 + int((p == neg).sum()) for p in pos)
    return Fraction(wins, 2 * pos.size * neg.size)


@pytest.mark.parametrize("ties", [False, True])
def test_rank_sum_auc_is_the_exact_auc_rounded_once(ties: bool) -> None:
    rng = np.random.default_rng(11)
    for n in (2, 3, 10, 57, 400):
        y, score = _binary(rng, n, ties)
        if y.min() == y.max():
            continue
        fast = performance.rank_sum_auc(y, score)
        assert fast == float(_exact_auc(y, score))  # exact, to the last bit
        assert fast == pytest.approx(roc_auc_score(y, score), abs=1e-13)


def test_rank_sum_auc_agrees_with_scikit_learn_on_many_rows() -> None:
    rng = np.random.default_rng(5)
    for ties in (False, True):
        y, score = _binary(rng, 200_000, ties)
        assert performance.rank_sum_auc(y, score) == pytest.approx(
            roc_auc_score(y, score), abs=1e-12
        )


def test_auc_or_nan_uses_counts_from_the_threshold_only(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    y, score = _binary(rng, 500, ties=True)
    reference = float(roc_auc_score(y, score))
    assert performance.auc_or_nan(y, score) == reference  # below the threshold: scikit-learn
    monkeypatch.setattr(performance, "RANK_AUC_MIN_ROWS", 1)
    assert performance.auc_or_nan(y, score) == float(_exact_auc(y, score))
    assert np.isnan(performance.auc_or_nan(np.ones(5), np.arange(5.0)))  # one class
    assert np.isnan(performance.auc_or_nan(np.zeros(5), np.arange(5.0)))
    with pytest.raises(ValueError):  # NaN scores: scikit-learn's error, as below the threshold
        performance.auc_or_nan(y, np.where(score > 0, np.nan, score))
    labels = np.where(y == 1, 2.0, 0.0)  # not 0/1: scikit-learn decides (2 is the positive)
    assert performance.auc_or_nan(labels, score) == reference


@pytest.mark.parametrize("ties", [False, True])
def test_delong_components_by_counts_equal_the_midrank_ones(ties: bool) -> None:
    rng = np.random.default_rng(17)
    for n in (4, 9, 100, 3_000):
        y, score = _binary(rng, n, ties)
        positive = y == 1
        if positive.sum() < 2 or (~positive).sum() < 2:
            continue
        auc, v10, v01 = challengers._components(positive, score)
        ref_auc, ref_v10, ref_v01 = challengers._components_by_ranks(positive, score)
        assert auc == ref_auc
        np.testing.assert_array_equal(v10, ref_v10)  # bit for bit
        np.testing.assert_array_equal(v01, ref_v01)


def test_delong_falls_back_to_ranks_with_non_finite_scores() -> None:
    rng = np.random.default_rng(2)
    y, score = _binary(rng, 50, ties=False)
    score[3] = np.inf
    positive = y == 1
    auc, v10, v01 = challengers._components(positive, score)
    ref = challengers._components_by_ranks(positive, score)
    assert auc == ref[0]
    np.testing.assert_array_equal(v10, ref[1])
    np.testing.assert_array_equal(v01, ref[2])


# --------------------------------------------------------------------------- data quality


def _reference_feature_stats(present: np.ndarray) -> tuple[float, int, float]:
    """(top value share, outliers, max |z|) as the stage computed them before (np.unique,
    np.median twice)."""
    top = float(np.unique(present, return_counts=True)[1].max()) / present.size
    z = np.abs(data_quality.robust_z(present))
    return top, int((z > data_quality.ROBUST_Z_LIMIT).sum()), float(z.max())


def _columns(rng: np.random.Generator) -> list[np.ndarray]:
    cols = []
    for n in (1, 2, 3, 4, 7, 50, 501, 2_000):
        cols.append(rng.standard_normal(n))
        cols.append(np.round(rng.standard_normal(n) * 3))  # many ties
        cols.append(np.where(rng.random(n) < 0.7, 5.0, rng.standard_normal(n)))  # MAD = 0
        cols.append(rng.standard_t(2, n) * 1e3 - 7.0)
        cols.append(np.where(rng.random(n) < 0.5, -0.0, 0.0) + (rng.random(n) < 0.2))
    cols.append(np.array([1.0, np.inf, 2.0, -np.inf, 3.0]))
    cols.append(np.array([np.inf, np.inf, np.inf, 1.0]))
    return cols


def test_feature_order_statistics_from_one_sort_equal_the_reference() -> None:
    rng = np.random.default_rng(23)
    for present in _columns(rng):
        ascending = np.sort(present)
        with np.errstate(invalid="ignore"):
            top, outliers, max_z = _reference_feature_stats(present)
            fast_outliers, fast_max_z = data_quality._outliers(present, ascending)
        assert data_quality._top_count(ascending) / present.size == top
        assert fast_outliers == outliers
        np.testing.assert_array_equal(fast_max_z, max_z)  # bit for bit (NaN equal to NaN)
        median = float(np.median(present))
        assert data_quality._sorted_median(ascending) == median
        if np.all(np.isfinite(present)):
            assert data_quality._median_abs_deviation(ascending, median) == float(
                np.median(np.abs(present - median))
            )


def test_kth_of_two_sorted_runs_is_the_kth_of_their_union() -> None:
    rng = np.random.default_rng(29)
    for _ in range(300):
        a = np.sort(rng.integers(0, 6, rng.integers(0, 8)).astype(np.float64))
        b = np.sort(rng.integers(0, 6, rng.integers(0, 8)).astype(np.float64))
        union = np.sort(np.concatenate([a, b]))
        for k in range(union.size):
            assert data_quality._kth_of_two(a, b, k) == union[k]


def _rows_with_repeats(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.round(rng.standard_normal((n, 3)), 1)
    x[::7] = x[1::7][: x[::7].shape[0]]  # exact repeats
    x[5, 0], x[12, 0] = -0.0, 0.0  # equal values, different bits
    x[12, 1:] = x[5, 1:]
    x[20, 2], x[30, 2] = np.nan, -np.nan
    x[30, :2] = x[20, :2]
    y = (rng.random(n) < 0.5).astype(np.float64)
    return x, y


def test_duplicates_from_the_prefiltered_rows_equal_pandas_on_all_rows() -> None:
    rng = np.random.default_rng(31)
    for n in (1, 2, 40, 300, 5_000):
        x, y = _rows_with_repeats(rng, max(n, 40))
        reference = data_quality._duplicates_and_conflicts_all(x, y)
        assert data_quality.duplicates_and_conflicts(x, y) == reference
        assert reference[0] > 0 and reference[1] > 0  # the test data has both
    x = rng.standard_normal((1_000, 4))  # no repeats at all
    assert data_quality.duplicates_and_conflicts(x, np.zeros(1_000)) == (0, 0, 0)
    assert data_quality._duplicates_and_conflicts_all(x, np.zeros(1_000)) == (0, 0, 0)


# --------------------------------------------------------------------------- uncertainty


def _reference_metrics(metrics: uncertainty._Metrics, w: np.ndarray) -> dict[str, float]:
    """The metrics by the tie-group path, as the stage computed them before (bincounts,
    :func:`weighted_auc`, :func:`weighted_ks` on float weights)."""
    sorted_scores = metrics.sorted
    saved = sorted_scores.ties
    sorted_scores.ties = True  # the bincount path, whatever the data
    try:
        out = metrics(np.asarray(w, dtype=np.float64))
        pos, neg = sorted_scores.class_weights(np.asarray(w, dtype=np.float64))
    finally:
        sorted_scores.ties = saved
    assert out["performance.auc"] == uncertainty.weighted_auc(pos, neg) or np.isnan(
        out["performance.auc"]
    )
    assert out["outcomes.ks"] == uncertainty.weighted_ks(pos, neg) or np.isnan(out["outcomes.ks"])
    weights = np.asarray(w, dtype=np.float64)
    total = float(weights.sum())
    for name, values in metrics.rows.items():  # one product and one sum per quantity
        out[name] = float(np.sum(weights * values)) / total
    return out


def test_bootstrap_metrics_from_class_runs_equal_the_tie_group_ones() -> None:
    rng = np.random.default_rng(37)
    for n in (2, 5, 30, 1_000, 20_000):
        y = (rng.random(n) < 0.35).astype(np.float64)
        z = (rng.standard_normal(n) + y)[:, None]
        metrics = uncertainty._Metrics("binary", z, y)
        assert not metrics.sorted.ties
        for _ in range(20):
            w = np.bincount(rng.integers(0, n, n), minlength=n)  # resample counts, some 0
            fast = metrics(w)
            reference = _reference_metrics(metrics, w)
            assert fast.keys() == reference.keys()
            for name, value in fast.items():
                np.testing.assert_array_equal(value, reference[name])  # bit for bit, NaN too
        np.testing.assert_array_equal(
            list(metrics(np.ones(n)).values()),
            list(_reference_metrics(metrics, np.ones(n)).values()),
        )


def test_bootstrap_draws_are_those_of_generator_choice() -> None:
    """The bootstrap draws ``stratum[rng.integers(0, k, k)]`` for ``rng.choice(stratum, k)``
    (cheaper): the same numbers and the same generator state after."""
    stratum = np.arange(7, 70_007) * 3
    for size in (1, 10, stratum.size):
        one, two = np.random.default_rng(4), np.random.default_rng(4)
        np.testing.assert_array_equal(
            one.choice(stratum, size=size), stratum[two.integers(0, stratum.size, size)]
        )
        assert one.random() == two.random()


def test_bootstrap_means_of_multiclass_and_regression_are_per_quantity_sums() -> None:
    """The multiclass and regression metrics keep their per-quantity sums too."""
    rng = np.random.default_rng(41)
    n = 3_000
    for task, logits, y in (
        ("multiclass", rng.standard_normal((n, 3)), rng.integers(0, 3, n).astype(np.float64)),
        ("regression", rng.standard_normal((n, 1)), rng.standard_normal(n)),
    ):
        metrics = uncertainty._Metrics(task, logits, y)
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        got = metrics(w)
        total = float(w.sum())
        means = {name: float(np.sum(w * v)) / total for name, v in metrics.rows.items()}
        if task == "multiclass":
            assert got == means
        else:
            assert got["performance.mae"] == means["abs"]
            assert got["performance.rmse"] == np.sqrt(means["sq"])


def test_point_metrics_from_classes_sorted_apart_equal_the_unit_weight_ones() -> None:
    rng = np.random.default_rng(43)
    for n in (1, 2, 3, 17, 5_000):
        for ties in (False, True):
            y, score = _binary(rng, n, ties)
            for labels in (y, np.ones(n), np.zeros(n)):
                logits = score[:, None]
                fast = uncertainty._point("binary", logits, labels)
                reference = uncertainty._Metrics("binary", logits, labels)(np.ones(n))
                assert list(fast) == list(reference)
                np.testing.assert_array_equal(list(fast.values()), list(reference.values()))


# --------------------------------------------------------------------------- extrapolation


def _reference_kth(
    queries: np.ndarray, reference: np.ndarray, k: int, exclude_self: bool, block: int
) -> np.ndarray:
    """The k-th neighbour distances as the stage computed them before: fresh arrays per
    block of rows (the same blocks: BLAS rounds a one-row product differently),
    ``np.partition``."""
    rank = k if exclude_self else k - 1
    ref_sq = np.einsum("ij,ij->i", reference, reference)
    step = max(1, block // reference.shape[0])
    out = []
    for start in range(0, queries.shape[0], step):
        q = queries[start : start + step]
        d2 = np.einsum("ij,ij->i", q, q)[:, None] + ref_sq[None, :] - 2.0 * (q @ reference.T)
        if exclude_self:
            rows = np.arange(q.shape[0])
            d2[rows, start + rows] = -np.inf
        out.append(np.sqrt(np.maximum(np.partition(d2, rank, axis=1)[:, rank], 0.0)))
    return np.concatenate(out)


def test_kth_neighbour_distances_with_reused_buffers_equal_fresh_arrays() -> None:
    rng = np.random.default_rng(47)
    reference = rng.standard_normal((700, 6))
    queries = rng.standard_normal((333, 6))
    reference[5] = reference[4]  # a duplicate: distance 0
    for block in (700, 7_000, 10**9):  # one row, ten rows, all rows per block
        np.testing.assert_array_equal(
            exposure.kth_neighbor_distances(queries, reference, 5, block_elements=block),
            _reference_kth(queries, reference, 5, False, block),
        )
        np.testing.assert_array_equal(
            exposure.kth_neighbor_distances(
                reference, reference, 5, exclude_self=True, block_elements=block
            ),
            _reference_kth(reference, reference, 5, True, block),
        )


def test_training_distances_are_computed_once_for_several_holdouts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(53)
    train = rng.standard_normal((600, 4))
    test, oot = rng.standard_normal((200, 4)), rng.standard_normal((150, 4)) + 0.5
    scale = np.ones(4)
    exposure._LAST_REFERENCE.clear()
    fresh = []
    for holdout in (test, oot):  # each computed afresh
        exposure._LAST_REFERENCE.clear()
        fresh.append(exposure.input_extrapolation(train, holdout, scale, seed=3, reference_max=300))
    calls = []
    original = exposure.kth_neighbor_distances

    def counting(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(kwargs.get("exclude_self", False))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(exposure, "kth_neighbor_distances", counting)
    exposure._LAST_REFERENCE.clear()
    kept = [
        exposure.input_extrapolation(train, h, scale, seed=3, reference_max=300)
        for h in (test, oot)
    ]
    assert kept == fresh
    assert calls == [True, False, False]  # the training distances once
    other = train.copy()  # another array, even with equal values: computed again
    exposure.input_extrapolation(other, test, scale, seed=3, reference_max=300)
    exposure.input_extrapolation(train, test, scale, seed=4, reference_max=300)  # other rows
    assert calls == [True, False, False, True, False, True, False]
    exposure._LAST_REFERENCE.clear()


def test_challenger_scores_by_blocks_equal_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(59)
    x = rng.standard_normal((1_000, 4))
    y = (x[:, 0] + rng.standard_normal(1_000) > 0).astype(np.float64)
    for _name, _model, _settings, estimator in challengers._models("binary", 0):
        estimator.fit(x, y)  # type: ignore[attr-defined]
        whole = challengers._scores("binary", estimator, x)
        monkeypatch.setattr(challengers, "SCORE_CHUNK_ROWS", 300)
        blocks = challengers._scores("binary", estimator, x)
        monkeypatch.setattr(challengers, "SCORE_CHUNK_ROWS", 65_536)
        assert blocks.shape == whole.shape == (1_000, 1)
        np.testing.assert_allclose(blocks, whole, rtol=1e-13, atol=1e-13)
