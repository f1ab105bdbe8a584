"""Registry of the metric ids a policy may reference.

Every number the analyses produce that a policy check can bound has a stable id
here, with a description, a unit and the direction in which it is better. The
pipeline reports observed values keyed by ``(metric_id, dataset)``; ``dataset``
is ``"train"``, ``"test"`` or ``""`` for metrics that are not tied to a data set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower", "none"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """Description of one metric id."""

    metric_id: str
    description: str
    unit: str
    better: Direction
    per_dataset: bool


_SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "model.conversion_max_abs_error",
        "max |canonical network logit - source torch model logit| over the training rows, "
        "both in float64",
        "logit",
        "lower",
        False,
    ),
    MetricSpec(
        "regions.max_abs_error",
        "max |w_r.x + b_r - network logit| over all samples (exactness of the local linear models)",
        "logit",
        "lower",
        True,
    ),
    MetricSpec(
        "regions.count",
        "number of distinct activation regions among the samples",
        "regions",
        "none",
        True,
    ),
    MetricSpec(
        "regions.per_sample",
        "number of regions divided by number of samples (1 = every sample alone)",
        "ratio",
        "lower",
        True,
    ),
    MetricSpec(
        "regions.singleton_share",
        "share of regions that hold exactly one sample",
        "share",
        "lower",
        True,
    ),
    MetricSpec(
        "regions.min_samples_coverage",
        "share of samples in regions holding at least min_samples samples",
        "share",
        "higher",
        True,
    ),
    MetricSpec(
        "regions.top10_coverage",
        "share of samples in the 10 largest regions",
        "share",
        "higher",
        True,
    ),
    MetricSpec(
        "regions.unseen_share",
        "share of samples whose activation pattern never occurs in the training data",
        "share",
        "lower",
        True,
    ),
    MetricSpec(
        "neurons.dead_share",
        "share of hidden neurons that are never active on the data set",
        "share",
        "lower",
        True,
    ),
    MetricSpec(
        "performance.auc", "ROC AUC of the network (binary classification)", "AUC", "higher", True
    ),
    MetricSpec(
        "performance.accuracy", "accuracy of the network's decisions", "share", "higher", True
    ),
    MetricSpec(
        "performance.log_loss",
        "mean log loss of the network's probabilities",
        "nats",
        "lower",
        True,
    ),
    MetricSpec(
        "performance.rmse", "root mean squared error (regression)", "target unit", "lower", True
    ),
    MetricSpec(
        "performance.mae",
        "mean absolute error (regression)",
        "target unit",
        "lower",
        True,
    ),
    MetricSpec(
        "performance.r2", "coefficient of determination (regression)", "R^2", "higher", True
    ),
)

METRICS: dict[str, MetricSpec] = {spec.metric_id: spec for spec in _SPECS}

DATASETS: tuple[str, ...] = ("train", "test")

MetricKey = tuple[str, str]
"""``(metric_id, dataset)``; dataset is ``""`` for metrics not tied to a data set."""
