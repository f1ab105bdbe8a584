"""Issue 12 item 5: the regime decision, the all-client views and the local AUC rule.

Oracles: torch autograd for every client's local slope, direct network evaluation for
the ICE curves, an O(m·n) DeLong for the local AUC interval, and the rendered report
(every figure drawn has data, no matplotlib warning).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from govreport.analyses.slope_profiles import (
    ICE_PERCENTILES,
    decide_regime,
    ice_curves,
    ice_grid,
    ice_sample_rows,
    slope_by_value,
)
from govreport.analyses.summary import (
    LOCAL_AUC_MIN_CASES,
    auc_delong_interval,
    summarize_top_regions,
)
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.regions import extract_regions
from govreport.render.figures import PLOTTERS
from govreport.render.figures.style import figure_style
from govreport.render.report import build_report
from govreport.results import Results
from govreport.results.io import load_results

GOLDEN = Path(__file__).parent / "golden" / "results_small.json"


def network(seed: int = 0, d: int = 3, widths: tuple[int, ...] = (8, 6)) -> PiecewiseLinearNetwork:
    rng = np.random.default_rng(seed)
    dims = [d, *widths, 1]
    maps = [
        AffineMap(
            readonly(rng.normal(size=(b, a)) / np.sqrt(a)), readonly(rng.normal(size=b) * 0.5)
        )
        for a, b in pairwise(dims)
    ]
    return PiecewiseLinearNetwork(tuple(maps), (0.0,) * len(widths), "sigmoid")


def torch_eta(net: PiecewiseLinearNetwork, x: torch.Tensor) -> torch.Tensor:
    a = x
    for m in net.affine_maps[:-1]:
        a = torch.relu(
            a @ torch.from_numpy(np.array(m.weight)).T + torch.from_numpy(np.array(m.bias))
        )
    last = net.affine_maps[-1]
    return (a @ torch.from_numpy(np.array(last.weight)).T + torch.from_numpy(np.array(last.bias)))[
        :, 0
    ]


def autograd_slopes(net: PiecewiseLinearNetwork, x: np.ndarray) -> np.ndarray:
    """(N, d) dη/dx of every row by autograd (independent of the region code)."""
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    torch_eta(net, t).sum().backward()
    assert t.grad is not None
    return t.grad.numpy().copy()


def clients(n: int = 3000, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    x[:, 2] = rng.integers(-2, 4, size=n)  # a discrete, code-like feature
    return x


@pytest.mark.parametrize("column", [0, 2])
@pytest.mark.parametrize("chunk", [7, 100_000])
def test_slope_by_value_matches_autograd_per_client(column: int, chunk: int) -> None:
    net = network()
    x = clients()
    extraction = extract_regions(net, x)
    result = slope_by_value(
        extraction,
        x,
        column=column,
        name="f",
        scaled_importance_pct=1.0,
        scale=1.0,
        chunk_size=chunk,
        disclosure_min_samples=1,
    )
    grads = autograd_slopes(net, x)[:, column]
    v = x[:, column]
    discrete = column == 2
    assert result.discrete == discrete
    if discrete:
        groups = [(float(u), float(u), v == u) for u in sorted(set(v.tolist()))]
    else:
        edges = sorted(set(np.quantile(v, np.linspace(0, 1, 11)).tolist()))
        groups = []
        for i, (lo, hi) in enumerate(pairwise(edges)):
            last = i == len(edges) - 2
            groups.append((lo, hi, (v >= lo) & ((v <= hi) if last else (v < hi))))
    assert len(result.bins) == len(groups)
    assert sum(b.count for b in result.bins) == x.shape[0]
    for b, (lo, hi, mask) in zip(result.bins, groups, strict=True):
        assert (b.low, b.high) == (lo, hi)
        assert b.count == int(mask.sum())
        q25, med, q75 = np.quantile(grads[mask], (0.25, 0.5, 0.75))
        assert b.median == pytest.approx(med, abs=1e-9)
        assert b.q25 == pytest.approx(q25, abs=1e-9)
        assert b.q75 == pytest.approx(q75, abs=1e-9)
        assert b.negative_share == pytest.approx(float((grads[mask] < -1e-12).mean()))


def test_slope_by_value_withholds_rare_values() -> None:
    net = network()
    x = clients()
    x[:5, 2] = 9.0  # five clients alone at value 9
    extraction = extract_regions(net, x)
    result = slope_by_value(
        extraction,
        x,
        column=2,
        name="f",
        scaled_importance_pct=1.0,
        scale=1.0,
        chunk_size=1000,
        disclosure_min_samples=10,
    )
    assert 9.0 not in [b.low for b in result.bins]
    assert result.withheld_clients == 5


def test_ice_curves_equal_direct_network_evaluation() -> None:
    net = network(seed=3)
    x = clients(n=400)
    rows = ice_sample_rows(x.shape[0], 50, seed=7)
    assert np.array_equal(rows, ice_sample_rows(x.shape[0], 50, seed=7))
    assert rows.size == 50 and np.unique(rows).size == 50
    sample = x[rows]
    for column in (0, 2):
        discrete, grid = ice_grid(x[:, column], disclosure_min_samples=10)
        assert discrete == (column == 2)
        result = ice_curves(
            net, "binary", sample, column=column, name="f", grid=grid, discrete=discrete
        )
        direct = np.empty((grid.size, sample.shape[0]))
        for g, value in enumerate(grid):
            for i, row in enumerate(sample):
                moved = torch.tensor(row[None, :].copy())
                moved[0, column] = float(value)
                direct[g, i] = float(torch.sigmoid(torch_eta(net, moved))[0])
        np.testing.assert_allclose(result.mean, direct.mean(axis=1), atol=1e-12)
        for p in ICE_PERCENTILES:
            np.testing.assert_allclose(
                result.percentiles[f"p{p}"], np.percentile(direct, p, axis=1), atol=1e-12
            )


def test_regime_switches_between_few_large_regions_and_one_region_per_client() -> None:
    x = clients(n=2000)
    coarse = network(widths=(2,))  # at most 4 regions: few large ones
    fine = network(widths=(64, 64))
    few = decide_regime(
        extract_regions(coarse, x),
        top_regions=20,
        threshold=0.1,
        profile_regions=10,
        disclosure_min_samples=10,
    )
    many = decide_regime(
        extract_regions(fine, np.random.default_rng(2).normal(size=(2000, 3))),
        top_regions=20,
        threshold=0.1,
        profile_regions=10,
        disclosure_min_samples=10,
    )
    assert few.regime == "few-large-regions" and few.top_share == pytest.approx(1.0)
    assert many.regime == "fragmented" and many.top_share < 0.1
    assert many.profile_disclosed == 0  # every top region is below the disclosure threshold


def slow_delong(y: np.ndarray, s: np.ndarray) -> tuple[float, float, float]:
    pos, neg = s[y == 1], s[y == 0]
    psi = np.array([[1.0 if p > q else 0.5 if p == q else 0.0 for q in neg] for p in pos])
    auc = psi.mean()
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    se = math.sqrt(v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size)
    z = stats.norm.ppf(0.975)
    return auc, max(0.0, auc - z * se), min(1.0, auc + z * se)


def test_local_auc_interval_matches_a_slow_delong() -> None:
    rng = np.random.default_rng(5)
    y = (rng.uniform(size=120) < 0.3).astype(float)
    s = np.round(rng.normal(size=120) + y, 1)  # ties included
    np.testing.assert_allclose(auc_delong_interval(y, s), slow_delong(y, s), atol=1e-12)


def test_local_auc_only_with_enough_cases_of_each_class() -> None:
    net = network(widths=(2,))
    x = clients(n=600)
    rng = np.random.default_rng(0)
    y = (rng.uniform(size=600) < 0.5).astype(float)
    extraction = extract_regions(net, x, y[:, None])
    table = summarize_top_regions(extraction, x, y, task="binary", top=50)
    assert table.min_class_cases == LOCAL_AUC_MIN_CASES
    for row in table.rows:
        assert row.positives is not None and row.negatives is not None
        if min(row.positives, row.negatives) >= LOCAL_AUC_MIN_CASES:
            assert row.local_low is not None and row.local_high is not None
            assert row.local_low <= row.local_metric <= row.local_high
        else:
            assert math.isnan(row.local_metric) and row.local_low is None


# ---------------------------------------------------------------- the report's layout


def _with_regime(results: Results, regime: str, disclosed: int | None = None) -> Results:
    views = results.slope_profiles
    assert views is not None
    decision = dataclasses.replace(views.regime, regime=regime)
    if disclosed is not None:
        decision = dataclasses.replace(decision, profile_disclosed=disclosed)
    return dataclasses.replace(results, slope_profiles=dataclasses.replace(views, regime=decision))


def _withhold_profiles(results: Results) -> Results:
    profiles = tuple(
        dataclasses.replace(
            p,
            regions=tuple(
                dataclasses.replace(
                    r,
                    x_min=None,
                    x_max=None,
                    y_min=None,
                    y_max=None,
                    density=None,
                    values=(),
                    withheld=True,
                )
                for r in p.regions
            ),
        )
        for p in results.profiles
    )
    return dataclasses.replace(results, profiles=profiles)


def _assert_every_figure_has_data(results: Results) -> list[str]:
    _, specs = build_report(results)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with figure_style():
            for spec in specs:
                fig = PLOTTERS[spec.kind](**spec.data)
                drawn = [ax for ax in fig.axes if ax.axison and ax.get_visible()]
                assert drawn, spec.id
                assert any(ax.has_data() for ax in drawn), f"figure {spec.id} is empty"
    return [s.id for s in specs]


@pytest.fixture(scope="module")
def golden() -> Results:
    return load_results(GOLDEN)


def test_fragmented_regime_moves_region_views_to_the_appendix(golden: Results) -> None:
    results = _with_regime(golden, "fragmented")
    context, specs = build_report(results)
    soundness = context["soundness"]
    assert soundness["llm_table"] is None
    assert "Appendix F" in soundness["llm_extras"]["moved"]
    assert soundness["profiles"]["figures"] == []
    appendix = context["region_appendix"]
    assert appendix["present"] and appendix["llm"]["table"]["rows"]
    assert "sec-app-regions" in [e["id"] for e in context["toc"]]
    assert context["soundness"]["census"]["regime_box"] is not None
    ids = [s.id for s in specs]
    assert ids.index("slope-by-value") < ids.index("diagperf")  # the body leads


def test_few_large_regions_keep_the_body(golden: Results) -> None:
    results = _with_regime(golden, "few-large-regions")
    context, _ = build_report(results)
    soundness = context["soundness"]
    assert soundness["llm_table"] is not None
    assert not soundness["llm_extras"]["moved"]
    assert not context["region_appendix"]["present"]
    assert "sec-app-regions" not in [e["id"] for e in context["toc"]]
    assert soundness["census"]["regime_box"] is None


@pytest.mark.parametrize("regime", ["fragmented", "few-large-regions"])
def test_every_figure_has_data_and_no_warning(golden: Results, regime: str) -> None:
    ids = _assert_every_figure_has_data(_with_regime(golden, regime))
    assert "slope-by-value" in ids and "ice" in ids


def test_all_withheld_top_regions_draw_no_profile_and_say_why(golden: Results) -> None:
    results = _withhold_profiles(_with_regime(golden, "few-large-regions", disclosed=0))
    ids = _assert_every_figure_has_data(results)
    assert not [i for i in ids if i.startswith("profile-")]
    profiles = build_report(results)[0]["soundness"]["profiles"]
    assert "disclosure threshold" in profiles["note"]
    assert profiles["all_clients"]["figures"]


def test_local_auc_column_is_dropped_when_no_region_has_one(golden: Results) -> None:
    from govreport.render.sections.llm import summary_table
    from govreport.render.text import TableCounter

    summary = golden.regions["train"].summary_table
    kept = summary_table(TableCounter("Table"), summary, "training", "t")
    assert any(h.startswith("Local AUC") for h in kept["head"])
    empty = dataclasses.replace(
        summary,
        rows=tuple(
            dataclasses.replace(r, local_metric=None, local_low=None, local_high=None)
            for r in summary.rows
        ),
    )
    dropped = summary_table(TableCounter("Table"), empty, "training", "t")
    assert not any(h.startswith("Local AUC") for h in dropped["head"])
    assert all(len(row) == len(dropped["head"]) for row in dropped["rows"])
    assert "left out" in dropped["note"]


@pytest.mark.parametrize("value", [-0.1, 1.5, "0.1", True])
def test_the_regime_threshold_is_a_share(value: object) -> None:
    from govreport.api import _config_options
    from govreport.errors import InputError

    with pytest.raises(InputError, match="regime_min_coverage"):
        _config_options({"regime_min_coverage": value})
    assert _config_options({"regime_min_coverage": 0.25})["regime_min_coverage"] == 0.25
