"""Switched linear projections (Szymanski, McCane & Atkinson 2019; ALGORITHMS.md §3.1).

Given the on/off states of the layers *before* a neuron, the neuron's
pre-activation is an affine function of the input:

    v_li(x) = ŵ_li(x) · x + b̂_li(x),
    ŵ_li = [W^(l-1) D^(l-1) W^(l-2) ... D^(1) W^(0)]_{i,:},
    b̂_li = [Σ_m W^(l-1) D^(l-1) ... W^(m+1) D^(m+1) b^(m) + b^(l-1)]_i,

where D^(k) is diagonal with 1 for active units (z > 0) and the negative slope
(0 for ReLU) for inactive ones. Only the states of layers < l enter, so every
neuron has a projection, active or not; for an output neuron it is the local
linear model of its region (govreport.regions), for a first-layer neuron it is
the raw weight row. ŵ is also the gradient ∂v/∂x.

This module computes (ŵ, b̂) for *all* neurons of a chunk of samples by forward
accumulation (one (n·d, n_l) × (n_l, n_{l+1}) product per layer, float64), and
from them the *switched centre* ĉ = x − (v/‖ŵ‖²)ŵ (the nearest point of the
neuron's switching hyperplane) and the per-feature decomposition
(x_j − ĉ_j)ŵ_j, which sums to v.

The metric. The paper works in the network's input space. Tabular features
have different units, and "nearest point" depends on them, so every function
that uses a distance takes an optional ``scale`` (d,) of positive per-feature
scales (govreport passes the training standard deviations): distances are then
measured in u = x / scale, i.e. the paper's construction applied to the network
composed with the standardisation. ``scale=None`` is the paper's raw metric. ŵ
and b̂ never depend on the metric; the centre and the decomposition do:

    ω = x − ĉ = v · (ŵ ⊙ s²) / ‖ŵ ⊙ s‖²,    (x_j − ĉ_j) ŵ_j = v · ŵ_j² s_j² / ‖ŵ ⊙ s‖².

Layer numbering: hidden layers are 1..L, the output layer is L + 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from govreport.network import FloatArray, Network, PiecewiseLinearGraph, readonly
from govreport.results.jsonable import to_jsonable

__all__ = [
    "DEFAULT_PROJECTION_CHUNK",
    "FeatureProjection",
    "LayerProjections",
    "PointProjection",
    "SwitchedProjection",
    "explain_samples",
    "iter_layer_projections",
    "parse_neuron",
    "project_points",
    "switched_centre",
    "switched_contributions",
    "switched_offset",
    "switched_projection",
]

#: Rows per chunk: memory per chunk is about chunk × d × (widest layer) × 8 bytes × 3.
DEFAULT_PROJECTION_CHUNK = 2048


@dataclass(frozen=True, slots=True)
class LayerProjections:
    """Projections of every neuron of one layer, for a chunk of n samples.

    ``layer``: 1..L (hidden) or L + 1 (output). ``weights``: (n, d, n_l) ŵ of
    each neuron (feature axis before neuron axis, the layout the accumulation
    uses). ``biases``: (n, n_l) b̂. ``activity``: (n, n_l) the pre-activation v
    from the plain forward pass (not from ŵ·x + b̂: the two agreeing is a check).
    """

    layer: int
    weights: FloatArray
    biases: FloatArray
    activity: FloatArray


def _check_x(network: Network, x: FloatArray) -> FloatArray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != network.input_dim:
        raise ValueError(
            f"x must be (n, {network.input_dim}) for this network, got shape {array.shape}"
        )
    return array


def iter_layer_projections(
    network: Network, x: FloatArray, *, upto: int | None = None
) -> Iterator[LayerProjections]:
    """Yield the projections of layers 1, 2, ... (up to ``upto``, default L + 1) for rows ``x``.

    x: (n, d) float64 (one chunk: memory is n × d × n_l floats per layer).
    Forward accumulation: ŵ^(1) = W^(0), b̂^(1) = b^(0); then
    ŵ^(l+1) = W^(l) D^(l) ŵ^(l) and b̂^(l+1) = W^(l) D^(l) b̂^(l) + b^(l).
    """
    array = _check_x(network, x)
    n, d = array.shape
    if isinstance(network, PiecewiseLinearGraph):  # gates in node order, then the output
        models = network.projections(array, upto)
        for layer, (weights_g, biases_g, activity_g) in enumerate(models, start=1):
            yield LayerProjections(layer, weights_g, biases_g, activity_g)
        return
    last = len(network.affine_maps) if upto is None else int(upto)
    first = network.affine_maps[0]
    weights = np.broadcast_to(first.weight.T, (n, d, first.n_out))
    biases = np.broadcast_to(first.bias, (n, first.n_out))
    activity = array @ first.weight.T + first.bias
    yield LayerProjections(1, weights, biases, activity)
    for index in range(1, last):
        affine = network.affine_maps[index]
        slope = network.negative_slopes[index - 1]
        gate = np.where(activity > 0.0, 1.0, slope)
        gated = weights * gate[:, None, :]
        weights = (gated.reshape(n * d, -1) @ affine.weight.T).reshape(n, d, affine.n_out)
        biases = (biases * gate) @ affine.weight.T + affine.bias
        activity = (activity * gate) @ affine.weight.T + affine.bias
        yield LayerProjections(index + 1, weights, biases, activity)


@dataclass(frozen=True, slots=True)
class SwitchedProjection:
    """The switched linear projection of one neuron at n samples.

    ``layer``: 1..L hidden, L + 1 output; ``neuron``: index in the layer.
    ``weights``: (n, d) ŵ; ``biases``: (n,) b̂; ``activity``: (n,) v from the
    forward pass. All float64, read-only.
    """

    layer: int
    neuron: int
    is_output: bool
    weights: FloatArray
    biases: FloatArray
    activity: FloatArray


def _check_neuron(network: Network, layer: int, neuron: int) -> None:
    n_layers = len(network.layer_widths)
    if not 1 <= layer <= n_layers:
        raise ValueError(f"layer must be 1..{n_layers} (output = {n_layers}), got {layer}")
    width = network.layer_widths[layer - 1]
    if not 0 <= neuron < width:
        raise ValueError(f"layer {layer} has neurons 0..{width - 1}, got {neuron}")


def switched_projection(
    network: Network,
    x: FloatArray,
    layer: int,
    neuron: int,
    *,
    chunk_size: int = DEFAULT_PROJECTION_CHUNK,
) -> SwitchedProjection:
    """Exact (ŵ, b̂, v) of neuron ``neuron`` of layer ``layer`` at every row of x, in float64.

    x: (N, d). ``layer`` 1..L for hidden layers, L + 1 for the output layer
    (``neuron`` is then the output index k). Processed in chunks of
    ``chunk_size`` rows; only layers up to ``layer`` are propagated.
    """
    _check_neuron(network, layer, neuron)
    array = _check_x(network, x)
    n = array.shape[0]
    weights = np.empty((n, network.input_dim))
    biases = np.empty(n)
    activity = np.empty(n)
    for start in range(0, n, max(1, chunk_size)):
        stop = min(start + max(1, chunk_size), n)
        for proj in iter_layer_projections(network, array[start:stop], upto=layer):
            if proj.layer == layer:
                weights[start:stop] = proj.weights[:, :, neuron]
                biases[start:stop] = proj.biases[:, neuron]
                activity[start:stop] = proj.activity[:, neuron]
    return SwitchedProjection(
        layer=layer,
        neuron=neuron,
        is_output=layer == len(network.layer_widths),
        weights=readonly(weights),
        biases=readonly(biases),
        activity=readonly(activity),
    )


def unit_scale(scale: FloatArray | None, d: int) -> FloatArray:
    """The per-feature unit (d,) distances are measured in: ``scale``, or ones for raw units."""
    if scale is None:
        return np.ones(d)
    s = np.asarray(scale, dtype=np.float64)
    if s.shape != (d,) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"scale must be {d} positive finite numbers")
    return s


def switched_offset(
    weights: FloatArray, activity: FloatArray, scale: FloatArray | None = None
) -> FloatArray:
    """ω = x − ĉ = v (ŵ ⊙ s²) / ‖ŵ ⊙ s‖² in the units of x. weights (n, d), activity (n,).

    Rows with ŵ = 0 (no path from the input reaches the neuron) get NaN.
    """
    w = np.asarray(weights, dtype=np.float64)
    s2 = unit_scale(scale, w.shape[1]) ** 2
    norm2 = (w * w * s2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(norm2 > 0, np.asarray(activity) / norm2, np.nan)
    return np.asarray(factor[:, None] * w * s2, dtype=np.float64)


def switched_centre(
    x: FloatArray, projection: SwitchedProjection, scale: FloatArray | None = None
) -> FloatArray:
    """ĉ = x − ω: the nearest point (in the metric of ``scale``) where the neuron's v = 0.

    x: (n, d), the rows the projection was computed at. Returns (n, d); NaN rows
    where ŵ = 0.
    """
    return np.asarray(
        np.asarray(x, dtype=np.float64)
        - switched_offset(projection.weights, projection.activity, scale),
        dtype=np.float64,
    )


def switched_contributions(
    x: FloatArray, projection: SwitchedProjection, scale: FloatArray | None = None
) -> FloatArray:
    """Per-feature decomposition (x_j − ĉ_j) ŵ_j, (n, d); each row sums to v."""
    return np.asarray(
        (np.asarray(x, dtype=np.float64) - switched_centre(x, projection, scale))
        * projection.weights,
        dtype=np.float64,
    )


def parse_neuron(text: str, network: Network) -> tuple[int, int]:
    """``"output"`` (output 0), ``"output:k"`` or ``"L:i"`` -> (layer, neuron), else ValueError."""
    n_layers = len(network.layer_widths)
    value = text.strip().lower()
    if value == "output":
        return n_layers, 0
    head, sep, tail = value.partition(":")
    try:
        if head == "output" and sep:
            layer, neuron = n_layers, int(tail)
        elif sep:
            layer, neuron = int(head), int(tail)
        else:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"neuron {text!r} is not 'output', 'output:K' or 'LAYER:INDEX' (e.g. 1:0)"
        ) from None
    _check_neuron(network, layer, neuron)
    return layer, neuron


@dataclass(frozen=True, slots=True)
class FeatureProjection:
    """One feature of a worked switched-projection example.

    ``x``: the point's value; ``weight``: ŵ_j; ``centre``: ĉ_j and ``contribution``:
    (x_j − ĉ_j) ŵ_j (None where ŵ = 0: no switching hyperplane).
    """

    name: str
    x: float
    weight: float
    centre: float | None
    contribution: float | None


@dataclass(frozen=True, slots=True)
class PointProjection:
    """A worked switched-projection example of one point (see :func:`project_points`)."""

    layer: int
    neuron: int
    is_output: bool
    activity: float
    active: bool
    bias: float
    gradient_norm: float
    distance_to_switch: float | None
    features: tuple[FeatureProjection, ...]


def project_points(
    network: Network,
    x: FloatArray,
    feature_names: Sequence[str],
    *,
    layer: int | None = None,
    neuron: int = 0,
    scale: FloatArray | None = None,
) -> tuple[PointProjection, ...]:
    """Worked switched-projection explanations of the rows of x.

    For each row: the neuron's v, ŵ, b̂, the switched centre ĉ, the distance
    ‖ω‖ (in the metric of ``scale``) to the switching hyperplane, and per
    feature x_j, ŵ_j, ĉ_j and the contribution (x_j − ĉ_j)ŵ_j (they sum to v).
    ``layer`` defaults to the output layer. Rows are the caller's: only pass
    rows the user has chosen to disclose.
    """
    target_layer = len(network.layer_widths) if layer is None else layer
    array = _check_x(network, x)
    projection = switched_projection(network, array, target_layer, neuron)
    s = unit_scale(scale, array.shape[1])
    offset = switched_offset(projection.weights, projection.activity, scale)
    centre = array - offset
    contributions = offset * projection.weights
    out: list[PointProjection] = []
    for i in range(array.shape[0]):
        w = projection.weights[i]
        norm = float(np.sqrt(((w * s) ** 2).sum()))
        defined = norm > 0
        out.append(
            PointProjection(
                layer=target_layer,
                neuron=neuron,
                is_output=projection.is_output,
                activity=float(projection.activity[i]),
                active=bool(projection.activity[i] > 0),
                bias=float(projection.biases[i]),
                gradient_norm=norm,
                distance_to_switch=abs(float(projection.activity[i])) / norm if defined else None,
                features=tuple(
                    FeatureProjection(
                        name=str(name),
                        x=float(array[i, j]),
                        weight=float(w[j]),
                        centre=float(centre[i, j]) if defined else None,
                        contribution=float(contributions[i, j]) if defined else None,
                    )
                    for j, name in enumerate(feature_names)
                ),
            )
        )
    return tuple(out)


def explain_samples(
    network: Network,
    x: FloatArray,
    feature_names: tuple[str, ...] | list[str],
    *,
    layer: int | None = None,
    neuron: int = 0,
    scale: FloatArray | None = None,
) -> list[dict[str, Any]]:
    """:func:`project_points` as JSON-able dicts (the ``govreport explain`` document)."""
    return [
        to_jsonable(p)
        for p in project_points(network, x, feature_names, layer=layer, neuron=neuron, scale=scale)
    ]
