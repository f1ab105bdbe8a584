"""Pipeline glue of cluster feature importance (issue 4, Picchiotti & Gori 2021).

One call from ``run_pipeline``: runs :func:`govreport.analyses.clusters.cluster_importance`
on the training regions and returns the ``results["clusters"]`` fragment plus the observed
policy metrics (keyed ``(metric_id, "train")``).

A coarser grouping from the merging analysis (Aletheia §1.6) can be passed as ``merged``;
its labels are per training *sample*. A per-region labelling ``labels_r`` (R,) becomes
per-sample labels as ``labels_r[extraction.sample_regions]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from govreport.analyses.clusters import MergedGrouping, cluster_importance, observed_metrics
from govreport.inputs.data import Task
from govreport.metrics import MetricKey
from govreport.network import FloatArray
from govreport.regions import RegionExtraction
from govreport.results import to_jsonable


def run_clusters(
    *,
    task: Task,
    extraction: RegionExtraction,
    x: FloatArray,
    feature_names: Sequence[str],
    output_names: Sequence[str],
    min_samples: int,
    disclosure_min_samples: int,
    merged: MergedGrouping | None = None,
) -> tuple[dict[str, Any], dict[MetricKey, float]]:
    """``(results["clusters"] fragment, observed metrics)`` for the training data."""
    analysis = cluster_importance(
        extraction,
        x,
        task=task,
        feature_names=feature_names,
        output_names=output_names,
        min_samples=min_samples,
        disclosure_min_samples=disclosure_min_samples,
        merged=merged,
    )
    document = to_jsonable(analysis)
    document["dataset"] = "train"
    observed = {(key, "train"): value for key, value in observed_metrics(analysis).items()}
    return document, observed
