"""Aletheia diagnostics (issue 3) against independent oracles.

ALGORITHMS.md §4 invariants 9 (feature importance), 10 (summary table), 11 (profile
segments), 15 (hidden-unit permutation and positive rescaling); weighted coefficient
quantiles against ``np.repeat``; the test-exposure table against a slow per-sample
reference; LOWESS against a textbook implementation on the replicated points; and the
report sections and figures.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from govreport.analyses.coefficients import (
    QUANTILE_LEVELS,
    coefficient_distributions,
    summarize_coefficient,
    weighted_quantiles,
)
from govreport.analyses.dummies import dummy_census
from govreport.analyses.exposure import exposure_table, input_extrapolation
from govreport.analyses.importance import importance_percent
from govreport.analyses.profiles import profile_features
from govreport.analyses.region_plots import region_plot_data, weighted_lowess
from govreport.analyses.summary import summarize_top_regions
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.regions import RegionTable, extract_regions
from govreport.results import dump, to_jsonable

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"


def network(
    seed: int = 0, d: int = 3, widths: tuple[int, ...] = (6, 4), zero_column: int | None = None
) -> PiecewiseLinearNetwork:
    rng = np.random.default_rng(seed)
    dims = [d, *widths, 1]
    maps = []
    for i, (a, b) in enumerate(pairwise(dims)):
        w = rng.normal(size=(b, a)) / np.sqrt(a)
        if i == 0 and zero_column is not None:
            w[:, zero_column] = 0.0
        maps.append(AffineMap(readonly(w), readonly(rng.normal(size=b) * 0.5)))
    return PiecewiseLinearNetwork(tuple(maps), (0.0,) * len(widths), "sigmoid")


def data(seed: int = 4, n: int = 800, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(n, d)), 0)  # coarse grid: many samples share a region
    y = (rng.uniform(size=n) < 0.4).astype(np.float64)
    return x, y


def numpy_patterns(net: PiecewiseLinearNetwork, x: np.ndarray) -> list[bytes]:
    """Activation pattern of every row with plain numpy (independent of govreport.regions)."""
    a, bits = x, []
    for m in net.affine_maps[:-1]:
        z = a @ np.asarray(m.weight).T + np.asarray(m.bias)
        bits.append(z > 0)
        a = np.maximum(z, 0.0)
    on = np.concatenate(bits, axis=1)
    return [row.tobytes() for row in on]


def autograd_llm(net: PiecewiseLinearNetwork, x_row: np.ndarray) -> tuple[np.ndarray, float]:
    """(w, b) of the region of ``x_row`` by torch autograd: w = dη/dx, b = η − w·x."""
    x = torch.tensor(x_row, dtype=torch.float64, requires_grad=True)
    a = x
    for m in net.affine_maps[:-1]:
        a = torch.relu(
            torch.from_numpy(np.array(m.weight)) @ a + torch.from_numpy(np.array(m.bias))
        )
    last = net.affine_maps[-1]
    eta = (torch.from_numpy(np.array(last.weight)) @ a + torch.from_numpy(np.array(last.bias)))[0]
    eta.backward()
    assert x.grad is not None
    w = x.grad.numpy().copy()
    return w, float(eta.detach()) - float(w @ x_row)


# ---------------------------------------------------------------------------
# invariant 9: feature importance


def permuted_table(table: RegionTable, order: np.ndarray) -> RegionTable:
    fields = {f.name: getattr(table, f.name) for f in dataclasses.fields(table)}
    return RegionTable(**{name: value[order] for name, value in fields.items()})


def test_importance_is_nonnegative_sums_to_100_and_ignores_region_order() -> None:
    x, y = data()
    table = extract_regions(network(), x, y[:, None]).table
    fi = importance_percent(table)
    scaled = importance_percent(table, x.std(axis=0))
    for values in (fi, scaled):
        assert (values >= 0).all()
        assert values.sum() == pytest.approx(100.0, abs=1e-9)
    order = np.random.default_rng(1).permutation(table.n_regions)
    np.testing.assert_allclose(importance_percent(permuted_table(table, order)), fi, atol=1e-12)
    # Oracle: per-sample squared gradients (autograd), summed and normalised.
    extraction = extract_regions(network(), x, y[:, None])
    sq = np.zeros(3)
    for i in range(0, 800, 7):  # every region's w is constant; sample a subset per region
        w, _ = autograd_llm(network(), x[i])
        np.testing.assert_allclose(w, extraction.table.weights[extraction.sample_regions[i], 0])
    sq = (extraction.table.weights[extraction.sample_regions, 0] ** 2).sum(axis=0)
    np.testing.assert_allclose(fi[0], 100 * sq / sq.sum(), rtol=1e-12)


def test_zero_input_column_has_zero_importance() -> None:
    x, y = data()
    table = extract_regions(network(zero_column=1), x, y[:, None]).table
    fi = importance_percent(table)
    assert fi[0, 1] == 0.0
    assert fi[0].sum() == pytest.approx(100.0)


# ---------------------------------------------------------------------------
# invariant 10: summary table


def test_summary_table_against_a_slow_per_sample_path() -> None:
    x, y = data()
    net = network()
    extraction = extract_regions(net, x, y[:, None])
    table = summarize_top_regions(extraction, x, y, task="binary", top=10**6)
    assert sum(r.count for r in table.rows) == 800
    patterns = numpy_patterns(net, x)
    frame = pd.DataFrame({"pattern": patterns, "y": y})
    groups = frame.groupby("pattern", sort=False)["y"]
    assert len(table.rows) == groups.ngroups
    for row in table.rows[:25]:
        region = row.rank - 1
        first = int(extraction.table.first_rows[region])
        members = np.flatnonzero(frame["pattern"] == patterns[first])
        local_y = y[members]
        assert row.count == members.size
        assert 0.0 <= row.response_mean <= 1.0
        assert row.response_mean == pytest.approx(local_y.mean())
        assert math.isnan(row.response_std) == (members.size == 1)
        if members.size > 1:
            assert row.response_std == pytest.approx(local_y.std(ddof=1))
        assert row.dummy == (members.size >= 2 and np.unique(local_y).size == 1)
        w, b = autograd_llm(net, x[first])
        slow_logits = np.array([sum(w[j] * xi[j] for j in range(3)) + b for xi in x])
        positives = int((local_y == 1).sum())
        if min(positives, local_y.size - positives) < 10:  # the local AUC needs 10 of each class
            assert math.isnan(row.local_metric)
            assert row.local_low is None
        else:
            assert row.local_metric == pytest.approx(roc_auc_score(local_y, slow_logits[members]))
        assert row.global_metric == pytest.approx(roc_auc_score(y, slow_logits), abs=1e-12)


def test_summary_std_is_nan_exactly_for_singletons_and_dummy_census_counts() -> None:
    x, y = data(n=300)
    x = x + np.random.default_rng(9).normal(size=x.shape) * 0.3  # finer: many singletons
    extraction = extract_regions(network(), x, y[:, None])
    rows = summarize_top_regions(extraction, x, y, task="binary", top=10**6).rows
    assert any(r.count == 1 for r in rows) and any(r.count > 1 for r in rows)
    for r in rows:
        assert math.isnan(r.response_std) == (r.count == 1)
    frame = pd.DataFrame({"r": extraction.sample_regions, "y": y})
    stats = frame.groupby("r")["y"].agg(["size", "nunique"])
    multi = stats["size"] >= 2
    dummy = multi & (stats["nunique"] == 1)
    census = dummy_census(extraction.table)
    assert census.multi_sample_regions == int(multi.sum())
    assert census.dummy_regions == int(dummy.sum())
    assert census.dummy_share == pytest.approx(dummy.sum() / multi.sum())
    assert census.dummy_share_all_regions == pytest.approx(dummy.sum() / len(stats))
    assert census.samples_in_dummy_share == pytest.approx(stats["size"][dummy].sum() / 300)


# ---------------------------------------------------------------------------
# invariant 11: profile segments (profiles.py output)


def test_profile_segments_have_the_region_slope_zero_mean_and_region_range() -> None:
    x, y = data()
    extraction = extract_regions(network(), x, y[:, None])
    profiles = profile_features(
        extraction,
        x,
        features=[(0, "a", 0.0, 0.0), (2, "c", 0.0, 0.0)],
        top_regions=5,
        disclosure_min_samples=1,
    )
    for profile, column in zip(profiles, (0, 2), strict=True):
        for segment in profile.regions:
            region = segment.rank - 1
            members = np.flatnonzero(extraction.sample_regions == region)
            values = x[members, column]
            w = extraction.table.weights[region, 0, column]
            assert segment.slope == w
            assert segment.x_min == values.min() and segment.x_max == values.max()
            # The segment's points (x, w (x − x̄)) have mean 0 and lie on the segment.
            effect = w * (values - values.mean())
            assert abs(effect.mean()) < 1e-12
            if segment.x_max > segment.x_min:
                slope = (segment.y_max - segment.y_min) / (segment.x_max - segment.x_min)
                assert slope == pytest.approx(w, rel=1e-12, abs=1e-15)
            assert segment.y_min == pytest.approx(w * (values.min() - values.mean()), abs=1e-12)


# ---------------------------------------------------------------------------
# invariant 15: permutation and positive rescaling of hidden units


def transformed(net: PiecewiseLinearNetwork, perm: np.ndarray, unit: int, c: float):
    """Permute the first hidden layer's units; rescale unit ``unit`` of the second by c > 0."""
    w0, b0 = np.asarray(net.affine_maps[0].weight), np.asarray(net.affine_maps[0].bias)
    w1, b1 = np.asarray(net.affine_maps[1].weight), np.asarray(net.affine_maps[1].bias)
    w2, b2 = np.asarray(net.affine_maps[2].weight), np.asarray(net.affine_maps[2].bias)
    w0, b0, w1 = w0[perm], b0[perm], w1[:, perm].copy()
    w1[unit] *= c
    b1 = b1.copy()
    b1[unit] *= c
    w2 = w2.copy()
    w2[:, unit] /= c
    maps = tuple(AffineMap(readonly(w), readonly(b)) for w, b in ((w0, b0), (w1, b1), (w2, b2)))
    return PiecewiseLinearNetwork(maps, net.negative_slopes, net.output_link)


def test_permuting_and_rescaling_hidden_units_changes_nothing() -> None:
    x, y = data()
    net = network(seed=3)
    other = transformed(net, np.array([3, 0, 5, 1, 4, 2]), unit=2, c=3.7)
    a = extract_regions(net, x, y[:, None])
    b = extract_regions(other, x, y[:, None])
    np.testing.assert_array_equal(a.sample_regions, b.sample_regions)  # same partition, order
    np.testing.assert_array_equal(a.table.counts, b.table.counts)
    np.testing.assert_allclose(b.table.weights, a.table.weights, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.table.biases, a.table.biases, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        importance_percent(b.table), importance_percent(a.table), rtol=1e-10, atol=1e-12
    )
    # The transformation really changed the weights (the test is not vacuous).
    assert not np.allclose(other.affine_maps[1].weight, net.affine_maps[1].weight)


# ---------------------------------------------------------------------------
# coefficient distributions


def test_weighted_quantiles_equal_numpy_on_the_repeated_sample() -> None:
    rng = np.random.default_rng(0)
    for trial in range(30):
        size = int(rng.integers(1, 40))
        values = np.round(rng.normal(size=size), 1 if trial % 2 else 6)  # ties on odd trials
        counts = rng.integers(0 if trial % 3 == 0 else 1, 9, size=size)
        if counts.sum() == 0:
            counts[0] = 1
        levels = (*QUANTILE_LEVELS, 0.33, 0.501, 0.999)
        oracle = np.quantile(np.repeat(values, counts), levels)
        np.testing.assert_allclose(
            weighted_quantiles(values, counts, levels), oracle, rtol=0, atol=1e-15
        )
        summary = summarize_coefficient(values, counts)
        repeated = np.repeat(values, counts)
        assert summary.mean == pytest.approx(repeated.mean(), rel=1e-12, abs=1e-15)
        assert summary.positive_share == pytest.approx((repeated > 0).mean())
        assert summary.negative_share == pytest.approx((repeated < 0).mean())
        assert summary.zero_share == pytest.approx((repeated == 0).mean())


def test_coefficient_distributions_match_the_per_sample_coefficients() -> None:
    x, y = data()
    extraction = extract_regions(network(zero_column=2), x, y[:, None])
    std = x.std(axis=0)
    result = coefficient_distributions(extraction.table, std, ["a", "b", "c"], ["logit"])
    assert result.samples == 800 and result.regions == extraction.table.n_regions
    per_sample = extraction.table.weights[extraction.sample_regions, 0]  # (N, d): test only
    for j, feature in enumerate(result.outputs[0].features):
        np.testing.assert_allclose(
            feature.raw.quantiles, np.quantile(per_sample[:, j], QUANTILE_LEVELS), atol=1e-15
        )
        np.testing.assert_allclose(
            feature.scaled.quantiles,
            np.quantile(per_sample[:, j] * std[j], QUANTILE_LEVELS),
            rtol=1e-12,
            atol=1e-15,
        )
        assert feature.raw.mean == pytest.approx(per_sample[:, j].mean(), rel=1e-12, abs=1e-15)
        assert feature.raw.positive_share == pytest.approx((per_sample[:, j] > 0).mean())
    assert result.outputs[0].features[2].raw.zero_share == 1.0


# ---------------------------------------------------------------------------
# test exposure


def test_exposure_table_matches_a_slow_pattern_by_pattern_reference() -> None:
    net = network(seed=2)
    x, y = data(seed=4)
    xt, yt = data(seed=5, n=500)
    train = extract_regions(net, x, y[:, None])
    test = extract_regions(net, xt, yt[:, None])
    table = exposure_table(train, test, xt, yt, task="binary", top=12)
    assert table.shown == 12 and table.test_samples == 500
    train_patterns = numpy_patterns(net, x)
    test_patterns = numpy_patterns(net, xt)
    in_shown = 0
    for row in table.rows:
        region = row.rank - 1
        first = int(train.table.first_rows[region])
        members = np.array(
            [i for i, p in enumerate(test_patterns) if p == train_patterns[first]], dtype=np.int64
        )
        in_shown += members.size
        assert row.train_count == train.table.counts[region]
        assert row.test_count == members.size
        w, b = autograd_llm(net, x[first])
        scores = xt @ w + b
        assert row.global_metric == pytest.approx(roc_auc_score(yt, scores), abs=1e-12)
        if members.size == 0:
            assert math.isnan(row.local_metric) and math.isnan(row.response_mean)
            continue
        local_y = yt[members]
        assert row.response_mean == pytest.approx(local_y.mean())
        assert math.isnan(row.response_std) == (members.size == 1)
        if members.size > 1:
            assert row.response_std == pytest.approx(local_y.std(ddof=1))
        if np.unique(local_y).size < 2:
            assert math.isnan(row.local_metric)
        else:
            assert row.local_metric == pytest.approx(roc_auc_score(local_y, scores[members]))
    assert table.test_samples_in_shown == in_shown > 0
    assert table.shown_without_test == sum(r.test_count == 0 for r in table.rows)


# ---------------------------------------------------------------------------
# LOWESS


def slow_lowess(x: np.ndarray, y: np.ndarray, frac: float = 2 / 3, it: int = 3) -> np.ndarray:
    """Textbook robust LOWESS (Cleveland 1979) on plain points, one point at a time."""
    n = x.size
    k = min(n, max(1, int(frac * n + 1e-10)))
    robust = np.ones(n)
    fit = y.copy()
    for step in range(it + 1):
        new = np.empty(n)
        for i in range(n):
            d = np.abs(x - x[i])
            h = np.sort(d)[k - 1]
            w = (
                np.array([(1 - (dj / h) ** 3) ** 3 if dj < h else 0.0 for dj in d])
                if h > 0
                else ((d == 0).astype(float))
            )
            w = w * robust
            sw = w.sum()
            xm, ym = (w * x).sum() / sw, (w * y).sum() / sw
            sxx = (w * (x - xm) ** 2).sum()
            if sxx <= sw * (1e-10 * np.abs(x).max()) ** 2:
                new[i] = ym
            else:
                new[i] = ym + (w * (x - xm) * (y - ym)).sum() / sxx * (x[i] - xm)
        fit = new
        if step == it:
            break
        r = np.abs(y - fit)
        s = np.median(r)
        if 6 * s <= 1e-7 * np.abs(y).mean():
            break
        robust = np.array([(1 - (v / (6 * s)) ** 2) ** 2 if v < 6 * s else 0.0 for v in r])
    return fit


def test_weighted_lowess_equals_lowess_on_the_replicated_points() -> None:
    rng = np.random.default_rng(7)
    robust_changed = False
    for trial in range(6):
        u = int(rng.integers(3, 14))
        x = np.round(rng.uniform(0, 5, size=u), 1)  # ties in x across regions
        y = np.sin(x) + rng.normal(size=u) * 0.3
        y[0] += 4.0  # an outlier for the robustness steps
        counts = rng.integers(1, 6 if trial % 2 else 30, size=u)
        fast = weighted_lowess(x, y, counts)
        slow = slow_lowess(np.repeat(x, counts), np.repeat(y, counts))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        np.testing.assert_allclose(fast, slow[starts], rtol=1e-9, atol=1e-12)
        robust_changed |= not np.allclose(fast, weighted_lowess(x, y, counts, iterations=0))
    assert robust_changed  # the robustness steps were exercised


def test_lowess_reproduces_a_straight_line() -> None:
    x = np.array([0.0, 1.0, 2.5, 3.0, 7.0])
    y = 2.0 * x - 1.0
    np.testing.assert_allclose(weighted_lowess(x, y, np.array([5, 1, 2, 9, 1])), y, atol=1e-12)


def test_plot_data_respects_disclosure_and_stores_residuals() -> None:
    x, y = data()
    table = extract_regions(network(), x, y[:, None]).table
    std = x.std(axis=0)
    minimum = int(table.counts[3])  # regions 0-3 qualify, and maybe ties after them
    plots = region_plot_data(
        table,
        std,
        ["a", "b", "c"],
        output_name="logit",
        parallel_features=[(2, 50.0), (0, 30.0)],
        parallel_regions=8,
        pair_features=[(0, 30.0), (1, 20.0)],
        pair_regions=30,
        disclosure_min_samples=minimum,
    )
    pair = plots.pair
    assert all(c >= minimum for c in pair.counts)
    assert pair.withheld == 30 - len(pair.ranks) and len(pair.ranks) >= 4
    for feature, column in zip(pair.features, (0, 1), strict=True):
        ranks = np.array(pair.ranks) - 1
        np.testing.assert_array_equal(feature.centers, table.centers[ranks, column])
        np.testing.assert_allclose(
            feature.residuals, np.array(feature.coefficients) - np.array(feature.fitted)
        )
        np.testing.assert_allclose(
            feature.fitted,
            weighted_lowess(
                table.centers[ranks, column], table.weights[ranks, 0, column], table.counts[ranks]
            ),
        )
    line = plots.parallel.lines[0]
    assert plots.parallel.features == ("c", "a") and len(plots.parallel.lines) == 8
    np.testing.assert_allclose(line.scaled, np.array(line.raw) * std[[2, 0]])


# ---------------------------------------------------------------------------
# report


def fixture_with_aletheia(disclosure: int = 1) -> dict[str, Any]:
    """results_small.json plus the Aletheia keys, computed on a small synthetic run."""
    results = json.loads(FIXTURE.read_text(encoding="utf-8"))
    names = list(results["features"])
    d = len(names)
    net = network(seed=1, d=d)
    x, y = data(seed=4, n=600, d=d)
    xt, yt = data(seed=8, n=300, d=d)
    train = extract_regions(net, x, y[:, None])
    test = extract_regions(net, xt, yt[:, None])
    std = x.std(axis=0)
    ranked = [(j, float(10 - j)) for j in range(d)]
    results["coefficients"] = to_jsonable(
        coefficient_distributions(train.table, std, names, ["logit"])
    )
    results["aletheia_plots"] = to_jsonable(
        region_plot_data(
            train.table,
            std,
            names,
            output_name="logit",
            parallel_features=ranked,
            parallel_regions=6,
            pair_features=ranked[:3],
            pair_regions=10,
            disclosure_min_samples=disclosure,
        )
    )
    results["regions"]["train"]["census"].update(to_jsonable(dummy_census(train.table)))
    results["regions"]["test"]["exposure_table"] = to_jsonable(
        exposure_table(train, test, xt, yt, task="binary", top=8)
    )
    for row in results["regions"]["train"]["summary_table"]["rows"]:
        row["dummy"] = False
    results["pending"] = [
        p for p in results["pending"] if p.get("section") != "coefficient_distributions"
    ]
    return results


def test_report_shows_the_aletheia_sections_and_figures() -> None:
    from govreport.render import build_context, render_html

    results = fixture_with_aletheia()
    context = build_context(results)
    ids = [f["id"] for f in context["figures"]]
    for fig_id in ("diagperf", "coef-box", "coef-parallel", "coef-pair", "coef-intercept"):
        assert fig_id in ids
    html = render_html(results)  # raises if a captioned figure was not drawn
    for text in (
        "Test exposure of the largest training regions",
        "Scale-aware local coefficients w·std across samples",
        "Raw local coefficients w across samples",
        "Mean and sign of the local coefficients across samples",
        "Pure-label (&#39;dummy&#39;) regions",
        "Pure label",
        "C.5.3 Coefficient distributions across samples",
        'id="figure-coef-pair"',
        'id="figure-diagperf"',
    ):
        assert text in html, text
    assert "<script>alert(1)</script>" not in html  # the fixture's evil feature name
    section = html.split('id="sec-coefficients"')[1].split('id="sec-sign"')[0]
    assert "Not available in this version" not in section
    assert "regions withheld" not in section


def test_report_withholds_pair_plots_when_no_region_passes_disclosure() -> None:
    from govreport.render import build_context

    results = fixture_with_aletheia(disclosure=10**6)
    context = build_context(results)
    ids = [f["id"] for f in context["figures"]]
    assert "coef-pair" not in ids and "coef-intercept" not in ids and "coef-box" in ids
    assert "No pair or intercept plot" in context["soundness"]["coefficients"]["note"]


def test_older_results_without_aletheia_keys_still_render() -> None:
    from govreport.render import build_context, render_html

    results = json.loads(FIXTURE.read_text(encoding="utf-8"))
    old = copy.deepcopy(results)
    ids = [f["id"] for f in build_context(old)["figures"]]
    assert not {"coef-box", "coef-parallel", "coef-pair"} & set(ids)
    html = render_html(results)
    section = html.split('id="sec-coefficients"')[1].split('id="sec-sign"')[0]
    assert "Not available in this version" in section


# ---------------------------------------------------------------------------
# pipeline


POLICY = """schema_version: 1
policy: {id: T, version: 1.0.0, owner: test, effective: 2026-01-01}
severity_levels: [info, minor, major, critical]
gate: {fail_on: critical}
checks:
  - {id: dummy, metric: regions.dummy_share, dataset: train, max: 1.0, severity: info,
     refs: [t]}
  - {id: best, metric: summary.top_region_global_auc_max, dataset: test, min: 0.0,
     severity: info, refs: [t]}
  - {id: gain, metric: summary.auc_gain_over_best_region, dataset: train, min: -1.0,
     severity: info, refs: [t]}
"""


def test_pipeline_writes_the_aletheia_results_and_metrics(tmp_path: Path) -> None:
    from datetime import datetime

    from govreport.pipeline import RunConfig, run_pipeline

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1), torch.nn.Sigmoid()
    ).eval()
    torch.jit.save(torch.jit.script(model), str(tmp_path / "model.pt"))
    for name, seed, n in (("train", 0, 400), ("test", 1, 200)):
        x, y = data(seed=seed, n=n)
        frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=y.astype(int))
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    (tmp_path / "policy.yaml").write_text(POLICY)
    typed = run_pipeline(
        RunConfig(
            model_path=tmp_path / "model.pt",
            data_path=tmp_path / "train.csv",
            test_data_path=tmp_path / "test.csv",
            target="y",
            policy_path=tmp_path / "policy.yaml",
            run_time=datetime(2026, 1, 1),
            command="test",
            top_regions=6,
            disclosure_min_samples=15,
        )
    ).results
    result = json.loads(dump(typed))
    census = result["regions"]["train"]["census"]
    assert {"dummy_regions", "dummy_share", "multi_sample_regions"} <= set(census)
    exposure = result["regions"]["test"]["exposure_table"]
    assert exposure["shown"] == len(exposure["rows"]) == min(6, census["regions"])
    assert result["coefficients"]["samples"] == 400
    assert len(result["coefficients"]["outputs"][0]["features"]) == 3
    pair = result["aletheia_plots"]["pair"]
    assert all(c >= 15 for c in pair["counts"]) and pair["considered"] == 6
    assert all("dummy" in row for row in result["regions"]["train"]["summary_table"]["rows"])
    assert "pending" not in result  # schema 2 has no pending analyses
    observed = {c["id"]: c["observed"] for c in result["policy"]["checks"]}
    assert observed["dummy"] == pytest.approx(census["dummy_share"])
    best = max(r["global_metric"] for r in exposure["rows"] if r["global_metric"] is not None)
    assert observed["best"] == pytest.approx(best)
    train_auc = next(p for p in result["performance"] if p["dataset"] == "train")["metrics"]
    train_best = max(
        r["global_metric"]
        for r in result["regions"]["train"]["summary_table"]["rows"]
        if r["global_metric"] is not None
    )
    assert observed["gain"] == pytest.approx(train_auc["auc"] - train_best)


# ---------------------------------------------------------------------------
# stage shape: run(ctx, ...) gives the JSON blocks the pipeline wrote before the typed results


def test_stage_results_dump_to_the_blocks_the_old_pipeline_composed() -> None:
    from govreport.analyses import (
        coefficients,
        dataset_regions,
        importance,
        performance,
        profiles,
        region_plots,
    )
    from govreport.analyses.census import summarize_census
    from govreport.analyses.context import (
        AnalysisContext,
        AnalysisOptions,
        DatasetRegions,
        feature_scale,
    )
    from govreport.analyses.importance import feature_importance
    from govreport.analyses.neurons import dead_neuron_share, summarize_neurons
    from govreport.analyses.performance import performance_metrics
    from govreport.inputs.data import Dataset
    from govreport.inputs.files import FileFingerprint
    from govreport.regions import match_patterns

    net = network(seed=2)
    (x, y), (xt, yt) = data(seed=4), data(seed=5, n=500)
    names = ("a", "b", "c")
    sets = [
        Dataset(name, FileFingerprint(f"{name}.csv", "0" * 64, 1), names, "y", xx, yy)
        for name, xx, yy in (("train", x, y), ("test", xt, yt))
    ]
    train, test = (extract_regions(net, d.x, d.y[:, None]) for d in sets)
    matches = match_patterns(train.table, test.table)
    options = AnalysisOptions(
        min_samples=20,
        disclosure_min_samples=5,
        top_regions=7,
        profile_features=2,
        profile_regions=4,
        chunk_size=1024,
        seed=0,
        explain_rows=(),
        merge_mode="auto",
        merge_clusters=(2, 4),
        merge_neighbors=5,
        merge_min_samples=10,
    )
    ctx = AnalysisContext(
        net,
        "binary",
        names,
        ("logit",),
        feature_scale(x),
        DatasetRegions(sets[0], train),
        DatasetRegions(sets[1], test, matches),
        options,
    )
    std = x.std(axis=0)  # the scale the pipeline used before (no constant column here)
    np.testing.assert_array_equal(ctx.feature_scale, std)

    # The regions blocks: census merged with the dummy census, exposure/unseen on test only.
    blocks = {d.name: to_jsonable(dataset_regions.run(ctx, d)) for d in ctx.datasets}
    for name, extraction, xx, yy in (("train", train, x, y), ("test", test, xt, yt)):
        old = {
            "census": to_jsonable(summarize_census(extraction, min_samples=20))
            | to_jsonable(dummy_census(extraction.table)),
            "neurons": to_jsonable(summarize_neurons(extraction)),
            "summary_table": to_jsonable(
                summarize_top_regions(extraction, xx, yy, task="binary", top=7)
            ),
        }
        if name == "test":
            old["exposure_table"] = to_jsonable(
                exposure_table(train, test, xt, yt, task="binary", top=7)
            )
            old["unseen_share"] = float(test.table.counts[matches < 0].sum() / 500)
            # Issue 12: the input-space extrapolation joined the holdout's block.
            old["extrapolation"] = to_jsonable(
                input_extrapolation(x, xt, ctx.feature_scale, seed=options.seed)
            )
        assert json.dumps(blocks[name], sort_keys=True) == json.dumps(old, sort_keys=True)
    assert "exposure_table" not in blocks["train"] and "unseen_share" not in blocks["train"]

    # Observations: the same ids and values the pipeline collected before.
    perf = {d.name: performance.run(ctx, d) for d in ctx.datasets}
    assert perf["test"].metrics == performance_metrics("binary", test.logits, yt)
    seen = dataset_regions.observed(dataset_regions.run(ctx, ctx.datasets[1]), "test", perf["test"])
    exposure = blocks["test"]["exposure_table"]
    best = max(r["global_metric"] for r in exposure["rows"] if r["global_metric"] is not None)
    assert seen[("summary.top_region_global_auc_max", "test")] == best
    assert seen[("summary.auc_gain_over_best_region", "test")] == (
        perf["test"].metrics["auc"] - best
    )
    assert seen[("neurons.dead_share", "test")] == dead_neuron_share(summarize_neurons(test))
    assert seen[("regions.unseen_share", "test")] == blocks["test"]["unseen_share"]
    assert seen[("regions.dummy_share", "test")] == blocks["test"]["census"]["dummy_share"]

    # The training-data blocks: importance (with its note), profiles, coefficients, plots.
    fi = importance.run(ctx)
    assert to_jsonable(fi)["outputs"] == to_jsonable(
        feature_importance(train.table, std, names, ["logit"])
    )
    assert set(to_jsonable(fi)) == {"outputs", "note"}
    by_scaled = sorted(fi.outputs[0].features, key=lambda f: -f.scaled_pct)
    top = [(names.index(f.name), f.name, f.raw_pct, f.scaled_pct) for f in by_scaled[:2]]
    assert to_jsonable(profiles.run(ctx, fi)) == to_jsonable(
        profile_features(train, x, features=top, top_regions=4, disclosure_min_samples=5)
    )
    coef = to_jsonable(coefficients.run(ctx))
    assert coef == {
        **to_jsonable(coefficient_distributions(train.table, std, names, ["logit"])),
        "note": coefficients.NOTE,
    }
    ranked = [(names.index(f.name), f.scaled_pct) for f in by_scaled]
    assert to_jsonable(region_plots.run(ctx, fi)) == to_jsonable(
        region_plot_data(
            train.table,
            std,
            names,
            output_name="logit",
            parallel_features=ranked[:10],
            parallel_regions=4,
            pair_features=ranked[:4],
            pair_regions=7,
            disclosure_min_samples=5,
        )
    )
