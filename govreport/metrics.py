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
    #: Names of the ``params`` a check on this metric accepts (empty: the metric takes none).
    params: tuple[str, ...] = ()


# Simplification (merged local linear models, govreport.analyses.simplify).
_SIMPLIFICATION_SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "simplification.n_models",
        "number of linear models of the merged (simplified) model, after absorbing small clusters",
        "models",
        "lower",
        False,
    ),
    MetricSpec("simplification.auc", "ROC AUC of the merged model (binary)", "AUC", "higher", True),
    MetricSpec(
        "simplification.accuracy",
        "accuracy of the merged model's decisions (probability > 0.5)",
        "share",
        "higher",
        True,
    ),
    MetricSpec(
        "simplification.log_loss", "mean log loss of the merged model", "nats", "lower", True
    ),
    MetricSpec(
        "simplification.rmse", "RMSE of the merged model (regression)", "target unit", "lower", True
    ),
    MetricSpec(
        "simplification.mae", "MAE of the merged model (regression)", "target unit", "lower", True
    ),
    MetricSpec("simplification.r2", "R^2 of the merged model (regression)", "R^2", "higher", True),
    MetricSpec(
        "simplification.auc_drop",
        "network AUC minus merged-model AUC on the same data (positive = the merged model is "
        "worse)",
        "AUC",
        "lower",
        True,
    ),
    MetricSpec(
        "simplification.rmse_increase",
        "merged-model RMSE minus network RMSE on the same data (regression)",
        "target unit",
        "lower",
        True,
    ),
    MetricSpec(
        "simplification.fidelity_agreement",
        "share of samples where the merged model and the network make the same decision "
        "(probability > 0.5; binary)",
        "share",
        "higher",
        True,
    ),
    MetricSpec(
        "simplification.fidelity_logit_corr",
        "Pearson correlation between the merged model's and the network's logits (outputs "
        "for regression)",
        "correlation",
        "higher",
        True,
    ),
    MetricSpec(
        "simplification.fidelity_logit_rmse",
        "RMSE of merged-model logit minus network logit (outputs for regression)",
        "logit",
        "lower",
        True,
    ),
    MetricSpec(
        "simplification.fidelity_auc",
        "ROC AUC of the merged model's logit as a score for the network's decisions "
        "(label: network probability > 0.5; binary)",
        "AUC",
        "higher",
        True,
    ),
)


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
        "regions.dummy_share",
        "share of regions with at least two samples whose response is constant "
        "(pure-label 'dummy' regions, response std 0; Sudjianto et al. 2020)",
        "share",
        "lower",
        True,
    ),
    MetricSpec(
        "summary.top_region_global_auc_max",
        "best AUC of a single training region's local linear model applied to every sample "
        "of the data set, over the --top-regions largest training regions (binary only)",
        "AUC",
        "none",
        True,
    ),
    MetricSpec(
        "summary.auc_gain_over_best_region",
        "network AUC minus summary.top_region_global_auc_max: what the network gains over "
        "its best single local linear model (binary only)",
        "AUC",
        "higher",
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
        "clusters.main_coverage",
        "share of training samples in the main clusters (support >= s_min) of the grouping "
        "the cluster feature importance uses (identical patterns, merged or fallback)",
        "share",
        "higher",
        True,
    ),
    MetricSpec(
        "clusters.main_count",
        "number of main clusters (support >= s_min) of the grouping the cluster feature "
        "importance uses",
        "clusters",
        "none",
        True,
    ),
    MetricSpec(
        "clusters.identical_coverage",
        "share of training samples in identical-activation-pattern clusters holding at least "
        "s_min = max(min_samples, 1% of the samples) samples",
        "share",
        "higher",
        True,
    ),
    MetricSpec(
        "performance.auc", "ROC AUC of the network (binary classification)", "AUC", "higher", True
    ),
    MetricSpec(
        "performance.macro_auc",
        "macro-averaged one-vs-rest ROC AUC of the network (multiclass classification)",
        "AUC",
        "higher",
        True,
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
    MetricSpec(
        "slopes.sign_violation_share",
        "largest share of samples, over the features the check constrains "
        "(params.expected), whose exact local slope has the wrong sign",
        "share",
        "lower",
        True,
        ("expected", "output"),
    ),
    MetricSpec(
        "insens.inactive_share",
        "mean over samples of the share of hidden neurons that are inactive (v <= 0), the "
        "neurons Insens averages over (Szymanski et al. 2019)",
        "share",
        "none",
        True,
    ),
    MetricSpec(
        "insens.skipped_neurons",
        "(sample, hidden neuron) pairs left out of Insens because the neuron's switched "
        "projection is zero (every path from the input switched off upstream)",
        "pairs",
        "lower",
        True,
    ),
    MetricSpec(
        "insens.empty_share",
        "share of samples with no usable inactive hidden neuron (Insens set to 0)",
        "share",
        "lower",
        True,
    ),
    *(
        MetricSpec(
            f"attribution.stability_cosine_{method}",
            f"mean cosine similarity between the {label} attribution of a sample and of the "
            "sample plus Gaussian noise of 0.05 standard deviations per feature (seeded "
            "subsample of the test data, else the training data)",
            "cosine",
            "higher",
            False,
        )
        for method, label in (
            ("insens", "Insens"),
            ("gradient", "gradient (local linear model)"),
            ("gradient_x_input", "gradient x input"),
            ("integrated_gradients", "Integrated Gradients"),
        )
    ),
    MetricSpec(
        "attribution.masked_noise_gap_insens",
        "performance loss when noise hits the 25% of features Insens ranks most important, "
        "minus the loss when it hits the 25% it ranks least important (AUC/accuracy drop or "
        "RMSE increase; positive = the ranking is faithful)",
        "metric units",
        "higher",
        False,
    ),
    *_SIMPLIFICATION_SPECS,
)

SIGN_VIOLATION_METRIC = "slopes.sign_violation_share"
"""The metric of sign constraints; its value depends on the check's ``params``."""

METRICS: dict[str, MetricSpec] = {spec.metric_id: spec for spec in _SPECS}

DATASETS: tuple[str, ...] = ("train", "test")

MetricKey = tuple[str, str]
"""``(metric_id, dataset)``; dataset is ``""`` for metrics not tied to a data set."""
