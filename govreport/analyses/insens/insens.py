"""Insens: the mean sensitivity of the inactive hidden neurons (ALGORITHMS.md §3.2).

For a sample x and each inactive hidden neuron i (pre-activation v_i ≤ 0), the
switched linear projection (govreport.analyses.insens.projections) gives

    ω̂_i = x − ĉ_i = (v_i / ‖ŵ_i‖²) ŵ_i,

the vector from the nearest point of the neuron's switching hyperplane to x.
Since v_i ≤ 0 it points away from that hyperplane: moving x along +ω̂_i keeps
the neuron off. Insens is their mean over the inactive hidden neurons,

    Ω(x) = (1/|I|) Σ_{i∈I} ω̂_i,    I = {hidden i : v_i(x) ≤ 0, ‖ŵ_i‖ ≥ ε};

output neurons are never in I. Design decisions (ALGORITHMS.md §3.2 [X]):

- Neurons with ‖ŵ_i‖ < ε (every path from the input switched off upstream, so
  the neuron is constant and has no hyperplane) are skipped and counted.
- A sample with no usable inactive neuron gets Ω = 0 and is flagged.
- The metric: with ``scale`` s (govreport passes the training standard
  deviations), everything is computed in u = x / s, i.e. the paper's
  construction on the network composed with the standardisation, so Ω_j is in
  standard deviations of feature j and ε applies to ‖ŵ ⊙ s‖. ``scale=None`` is
  the raw input space of the paper.

Everything is chunked over samples: memory is about chunk × d × (widest hidden
layer) × 3 float64, independent of N.

Speed (plain MLPs). Only the norms ‖ŵ_i ⊙ s‖ need the per-sample Jacobian rows; the sum
Σ_i coef_i ŵ_i is a vector-Jacobian product, one backward pass of small matrix products
(coef_{l+1} W_l ⊙ gate_l + coef_l, down to the first layer). In u = x / s the first
layer's ŵ is the constant W₀ ⊙ s, the second layer's is gate₁ @ P with P a constant
(n₁, d · n₂) matrix, and deeper layers gate the previous Jacobian and multiply by W_l:
one GEMM per layer per block of rows, float64 throughout (the same numbers as the
general path up to rounding). General graphs (:class:`PiecewiseLinearGraph`) use the
layer projections of :mod:`.projections`.

Large data sets. :func:`summarize_insens` can run on a seeded sample of at most
``max_rows`` rows (drawn without replacement by ``numpy.random.default_rng(seed)``,
taken in data order); the summary then records the data set's row count in
``data_rows`` so that the report can say that a sample stands in for the full data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from govreport import progress
from govreport.analyses.insens.projections import (
    DEFAULT_PROJECTION_CHUNK,
    iter_layer_projections,
    unit_scale,
)
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float
from govreport.network import (
    FloatArray,
    Network,
    PiecewiseLinearGraph,
    PiecewiseLinearNetwork,
    readonly,
)

__all__ = [
    "DEFAULT_MIN_NORM",
    "InsensSamples",
    "InsensSummary",
    "insens",
    "sample_rows",
    "summarize_insens",
]

#: ε: hidden neurons whose projection gradient has a smaller norm are skipped.
DEFAULT_MIN_NORM = 1e-12

Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class InsensSamples:
    """Per-sample Insens of n rows.

    ``omega``: (n, d) Ω(x), in the units of x / scale. ``inactive``: (n, L)
    inactive hidden neurons used per layer (v ≤ 0 and not skipped).
    ``skipped``: (n, L) inactive hidden neurons left out for ‖ŵ‖ < ε, per
    layer. ``empty``: (n,) bool, no usable inactive neuron (Ω set to 0).
    ``all_inactive``: (n, L) neurons with v ≤ 0 per layer, skipped or not.
    """

    omega: FloatArray
    inactive: Int64Array
    all_inactive: Int64Array
    skipped: Int64Array
    empty: npt.NDArray[np.bool_]


#: Rows per block of the fused MLP path (its Jacobians stay in cache: block × d × width × 8 B).
FUSED_BLOCK = 1024


def _chunk_insens(network: Network, x: FloatArray, s: FloatArray, min_norm: float) -> InsensSamples:
    if isinstance(network, PiecewiseLinearGraph) or not network.hidden_widths:
        return _chunk_insens_general(network, x, s, min_norm)
    return _chunk_insens_mlp(network, x, s, min_norm)


def _chunk_insens_mlp(
    network: PiecewiseLinearNetwork, x: FloatArray, s: FloatArray, min_norm: float
) -> InsensSamples:
    """The fused path of a plain MLP (module docstring): Jacobians only for the norms."""
    maps = network.affine_maps
    n_layers = len(network.hidden_widths)
    n, d = x.shape
    min2 = min_norm * min_norm
    used = np.zeros((n, n_layers), dtype=np.int64)
    inactive_all = np.zeros((n, n_layers), dtype=np.int64)
    skipped = np.zeros((n, n_layers), dtype=np.int64)
    total = np.empty((n, d))
    first_u = maps[0].weight * s[None, :]  # (n1, d): ŵ of the first layer in u = x / s
    first_norm2 = np.einsum("kj,kj->k", first_u, first_u)[None, :]
    second = (
        (first_u[:, :, None] * maps[1].weight.T[:, None, :]).reshape(first_u.shape[0], -1)
        if n_layers > 1
        else None
    )  # (n1, d * n2): ŵ of the second layer = gate1 @ second
    # Two reused Jacobian buffers (fresh 10 MB arrays per block cost page faults).
    widest = max(network.hidden_widths[1:], default=0)
    buffers = [np.empty(min(n, FUSED_BLOCK) * d * widest) for _ in range(2)]
    for start in range(0, n, FUSED_BLOCK):
        stop = min(start + FUSED_BLOCK, n)
        m = stop - start
        v = x[start:stop] @ maps[0].weight.T + maps[0].bias
        coefs: list[FloatArray] = []
        gates: list[FloatArray] = []
        jac: FloatArray | None = None
        current = 0  # the buffer holding jac
        for h in range(n_layers):
            if h == 0:
                norm2 = first_norm2
            else:
                gate = gates[-1]
                if jac is None:
                    assert second is not None
                    target = buffers[0][: m * second.shape[1]].reshape(m, -1)
                    jac = np.matmul(gate, second, out=target).reshape(m, d, -1)
                else:
                    # Gate in place, then one GEMM into the other buffer (no allocation).
                    gated = np.multiply(jac, gate[:, None, :], out=jac).reshape(m * d, -1)
                    current = 1 - current
                    target = buffers[current][: m * d * maps[h].n_out].reshape(m * d, -1)
                    jac = np.matmul(gated, maps[h].weight.T, out=target).reshape(m, d, -1)
                v = (v * gate) @ maps[h].weight.T + maps[h].bias
                norm2 = np.einsum("ndk,ndk->nk", jac, jac)
            small = norm2 < min2
            off = v <= 0.0
            take = off & ~small
            inactive_all[start:stop, h] = off.sum(axis=1)
            used[start:stop, h] = take.sum(axis=1)
            skipped[start:stop, h] = (off & small).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                coefs.append(np.where(take, v / norm2, 0.0))
            if h < n_layers - 1:
                gates.append(np.where(v > 0.0, 1.0, network.negative_slopes[h]))
        back = coefs[-1]  # Σ_i coef_i ŵ_i over every layer: one backward pass
        for h in range(n_layers - 2, -1, -1):
            back = (back @ maps[h + 1].weight) * gates[h] + coefs[h]
        total[start:stop] = back @ first_u
    count = used.sum(axis=1)
    empty = count == 0
    omega = np.where(empty[:, None], 0.0, total / np.maximum(count, 1)[:, None])
    return InsensSamples(
        omega=readonly(omega),
        inactive=used,
        all_inactive=inactive_all,
        skipped=skipped,
        empty=empty,
    )


def _chunk_insens_general(
    network: Network, x: FloatArray, s: FloatArray, min_norm: float
) -> InsensSamples:
    """Any network: the layer projections of :func:`iter_layer_projections`."""
    n, d = x.shape
    n_layers = len(network.hidden_widths)
    total = np.zeros((n, d))
    used = np.zeros((n, n_layers), dtype=np.int64)
    inactive_all = np.zeros((n, n_layers), dtype=np.int64)
    skipped = np.zeros((n, n_layers), dtype=np.int64)
    s2 = s * s
    if n_layers:
        for proj in iter_layer_projections(network, x, upto=n_layers):
            index = proj.layer - 1
            w = proj.weights  # (n, d, n_l)
            norm2 = np.matmul(s2, w * w)  # (n, n_l): Σ_j s_j² ŵ_ij²
            small = norm2 < min_norm * min_norm
            off = proj.activity <= 0.0
            take = off & ~small
            inactive_all[:, index] = off.sum(axis=1)
            used[:, index] = take.sum(axis=1)
            skipped[:, index] = (off & small).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                coef = np.where(take, proj.activity / norm2, 0.0)
            # Σ_i coef_i ŵ_i: a batched (d, n_l) @ (n_l,) product per row.
            total += np.matmul(w, coef[:, :, None])[:, :, 0]
    count = used.sum(axis=1)
    empty = count == 0
    omega = np.where(empty[:, None], 0.0, total * s / np.maximum(count, 1)[:, None])
    return InsensSamples(
        omega=readonly(omega),
        inactive=used,
        all_inactive=inactive_all,
        skipped=skipped,
        empty=empty,
    )


def insens(
    network: Network,
    x: FloatArray,
    *,
    scale: FloatArray | None = None,
    min_norm: float = DEFAULT_MIN_NORM,
    chunk_size: int = DEFAULT_PROJECTION_CHUNK,
) -> InsensSamples:
    """Per-sample Insens Ω(x) of every row of x (N, d); keeps (N, d) in memory.

    For large N use :func:`summarize_insens`, which keeps only the summaries.
    """
    array = np.asarray(x, dtype=np.float64)
    s = unit_scale(scale, network.input_dim)
    parts = [
        _chunk_insens(network, array[start : start + chunk_size], s, min_norm)
        for start in range(0, array.shape[0], max(1, chunk_size))
    ]
    if not parts:
        parts = [_chunk_insens(network, array[:0], s, min_norm)]
    return InsensSamples(
        omega=readonly(np.concatenate([p.omega for p in parts])),
        inactive=np.concatenate([p.inactive for p in parts]),
        all_inactive=np.concatenate([p.all_inactive for p in parts]),
        skipped=np.concatenate([p.skipped for p in parts]),
        empty=np.concatenate([p.empty for p in parts]),
    )


@dataclass(frozen=True, slots=True)
class InsensSummary:
    """Data-set summaries of Insens (nothing per sample).

    ``mean_abs`` (d,): mean over samples of |Ω_j|; ``mean_signed`` (d,): mean
    of Ω_j (units of x / scale: standard deviations when scale is the std).
    ``inactive_share_by_layer`` (L,): mean over samples of the share of the
    layer's neurons with v ≤ 0; ``inactive_share``: the same over all hidden
    neurons. ``skipped_by_layer`` (L,): (sample, inactive neuron) pairs skipped for
    ‖ŵ‖ < ε; ``skipped_neurons``: their total; ``skipped_share``: total over
    N × H. ``samples_with_skipped``: samples with at least one skipped neuron.
    ``empty_samples``: samples with no usable inactive neuron (Ω = 0).
    ``mean_neurons_used``: mean |I| per sample. ``data_rows``: the data set's rows when
    the summary was computed on a seeded sample of ``n_samples`` of them (None: every row).
    """

    __pydantic_config__ = JSON_CONFIG

    n_samples: int
    feature_names: tuple[str, ...]
    mean_abs: tuple[Float, ...]
    mean_signed: tuple[Float, ...]
    hidden_widths: tuple[int, ...]
    inactive_share_by_layer: tuple[Float, ...]
    inactive_share: Float
    skipped_by_layer: tuple[int, ...]
    skipped_neurons: int
    skipped_share: Float
    samples_with_skipped: int
    empty_samples: int
    mean_neurons_used: Float
    min_norm: Float
    scaled: bool
    data_rows: int | None = field(default=None, metadata=OMIT_IF_NONE)


def sample_rows(n_rows: int, max_rows: int, seed: int) -> Int64Array | None:
    """The seeded sample of at most ``max_rows`` of ``n_rows`` rows, in data order (None:
    every row is used). Deterministic: ``numpy.random.default_rng(seed)``, no replacement."""
    if n_rows <= max_rows:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False)).astype(np.int64)


def summarize_insens(
    network: Network,
    x: FloatArray,
    feature_names: Sequence[str],
    *,
    scale: FloatArray | None = None,
    min_norm: float = DEFAULT_MIN_NORM,
    chunk_size: int = DEFAULT_PROJECTION_CHUNK,
    max_rows: int | None = None,
    seed: int = 0,
) -> InsensSummary:
    """Stream Insens over x (N, d) in chunks and return its summaries (bounded memory).

    ``max_rows``: above this many rows, the summaries are computed on the seeded sample
    :func:`sample_rows` (``seed``) and ``data_rows`` records N.
    """
    data_rows = int(np.shape(x)[0])
    rows = None if max_rows is None else sample_rows(data_rows, max_rows, seed)
    array = np.asarray(x if rows is None else np.asarray(x)[rows], dtype=np.float64)
    s = unit_scale(scale, network.input_dim)
    n, d = array.shape
    widths = np.asarray(network.hidden_widths, dtype=np.float64)
    n_layers = len(network.hidden_widths)
    sum_abs = np.zeros(d)
    sum_signed = np.zeros(d)
    inactive_share_sum = np.zeros(n_layers)
    inactive_total = 0.0
    skipped = np.zeros(n_layers, dtype=np.int64)
    with_skipped = 0
    empty = 0
    used_sum = 0
    for start in range(0, n, max(1, chunk_size)):
        part = _chunk_insens(network, array[start : start + chunk_size], s, min_norm)
        progress.advance(part.omega.shape[0])
        sum_abs += np.abs(part.omega).sum(axis=0)
        sum_signed += part.omega.sum(axis=0)
        if n_layers:
            inactive_share_sum += (part.all_inactive / widths).sum(axis=0)
            inactive_total += float((part.all_inactive.sum(axis=1) / widths.sum()).sum())
        skipped += part.skipped.sum(axis=0)
        with_skipped += int((part.skipped.sum(axis=1) > 0).sum())
        empty += int(part.empty.sum())
        used_sum += int(part.inactive.sum())
    denominator = max(n, 1)
    hidden = int(widths.sum())
    return InsensSummary(
        n_samples=n,
        feature_names=tuple(str(f) for f in feature_names),
        mean_abs=tuple(float(v) for v in sum_abs / denominator),
        mean_signed=tuple(float(v) for v in sum_signed / denominator),
        hidden_widths=tuple(network.hidden_widths),
        inactive_share_by_layer=tuple(float(v) for v in inactive_share_sum / denominator),
        inactive_share=inactive_total / denominator,
        skipped_by_layer=tuple(int(v) for v in skipped),
        skipped_neurons=int(skipped.sum()),
        skipped_share=float(skipped.sum()) / max(n * hidden, 1),
        samples_with_skipped=with_skipped,
        empty_samples=empty,
        mean_neurons_used=used_sum / denominator,
        min_norm=float(min_norm),
        scaled=scale is not None,
        data_rows=None if rows is None else data_rows,
    )
