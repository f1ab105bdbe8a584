"""Feature importance from the local linear models (ALGORITHMS.md §1.4).

Aletheia's importance: FI_j = 100 · Σ_r n_r w_rj² / Σ_k Σ_r n_r w_rk² (per cent,
per output logit). Equivalently the sum over samples of their region's squared
coefficient, so it is exact at one region per sample. Raw coefficients depend
on the feature's unit, so a scale-aware variant replaces w_rj by w_rj · std_j
(the effect of a one-standard-deviation change); the report shows both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from govreport.analyses.context import AnalysisContext
from govreport.jsontypes import JSON_CONFIG, Float
from govreport.metrics import MetricKey
from govreport.network import FloatArray
from govreport.regions import RegionTable

NOTE = (
    "raw: Aletheia's FI_j = 100 * sum_r n_r w_rj^2 / sum_k sum_r n_r w_rk^2 on "
    "the features' own units; scaled: the same with w_rj * std_j (effect of "
    "one standard deviation)."
)


@dataclass(frozen=True, slots=True)
class FeatureImportance:
    """Importance of one feature for one output, in per cent (sums to 100 over features)."""

    __pydantic_config__ = JSON_CONFIG

    name: str
    raw_pct: Float
    scaled_pct: Float


@dataclass(frozen=True, slots=True)
class OutputImportance:
    """Importances of all features for output ``output``, sorted by ``raw_pct`` descending."""

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


def importance_percent(table: RegionTable, scale: FloatArray | None = None) -> FloatArray:
    """FI per output and feature: (K, d) per cent. ``scale``: (d,) multipliers of w, or None."""
    weights = table.weights if scale is None else table.weights * scale
    weighted = np.einsum("r,rkd->kd", table.counts.astype(np.float64), weights**2)
    return np.stack([_percent(row) for row in weighted])


def feature_importance(
    table: RegionTable,
    feature_std: FloatArray,
    feature_names: Sequence[str],
    output_names: Sequence[str],
) -> tuple[OutputImportance, ...]:
    """Raw and scale-aware importance per output; feature_std: (d,) feature scale."""
    raw = importance_percent(table)
    scaled = importance_percent(table, feature_std)
    result = []
    for output, name in enumerate(output_names):
        order = sorted(range(len(feature_names)), key=lambda j: (-raw[output, j], j))
        result.append(
            OutputImportance(
                output=name,
                features=tuple(
                    FeatureImportance(
                        name=feature_names[j],
                        raw_pct=float(raw[output, j]),
                        scaled_pct=float(scaled[output, j]),
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


def by_scaled_importance(result: ImportanceResult) -> list[FeatureImportance]:
    """Features of output 0 by scale-aware importance, largest first (ties: raw order)."""
    return sorted(result.outputs[0].features, key=lambda f: -f.scaled_pct)
