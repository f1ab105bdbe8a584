"""Switched linear projections, Insens and the attribution robustness table (paper C).

Invariants 19-23 of ALGORITHMS.md §4, each against an independent oracle:
autograd on a plain torch re-implementation of the network, a slow
neuron-by-neuron reference of Insens, hand-built networks with known answers,
the region local linear models of govreport.regions, and an exact
piecewise-linear path integral for Integrated Gradients.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from govreport.analyses.insens import insens as insens_module
from govreport.analyses.insens.attribution import (
    attribute,
    attribution_robustness,
    standardized_module,
)
from govreport.analyses.insens.insens import insens, sample_rows, summarize_insens
from govreport.analyses.insens.projections import (
    explain_samples,
    iter_layer_projections,
    parse_neuron,
    switched_centre,
    switched_contributions,
    switched_offset,
    switched_projection,
)
from govreport.analyses.insens.stage import insens_stage
from govreport.analyses.insens.stage import observed as insens_observed
from govreport.cli import cli
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.regions import extract_regions
from govreport.results import to_jsonable

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
ATOL = 1e-9


def make_net(
    widths: list[int], seed: int, slopes: tuple[float, ...] | None = None, link: str = "sigmoid"
) -> PiecewiseLinearNetwork:
    rng = np.random.default_rng(seed)
    maps = tuple(
        AffineMap(readonly(rng.normal(size=(b, a)) / np.sqrt(a)), readonly(rng.normal(size=b)))
        for a, b in itertools.pairwise(widths)
    )
    hidden = len(widths) - 2
    return PiecewiseLinearNetwork(maps, slopes or (0.0,) * hidden, link)  # type: ignore[arg-type]


def manual_net(
    layers: list[tuple[list[list[float]], list[float]]], link: str = "identity"
) -> PiecewiseLinearNetwork:
    maps = tuple(AffineMap(readonly(w), readonly(b)) for w, b in layers)
    return PiecewiseLinearNetwork(maps, (0.0,) * (len(maps) - 1), link)  # type: ignore[arg-type]


def torch_preactivations(net: PiecewiseLinearNetwork, x: np.ndarray) -> tuple[Any, list[Any]]:
    """Independent oracle: plain torch forward keeping every layer's pre-activations."""
    inputs = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    pres = []
    a = inputs
    for index, affine in enumerate(net.affine_maps):
        z = a @ torch.tensor(affine.weight).T + torch.tensor(affine.bias)
        pres.append(z)
        if index < len(net.negative_slopes):
            a = torch.nn.functional.leaky_relu(z, net.negative_slopes[index])
    return inputs, pres


def reference_insens(net: PiecewiseLinearNetwork, x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Slow reference: neuron by neuron with switched_projection, §3.2 formula in u = x / s."""
    n_hidden_layers = len(net.hidden_widths)
    total = np.zeros_like(x)
    count = np.zeros(x.shape[0])
    for layer in range(1, n_hidden_layers + 1):
        for neuron in range(net.hidden_widths[layer - 1]):
            p = switched_projection(net, x, layer, neuron)
            for row in range(x.shape[0]):
                v = p.activity[row]
                wu = p.weights[row] * scale  # gradient with respect to u
                if v <= 0 and np.linalg.norm(wu) >= 1e-12:
                    total[row] += v / (wu @ wu) * wu
                    count[row] += 1
    out = np.zeros_like(x)
    has = count > 0
    out[has] = total[has] / count[has, None]
    return out


# ---------------------------------------------------------------------------
# invariant 19: projection exactness


@pytest.mark.parametrize("slopes", [(0.0, 0.0, 0.0), (0.1, 0.0, 0.02)])
def test_projection_is_exact_and_equals_autograd_for_every_neuron(
    slopes: tuple[float, ...],
) -> None:
    net = make_net([4, 7, 6, 5, 2], seed=1, slopes=slopes, link="softmax")
    x = np.random.default_rng(2).normal(size=(40, 4))
    inputs, pres = torch_preactivations(net, x)
    for layer in range(1, len(net.affine_maps) + 1):
        for neuron in range(net.affine_maps[layer - 1].n_out):
            p = switched_projection(net, x, layer, neuron, chunk_size=9)
            v_oracle = pres[layer - 1][:, neuron]
            (grad,) = torch.autograd.grad(v_oracle.sum(), inputs, retain_graph=True)
            np.testing.assert_allclose(p.activity, v_oracle.detach().numpy(), atol=ATOL, rtol=0)
            np.testing.assert_allclose(
                (p.weights * x).sum(axis=1) + p.biases, v_oracle.detach().numpy(), atol=ATOL
            )
            np.testing.assert_allclose(p.weights, grad.numpy(), atol=ATOL, rtol=0)
            assert p.is_output == (layer == len(net.affine_maps))
    first = switched_projection(net, x, 1, 3)
    np.testing.assert_array_equal(first.weights, np.tile(net.affine_maps[0].weight[3], (40, 1)))
    np.testing.assert_array_equal(first.biases, np.full(40, net.affine_maps[0].bias[3]))


def test_projection_validates_layer_and_neuron() -> None:
    net = make_net([3, 4, 1], seed=0)
    with pytest.raises(ValueError, match="layer must be"):
        switched_projection(net, np.zeros((1, 3)), 3, 0)
    with pytest.raises(ValueError, match=r"neurons 0\.\.3"):
        switched_projection(net, np.zeros((1, 3)), 1, 4)
    assert parse_neuron("output", net) == (2, 0)
    assert parse_neuron("1:2", net) == (1, 2)
    with pytest.raises(ValueError):
        parse_neuron("x:y", net)


# ---------------------------------------------------------------------------
# invariant 20: centre and decomposition


@pytest.mark.parametrize("use_scale", [False, True])
def test_centre_lies_on_the_switching_hyperplane_and_decomposition_is_complete(
    use_scale: bool,
) -> None:
    net = make_net([5, 8, 6, 1], seed=3)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(30, 5)) * np.array([1.0, 100.0, 0.01, 3.0, 1.0])
    scale = x.std(axis=0) if use_scale else None
    for layer, neuron in [(1, 0), (2, 5), (3, 0)]:
        p = switched_projection(net, x, layer, neuron)
        c = switched_centre(x, p, scale)
        scale_of_v = np.abs(p.activity).max()
        np.testing.assert_allclose(
            (c * p.weights).sum(axis=1) + p.biases, 0.0, atol=1e-9 * scale_of_v
        )
        contributions = switched_contributions(x, p, scale)
        np.testing.assert_allclose(contributions.sum(axis=1), p.activity, atol=ATOL)
        # The centre is the nearest such point: x - c is orthogonal (in the metric) to the plane.
        s2 = np.ones(5) if scale is None else scale**2
        offset = x - c
        np.testing.assert_allclose(
            offset / s2, (offset / s2)[:, :1] / p.weights[:, :1] * p.weights, rtol=1e-9
        )


def test_explain_samples_matches_the_decomposition() -> None:
    net = make_net([3, 5, 1], seed=5)
    x = np.random.default_rng(6).normal(size=(4, 3))
    entries = explain_samples(net, x, ["a", "b", "c"])
    p = switched_projection(net, x, 2, 0)
    for i, entry in enumerate(entries):
        total = sum(f["contribution"] for f in entry["features"])
        assert total == pytest.approx(float(p.activity[i]), abs=ATOL)
        assert entry["distance_to_switch"] == pytest.approx(
            abs(p.activity[i]) / np.linalg.norm(p.weights[i])
        )


# ---------------------------------------------------------------------------
# invariant 21: omega


def test_omega_norm_direction_and_rescaling_invariance() -> None:
    net = make_net([4, 6, 5, 1], seed=7)
    x = np.random.default_rng(8).normal(size=(50, 4))
    layer, neuron, c = 1, 2, 3.7
    p = switched_projection(net, x, layer, neuron)
    omega = switched_offset(p.weights, p.activity)
    norms = np.linalg.norm(p.weights, axis=1)
    np.testing.assert_allclose(np.linalg.norm(omega, axis=1), np.abs(p.activity) / norms, atol=ATOL)
    cosine = (omega * p.weights).sum(axis=1) / (np.linalg.norm(omega, axis=1) * norms)
    np.testing.assert_allclose(np.abs(cosine[np.abs(p.activity) > 1e-9]), 1.0, atol=1e-12)
    # Positive rescaling of neuron (layer 1, index 2): incoming x c, outgoing x 1/c.
    maps = list(net.affine_maps)
    w0, b0, w1 = maps[0].weight.copy(), maps[0].bias.copy(), maps[1].weight.copy()
    w0[neuron] *= c
    b0[neuron] *= c
    w1[:, neuron] /= c
    maps[0] = AffineMap(readonly(w0), readonly(b0))
    maps[1] = AffineMap(readonly(w1), maps[1].bias)
    rescaled = PiecewiseLinearNetwork(tuple(maps), net.negative_slopes, net.output_link)
    q = switched_projection(rescaled, x, layer, neuron)
    np.testing.assert_allclose(q.activity, c * p.activity, rtol=1e-12)
    np.testing.assert_allclose(switched_offset(q.weights, q.activity), omega, atol=ATOL)
    np.testing.assert_allclose(insens(rescaled, x).omega, insens(net, x).omega, atol=ATOL)


# ---------------------------------------------------------------------------
# invariant 22: the Insens set, the empty set, monotonicity


@pytest.mark.parametrize("use_scale", [False, True])
def test_insens_equals_slow_reference_over_inactive_hidden_neurons(use_scale: bool) -> None:
    net = make_net([4, 6, 5, 1], seed=9)
    x = np.random.default_rng(10).normal(size=(25, 4)) * np.array([1.0, 5.0, 0.2, 1.0])
    scale = x.std(axis=0) if use_scale else np.ones(4)
    got = insens(net, x, scale=scale if use_scale else None, chunk_size=4)
    np.testing.assert_allclose(got.omega, reference_insens(net, x, scale), atol=ATOL)
    # The output neuron is never averaged: adding it changes Omega where the output is <= 0.
    out = switched_projection(net, x, 3, 0)
    assert (out.activity <= 0).any()
    _, pres = torch_preactivations(net, x)
    hidden_off = sum((p.detach().numpy() <= 0).sum(axis=1) for p in pres[:-1])
    np.testing.assert_array_equal(got.inactive.sum(axis=1), hidden_off)


def test_insens_is_zero_and_flagged_when_every_hidden_neuron_is_active() -> None:
    net = manual_net(
        [
            ([[1.0, 0.5], [0.2, 1.0], [1.0, 1.0]], [1.0, 1.0, 2.0]),
            ([[1.0, 1.0, 0.0], [0.5, 0.0, 1.0]], [0.5, 0.1]),
            ([[1.0, -3.0]], [-100.0]),  # output far below 0: still excluded
        ]
    )
    x = np.random.default_rng(11).uniform(0.0, 2.0, size=(20, 2))
    got = insens(net, x)
    assert got.empty.all()
    np.testing.assert_array_equal(got.omega, 0.0)
    summary = summarize_insens(net, x, ["a", "b"])
    assert summary.empty_samples == 20 and summary.inactive_share == 0.0


def test_moving_along_omega_hat_lowers_an_inactive_neuron() -> None:
    net = make_net([4, 6, 5, 1], seed=12)
    x = np.random.default_rng(13).normal(size=(30, 4))
    checked = 0
    for layer, neuron in [(1, 0), (1, 4), (2, 1), (2, 3)]:
        p = switched_projection(net, x, layer, neuron)
        step = 1e-6 * switched_offset(p.weights, p.activity)
        moved = switched_projection(net, x + step, layer, neuron)
        _, before = torch_preactivations(net, x)
        _, after = torch_preactivations(net, x + step)
        same_state = np.ones(30, dtype=bool)
        for k in range(layer - 1):
            same_state &= ((before[k] > 0) == (after[k] > 0)).all(dim=1).numpy()
        rows = (p.activity < -1e-6) & same_state & np.isfinite(step).all(axis=1)
        assert (moved.activity[rows] < p.activity[rows]).all()
        checked += int(rows.sum())
    assert checked > 20


def test_neurons_behind_a_dead_path_are_skipped_and_counted() -> None:
    # Hidden 1, neuron 0: zero weights, bias -1: always off with w_hat = 0.
    # Hidden 2, neuron 0 reads only that neuron, bias -0.5: always off with w_hat = 0.
    net = manual_net(
        [
            ([[0.0, 0.0], [1.0, -1.0], [0.5, 1.0]], [-1.0, 0.1, 0.2]),
            ([[2.0, 0.0, 0.0], [1.0, 1.0, -1.0]], [-0.5, 0.3]),
            ([[1.0, 1.0]], [0.0]),
        ]
    )
    x = np.random.default_rng(14).normal(size=(37, 2))
    summary = summarize_insens(net, x, ["a", "b"], chunk_size=8)
    assert summary.skipped_by_layer == (37, 37)
    assert summary.skipped_neurons == 74 and summary.samples_with_skipped == 37
    per = insens(net, x)
    assert np.isfinite(per.omega).all()
    np.testing.assert_allclose(per.omega, reference_insens(net, x, np.ones(2)), atol=ATOL)


# ---------------------------------------------------------------------------
# invariant 23: link to the region local linear models


def test_output_projection_equals_region_local_linear_model() -> None:
    net = make_net([4, 8, 6, 3], seed=15, link="softmax")
    x = np.random.default_rng(16).normal(size=(200, 4))
    extraction = extract_regions(net, x, chunk_size=64)
    table = extraction.table
    for k in range(3):
        p = switched_projection(net, x, 3, k)
        np.testing.assert_allclose(
            p.weights, table.weights[extraction.sample_regions, k, :], atol=ATOL, rtol=0
        )
        np.testing.assert_allclose(
            p.biases, table.biases[extraction.sample_regions, k], atol=ATOL, rtol=0
        )


@pytest.mark.parametrize(
    ("widths", "slopes"),
    [([4, 6, 1], (0.0,)), ([5, 8, 7, 6, 2], (0.1, 0.0, 0.05)), ([3, 5, 4, 6, 5, 1], None)],
)
def test_fused_mlp_path_equals_slow_reference_on_deep_and_leaky_nets(
    widths: list[int], slopes: tuple[float, ...] | None
) -> None:
    net = make_net(widths, seed=31, slopes=slopes)
    d = widths[0]
    x = np.random.default_rng(32).normal(size=(30, d)) * np.linspace(0.3, 3.0, d)
    scale = x.std(axis=0)
    got = insens(net, x, scale=scale)
    np.testing.assert_allclose(got.omega, reference_insens(net, x, scale), atol=ATOL)
    _, pres = torch_preactivations(net, x)
    hidden_off = sum((p.detach().numpy() <= 0).sum(axis=1) for p in pres[:-1])
    np.testing.assert_array_equal(got.all_inactive.sum(axis=1), hidden_off)


def test_fused_mlp_path_equals_layer_projections_across_blocks_and_dead_paths() -> None:
    net = make_net([6, 12, 10, 8, 1], seed=33, slopes=(0.0, 0.2, 0.0))
    maps = list(net.affine_maps)  # neuron 0 of layer 2 reads only neuron 0 of layer 1
    w1 = np.array(maps[1].weight)
    w1[0, 1:] = 0.0
    b1 = np.array(maps[1].bias)
    b1[0] = -1.0  # off whenever that path is dead
    maps[1] = AffineMap(readonly(w1), readonly(b1))
    net = PiecewiseLinearNetwork(tuple(maps), net.negative_slopes, net.output_link)
    n = insens_module.FUSED_BLOCK * 2 + 37
    x = np.random.default_rng(34).normal(size=(n, 6))
    scale = x.std(axis=0)
    fused = insens_module._chunk_insens_mlp(net, x, scale, 1e-12)
    general = insens_module._chunk_insens_general(net, x, scale, 1e-12)
    np.testing.assert_allclose(fused.omega, general.omega, atol=1e-12)
    for name in ("inactive", "all_inactive", "skipped", "empty"):
        np.testing.assert_array_equal(getattr(fused, name), getattr(general, name))
    assert fused.skipped[:, 1].sum() > 0  # the dead path was met and skipped


def test_summary_on_a_seeded_sample_is_the_summary_of_those_rows() -> None:
    net = make_net([4, 7, 6, 1], seed=35)
    x = np.random.default_rng(36).normal(size=(500, 4))
    names = ["a", "b", "c", "d"]
    scale = x.std(axis=0)
    got = summarize_insens(net, x, names, scale=scale, max_rows=120, seed=5)
    again = summarize_insens(net, x, names, scale=scale, max_rows=120, seed=5)
    rows = np.sort(np.random.default_rng(5).choice(500, size=120, replace=False))
    want = summarize_insens(net, x[rows], names, scale=scale)
    assert got == again and got.n_samples == 120 and got.data_rows == 500
    assert got.mean_abs == want.mean_abs and got.skipped_neurons == want.skipped_neurons
    np.testing.assert_array_equal(sample_rows(500, 120, 5), rows)
    full = summarize_insens(net, x, names, scale=scale, max_rows=500, seed=5)
    assert full.data_rows is None and full.n_samples == 500
    assert got.mean_abs != full.mean_abs


# ---------------------------------------------------------------------------
# chunking


def test_chunk_size_does_not_change_results() -> None:
    net = make_net([5, 9, 7, 1], seed=17)
    x = np.random.default_rng(18).normal(size=(123, 5))
    names = [f"f{j}" for j in range(5)]
    a = summarize_insens(net, x, names, scale=x.std(axis=0), chunk_size=7)
    b = summarize_insens(net, x, names, scale=x.std(axis=0), chunk_size=1000)
    np.testing.assert_allclose(a.mean_abs, b.mean_abs, rtol=1e-12)
    np.testing.assert_allclose(a.mean_signed, b.mean_signed, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a.inactive_share_by_layer, b.inactive_share_by_layer, rtol=1e-12)
    assert a.skipped_neurons == b.skipped_neurons and a.empty_samples == b.empty_samples
    np.testing.assert_allclose(
        insens(net, x, chunk_size=5).omega, insens(net, x, chunk_size=500).omega, atol=1e-14
    )
    layers = list(iter_layer_projections(net, x[:3]))
    assert [p.layer for p in layers] == [1, 2, 3]


# ---------------------------------------------------------------------------
# baselines (Captum) against exact oracles


def exact_integrated_gradients(
    net: PiecewiseLinearNetwork, u: np.ndarray, mean: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """IG from u' = 0 along the straight path, integrated exactly segment by segment.

    The output is piecewise linear along the path: its gradient is constant
    between activation-pattern changes. Breakpoints are located by bisection
    between grid points whose patterns differ (to 1e-15 in t).
    """

    def patterns(ts: np.ndarray) -> np.ndarray:
        points = mean + scale * (ts[:, None] * u[None, :])
        _, pres = torch_preactivations(net, points)
        return np.concatenate([p.detach().numpy() > 0 for p in pres[:-1]], axis=1)

    grid = np.linspace(0.0, 1.0, 4001)
    on = patterns(grid)
    breaks = [0.0]
    for i in np.flatnonzero((on[1:] != on[:-1]).any(axis=1)):
        lo, hi = grid[i], grid[i + 1]
        while hi - lo > 1e-15:
            mid = 0.5 * (lo + hi)
            if np.array_equal(patterns(np.array([mid]))[0], on[i]):
                lo = mid
            else:
                hi = mid
        breaks.append(hi)
    breaks.append(1.0)
    edges = np.array(breaks)
    lengths = np.diff(edges)
    mids = mean + scale * (0.5 * (edges[:-1] + edges[1:])[:, None] * u[None, :])
    w = switched_projection(net, mids, len(net.affine_maps), 0).weights
    total = (lengths[:, None] * w * scale).sum(axis=0)
    return total * u


def test_captum_baselines_match_exact_gradient_and_integrated_gradients() -> None:
    net = make_net([3, 6, 5, 1], seed=19)
    rng = np.random.default_rng(20)
    x = rng.normal(size=(6, 3)) * np.array([2.0, 0.5, 1.0]) + 1.0
    mean, scale = np.array([0.5, -0.2, 1.0]), np.array([2.0, 0.5, 1.0])
    u = (x - mean) / scale
    module = standardized_module(net, mean, scale)
    target = np.zeros(6, dtype=np.int64)
    w = switched_projection(net, x, 3, 0).weights * scale
    grad = attribute("gradient", net, module, u, mean, scale, target)
    np.testing.assert_allclose(grad, w, atol=1e-12)
    gxi = attribute("gradient_x_input", net, module, u, mean, scale, target)
    np.testing.assert_allclose(gxi, u * w, atol=1e-12)
    ig = attribute(
        "integrated_gradients",
        net,
        module,
        u,
        mean,
        scale,
        target,
        ig_steps=4000,
    )
    logit = net.forward_logits(x)[:, 0]
    base = net.forward_logits(mean[None, :])[0, 0]
    for row in range(6):
        exact = exact_integrated_gradients(net, u[row], mean, scale)
        # The oracle is exact: completeness holds to rounding.
        assert exact.sum() == pytest.approx(logit[row] - base, abs=1e-9)
        np.testing.assert_allclose(ig[row], exact, atol=2e-3 * (1 + np.abs(exact).max()))
    omega = attribute("insens", net, module, u, mean, scale, target)
    np.testing.assert_allclose(omega, insens(net, x, scale=scale).omega, atol=0)


def test_robustness_table_is_deterministic_for_a_seed() -> None:
    net = make_net([5, 8, 6, 1], seed=21)
    rng = np.random.default_rng(22)
    x = rng.normal(size=(200, 5))
    y = (x[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(float)
    kwargs = {"task": "binary", "mean": x.mean(0), "scale": x.std(0), "max_rows": 60}
    a = attribution_robustness(net, x, y, seed=3, ig_steps=16, **kwargs)  # type: ignore[arg-type]
    b = attribution_robustness(net, x, y, seed=3, ig_steps=16, **kwargs)  # type: ignore[arg-type]
    c = attribution_robustness(net, x, y, seed=4, ig_steps=16, **kwargs)  # type: ignore[arg-type]
    assert a == b
    assert a.stability != c.stability
    assert a.rows == 60 and a.rows_available == 200
    for row in a.stability:
        assert all(-1.0 <= v <= 1.0 for v in row)
    assert a.masked_features == 1


def test_insens_stage_examples_use_region_centres_and_respect_disclosure() -> None:
    net = make_net([3, 4, 1], seed=23)
    rng = np.random.default_rng(24)
    x = np.round(rng.normal(size=(300, 3)), 0)
    y = (x[:, 0] > 0).astype(float)
    extraction = extract_regions(net, x, y[:, None])
    stage = insens_stage(
        net,
        "binary",
        ("a", "b", "c"),
        x,
        y,
        extraction.table,
        disclosure_min_samples=10,
        seed=0,
        robustness_rows=40,
    )
    examples = stage.examples
    assert examples and stage.explained_rows is None
    for e in examples:
        assert e.kind == "region_centre" and e.region is not None and e.count is not None
        assert e.count >= 10 and e.row is None
        r = e.region - 1
        np.testing.assert_allclose([f.x for f in e.features], extraction.table.centers[r])
    big = insens_stage(
        net,
        "binary",
        ("a", "b", "c"),
        x,
        y,
        extraction.table,
        disclosure_min_samples=10_000,
        seed=0,
        robustness_rows=40,
    )
    assert big.examples == ()
    assert ("attribution.stability_cosine_insens", "") in insens_observed(stage)


# ---------------------------------------------------------------------------
# CLI and render


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 6), torch.nn.ReLU(), torch.nn.Linear(6, 1), torch.nn.Sigmoid()
    ).eval()
    torch.jit.save(torch.jit.script(model), str(tmp_path / "model.pt"))
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(50, 3)), 2)
    y = (x[:, 0] > 0).astype(int)
    lines = ["id,a,b,c,y"] + [
        f"{i},{r[0]},{r[1]},{r[2]},{t}" for i, (r, t) in enumerate(zip(x, y, strict=True))
    ]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def explain_args(workdir: Path, rows: str, *extra: str) -> list[str]:
    return [
        "explain",
        "--model",
        str(workdir / "model.pt"),
        "--data",
        str(workdir / "data.csv"),
        "--target",
        "y",
        "--drop",
        "id",
        "--rows",
        rows,
        "--out",
        str(workdir / "x.json"),
        *extra,
    ]


def test_cli_explain_writes_exact_explanations(workdir: Path) -> None:
    result = CliRunner().invoke(cli, explain_args(workdir, "0,7"))
    assert result.exit_code == 0, result.output
    doc = json.loads((workdir / "x.json").read_text())
    assert [r["row"] for r in doc["rows"]] == [0, 7]
    for r in doc["rows"]:
        assert sum(f["contribution"] for f in r["features"]) == pytest.approx(r["activity"])
    hidden = CliRunner().invoke(cli, explain_args(workdir, "3", "--neuron", "1:2"))
    assert hidden.exit_code == 0
    assert json.loads((workdir / "x.json").read_text())["neuron"]["layer"] == 1


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        ("0,50", (), "row 50 does not exist"),
        ("a", (), "not a row number"),
        ("0", ("--neuron", "5:0"), "--neuron"),
    ],
)
def test_cli_explain_bad_input_exits_2_with_one_line(
    workdir: Path, rows: str, extra: tuple[str, ...], message: str
) -> None:
    (workdir / "x.json").unlink(missing_ok=True)
    result = CliRunner().invoke(cli, explain_args(workdir, rows, *extra))
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert not (workdir / "x.json").exists()


def test_section_4_8_renders_from_results(workdir: Path) -> None:
    from govreport.render.html import render_html

    results = json.loads(FIXTURE.read_text())
    results["pending"] = [p for p in results["pending"] if p.get("section") != "insens"]
    net = make_net([3, 5, 4, 1], seed=25)
    rng = np.random.default_rng(26)
    x = np.round(rng.normal(size=(200, 3)), 0)
    y = (x[:, 1] > 0).astype(float)
    extraction = extract_regions(net, x, y[:, None])
    stage = insens_stage(
        net,
        "binary",
        ("alpha", "beta", "<gamma>"),
        x,
        y,
        extraction.table,
        disclosure_min_samples=5,
        seed=0,
        explain_rows=(2,),
        robustness_rows=40,
    )
    results["insens"] = json.loads(json.dumps(to_jsonable(stage), allow_nan=False))
    (row,) = results["insens"]["explained_rows"]
    assert (row["kind"], row["row"]) == ("row", 2)
    assert "region" not in row and "count" not in row and "in_own_region" not in row
    from pydantic import TypeAdapter

    from govreport.analyses.insens.stage import InsensResult

    # Strict, as results.json is loaded: from the JSON text (a JSON array is a tuple).
    loaded = TypeAdapter(InsensResult).validate_json(json.dumps(results["insens"]))
    assert json.loads(json.dumps(to_jsonable(loaded), allow_nan=False)) == results["insens"]
    html = render_html(results)
    assert "Global Insens, training data" in html
    assert "Attribution robustness: Insens against gradient-based attributions" in html
    assert "Switched linear projection of" in html and "point P1" in html
    assert "training row 2 (chosen by the user)" in html
    assert 'id="gr-insens-global-svg"' in html and 'id="gr-insens-robustness-svg"' in html
    assert "&lt;gamma&gt;" in html and "<gamma>" not in html
    assert "This results file holds no Insens results" not in html
    assert (
        "fixed random sample" not in html
        and "data_rows" not in results["insens"]["summaries"]["train"]
    )
    sampled = insens_stage(
        net,
        "binary",
        ("alpha", "beta", "<gamma>"),
        x,
        y,
        extraction.table,
        disclosure_min_samples=5,
        seed=0,
        robustness_rows=40,
        summary_max_rows=150,
    )
    results["insens"] = json.loads(json.dumps(to_jsonable(sampled), allow_nan=False))
    assert results["insens"]["summaries"]["train"]["data_rows"] == 200
    assert TypeAdapter(InsensResult).validate_json(json.dumps(results["insens"])) == sampled
    html = render_html(results)
    assert html.count("a fixed random sample of 150 of the 200 training rows") >= 3  # body too
    del results["insens"]
    assert "This results file holds no Insens results" in render_html(results)


def test_run_refuses_a_bad_explain_row_before_any_output(workdir: Path) -> None:
    out = workdir / "out"
    args = [
        "run", "--model", str(workdir / "model.pt"), "--data", str(workdir / "data.csv"),
        "--target", "y", "--drop", "id", "--out", str(out), "--no-pdf", "--explain-rows", "0,50",
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "--explain-rows: row 50 does not exist" in result.output
    assert not out.exists()
