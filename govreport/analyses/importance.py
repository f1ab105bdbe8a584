"""Feature importance from the local linear models (ALGORITHMS.md §1.4).

The headline importance, used everywhere in the report (tables, figures, the
features profiled, the clusters): the *scaled effect*
E_j = (1/N) Σ_i |w_j(x_i) · s_j|, the mean over the training clients of the absolute
change in the output logit (log-odds for a classifier) that a one-standard-deviation
move of feature j produces under the client's own local linear model; s_j is the one
feature scale (:func:`govreport.analyses.context.feature_scale`, the population standard
deviation, not a robust scale). It is exact at one region per client, comparable across
features whatever their unit, and as a mean of absolute values it is not dominated by a
few regions with extreme slopes the way a mean of squares is. ``share_pct`` is E_j as a
share of Σ_k E_k.

Kept alongside in results.json: Aletheia's importance FI_j = 100 · Σ_r n_r w_rj² /
Σ_k Σ_r n_r w_rk² (per cent, per output logit; ``raw_pct``, which depends on the
features' units) and the same with w_rj · s_j (``scaled_pct``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from govreport.analyses.context import AnalysisContext
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray
from govreport.regions import RegionTable

NOTE = (
    "headline (effect, share_pct): mean over training clients of |w_j(x_i) * sd_j|, the "
    "change in the output logit for a one-standard-deviation move under the client's own "
    "local model (sd: population standard deviation), and its share of the sum over "
    "features; raw: Aletheia's FI_j = 100 * sum_r n_r w_rj^2 / sum_k sum_r n_r w_rk^2 on "
    "the features' own units; scaled: the same with w_rj * sd_j."
)


@dataclass(frozen=True, slots=True)
class FeatureImportance:
    """Importance of one feature for one output.

    ``effect``: the headline, mean |coefficient × sd| over the training clients (logit per
    standard deviation); ``share_pct``: its share of the sum over features (per cent);
    ``raw_pct``/``scaled_pct``: Aletheia's squared importance, raw and scaled (per cent).
    """

    __pydantic_config__ = JSON_CONFIG

    name: str
    raw_pct: Float
    scaled_pct: Float
    effect: Number = field(default=None, metadata=OMIT_IF_NONE)
    share_pct: Number = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class OutputImportance:
    """Importances of all features for output ``output``, sorted by the headline ``effect``
    descending (ties by feature order)."""

    __pydantic_config__ = JSON_CONFIG

    output: str
    features: tuple[FeatureImportance, ...]


@dataclass(frozen=True, slots=True)
class ImportanceResult:
    """Importance per output (output order) and how it is computed."""

    __pydantic_config__ = JSON_CONFIG

    outputs: tuple[OutputImportance, ...]
    note: str = NOTE


def _percent(weighted_squares: FloatArray) -> FloatArray:
    total = weighted_squares.sum()
    if total == 0.0:
        return np.zeros_like(weighted_squares)
    return 100.0 * weighted_squares / total


#: Regions per block of the count-weighted sums (bounds the temporaries: a block of
#: squared or scaled weights, never a copy of the whole (R, K, d) table).
REGION_BLOCK = 65_536


def _count_weighted_sum(
    table: RegionTable, per_block: Callable[[FloatArray], FloatArray]
) -> FloatArray:
    """Σ_r counts_r · per_block(weights)_r over the regions, block by block: (K, d)."""
    counts = table.counts.astype(np.float64)
    total = np.zeros(table.weights.shape[1:])
    for start in range(0, len(counts), REGION_BLOCK):
        stop = start + REGION_BLOCK
        total += np.einsum("r,rkd->kd", counts[start:stop], per_block(table.weights[start:stop]))
    return total


def importance_percent(table: RegionTable, scale: FloatArray | None = None) -> FloatArray:
    """FI per output and feature: (K, d) per cent. ``scale``: (d,) multipliers of w, or None."""
    if scale is None:
        weighted = _count_weighted_sum(table, lambda weights: weights**2)
    else:
        weighted = _count_weighted_sum(table, lambda weights: (weights * scale) ** 2)
    return np.stack([_percent(row) for row in weighted])


def scaled_effect(table: RegionTable, scale: FloatArray) -> FloatArray:
    """Headline importance per output and feature: (K, d) mean over the samples of
    |w_kj · scale_j| (each sample through its region's coefficients; ``scale``: (d,))."""
    counts = table.counts.astype(np.float64)
    total = counts.sum()
    if total == 0.0:
        return np.zeros(table.weights.shape[1:])
    summed = _count_weighted_sum(table, np.abs)
    return np.asarray(summed * scale / total, dtype=np.float64)


def feature_importance(
    table: RegionTable,
    feature_std: FloatArray,
    feature_names: Sequence[str],
    output_names: Sequence[str],
) -> tuple[OutputImportance, ...]:
    """Headline, raw and scale-aware importance per output; feature_std: (d,) feature scale."""
    raw = importance_percent(table)
    scaled = importance_percent(table, feature_std)
    effect = scaled_effect(table, feature_std)
    share = np.stack([_percent(row) for row in effect]) if effect.size else effect
    result = []
    for output, name in enumerate(output_names):
        order = sorted(range(len(feature_names)), key=lambda j: (-effect[output, j], j))
        result.append(
            OutputImportance(
                output=name,
                features=tuple(
                    FeatureImportance(
                        name=feature_names[j],
                        raw_pct=float(raw[output, j]),
                        scaled_pct=float(scaled[output, j]),
                        effect=float(effect[output, j]),
                        share_pct=float(share[output, j]),
                    )
                    for j in order
                ),
            )
        )
    return tuple(result)


def run(ctx: AnalysisContext) -> ImportanceResult:
    """Importance on the training regions, scale-aware with ``ctx.feature_scale``."""
    table = ctx.train.extraction.table
    return ImportanceResult(
        outputs=feature_importance(table, ctx.feature_scale, ctx.feature_names, ctx.output_names)
    )


def observed(result: ImportanceResult) -> dict[MetricKey, float]:
    """No policy metric reads the importance (yet)."""
    return {}


def headline(feature: FeatureImportance) -> float:
    """The headline importance of ``feature`` (its scaled effect; for results written before
    it existed, Aletheia's scaled importance)."""
    return float(feature.effect if feature.effect is not None else feature.scaled_pct)


def by_headline_importance(result: ImportanceResult) -> list[FeatureImportance]:
    """Features of output 0 by the headline importance, largest first (stable)."""
    return sorted(result.outputs[0].features, key=lambda f: -headline(f))


#: The features' order everywhere in the report is the headline's (kept name for callers).
by_scaled_importance = by_headline_importance
