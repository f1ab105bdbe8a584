"""Registry of the metric ids a policy may reference.

Every number the analyses produce that a policy check can bound has a stable id
here, with a description, a unit and the direction in which it is better. The
pipeline reports observed values keyed by ``(metric_id, dataset)``; ``dataset``
is ``"train"``, ``"test"``, ``"oot"`` (out-of-time)
or ``""`` for metrics that are not tied to a data set.
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
        "simplification.macro_auc",
        "macro one-vs-rest ROC AUC of the merged model (multiclass)",
        "AUC",
        "higher",
        True,
    ),
    MetricSpec(
        "simplification.min_class_auc",
        "lowest one-vs-rest ROC AUC of the merged model over the classes (multiclass)",
        "AUC",
        "higher",
        True,
    ),
    MetricSpec(
        "simplification.macro_auc_drop",
        "network macro AUC minus merged-model macro AUC on the same data (multiclass; "
        "positive = the merged model is worse)",
        "AUC",
        "lower",
        True,
    ),
    MetricSpec(
        "simplification.accuracy",
        "accuracy of the merged model's decisions (probability > 0.5; multiclass: the most "
        "probable class)",
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
        "(probability > 0.5; binary) or predicts the same class (multiclass)",
        "share",
        "higher",
        True,
    ),
    MetricSpec(
        "simplification.fidelity_logit_corr",
        "Pearson correlation between the merged model's and the network's logits (outputs "
        "for regression; multiclass: logits centred over the classes, all classes pooled)",
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
        "simplification.fidelity_kappa",
        "Cohen's kappa between the merged model's and the network's decisions (probability "
        "> 0.5; binary, or predicted class; multiclass): agreement beyond what a constant "
        "model achieves by chance, 0 for a constant model, 1 for identical decisions",
        "kappa",
        "higher",
        True,
    ),
    MetricSpec(
        "simplification.fidelity_baseline_agreement",
        "agreement with the network's decisions of a constant model that always takes the "
        "network's more frequent decision (binary; multiclass: most frequent class): the "
        "floor fidelity_agreement must beat",
        "share",
        "none",
        True,
    ),
    MetricSpec(
        "simplification.fidelity_positive_recall",
        "share of the network's positive decisions (probability > 0.5) the merged model "
        "also makes (binary; undefined when the network makes none)",
        "share",
        "higher",
        True,
    ),
    MetricSpec(
        "simplification.fidelity_auc",
        "ROC AUC of the merged model's logit as a score for the network's decisions "
        "(label: network probability > 0.5; binary); multiclass: macro one-vs-rest AUC of "
        "the merged model's probabilities for the network's predicted classes",
        "AUC",
        "higher",
        True,
    ),
)


# Outcomes, uncertainty and challengers (govreport.analyses.outcomes/uncertainty/challengers).
_OUTCOMES_SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "outcomes.ks",
        "Kolmogorov-Smirnov statistic: the largest gap between the score distributions of "
        "the two classes, max(TPR - FPR) (binary)",
        "share",
        "higher",
        True,
    ),
    MetricSpec("outcomes.gini", "Gini coefficient 2 AUC - 1 (binary)", "Gini", "higher", True),
    MetricSpec(
        "outcomes.brier",
        "Brier score: mean squared difference between predicted probability and outcome "
        "(multiclass: summed over classes)",
        "probability²",
        "lower",
        True,
    ),
    MetricSpec(
        "outcomes.brier_skill",
        "1 - Brier / Brier of always predicting the base rate (binary; 0 = no better than "
        "the base rate)",
        "share",
        "higher",
        True,
    ),
    MetricSpec(
        "outcomes.hl_p",
        "p-value of the Hosmer-Lemeshow test over deciles of predicted probability "
        "(binary; small = predicted and observed rates disagree beyond chance)",
        "p-value",
        "higher",
        True,
    ),
    MetricSpec(
        "outcomes.spiegelhalter_p",
        "two-sided p-value of Spiegelhalter's z test of calibration (binary)",
        "p-value",
        "higher",
        True,
    ),
    MetricSpec(
        "outcomes.max_decile_gap",
        "largest |observed rate - mean predicted probability| over the deciles of predicted "
        "probability (binary)",
        "probability",
        "lower",
        True,
    ),
    MetricSpec(
        "outcomes.mean_calibration",
        "calibration in the large: mean prediction minus mean outcome (binary: mean "
        "probability - observed rate; "
        "regression: mean residual)",
        "target unit",
        "none",
        True,
    ),
    MetricSpec(
        "outcomes.majority_accuracy",
        "accuracy of always predicting the majority class (the base rate an accuracy is read "
        "against)",
        "share",
        "none",
        True,
    ),
    MetricSpec(
        "outcomes.accuracy_lift",
        "network accuracy minus the accuracy of always predicting the majority class",
        "share",
        "higher",
        True,
    ),
    MetricSpec(
        "uncertainty.auc_ci_width",
        "width of the 95% bootstrap confidence interval of the network's AUC (binary)",
        "AUC",
        "lower",
        True,
    ),
    MetricSpec(
        "benchmark.auc_gain",
        "network AUC minus the best challenger's AUC on the holdout data (test, else "
        "train); challengers: logistic regression and gradient boosting (binary)",
        "AUC",
        "higher",
        True,
    ),
    MetricSpec(
        "benchmark.delong_p",
        "two-sided p-value of DeLong's test of the network's AUC against the best "
        "challenger's on the same holdout rows (binary)",
        "p-value",
        "none",
        True,
    ),
    MetricSpec(
        "benchmark.accuracy_gain",
        "network accuracy minus the best challenger's accuracy on the holdout data "
        "(classification)",
        "share",
        "higher",
        True,
    ),
    MetricSpec(
        "benchmark.rmse_gain",
        "best challenger's RMSE minus the network's RMSE on the holdout data (regression; "
        "positive = the network is better)",
        "target unit",
        "higher",
        True,
    ),
)

#: Metrics with a confidence interval: a check on them may set ``on: lower_ci`` or
#: ``on: upper_ci`` (bootstrap intervals; DeLong's interval for benchmark.auc_gain).
INTERVAL_METRICS: frozenset[str] = frozenset(
    {
        "performance.auc",
        "performance.accuracy",
        "performance.log_loss",
        "performance.rmse",
        "performance.mae",
        "performance.r2",
        "outcomes.brier",
        "outcomes.ks",
        "outcomes.gini",
        "benchmark.auc_gain",
    }
)


# Data quality, stability and fairness (govreport.analyses.data_quality, stability, fairness).
_DATA_SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "data.outside_dictionary_share",
        "largest share, over the features, of values outside the data dictionary's codes or "
        "range (not computed without a dictionary)",
        "share",
        "lower",
        True,
    ),
    MetricSpec(
        "data.duplicate_share",
        "share of rows repeating an earlier row in every feature and the target",
        "share",
        "lower",
        True,
    ),
    MetricSpec(
        "data.conflicting_label_share",
        "share of rows whose inputs also occur with a different label",
        "share",
        "lower",
        True,
    ),
    MetricSpec(
        "data.outlier_share_max",
        "largest share, over the continuous features, of values with |robust z| > 3.5",
        "share",
        "lower",
        True,
    ),
    MetricSpec(
        "data.psi_max",
        "largest population stability index, over the features, between the training data "
        "and the data set (10 bins from training deciles)",
        "PSI",
        "lower",
        True,
    ),
    MetricSpec(
        "data.ks_max",
        "largest two-sample Kolmogorov-Smirnov statistic, over the features, between the "
        "training data and the data set",
        "KS",
        "lower",
        True,
    ),
    MetricSpec(
        "score.psi",
        "population stability index of the network's score (first output before the link; "
        "for a multiclass model, the class probability that shifted most) between the "
        "training data and the data set",
        "PSI",
        "lower",
        True,
    ),
    MetricSpec(
        "score.ks",
        "two-sample Kolmogorov-Smirnov statistic of the network's score (for a multiclass "
        "model, of the class probability that shifted most) between the training data and the "
        "data set",
        "KS",
        "lower",
        True,
    ),
    MetricSpec(
        "fairness.flip_share",
        "largest share, over the protected features, of clients whose predicted probability "
        "moves by more than 2 percentage points when only the protected value changes",
        "share",
        "lower",
        True,
    ),
    MetricSpec(
        "fairness.air_min",
        "smallest adverse impact ratio (favourable-outcome rate of a group over that of the "
        "most favoured group, at the operating cut-off) over the protected groups",
        "ratio",
        "higher",
        True,
    ),
    MetricSpec(
        "fairness.smd_max",
        "largest |standardised mean difference| of the predicted probability between a "
        "protected group and the most favoured group",
        "SD",
        "lower",
        True,
    ),
    MetricSpec(
        "fairness.auc_gap",
        "largest difference in AUC between two protected groups of one feature",
        "AUC",
        "lower",
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
        "share of samples whose activation pattern never occurs in the training data "
        "(information: at about one region per sample nearly every pattern is new, which "
        "is not a move outside the data)",
        "share",
        "none",
        True,
    ),
    MetricSpec(
        "exposure.extrapolation_share",
        "share of holdout rows farther from the training data than 99% of training rows "
        "are from each other: distance to the 5th nearest training row over standardised "
        "features, against the training rows' leave-one-out distances (about 0.01 when "
        "the holdout is drawn like the training data)",
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
        "performance.min_class_auc",
        "lowest one-vs-rest ROC AUC over the classes (multiclass classification): the class "
        "the network separates worst from the others",
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
        "largest share of clients, over the features the check constrains "
        "(params.expected) and among those in each feature's domain (params.where), with a "
        "material wrong-way effect: an exact one-step change (discrete features, "
        "params.coded or the data dictionary) or exact slope times one std (continuous) "
        "larger than params.materiality",
        "share",
        "lower",
        True,
        ("expected", "output", "where", "coded", "materiality"),
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
    *_DATA_SPECS,
    *_OUTCOMES_SPECS,
)

SIGN_VIOLATION_METRIC = "slopes.sign_violation_share"
"""The metric of sign constraints; its value depends on the check's ``params``."""

METRICS: dict[str, MetricSpec] = {spec.metric_id: spec for spec in _SPECS}

DATASETS: tuple[str, ...] = ("train", "test", "oot")

MetricKey = tuple[str, str]
"""``(metric_id, dataset)``; dataset is ``""`` for metrics not tied to a data set."""
