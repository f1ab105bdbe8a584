"""Pipeline glue of the Aletheia diagnostics (issue 3): one call from run_pipeline.

Runs :mod:`govreport.analyses.aletheia` on the extracted regions and returns the
results fragments plus the observed policy metrics. Kept out of ``pipeline.py`` so the
pipeline wires it with a few lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from govreport.analyses.aletheia import (
    aletheia_plot_data,
    coefficient_distributions,
    dummy_census,
    exposure_table,
)
from govreport.analyses.importance import OutputImportance
from govreport.inputs.data import Dataset, Task
from govreport.metrics import MetricKey
from govreport.regions import RegionExtraction
from govreport.results import to_jsonable

#: Features drawn in the parallel-coordinate plot and in the pair/intercept plots.
PARALLEL_FEATURES = 10
PAIR_FEATURES = 4


@dataclass(frozen=True, slots=True)
class AletheiaStage:
    """``regions``: per data set, keys to merge into ``results["regions"][name]``
    (``census`` keys merged into the census); ``results``: top-level keys
    (``coefficients``, ``aletheia_plots``); ``observed``: policy metrics."""

    regions: dict[str, dict[str, Any]]
    results: dict[str, Any]
    observed: dict[MetricKey, float]


def _best_global(rows: Sequence[dict[str, Any]]) -> float | None:
    values = [float(r["global_metric"]) for r in rows if r.get("global_metric") is not None]
    return max(values) if values else None


def run_aletheia(
    *,
    task: Task,
    train: tuple[Dataset, RegionExtraction, dict[str, Any], dict[str, float]],
    test: tuple[Dataset, RegionExtraction, dict[str, Any], dict[str, float]] | None,
    importance: Sequence[OutputImportance],
    output_names: Sequence[str],
    top_regions: int,
    profile_regions: int,
    disclosure_min_samples: int,
) -> AletheiaStage:
    """All Aletheia diagnostics. ``train``/``test``: (dataset, extraction, regions
    document, observed metrics) as built by the pipeline for that data set."""
    train_data, train_ex, train_doc, train_metrics = train
    regions: dict[str, dict[str, Any]] = {}
    observed: dict[MetricKey, float] = {}
    for data, extraction in [(train_data, train_ex)] + ([(test[0], test[1])] if test else []):
        dummy = dummy_census(extraction.table)
        regions[data.name] = {"census": to_jsonable(dummy)}
        if not np.isnan(dummy.dummy_share):
            observed[("regions.dummy_share", data.name)] = dummy.dummy_share
    names = list(train_data.feature_names)
    std = train_data.x.std(axis=0)
    coefficients = coefficient_distributions(train_ex.table, std, names, output_names)
    by_scaled = sorted(importance[0].features, key=lambda f: -f.scaled_pct)
    ranked = [(names.index(f.name), f.scaled_pct) for f in by_scaled]
    plots = aletheia_plot_data(
        train_ex.table,
        std,
        names,
        output_name=output_names[0],
        parallel_features=ranked[:PARALLEL_FEATURES],
        parallel_regions=profile_regions,
        pair_features=ranked[:PAIR_FEATURES],
        pair_regions=top_regions,
        disclosure_min_samples=disclosure_min_samples,
    )
    if task == "binary":
        best = _best_global(train_doc["summary_table"]["rows"])
        if best is not None:
            observed[("summary.top_region_global_auc_max", "train")] = best
            if "performance.auc" in train_metrics:
                gain = train_metrics["performance.auc"] - best
                observed[("summary.auc_gain_over_best_region", "train")] = gain
    if test is not None:
        test_data, test_ex, _test_doc, test_metrics = test
        exposure = to_jsonable(
            exposure_table(train_ex, test_ex, test_data.x, test_data.y, task=task, top=top_regions)
        )
        regions[test_data.name]["exposure_table"] = exposure
        if task == "binary":
            best = _best_global(exposure["rows"])
            if best is not None:
                observed[("summary.top_region_global_auc_max", test_data.name)] = best
                if "performance.auc" in test_metrics:
                    gain = test_metrics["performance.auc"] - best
                    observed[("summary.auc_gain_over_best_region", test_data.name)] = gain
    return AletheiaStage(
        regions=regions,
        results={
            "coefficients": {
                **to_jsonable(coefficients),
                "note": "raw: the local coefficient w_rj of each sample's region, in logit "
                "(output) units per unit of feature j; scaled: w_rj * std_j, per standard "
                "deviation of feature j. Distributions are over samples (each region "
                "weighted by its sample count), exact.",
            },
            "aletheia_plots": to_jsonable(plots),
        },
        observed=observed,
    )
