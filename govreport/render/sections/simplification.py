"""Section 6, simplification: ``results.simplification`` -> template strings.

Reads the typed block (:mod:`govreport.analyses.simplify.stage`). It is
optional: a results file without it (written before merging existed) says so;
a :class:`SimplificationNotApplicable` block prints its reason. A multiclass block
(``selection_metric == "macro_auc"``) is read with the class names of the model: the
decision is the predicted class, each merged model names its dominant class, and the
coefficient table is drawn per shown class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from govreport.analyses.simplify.search import SimplificationEvaluation
from govreport.analyses.simplify.stage import SimplificationDone
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.simplification_classes import (
    COEFFICIENT_COLUMNS,
    COEFFICIENT_ROWS,
    MULTICLASS_COMPARISON_NOTE,
    class_names,
    multiclass_cluster_table,
    multiclass_coefficient_tables,
    signed,
)
from govreport.render.text import (
    DASH,
    Numbering,
    fmt_int,
    fmt_metric,
    fmt_num,
    fmt_share,
    is_missing,
    make_table,
    metric_label,
)
from govreport.results.schema import Results

__all__ = ["COEFFICIENT_COLUMNS", "build", "summary_fact"]

_SELECTION_WORDS = {"auc": "AUC", "macro_auc": "macro AUC"}
#: Printed when the results hold no simplification block.
ABSENT_TEXT = "This results file holds no simplification results."
_DATASET_WORDS = {"train": "Training", "test": "Test"}
_MODE_WORDS = {
    "aletheia": "the reference algorithm (Ward clustering over every region)",
    "scalable": "the scalable variant (Ward clustering over micro-clusters of regions)",
}


def _signed_metric(value: float) -> str:
    """A signed difference of metrics: ``-0.0256`` -> ``"−0.026"``, ``0.0023`` -> ``"+0.002"``."""
    text = fmt_metric(value)
    if text.startswith("-"):
        return "−" + text[1:]
    return text if float(text) == 0.0 else "+" + text


def _headline(block: SimplificationDone) -> tuple[str, SimplificationEvaluation | None]:
    """The data set the summary quotes (test if present) and its evaluation."""
    evaluations = {e.dataset: e for e in block.evaluation}
    name = "test" if "test" in evaluations else "train"
    return name, evaluations.get(name)


def _is_multiclass(block: SimplificationDone) -> bool:
    return block.selection_metric == "macro_auc"


def _selection_key(block: SimplificationDone) -> str:
    """The metric K is chosen on, as a key of the curve's metrics."""
    return {"auc": "auc", "macro_auc": "macro_auc"}.get(block.selection_metric, "rmse")


def _performance_phrase(evaluation: SimplificationEvaluation | None) -> str:
    metrics = evaluation.metrics if evaluation else {}
    network = evaluation.network if evaluation else {}
    key = next((k for k in ("auc", "macro_auc") if k in metrics), "rmse")
    label = "macro AUC (one class against the rest)" if key == "macro_auc" else metric_label(key)
    return (
        f"{label} {fmt_metric(metrics.get(key))} against the network's "
        f"{fmt_metric(network.get(key))}"
    )


#: Cohen's kappa at or above which the merged models count as a faithful summary of the
#: network's decisions ("substantial" agreement on Landis & Koch's scale).
KAPPA_FAITHFUL = 0.6


def _fmt_pd(value: Any) -> str:
    """A probability difference in percentage points: ``-0.0123`` -> ``"−1.2 pp"``."""
    if value is None or is_missing(value):
        return DASH
    v = 100.0 * float(value)
    text = f"{abs(v):.1f}"
    if text == "0.0":
        return "0 pp" if v == 0.0 else ("<0.1 pp" if v > 0 else "−<0.1 pp")
    return ("−" if v < 0 else "+") + text + " pp"


def sign_breaks(block: SimplificationDone) -> tuple[int, int] | None:
    """(merged models breaking at least one policy sign check, merged models), or None when
    the results hold no sign checks on the merged models.

    The policy's sign checks run on the merged models (``sign_checks`` of the block, each
    naming the ``breaking`` model ids; :func:`govreport.analyses.sign.affine_sign_checks`).
    """
    if not block.sign_checks:
        return None
    broken: set[int] = set()
    for check in block.sign_checks:
        broken.update(check.breaking)
    return len(broken), block.n_models


def _fidelity_sentence(fid: dict[str, Any], words: str, multiclass: bool = False) -> str:
    """Agreement against the constant baseline, kappa and the network's positives."""
    agreement, baseline = fid.get("agreement"), fid.get("baseline_agreement")
    kappa, recall = fid.get("kappa"), fid.get("positive_recall")
    if multiclass:
        text = f"they predict the network's class on {fmt_share(agreement)} of the {words} samples"
    else:
        text = f"they take the network's decision on {fmt_share(agreement)} of the {words} samples"
    if baseline is not None and not is_missing(baseline):
        text += (
            ", where a model that always predicts the network's most frequent class "
            if multiclass
            else ", where a model that always takes the network's more frequent decision "
        ) + f"already reaches {fmt_share(baseline)}"
    if kappa is not None and not is_missing(kappa):
        text += f"; beyond that baseline the agreement is κ = {fmt_metric(kappa, 2)}"
    if recall is not None and not is_missing(recall):
        text += (
            f", and of the clients the network classes as positive the merged models "
            f"class {fmt_share(recall)} the same way"
        )
    return text


def summary_fact(results: Results, num: Numbering) -> str:
    """The executive summary's "Simplification" fact."""
    block = results.simplification
    if block is None:
        return ABSENT_TEXT
    if not isinstance(block, SimplificationDone):
        return block.reason
    name, evaluation = _headline(block)
    fid = evaluation.fidelity if evaluation else {}
    words = "test" if name == "test" else "training"
    text = (
        f"{fmt_int(block.n_models)} merged linear models (K = {fmt_int(block.chosen_k)} "
        f"chosen on held-out training rows) reach {words} "
        f"{_performance_phrase(evaluation)}"
    )
    if "agreement" in fid:
        text += "; " + _fidelity_sentence(fid, words, _is_multiclass(block)) + "."
    else:
        text += f"; output correlation with the network {fmt_metric(fid.get('logit_corr'))}."
    return text + f" See section {num.section('simplification')}."


def _curve_table(num: Numbering, block: SimplificationDone) -> dict[str, Any]:
    multiclass = _is_multiclass(block)
    binary = block.selection_metric == "auc" or multiclass  # decisions to compare
    metric = _selection_key(block)
    head = ["K", "Models", f"Validation {metric_label(metric)}"]
    head += (
        ["Decision agreement", "κ", "Logit correlation", "Logit RMSE"]
        if binary
        else [
            "Output correlation",
            "Output RMSE",
        ]
    )
    rows = []
    for point in block.curve:
        chosen = point.k == block.chosen_k
        fid = point.fidelity
        row = [
            f"{fmt_int(point.k)}{' (chosen)' if chosen else ''}",
            fmt_int(point.n_models),
            fmt_metric(point.metrics.get(metric)),
        ]
        if binary:
            row += [fmt_share(fid.get("agreement")), fmt_metric(fid.get("kappa"), 2)]
        row += [fmt_metric(fid.get("logit_corr")), fmt_metric(fid.get("logit_rmse"))]
        rows.append(row)
    reference = block.validation_network
    note = (
        f"Held-out rows: {fmt_int(block.validation_rows)} "
        f"({fmt_share(block.validation_share)} of the training data, seeded). The network, "
        "which was trained on data that includes these rows, scores "
        f"{metric_label(metric)} {fmt_metric(reference.get(metric))} on them. Models: "
        "merged models left after clusters of at most "
        f"{fmt_int(block.min_samples)} samples were absorbed. K is chosen by validation "
        f"{'AUC' if binary else 'MSE'}; on ties the smallest K."
    )
    if multiclass:
        note = note.replace("validation AUC", "validation macro AUC") + (
            " Decision agreement: share of samples where the merged model predicts the "
            "network's class. Logits are centred over the classes before they are compared."
        )
    if sampled := [p.refit_rows for p in block.curve if p.refit_rows is not None]:
        note += f" Refits per K: a seeded sample of {fmt_int(max(sampled))} fitting rows"
        note += " (clusters in proportion); the chosen K is refitted on every training row."
    return make_table(
        num.tables,
        "Merging curve: merged models against held-out performance and fidelity to the network",
        head,
        rows,
        align="l" + "r" * (len(head) - 1),
        note=note,
    )


def _comparison_table(num: Numbering, block: SimplificationDone) -> dict[str, Any]:
    multiclass = _is_multiclass(block)
    rows = []
    for evaluation in block.evaluation:
        name = _DATASET_WORDS.get(evaluation.dataset, evaluation.dataset)
        metrics, network = evaluation.metrics, evaluation.network
        keys = ("auc", "macro_auc", "min_class_auc", "accuracy", "log_loss", "rmse", "mae", "r2")
        for key in keys:
            if key in metrics:
                value, reference = metrics[key], network.get(key)
                gap = (
                    DASH
                    if value is None or is_missing(value) or reference is None
                    else _signed_metric(float(value) - float(reference))
                )
                rows.append(
                    [name, metric_label(key), fmt_metric(reference), fmt_metric(value), gap]
                )
        fid = evaluation.fidelity
        if "agreement" in fid:
            baseline, agreement = fid.get("baseline_agreement"), fid["agreement"]
            gain = (
                _signed_metric(float(agreement) - float(baseline))
                if baseline is not None and agreement is not None and not is_missing(baseline)
                else DASH
            )
            rows.append(
                [name, "Decision agreement", fmt_share(baseline), fmt_share(fid["agreement"]), gain]
            )
            if "kappa" in fid:
                rows.append(
                    [name, "Agreement beyond chance (κ)", "0", fmt_metric(fid["kappa"], 2), DASH]
                )
            if "positive_recall" in fid:
                rows.append(
                    [
                        name,
                        "Network's positives classed alike",
                        DASH,
                        fmt_share(fid["positive_recall"]),
                        DASH,
                    ]
                )
            if multiclass:  # undefined unless the network predicts every class: left out
                auc = fid.get("auc")
                if auc is not None and not is_missing(auc):
                    rows.append(
                        [name, "Macro AUC for the network's decisions", DASH, fmt_metric(auc), DASH]
                    )
            else:
                rows.append(
                    [
                        name,
                        "AUC for the network's decisions",
                        DASH,
                        fmt_metric(fid.get("auc")),
                        DASH,
                    ]
                )
        rows.append([name, "Logit correlation", DASH, fmt_metric(fid.get("logit_corr")), DASH])
        rows.append([name, "Logit RMSE", DASH, fmt_metric(fid.get("logit_rmse")), DASH])
    return make_table(
        num.tables,
        "The network against the merged model",
        ["Data", "Measure", "Network or baseline", "Merged model", "Difference"],
        rows,
        align="llrrr",
        note=MULTICLASS_COMPARISON_NOTE
        if multiclass
        else "Fidelity rows compare the merged model with the network on the same samples. "
        "Decision agreement: share of samples where both take the same decision (probability "
        "above 0.5); its baseline is a constant model that always takes the network's more "
        "frequent decision. κ (Cohen's kappa): the agreement beyond what such chance "
        "agreement gives, 0 for a constant model and 1 for identical decisions. Network's "
        "positives classed alike: of the samples the network classes as positive, the share "
        "the merged model also classes as positive. Then the AUC of the merged model's logit "
        "as a score for the network's decisions, and the correlation and RMSE of the two "
        "logits. Samples whose activation pattern has no training region are assigned to a "
        "merged model through the nearest training regions (Appendix C.9).",
    )


def _pd_delta_table(num: Numbering, block: SimplificationDone) -> dict[str, Any] | None:
    """Quantiles of the merged model's probability minus the network's, per data set."""
    rows = []
    levels: tuple[float, ...] = ()
    for evaluation in block.evaluation:
        delta = evaluation.pd_delta
        if delta is None:
            continue
        levels = tuple(float(v) for v in delta.levels)
        name = _DATASET_WORDS.get(evaluation.dataset, evaluation.dataset)
        rows.append([name, *[_fmt_pd(v) for v in delta.quantiles]])
    if not rows:
        return None
    head = ["Data", *[f"{100 * q:g}%" for q in levels]]
    return make_table(
        num.tables,
        "Merged model's probability minus the network's: quantiles over the samples",
        head,
        rows,
        align="l" + "r" * len(levels),
        note="Differences in probability of the positive class, in percentage points (pp), "
        "merged model minus network, at the quantiles named in the header: the 50% column is "
        "the median sample, the 1% and 99% columns the extremes. Wide tails mean the merged "
        "models misstate individual probabilities even where they take the same decision.",
    )


def _cluster_table(num: Numbering, block: SimplificationDone) -> dict[str, Any]:
    binary = block.selection_metric == "auc"
    rows = []
    for cluster in block.clusters:
        flags = []
        if cluster.constant:
            flags.append("single class: constant")
        if not cluster.converged:
            flags.append("solver stopped at its limit")
        rows.append(
            [
                f"M{fmt_int(cluster.cluster)}",
                fmt_int(cluster.size),
                fmt_share(cluster.share),
                fmt_share(cluster.response_mean) if binary else fmt_num(cluster.response_mean),
                signed(cluster.intercept),
                "; ".join(flags) or DASH,
            ]
        )
    return make_table(
        num.tables,
        "Merged models of the chosen simplification",
        [
            "Model",
            "Samples",
            "Share",
            "Positive share" if binary else "Mean response",
            "Intercept",
            "Note",
        ],
        rows,
        align="lrrrrl",
        note="Each merged model is a "
        + ("logistic" if binary else "linear")
        + " regression refitted on the training samples of its cluster. Centres (mean "
        "inputs) of clusters with enough samples are in results.json.",
    )


def _coefficient_table(
    num: Numbering, block: SimplificationDone, features: Sequence[str]
) -> dict[str, Any]:
    clusters = block.clusters[:COEFFICIENT_COLUMNS]
    head = ["Feature"] + [f"M{fmt_int(c.cluster)}" for c in clusters]
    # Effects of one standard deviation (comparable across features).
    rows = [["(intercept)"] + [signed(c.intercept) for c in clusters]]
    for j, name in enumerate(list(features)[:COEFFICIENT_ROWS]):
        rows.append([name] + [signed(c.coefficients_per_std[j]) for c in clusters])
    hidden = []
    if len(block.clusters) > COEFFICIENT_COLUMNS:
        hidden.append(f"{fmt_int(len(block.clusters) - COEFFICIENT_COLUMNS)} smaller models")
    if len(features) > COEFFICIENT_ROWS:
        hidden.append(f"{fmt_int(len(features) - COEFFICIENT_ROWS)} more features")
    scale = "logit" if block.selection_metric == "auc" else "output"
    note = (
        f"Change of the {scale} for one standard deviation of each feature (coefficient × the "
        "feature's training standard deviation). The intercept row is the model's own; the "
        "per-unit coefficients are in results.json."
    )
    if hidden:
        note += f" Not shown here ({' and '.join(hidden)}): see results.json."
    return make_table(
        num.tables,
        "Coefficients of the merged models (effect of one standard deviation)",
        head,
        rows,
        align="l" + "r" * len(clusters),
        note=note,
    )


APPENDIX_RISK = (
    "A few merged models are a credible, more transparent challenger only if they match "
    "the network's performance, take the network's decisions well beyond what a constant "
    "model would (κ well above 0), class the network's positives alike, and respect the "
    "sign expectations the network itself is held to. If the merged models lose much "
    "performance, the network's behaviour cannot be summarised by a few linear pieces, and "
    "region-level explanations carry more weight. If fidelity is low, explanations built "
    "from the merged models do not describe the network. Refits whose solver stopped at its "
    "iteration limit, and single-class clusters, are flagged in the table."
)

READING_MULTICLASS = {
    "shows": "Whether a handful of ordinary multinomial logistic models, each for one group "
    "of clients, can stand in for the network: how well they predict every class, how often "
    "they predict the network's class compared with a model that always predicts the most "
    "frequent one, and which class dominates each group.",
    "todo": "Use the merged models as a readable summary of the network only when they "
    "predict its class well beyond the constant baseline; otherwise read them as a rough "
    "sketch, and do not offer them as a challenger model.",
}

READING = {
    "shows": "Whether a handful of ordinary linear models, each for one group of clients, "
    "can stand in for the network: how well they predict, how often they take the "
    "network's decision compared with a model that always takes the most frequent one, "
    "and how far their probabilities are from the network's.",
    "todo": "Use the merged models as a readable summary of the network only when they agree "
    "with it well beyond the constant baseline and respect the sign expectations; "
    "otherwise read them as a rough sketch, and do not offer them as a challenger model.",
}


def _mode_why(block: SimplificationDone) -> str:
    """Why this merge algorithm ran, in words (no option names)."""
    if block.mode_reason.startswith("requested"):
        return "as requested for this run"
    limit = fmt_int(block.scalable_threshold)
    if block.regions > block.scalable_threshold:
        return f"the default above {limit} regions, where the reference algorithm is too slow"
    return f"the default up to {limit} regions"


def verdict(block: SimplificationDone) -> str:
    """What the merged models are in this run: a faithful summary and credible challenger,
    or not, and why (kappa on the headline data set, performance gap, sign checks)."""
    name, evaluation = _headline(block)
    words = "test" if name == "test" else "training"
    reasons = []
    fid = evaluation.fidelity if evaluation else {}
    kappa = fid.get("kappa")
    if kappa is not None and not is_missing(kappa) and float(kappa) < KAPPA_FAITHFUL:
        reasons.append(
            f"their decisions agree with the network's only moderately beyond chance "
            f"(κ = {fmt_metric(kappa, 2)} on the {words} data, below {KAPPA_FAITHFUL:g})"
        )
    metrics = evaluation.metrics if evaluation else {}
    network = evaluation.network if evaluation else {}
    key = "macro_auc" if _is_multiclass(block) else "auc"
    auc, ref = metrics.get(key), network.get(key)
    if auc is not None and ref is not None and not is_missing(auc) and not is_missing(ref):
        loss = float(ref) - float(auc)
        if loss > 0.01:
            reasons.append(
                f"they lose {fmt_metric(loss)} of {metric_label(key)} against the network"
            )
    breaks = sign_breaks(block)
    if breaks is not None and breaks[0] > 0:
        reasons.append(
            f"{fmt_int(breaks[0])} of the {fmt_int(breaks[1])} merged models break the "
            "policy's sign expectations"
        )
    if reasons:
        return (
            "In this validation the merged models are a rough summary of the network, not a "
            "credible challenger: " + "; ".join(reasons) + "."
        )
    text = (
        "In this validation the merged models follow the network closely and lose little "
        "performance"
    )
    if breaks is None and _is_multiclass(block):
        return (
            text + "; the policy's sign expectations are checked on the network only, not on "
            "multiclass merged models, so check their signs before offering them as a "
            "challenger."
        )
    if breaks is None:
        return (
            text + "; their sign behaviour was not checked, so check it before offering "
            "them as a challenger."
        )
    return text + " and respect the policy's sign expectations: a credible challenger."


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 6: the merging curve, the merged models against the network, their tables."""
    block = results.simplification
    if block is None:
        absent = [{"title": "Simplification", "text": ABSENT_TEXT, "issue": ""}]
        return {
            "simplification": {
                "has_data": False,
                "absent": absent,
                "reason": "",
                "multiclass": False,
                "reading": READING,
                "appendix_risk": APPENDIX_RISK,
            }
        }, []
    if not isinstance(block, SimplificationDone):
        return {
            "simplification": {
                "has_data": False,
                "absent": [],
                "reason": block.reason,
                "multiclass": False,
                "reading": READING,
                "appendix_risk": APPENDIX_RISK,
            }
        }, []
    features = block.features or results.features
    name, evaluation = _headline(block)
    mode = block.mode
    setup = (
        f"The {fmt_int(block.regions)} training regions were merged with "
        f"{_MODE_WORDS.get(mode, mode)}, {_mode_why(block)}. Two regions could merge only "
        f"if their centres were among each other's {fmt_int(block.n_neighbors)} nearest."
    )
    if "micro-clusters" in block.mode_reason:
        setup += (
            " There were no more regions than micro-clusters, so the regions themselves "
            "were merged."
        )
    if mode == "scalable":
        setup += (
            f" The regions were first grouped into {fmt_int(block.leaves)} micro-clusters of "
            "similar local models."
        )
    setup += (
        f" K = {fmt_int(block.chosen_k)} clusters gave the best held-out "
        f"{_SELECTION_WORDS.get(block.selection_metric, 'MSE')}"
    )
    if block.absorbed:
        setup += (
            f"; {fmt_int(block.absorbed)} clusters of at most "
            f"{fmt_int(block.min_samples)} samples were then absorbed into their nearest "
            "larger neighbour"
        )
    if block.fallback:
        setup += "; no cluster was large enough, so the largest was kept alone"
    setup += f", leaving {fmt_int(block.n_models)} merged models."
    curve_table = _curve_table(num, block)
    spec = FigureSpec(
        id="merging-curve",
        kind="merging-curve",
        data={"block": block},
        caption="Held-out performance and fidelity to the network against the number of merged "
        "clusters K (the chosen K marked).",
        alt="Line charts of validation performance and of agreement with the network for each "
        "number of merged clusters.",
    )
    figure = num.figure(spec)
    judgement = verdict(block)
    multiclass = _is_multiclass(block)
    comparison_table = _comparison_table(num, block)  # tables are numbered in this order
    pd_delta_table = _pd_delta_table(num, block)
    if multiclass:
        names = class_names(results, len(block.clusters[0].class_shares or ()))
        setup += (
            " Each region's local model is its class logits, centred over the classes and "
            "stacked into one point; each merged cluster gets one multinomial logistic "
            "regression."
        )
        cluster_table = multiclass_cluster_table(num, block, names)
        coefficient_tables = multiclass_coefficient_tables(num, block, features, results)
    else:
        cluster_table = _cluster_table(num, block)
        coefficient_tables = [_coefficient_table(num, block, features)]
    context = {
        "has_data": True,
        "absent": [],
        "reason": "",
        "multiclass": multiclass,
        "reading": READING_MULTICLASS if multiclass else READING,
        "setup": setup,
        "headline": summary_fact(results, num).removesuffix(
            f" See section {num.section('simplification')}."
        )[:-1],
        "verdict": judgement,
        "appendix_risk": APPENDIX_RISK + " " + judgement,
        "headline_dataset": name,
        "curve_table": curve_table,
        "figure": figure,
        "comparison_table": comparison_table,
        "pd_delta_table": pd_delta_table,
        "cluster_table": cluster_table,
        "coefficient_tables": coefficient_tables,
        "evaluated": evaluation is not None,
    }
    return {"simplification": context}, [spec]
