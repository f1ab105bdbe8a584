"""Appendix E, glossary: every term and symbol the body uses, in plain words.

The list is fixed text (it does not depend on the run); it is kept here rather than in the
template so that tests can check that the body's symbols are all defined.
"""

from __future__ import annotations

from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.text import Numbering
from govreport.results.schema import Results

__all__ = ["TERMS", "build"]

#: (term, definition), alphabetical by term (symbols after words).
TERMS: tuple[tuple[str, str], ...] = (
    (
        "Activation pattern",
        "The on/off state of every hidden ReLU unit of the network for one input. Inputs "
        "with the same pattern are treated by the same linear formula.",
    ),
    (
        "Activation region (region)",
        "All inputs that share one activation pattern. Inside a region the network is "
        "exactly a linear model of the inputs; regions are numbered by size (R1 is the "
        "largest).",
    ),
    (
        "Adverse impact ratio (AIR)",
        "The favourable-outcome rate of a group divided by that of the most favoured group. "
        "Below 0.8 (the four-fifths rule) is the usual sign of disparate impact.",
    ),
    (
        "AUC",
        "Area under the ROC curve: the probability that a randomly chosen defaulter gets a "
        "higher score than a randomly chosen non-defaulter. 0.5 is chance, 1 is perfect "
        "ranking.",
    ),
    (
        "Calibration",
        "Whether predicted probabilities match observed rates. Calibration-in-the-large is the "
        "mean predicted probability minus the observed rate.",
    ),
    (
        "Cohen's κ (kappa)",
        "Agreement between two sets of decisions beyond what chance agreement (for example "
        "a constant 'no default' model) would give: 0 is no better than chance, 1 is "
        "perfect agreement.",
    ),
    (
        "Confidence interval (CI)",
        "A range that would contain the true value in 95% of repeated samples; a bound "
        "inside the interval is met or missed only by chance.",
    ),
    (
        "Dead / always-on unit",
        "A hidden unit that is off (dead) or on (always-on) for every input of the data: "
        "unused capacity, or a unit that behaves as a plain linear term.",
    ),
    (
        "Disclosure threshold",
        "The smallest number of clients a region must hold before its averages are printed, "
        "so that no individual client's data can be read from the report.",
    ),
    (
        "Feature importance (raw, scaled)",
        "How strongly the local linear models depend on a feature across all clients: the "
        "average squared local slope. Scaled importance multiplies each slope by the "
        "feature's standard deviation first, so the unit of the feature does not matter.",
    ),
    (
        "Gate",
        "The severity at or above which a failed policy check fails the validation run.",
    ),
    (
        "Insens (Ω)",
        "For one client, the average direction in which the input can move while the "
        "switched-off hidden units stay off; a large |Ω_j| means feature j holds the decision "
        "stable. Measured in standard deviations of each feature (technical annex).",
    ),
    (
        "IQR",
        "Interquartile range: the middle half of the values, from the 25th to the 75th percentile.",
    ),
    (
        "Kolmogorov–Smirnov statistic (KS)",
        "The largest gap between two cumulative distributions (of a feature or of the score) "
        "on two data sets; 0 means identical distributions.",
    ),
    (
        "Layer roles",
        "Layer 0 of the architecture table is the first linear map of the file; when it is a "
        "frozen standardiser (an affine map with no ReLU after it, such as (x − mean)/sd), "
        "it only rescales the inputs. Hidden ReLU layers create the regions; the output "
        "layer and its link (sigmoid, softmax or identity) turn the last layer into the "
        "prediction.",
    ),
    (
        "Link function",
        "The function that turns the network's last linear output η into a prediction: the "
        "sigmoid σ(η) = 1/(1 + e^(−η)) for a binary classifier, softmax for several classes, "
        "the identity for regression.",
    ),
    (
        "Local linear model (LLM)",
        "The exact linear formula η(x) = w_r·x + b_r the network applies inside region r. "
        "It is not an approximation or an estimate: it is the network itself, restricted to "
        "the region.",
    ),
    (
        "Logit (log-odds)",
        "ln(p / (1 − p)) for a probability p: the scale on which a binary classifier's "
        "network output η and its local slopes are measured. +1 logit multiplies the odds "
        "by e ≈ 2.7.",
    ),
    (
        "PD",
        "Probability of default: the network's predicted probability σ(η) that a client defaults.",
    ),
    (
        "Policy check",
        "A bound on one metric of this report, with a severity (info, minor, major, "
        "critical) set in the policy file; a waiver can cap the severity of a failure.",
    ),
    (
        "PSI",
        "Population stability index: how far the share of clients in fixed bins of a feature "
        "(or of the score) has moved between the training data and another data set. Below "
        "0.1 stable, 0.1–0.25 a moderate and above 0.25 a major shift.",
    ),
    (
        "ReLU",
        "Rectified linear unit, max(0, v): a hidden unit that passes its input when positive "
        "(on) and outputs 0 otherwise (off).",
    ),
    (
        "SD",
        "Standard deviation of a feature on the training data, the unit in which "
        "scale-aware slopes and distances are measured.",
    ),
    (
        "Sign check",
        "A policy check that a feature moves the predicted risk in the expected direction "
        "(for example, more days past due never lowers the PD).",
    ),
    (
        "SMD",
        "Standardised mean difference of the predicted probabilities of two groups, in "
        "pooled standard deviations.",
    ),
    (
        "Switched linear projection",
        "For one hidden unit and given on/off states of the layers before it, the exact "
        "linear formula v = ŵ·x + b̂ of its input (technical annex).",
    ),
    (
        "Waiver",
        "An approved, dated exception in the policy file that caps the severity of one "
        "check's failure; the failure stays visible.",
    ),
    ("b_r", "The intercept of the local linear model of region r, on the logit scale."),
    (
        "η(x) (eta)",
        "The network's output before the link function: the logit for a classifier, the "
        "prediction itself for regression.",
    ),
    ("n_r", "The number of clients (rows) in region r."),
    (
        "R/N",
        "Regions per sample: the number of distinct regions divided by the number of rows. "
        "Near 1, almost every client has a linear model of its own.",
    ),
    ("σ (sigma)", "The sigmoid link, σ(η) = 1/(1 + e^(−η)), which turns a logit into a PD."),
    ("v", "The input of a hidden unit before its ReLU; the unit is on when v > 0."),
    (
        "w_r, w_rj",
        "The slopes of the local linear model of region r; w_rj is the change of η for a "
        "one-unit increase of feature j inside the region.",
    ),
    ("x, x_j", "An input row (one client) and its j-th feature."),
    ("ΔPD", "A change of the predicted probability of default, in percentage points."),
)


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Appendix E: the glossary."""
    del results
    return {
        "glossary": {
            "reading": {
                "shows": "The plain meaning of every technical term, abbreviation and symbol "
                "the report uses.",
                "todo": "Look a term up here when a section uses it; the methods behind each "
                f"term are in Appendix {num.section('app-methods')}.",
            },
            "terms": [{"term": t, "definition": d} for t, d in TERMS],
        }
    }, []
