"""Section 6 for a multiclass network: the merged models' class mix and per-class coefficients.

Table builders for :mod:`govreport.render.sections.simplification` (a multiclass block:
``selection_metric == "macro_auc"``), and the number formats and table sizes both share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from govreport.analyses.simplify.stage import SimplificationDone
from govreport.render.sections.classes import class_phrase, shown
from govreport.render.text import DASH, Numbering, fmt_int, fmt_num, fmt_share, make_table
from govreport.results.schema import Results

__all__ = [
    "COEFFICIENT_COLUMNS",
    "COEFFICIENT_ROWS",
    "MIX_CLASSES",
    "MULTICLASS_COMPARISON_NOTE",
    "class_names",
    "multiclass_cluster_table",
    "multiclass_coefficient_tables",
    "signed",
]

#: Merged models shown as columns of the coefficient table (results.json keeps them all).
COEFFICIENT_COLUMNS = 8
#: Feature rows of the coefficient table.
COEFFICIENT_ROWS = 30
#: Up to this many classes the multiclass cluster table lists every class's share.
MIX_CLASSES = 6

#: The note under the comparison table of a multiclass block.
MULTICLASS_COMPARISON_NOTE = (
    "Fidelity rows compare the merged model with the network on the same samples. Decision "
    "agreement: share of samples where both predict the same class; its baseline is a "
    "constant model that always predicts the network's most frequent class. κ (Cohen's "
    "kappa): the agreement beyond what such chance agreement gives, 0 for a constant model "
    "and 1 for identical decisions. Then the macro AUC of the merged model's class "
    "probabilities as scores for the network's predicted classes (one class against the "
    "rest, averaged over the classes), and the correlation and RMSE of the two models' "
    "logits, each centred over the classes (the class probabilities do not depend on a "
    "shift common to all classes). Samples whose activation pattern has no training region "
    "are assigned to a merged model through the nearest training regions (Appendix C.9)."
)


def signed(value: Any) -> str:
    """A number with a true minus sign: ``-0.25`` -> ``"−0.25"``."""
    text = fmt_num(value)
    return text.replace("-", "−", 1) if text.startswith("-") else text


def class_names(results: Results, n_classes: int) -> list[str]:
    """The model's class names, or ``class k`` when they do not match the block."""
    names = list(results.model.output_names)
    return names if len(names) == n_classes else [f"class {k}" for k in range(n_classes)]


def multiclass_cluster_table(
    num: Numbering, block: SimplificationDone, names: Sequence[str]
) -> dict[str, Any]:
    """One row per merged model: its size, dominant class and class mix."""
    mix = len(names) <= MIX_CLASSES
    rows = []
    for cluster in block.clusters:
        flags = []
        if cluster.constant:
            flags.append("single class: constant")
        if not cluster.converged:
            flags.append("solver stopped at its limit")
        top = cluster.dominant_class
        row = [
            f"M{fmt_int(cluster.cluster)}",
            fmt_int(cluster.size),
            fmt_share(cluster.share),
            names[top] if top is not None and top < len(names) else DASH,
            fmt_share(cluster.response_mean),
        ]
        if mix:
            shares = cluster.class_shares or ()
            row.append(
                ", ".join(f"{names[k]} {fmt_share(v)}" for k, v in enumerate(shares)) or DASH
            )
        row.append("; ".join(flags) or DASH)
        rows.append(row)
    head = ["Model", "Samples", "Share", "Dominant class", "Its share"]
    head += ["Classes in the cluster"] if mix else []
    head.append("Note")
    return make_table(
        num.tables,
        "Merged models of the chosen simplification",
        head,
        rows,
        align="lrrlr" + ("l" if mix else "") + "l",
        note="Each merged model is a multinomial logistic regression refitted on the training "
        "samples of its cluster: one logit per class, the class probabilities by softmax, "
        "the decision the most probable class. Dominant class: the most frequent observed "
        "class among the cluster's training samples, with its share. Centres (mean inputs) "
        "of clusters with enough samples are in results.json.",
    )


def multiclass_coefficient_tables(
    num: Numbering, block: SimplificationDone, features: Sequence[str], results: Results
) -> list[dict[str, Any]]:
    """One coefficient table per shown class (centred logit, one standard deviation)."""
    clusters = block.clusters[:COEFFICIENT_COLUMNS]
    n_classes = len(clusters[0].class_models or ()) if clusters else 0
    names = class_names(results, n_classes)
    hidden = []
    if len(block.clusters) > COEFFICIENT_COLUMNS:
        hidden.append(f"{fmt_int(len(block.clusters) - COEFFICIENT_COLUMNS)} smaller models")
    if len(features) > COEFFICIENT_ROWS:
        hidden.append(f"{fmt_int(len(features) - COEFFICIENT_ROWS)} more features")
    tables = []
    for k, _name in shown(results):
        if k >= n_classes:
            continue
        head = ["Feature"] + [f"M{fmt_int(c.cluster)}" for c in clusters]
        models = [(c.class_models or ())[k] for c in clusters]
        rows = [["(intercept)"] + [signed(m.intercept) for m in models]]
        for j, feature in enumerate(list(features)[:COEFFICIENT_ROWS]):
            rows.append([feature] + [signed(m.coefficients_per_std[j]) for m in models])
        note = (
            f"Change of the logit of {class_phrase(names[k])}, relative to the average of the "
            "classes' logits, for one standard deviation of each feature (coefficient × the "
            "feature's training standard deviation). A positive value moves probability "
            "towards this class. The per-unit coefficients are in results.json."
        )
        if hidden:
            note += f" Not shown here ({' and '.join(hidden)}): see results.json."
        tables.append(
            make_table(
                num.tables,
                f"Coefficients of the merged models, {class_phrase(names[k])} (effect of one "
                "standard deviation)",
                head,
                rows,
                align="l" + "r" * len(clusters),
                note=note,
            )
        )
    return tables
