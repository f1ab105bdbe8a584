"""Attribution robustness: Insens against gradient-based attributions (ALGORITHMS.md §3.3).

Szymanski et al. (2019) compare Insens with other attributions by image
heat-maps and by a noise experiment on MNIST; they define no quantitative
attribution metric. govreport's tabular analogues ([X], a design decision):

(a) *Stability*: the mean cosine similarity between attribution(x) and
    attribution(x + ε), ε_j ~ N(0, (s·σ_j)²), for s in ``noise_scales``.
(b) *Masked noise*: per sample, add N(0, (m·σ_j)²) noise to the q share of
    features the method ranks *least* important (by |attribution|), then to the
    q share it ranks *most* important, and measure the drop in performance
    (AUC for binary, accuracy for multiclass, RMSE increase for regression).
    A faithful ranking gives low-noise drop < high-noise drop. A random mask is
    the reference.

Methods, all in standardised coordinates u = (x − μ) / σ (so that cosines and
rankings do not depend on the features' units): Insens Ω (govreport's own,
exact), and the baselines of Captum on the float64 torch module
f(u) = η(μ + σ ⊙ u): ``Saliency(abs=False)`` (the gradient, i.e. the local
linear model's w ⊙ σ), ``InputXGradient`` (u ⊙ gradient) and
``IntegratedGradients`` from the baseline u = 0 (the training mean) with
Gauss–Legendre quadrature. The output attributed is the logit (binary,
regression) or the clean input's predicted class (multiclass).

Speed. Captum's gradient helper takes one backward pass per scalar output
(``torch.autograd.grad(torch.unbind(outputs), ...)``: 128,000 tensors for 2,000 rows ×
64 quadrature points), which cost more than the network's arithmetic. govreport runs the
same operations itself (:func:`attribute`): the same scaled rows in the same order through
the same module, one backward pass of the sum of the selected outputs (the same gradients,
since each output depends on its own row only), Captum's float32 step sizes and its sum
over the steps. The results equal Captum's to the last bit (tests/test_insens.py), and the
stage no longer imports Captum.

All randomness comes from ``numpy.random.default_rng(seed)``, drawn in a fixed
order, so the result is a function of the inputs and the seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from govreport.analyses.insens.insens import insens
from govreport.jsontypes import JSON_CONFIG, Float, Number
from govreport.network import FloatArray, Network, PiecewiseLinearGraph

__all__ = [
    "ATTRIBUTION_METHODS",
    "AttributionRobustness",
    "MaskedNoise",
    "attribute",
    "attribution_robustness",
    "standardized_module",
]

ATTRIBUTION_METHODS = ("insens", "gradient", "gradient_x_input", "integrated_gradients")
METHOD_LABELS = {
    "insens": "Insens",
    "gradient": "Gradient (local linear model)",
    "gradient_x_input": "Gradient × input",
    "integrated_gradients": "Integrated Gradients",
}


def standardized_module(network: Network, mean: FloatArray, scale: FloatArray) -> torch.nn.Module:
    """A float64 torch module computing η(μ + σ ⊙ u) from u (n, d) -> logits (n, K)."""
    if isinstance(network, PiecewiseLinearGraph):
        return _GraphModule(network, mean, scale).eval()
    layers: list[torch.nn.Module] = []
    maps = network.affine_maps
    for index, affine in enumerate(maps):
        weight = np.array(affine.weight, dtype=np.float64)
        bias = np.array(affine.bias, dtype=np.float64)
        if index == 0:
            bias = bias + weight @ np.asarray(mean, dtype=np.float64)
            weight = weight * np.asarray(scale, dtype=np.float64)[None, :]
        linear = torch.nn.Linear(affine.n_in, affine.n_out, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight))
            linear.bias.copy_(torch.from_numpy(bias))
        layers.append(linear)
        if index < len(maps) - 1:
            slope = network.negative_slopes[index]
            # In place: the same values, without one (rows, width) copy per layer (at 2,000
            # rows × 64 quadrature points, 65 MB per 64-wide layer).
            layers.append(
                torch.nn.ReLU(inplace=True) if slope == 0.0 else torch.nn.LeakyReLU(slope)
            )
    module = torch.nn.Sequential(*layers)
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


class _GraphModule(torch.nn.Module):
    """η(μ + σ ⊙ u) of a general graph, node by node in float64 (for the attribution methods)."""

    def __init__(self, graph: PiecewiseLinearGraph, mean: FloatArray, scale: FloatArray) -> None:
        super().__init__()
        self.graph = graph
        self.mean = torch.from_numpy(np.array(mean, dtype=np.float64))
        self.scale = torch.from_numpy(np.array(scale, dtype=np.float64))
        self.weights = [
            [None if w is None else torch.from_numpy(np.array(w)) for w in node.weights]
            for node in graph.nodes
        ]
        self.biases = [
            None if node.bias is None else torch.from_numpy(np.array(node.bias))
            for node in graph.nodes
        ]

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        values: list[torch.Tensor] = []
        for index, node in enumerate(self.graph.nodes):
            args = [values[i] for i in node.inputs]
            if node.kind == "input":
                values.append(self.mean + self.scale * u)
            elif node.kind == "gate":
                values.append(torch.nn.functional.leaky_relu(args[0], node.slope))
            elif node.kind == "concat":
                values.append(torch.cat(args, dim=1))
            else:
                bias = self.biases[index]
                assert bias is not None
                total = bias.expand(u.shape[0], -1)
                for arg, weight, factor in zip(args, self.weights[index], node.scales, strict=True):
                    total = total + (factor * arg if weight is None else arg @ weight.T)
                values.append(total)
        return values[self.graph.output]


def gauss_legendre(n_steps: int) -> tuple[list[float], list[float]]:
    """Step sizes (weights) and alphas (nodes) of the ``n_steps``-point Gauss–Legendre rule
    on [0, 1], as Captum's ``approximation_parameters("gausslegendre")`` builds them."""
    if n_steps < 1:
        raise ValueError(f"The number of steps must be positive, got {n_steps}")
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    return (0.5 * weights).tolist(), (0.5 * (1 + nodes)).tolist()


def _gradients(module: torch.nn.Module, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """∂ module(inputs)[i, target[i]] / ∂ inputs[i] for every row i: one backward pass of the
    sum of the selected outputs (each output depends on its own row only), which is what
    Captum's ``compute_gradients`` computes through one backward pass per scalar output."""
    points = inputs.detach().requires_grad_(True)
    with torch.enable_grad():
        selected = torch.gather(module(points), 1, target.reshape(-1, 1))
        (grad,) = torch.autograd.grad(selected.sum(), points)
    return grad


def _integrated_gradients(
    module: torch.nn.Module, inputs: torch.Tensor, target: torch.Tensor, n_steps: int
) -> torch.Tensor:
    """Captum's ``IntegratedGradients(...).attribute(inputs, baselines=0, target=target,
    n_steps=n_steps, method="gausslegendre")``, operation for operation (the same rows in
    the same order through the same module, the same float32 step sizes, the same sum over
    steps), without Captum's per-output backward bookkeeping."""
    step_sizes, alphas = gauss_legendre(n_steps)
    # The scaled rows baseline + α (input − baseline) in numpy, the same IEEE operations
    # (torch's many small elementwise calls stall on thread barriers on a busy machine).
    u = inputs.numpy()
    baseline = np.zeros_like(u)
    scaled = np.empty((n_steps, *u.shape))
    for k, alpha in enumerate(alphas):
        np.add(baseline, np.multiply(alpha, np.subtract(u, baseline)), out=scaled[k])
    grads = _gradients(
        module, torch.from_numpy(scaled.reshape(-1, u.shape[1])), target.repeat(n_steps)
    )
    steps = torch.tensor(step_sizes).float().view(n_steps, 1)
    scaled_grads = grads.contiguous().view(n_steps, -1) * steps
    total = torch.sum(scaled_grads.reshape((n_steps, *inputs.shape)), dim=0)
    return total * (inputs - torch.from_numpy(baseline))


def attribute(
    method: str,
    network: Network,
    module: torch.nn.Module,
    u: FloatArray,
    mean: FloatArray,
    scale: FloatArray,
    target: npt.NDArray[np.int64],
    *,
    ig_steps: int = 64,
) -> FloatArray:
    """Attribution (n, d) of ``method`` at standardised rows u (n, d).

    ``target``: (n,) output index attributed per row (ignored by Insens).
    ``ig_steps``: points of the Gauss–Legendre rule of Integrated Gradients. The gradient
    methods give Captum's ``Saliency(abs=False)``, ``InputXGradient`` and
    ``IntegratedGradients`` results to the last bit (tests/test_insens.py checks it).
    """
    if method == "insens":
        x = mean + scale * u
        return np.asarray(insens(network, x, scale=scale).omega, dtype=np.float64)
    inputs = torch.from_numpy(np.ascontiguousarray(u, dtype=np.float64))
    targets = torch.from_numpy(np.asarray(target, dtype=np.int64))
    if method == "gradient":
        out = _gradients(module, inputs, targets)
    elif method == "gradient_x_input":
        out = inputs * _gradients(module, inputs, targets)
    elif method == "integrated_gradients":
        out = _integrated_gradients(module, inputs, targets, ig_steps)
    else:
        raise ValueError(f"unknown attribution method {method!r}")
    return np.asarray(out.detach().numpy(), dtype=np.float64)


def _cosine(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise cosine; 1 when both rows are zero, 0 when exactly one is."""
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    dot = (a * b).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = dot / (na * nb)
    cos = np.where((na == 0) & (nb == 0), 1.0, np.where((na == 0) | (nb == 0), 0.0, cos))
    return np.asarray(np.clip(cos, -1.0, 1.0), dtype=np.float64)


def _score_function(task: str) -> tuple[str, Callable[[FloatArray, FloatArray], float | None]]:
    """(metric name, score(logits, y)); higher is better for AUC/accuracy, RMSE is an error."""
    if task == "binary":
        from sklearn.metrics import roc_auc_score

        def auc(logits: FloatArray, y: FloatArray) -> float | None:
            if np.unique(y).size < 2:
                return None
            return float(roc_auc_score(y, logits[:, 0]))

        return "auc", auc
    if task == "multiclass":

        def accuracy(logits: FloatArray, y: FloatArray) -> float | None:
            return float((logits.argmax(axis=1) == y.astype(np.int64)).mean())

        return "accuracy", accuracy

    def rmse(logits: FloatArray, y: FloatArray) -> float | None:
        return float(np.sqrt(((logits[:, 0] - y) ** 2).mean()))

    return "rmse", rmse


@dataclass(frozen=True, slots=True)
class MaskedNoise:
    """Masked-noise test of one method: performance change when the q share of features it
    ranks lowest (``low``) or highest (``high``) gets noise. ``*_change``: clean − noisy for
    AUC/accuracy (a drop), noisy − clean for RMSE (an increase): larger = more damage."""

    __pydantic_config__ = JSON_CONFIG

    method: str
    low_score: Number
    high_score: Number
    low_change: Number
    high_change: Number


@dataclass(frozen=True, slots=True)
class AttributionRobustness:
    """Results of :func:`attribution_robustness` (see the module docstring).

    ``stability[m][i]``: mean cosine of method ``methods[m]`` at ``noise_scales[i]``;
    ``stability_p10``: the 10th percentile of the cosines; ``pattern_change_share[i]``:
    share of rows whose activation pattern the perturbation changed.
    ``ig_mean_abs_delta``: mean |Σ_j IG_j − (η(x) − η(μ))| (Captum's convergence delta:
    the quadrature error of IG).
    """

    __pydantic_config__ = JSON_CONFIG

    dataset: str
    rows: int
    rows_available: int
    seed: int
    methods: tuple[str, ...]
    labels: tuple[str, ...]
    noise_scales: tuple[Float, ...]
    stability: tuple[tuple[Float, ...], ...]
    stability_p10: tuple[tuple[Float, ...], ...]
    pattern_change_share: tuple[Float, ...]
    metric: str
    clean_score: Number
    mask_share: Float
    masked_features: int
    mask_noise_scale: Float
    masked: tuple[MaskedNoise, ...]
    random_score: Number
    random_change: Number
    ig_steps: int
    ig_mean_abs_delta: Float


def attribution_robustness(
    network: Network,
    x: FloatArray,
    y: FloatArray,
    *,
    task: str,
    mean: FloatArray,
    scale: FloatArray,
    seed: int,
    dataset: str = "train",
    max_rows: int = 2000,
    noise_scales: tuple[float, ...] = (0.01, 0.05, 0.1),
    mask_share: float = 0.25,
    mask_noise_scale: float = 1.0,
    ig_steps: int = 64,
) -> AttributionRobustness:
    """Stability and masked-noise comparison of the attribution methods on a seeded subsample.

    x: (N, d) rows, y: (N,) target; ``mean``/``scale``: (d,) training mean and
    standard deviation (scale > 0) defining u = (x − mean) / scale. At most
    ``max_rows`` rows, drawn without replacement by ``default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    n, d = x.shape
    take = n if n <= max_rows else max_rows
    rows = np.sort(rng.choice(n, size=take, replace=False)) if take < n else np.arange(n)
    xs = np.asarray(x, dtype=np.float64)[rows]
    ys = np.asarray(y, dtype=np.float64)[rows]
    mu = np.asarray(mean, dtype=np.float64)
    sd = np.asarray(scale, dtype=np.float64)
    u = (xs - mu) / sd
    module = standardized_module(network, mu, sd)
    logits = network.forward_logits(xs)
    target = (
        logits.argmax(axis=1).astype(np.int64)
        if task == "multiclass"
        else np.zeros(take, dtype=np.int64)
    )

    def attr(method: str, points: FloatArray) -> FloatArray:
        return attribute(method, network, module, points, mu, sd, target, ig_steps=ig_steps)

    clean = {m: attr(m, u) for m in ATTRIBUTION_METHODS}
    base_patterns = network.activation_patterns(xs)
    stability: list[list[float]] = [[] for _ in ATTRIBUTION_METHODS]
    p10: list[list[float]] = [[] for _ in ATTRIBUTION_METHODS]
    changed: list[float] = []
    for s in noise_scales:
        noisy = u + rng.normal(size=u.shape) * s
        changed.append(
            float(
                (network.activation_patterns(mu + sd * noisy) != base_patterns).any(axis=1).mean()
            )
        )
        for m, method in enumerate(ATTRIBUTION_METHODS):
            cos = _cosine(clean[method], attr(method, noisy))
            stability[m].append(float(cos.mean()))
            p10[m].append(float(np.quantile(cos, 0.1)))

    metric, score = _score_function(task)
    clean_score = score(logits, ys)
    k = max(1, min(d, round(mask_share * d)))
    noise = rng.normal(size=u.shape) * mask_noise_scale

    def masked_score(mask: npt.NDArray[np.bool_]) -> float | None:
        return score(network.forward_logits(mu + sd * (u + noise * mask)), ys)

    def change(value: float | None) -> float | None:
        if value is None or clean_score is None:
            return None
        return value - clean_score if metric == "rmse" else clean_score - value

    masked = []
    row_index = np.arange(take)[:, None]
    for method in ATTRIBUTION_METHODS:
        order = np.argsort(np.abs(clean[method]), axis=1, kind="stable")
        low = np.zeros((take, d), dtype=np.bool_)
        high = np.zeros((take, d), dtype=np.bool_)
        low[row_index, order[:, :k]] = True
        high[row_index, order[:, d - k :]] = True
        low_score, high_score = masked_score(low), masked_score(high)
        masked.append(
            MaskedNoise(method, low_score, high_score, change(low_score), change(high_score))
        )
    random_order = rng.permuted(np.tile(np.arange(d), (take, 1)), axis=1)
    random_mask = np.zeros((take, d), dtype=np.bool_)
    random_mask[row_index, random_order[:, :k]] = True
    random_score = masked_score(random_mask)

    ig = clean["integrated_gradients"]
    reference = network.forward_logits(mu[None, :])[0]
    delta = ig.sum(axis=1) - (logits[np.arange(take), target] - reference[target])
    return AttributionRobustness(
        dataset=dataset,
        rows=int(take),
        rows_available=int(n),
        seed=int(seed),
        methods=ATTRIBUTION_METHODS,
        labels=tuple(METHOD_LABELS[m] for m in ATTRIBUTION_METHODS),
        noise_scales=tuple(float(s) for s in noise_scales),
        stability=tuple(tuple(v) for v in stability),
        stability_p10=tuple(tuple(v) for v in p10),
        pattern_change_share=tuple(changed),
        metric=metric,
        clean_score=clean_score,
        mask_share=float(mask_share),
        masked_features=int(k),
        mask_noise_scale=float(mask_noise_scale),
        masked=tuple(masked),
        random_score=random_score,
        random_change=change(random_score),
        ig_steps=int(ig_steps),
        ig_mean_abs_delta=float(np.abs(delta).mean()) if take else 0.0,
    )
