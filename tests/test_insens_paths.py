"""Attribution baselines without Captum: the same numbers as Captum, to the last bit, and
exact gradients and exact Integrated Gradients of piecewise-linear networks.

Oracles: Captum itself (``Saliency``, ``InputXGradient``, ``IntegratedGradients``) for the
bitwise replica in attribution.py; for pathig.py the bisection-located path integral of
tests/test_insens.py, Captum with 4,000 quadrature points, a brute-force midpoint Riemann
sum, completeness (Σ IG = f(x) − f(μ)) and autograd gradients.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from govreport.analyses.insens.attribution import (
    attribute,
    attribution_robustness,
    standardized_module,
)
from govreport.analyses.insens.pathig import as_graph, gradient, integrated_gradients
from govreport.network import GraphNode, Network, PiecewiseLinearGraph, readonly
from tests.test_insens import exact_integrated_gradients, make_net


def make_graph(seed: int) -> PiecewiseLinearGraph:
    """3 inputs -> affine -> leaky gate -> affine + skip -> ReLU -> concat -> 2 logits."""
    rng = np.random.default_rng(seed)

    def w(rows: int, cols: int) -> np.ndarray:
        return readonly(rng.normal(size=(rows, cols)) / np.sqrt(cols))

    nodes = (
        GraphNode("input", (), 3),
        GraphNode("affine", (0,), 5, weights=(w(5, 3),), scales=(1.0,), bias=w(5, 1)[:, 0]),
        GraphNode("gate", (1,), 5, slope=0.1),
        GraphNode(
            "affine", (2, 1), 5, weights=(w(5, 5), None), scales=(1.0, -0.5), bias=w(5, 1)[:, 0]
        ),
        GraphNode("gate", (3,), 5),
        GraphNode("concat", (2, 4), 10),
        GraphNode("affine", (5,), 2, weights=(w(2, 10),), scales=(1.0,), bias=w(2, 1)[:, 0]),
    )
    return PiecewiseLinearGraph(nodes, 6, "softmax")


def captum(method: str, module: torch.nn.Module, u: np.ndarray, target: np.ndarray) -> np.ndarray:
    from captum.attr import InputXGradient, IntegratedGradients, Saliency

    inputs = torch.from_numpy(np.ascontiguousarray(u)).requires_grad_(True)
    targets = torch.from_numpy(target)
    if method == "gradient":
        out = Saliency(module).attribute(inputs, target=targets, abs=False)
    elif method == "gradient_x_input":
        out = InputXGradient(module).attribute(inputs, target=targets)
    else:
        out = IntegratedGradients(module).attribute(
            inputs, baselines=torch.zeros_like(inputs), target=targets, n_steps=64
        )
    return np.asarray(out.detach().numpy())


NETWORKS = {
    "chain": (lambda: make_net([4, 7, 6, 1], seed=31), 4),
    "leaky_chain_3_classes": (
        lambda: make_net([4, 8, 5, 3], seed=32, slopes=(0.2, 0.0), link="softmax"),
        4,
    ),
    "graph": (lambda: make_graph(33), 3),
}


def _case(name: str, n: int = 40) -> tuple[Network, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    build, d = NETWORKS[name]
    net = build()
    rng = np.random.default_rng(34)
    x = rng.normal(size=(n, d)) * 1.5 + 0.3
    mean, scale = x.mean(axis=0), x.std(axis=0)
    u = (x - mean) / scale
    target = net.forward_logits(x).argmax(axis=1).astype(np.int64)
    return net, u, mean, scale, target


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.parametrize("method", ["gradient", "gradient_x_input", "integrated_gradients"])
def test_baselines_equal_captum_to_the_last_bit(name: str, method: str) -> None:
    net, u, mean, scale, target = _case(name)
    module = standardized_module(net, mean, scale)
    ours = attribute(method, net, module, u, mean, scale, target)
    theirs = captum(method, module, u, target)
    assert ours.shape == theirs.shape
    assert np.array_equal(ours, theirs), np.abs(ours - theirs).max()


def test_robustness_table_does_not_import_captum() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from govreport.analyses.insens.attribution import attribution_robustness\n"
        "from tests.test_insens import make_net\n"
        "net = make_net([3, 5, 1], seed=1)\n"
        "x = np.random.default_rng(2).normal(size=(50, 3))\n"
        "y = (x[:, 0] > 0).astype(float)\n"
        "attribution_robustness(net, x, y, task='binary', mean=x.mean(0), scale=x.std(0),"
        " seed=0)\n"
        "assert 'captum' not in sys.modules, 'captum imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_robustness_table_is_unchanged_from_the_captum_computation() -> None:
    """The whole table from our replica equals the one from Captum's classes."""
    import govreport.analyses.insens.attribution as attribution_module

    net, u, mean, scale, _ = _case("leaky_chain_3_classes", n=120)
    x = mean + scale * u
    y = net.forward_logits(x).argmax(axis=1).astype(float)
    kwargs = {"task": "multiclass", "mean": mean, "scale": scale, "seed": 5, "max_rows": 100}
    ours = attribution_robustness(net, x, y, **kwargs)  # type: ignore[arg-type]
    original = attribution_module.attribute

    def via_captum(
        method: str,
        network: Network,
        module: torch.nn.Module,
        points: np.ndarray,
        mu: np.ndarray,
        sd: np.ndarray,
        target: np.ndarray,
        **_: object,
    ) -> np.ndarray:
        if method == "insens":
            return original(method, network, module, points, mu, sd, target)
        return captum(method, module, points, target)

    attribution_module.attribute = via_captum  # type: ignore[assignment]
    try:
        theirs = attribution_robustness(net, x, y, **kwargs)  # type: ignore[arg-type]
    finally:
        attribution_module.attribute = original
    assert ours == theirs


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_exact_gradient_equals_autograd(name: str) -> None:
    net, u, mean, scale, target = _case(name)
    module = standardized_module(net, mean, scale)
    np.testing.assert_allclose(
        gradient(net, u, mean, scale, target), captum("gradient", module, u, target), atol=1e-13
    )


def test_exact_integrated_gradients_equal_the_bisection_oracle() -> None:
    net, u, mean, scale, _ = _case("chain", n=8)
    ig, segments = integrated_gradients(net, u, mean, scale, np.zeros(8, dtype=np.int64))
    assert segments.min() >= 1
    for row in range(8):
        np.testing.assert_allclose(
            ig[row], exact_integrated_gradients(net, u[row], mean, scale), atol=1e-12
        )


def _riemann(
    net: Network,
    u: np.ndarray,
    mean: np.ndarray,
    scale: np.ndarray,
    target: np.ndarray,
    steps: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Brute force: midpoint Riemann sum of exact gradients on ``steps`` equal pieces of the
    path, and per row the largest |gradient| seen (n,)."""
    total = np.zeros_like(u)
    largest = np.zeros(u.shape[0])
    for k in range(steps):
        grad = gradient(net, (k + 0.5) / steps * u, mean, scale, target)
        total += grad
        largest = np.maximum(largest, np.abs(grad).max(axis=1))
    return total / steps * u, largest


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_exact_integrated_gradients_complete_and_match_fine_quadrature(name: str) -> None:
    net, u, mean, scale, target = _case(name, n=25)
    ig, segments = integrated_gradients(net, u, mean, scale, target)
    rows = np.arange(u.shape[0])
    gap = ig.sum(axis=1) - (
        net.forward_logits(mean + scale * u)[rows, target]
        - net.forward_logits(mean[None, :])[0, target]
    )
    assert np.abs(gap).max() < 1e-12  # completeness: exact up to rounding
    assert segments.max() > 1  # the paths cross regions: the test can tell
    steps = 20_000
    brute, largest = _riemann(net, u, mean, scale, target, steps)
    # The midpoint sum is exact on every piece without a breakpoint; a piece with one is off
    # by at most its length times the jump of the gradient (≤ 2 max|gradient|), times |u_j|.
    bound = segments * 2.0 * largest / steps
    assert (np.abs(ig - brute) <= bound[:, None] * np.abs(u) + 1e-12).all()
    assert np.abs(ig - brute).max() < 1e-4
    module = standardized_module(net, mean, scale)
    fine = attribute("integrated_gradients", net, module, u, mean, scale, target, ig_steps=2000)
    # Gauss–Legendre converges slowly on a piecewise-constant integrand (and Captum's step
    # sizes are float32): 2,000 points agree to about 1e-4.
    np.testing.assert_allclose(ig, fine, atol=1e-3)
    coarse = attribute("integrated_gradients", net, module, u, mean, scale, target, ig_steps=4)
    assert np.abs(ig - coarse).max() > 1e-4  # a coarse rule is visibly off: the check can fail


def test_as_graph_of_a_chain_computes_the_same_logits() -> None:
    net = make_net([4, 7, 6, 2], seed=35, slopes=(0.0, 0.3), link="softmax")
    x = np.random.default_rng(36).normal(size=(30, 4))
    np.testing.assert_allclose(as_graph(net).forward_logits(x), net.forward_logits(x), atol=1e-13)
    np.testing.assert_array_equal(as_graph(net).activation_patterns(x), net.activation_patterns(x))


def test_fused_insens_reuses_its_buffers_correctly_over_four_layers() -> None:
    """Four hidden layers of unequal widths (the Jacobian buffers alternate 0, 1, 0) and a
    short last block: the fused path equals the layer projections."""
    from govreport.analyses.insens import insens as insens_module

    net = make_net([5, 9, 11, 7, 13, 1], seed=37, slopes=(0.0, 0.1, 0.0, 0.0))
    n = insens_module.FUSED_BLOCK + 45
    x = np.random.default_rng(38).normal(size=(n, 5))
    scale = x.std(axis=0)
    fused = insens_module._chunk_insens_mlp(net, x, scale, 1e-12)
    general = insens_module._chunk_insens_general(net, x, scale, 1e-12)
    np.testing.assert_allclose(fused.omega, general.omega, atol=1e-12)
    for name in ("inactive", "all_inactive", "skipped", "empty"):
        np.testing.assert_array_equal(getattr(fused, name), getattr(general, name))


def test_in_place_relu_module_gives_the_same_attributions() -> None:
    net, u, mean, scale, target = _case("chain")
    module = standardized_module(net, mean, scale)
    plain = standardized_module(net, mean, scale)
    relus = [m for m in plain.modules() if isinstance(m, torch.nn.ReLU)]
    assert relus and all(m.inplace for m in relus)
    for m in relus:
        m.inplace = False
    for method in ("gradient", "gradient_x_input", "integrated_gradients"):
        ours = attribute(method, net, module, u, mean, scale, target)
        assert np.array_equal(ours, captum(method, plain, u, target))
