"""Section 4.9, fairness and protected characteristics: the ``fairness`` block -> strings.

Reads ``results.fairness`` (:class:`govreport.analyses.fairness.FairnessResult`) and
the status of the policy's ``fairness.*`` checks.
"""

from __future__ import annotations

from typing import Any

from govreport.analyses.fairness import FairnessResult, ProtectedFeature, ProtectedOnDataset
from govreport.policy import check_status
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.data_quality import DATASET_WORDS
from govreport.render.text import (
    DASH,
    Numbering,
    badge,
    fmt_bound,
    fmt_int,
    fmt_metric,
    fmt_num,
    fmt_share,
    make_table,
)
from govreport.results.schema import Results

__all__ = ["build"]

#: Conventions the report flags by (the policy decides severity): the four-fifths rule for
#: the adverse impact ratio, 5% of clients for the flip test, 0.2 SD for the score gap.
AIR_FLAG = 0.8
FLIP_FLAG = 0.05
SMD_FLAG = 0.2

_STATUS = {
    "pass": ("pass", "pass"),
    "fail": ("fail", "fail"),
    "waived": ("waived", "waived"),
    "not_evaluated": ("not evaluated", "pending"),
}

_INTRO = (
    "This section asks whether the network treats clients differently by characteristics a "
    "credit decision must not rest on (the features the data dictionary marks protected). "
    "Four views: how much the network uses the characteristic (its importance rank); a "
    "counterfactual flip test that changes only the protected value of each client and "
    "recomputes the probability exactly through the network; outcome metrics per group at the "
    "operating cut-off; and the other inputs that correlate with the characteristic and could "
    "carry it in as proxies even if it were removed. A flagged result is not proof of unlawful "
    "discrimination: it is evidence the model owner must explain (business necessity, a "
    "less discriminatory alternative) or remediate, for example by removing the feature and "
    "its proxies and retraining."
)


def _evaluation(feature: ProtectedFeature) -> ProtectedOnDataset:
    """The held-out data set when there is one, else the training data."""
    return next((d for d in feature.datasets if d.dataset == "test"), feature.datasets[-1])


def _flags(feature: ProtectedFeature) -> list[str]:
    d = _evaluation(feature)
    flags = []
    if d.flip.share_above > FLIP_FLAG:
        flags.append(f"flip test {fmt_share(d.flip.share_above)}")
    if d.air_min is not None and d.air_min < AIR_FLAG:
        flags.append(f"AIR {fmt_metric(d.air_min)}")
    if d.smd_max_abs is not None and d.smd_max_abs > SMD_FLAG:
        flags.append(f"|SMD| {fmt_metric(d.smd_max_abs, 2)}")
    return flags


def _summary_table(num: Numbering, result: FairnessResult) -> dict[str, Any]:
    rows = []
    for f in result.features:
        d = _evaluation(f)
        flags = _flags(f)
        proxy = f.proxies[0] if f.proxies else None
        rows.append(
            [
                f.name,
                f"{f.raw_rank} / {f.scaled_rank} of {f.features}",
                DATASET_WORDS.get(d.dataset, d.dataset),
                fmt_share(d.flip.share_above),
                f"{fmt_metric(d.flip.median_abs * 100, 1)} / {fmt_metric(d.flip.p95_abs * 100, 1)}",
                fmt_metric(d.air_min),
                fmt_metric(d.smd_max_abs, 2),
                fmt_metric(d.auc_gap),
                f"{proxy.feature} ({proxy.measure} {fmt_metric(proxy.value, 2)})"
                if proxy
                else DASH,
                badge("flagged: " + ", ".join(flags), "fail")
                if flags
                else badge("no flag", "pass"),
            ]
        )
    return make_table(
        num.tables,
        "Protected features: importance, flip test, group metrics and strongest proxy",
        [
            "Feature",
            "Importance rank raw / scaled",
            "Data set",
            f"Clients with |Δp| > {fmt_num(result.flip_threshold * 100)} pts",
            "|Δp| median / p95 (pts)",
            "Smallest AIR",
            "Largest |SMD|",
            "AUC gap",
            "Strongest proxy",
            "Flag",
        ],
        rows,
        align="llllrrrrll",
        note=f"Flags (conventions; the policy's checks decide severity): more than "
        f"{fmt_share(FLIP_FLAG)} of clients moved by more than "
        f"{fmt_num(result.flip_threshold * 100)} points by the flip test, an adverse impact "
        f"ratio below {fmt_num(AIR_FLAG)} (the four-fifths rule), or a score gap above "
        f"{fmt_num(SMD_FLAG)} standard deviations. pts: percentage points of probability.",
    )


def _group_table(num: Numbering, feature: ProtectedFeature, cutoff: float) -> dict[str, Any]:
    rows = []
    for d in feature.datasets:
        for g in d.groups:
            rows.append(
                [
                    g.group + (" *" if g.small else ""),
                    DATASET_WORDS.get(d.dataset, d.dataset),
                    f"{fmt_int(g.count)} ({fmt_share(g.share)})",
                    fmt_metric(g.auc),
                    fmt_share(g.mean_score),
                    fmt_share(g.observed_rate),
                    ("+" if g.calibration_in_the_large > 0 else "")
                    + fmt_metric(g.calibration_in_the_large * 100, 1),
                    fmt_share(g.adverse_rate),
                    fmt_metric(g.air),
                    fmt_metric(g.smd, 2),
                ]
            )
    return make_table(
        num.tables,
        f"Group metrics by {feature.name}",
        [
            "Group",
            "Data set",
            "Rows",
            "AUC",
            "Mean predicted",
            "Observed rate",
            "Predicted − observed (pts)",
            f"Adverse at p ≥ {fmt_num(cutoff)}",
            "AIR",
            "SMD",
        ],
        rows,
        align="llrrrrrrrr",
        note="AIR: the group's favourable-outcome rate over that of the most favoured group "
        "(marked 1.000). SMD: difference of mean predicted probability to that group, in "
        "pooled standard deviations. * fewer rows than the minimum group size: shown, but left "
        "out of the smallest AIR, largest |SMD| and AUC gap.",
    )


def _feature_block(
    num: Numbering, feature: ProtectedFeature, result: FairnessResult
) -> dict[str, Any]:
    d = _evaluation(feature)
    words = DATASET_WORDS.get(d.dataset, d.dataset)
    flip = d.flip
    sample = (
        f" on a seeded random subsample of {fmt_int(flip.rows)} rows"
        if flip.subsampled
        else f" on all {fmt_int(flip.rows)} rows"
    )
    proxies = (
        "; ".join(f"{p.feature} ({p.measure} {fmt_metric(p.value, 2)})" for p in feature.proxies)
        or DASH
    )
    text = (
        f"{feature.name} ({feature.type}) ranks {feature.raw_rank} of {feature.features} by raw "
        f"importance ({fmt_num(feature.raw_pct)}%) and {feature.scaled_rank} by scale-aware "
        f"importance. Groups: {feature.grouping}. Flip test on the {words} data{sample}: "
        f"changing only {feature.name} moves the predicted probability by more than "
        f"{fmt_num(result.flip_threshold * 100)} points for {fmt_share(flip.share_above)} of "
        f"clients (median |Δp| {fmt_metric(flip.median_abs * 100, 1)} points, 95th percentile "
        f"{fmt_metric(flip.p95_abs * 100, 1)}, largest {fmt_metric(flip.max_abs * 100, 1)}). "
        f"Most favoured group: {d.reference_group}. Strongest correlates among the other "
        f"inputs (training data): {proxies}."
    )
    return {
        "name": feature.name,
        "text": text,
        "table": _group_table(num, feature, result.cutoff),
    }


def _policy_rows(results: Results) -> list[dict[str, Any]]:
    rows = []
    for check in results.policy.checks:
        if check.metric.startswith("fairness."):
            status = check_status(check)
            text, kind = _STATUS.get(status, (status, "pending"))
            dataset = check.dataset
            rows.append(
                {
                    "id": check.description or check.id,
                    "text": f"on the {DATASET_WORDS.get(dataset, dataset)} "
                    f"data, bound {fmt_bound(check.bound)}: observed "
                    f"{fmt_num(check.observed)}.",
                    "badge": badge(text, kind),
                }
            )
    return rows


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4.9: a summary table, then per protected feature a sentence and group table."""
    result = results.fairness
    if result is None and results.model.task != "binary":
        task = {"multiclass": "multiclass classifier", "regression": "regression model"}.get(
            results.model.task, results.model.task
        )
        none = (
            "No fairness analysis was run: govreport defines it for binary classifiers "
            "(group rates at an operating cut-off, adverse impact, the counterfactual flip "
            f"of a predicted probability), and this model is a {task}."
        )
        reading = {
            "shows": "Nothing: the treatment of protected groups was not examined for this "
            "kind of model, whether or not the data dictionary marks protected "
            "characteristics.",
            "todo": "If the model's outputs feed decisions about people, have the treatment of "
            "protected groups assessed outside this report before approving it.",
        }
        return {
            "fairness": {"available": True, "intro": _INTRO, "none": none, "reading": reading}
        }, []
    if result is None:
        none = (
            "No feature is marked protected, so no fairness analysis was run. It needs a data "
            "dictionary that marks the protected characteristics (Appendix "
            f"{num.section('app-methods')}) and a binary classifier."
        )
        reading = {
            "shows": "Nothing: no characteristic was marked protected, so the network's "
            "treatment of protected groups was not examined.",
            "todo": "Ask the model owner for a data dictionary that marks the protected "
            "characteristics, and rerun the validation before approving the model for "
            "decisions about people.",
        }
        return {
            "fairness": {"available": True, "intro": _INTRO, "none": none, "reading": reading}
        }, []
    adverse = (
        f"a predicted probability of class 1 at or above {fmt_num(result.cutoff)}"
        if result.adverse_class == 1
        else f"a predicted probability of class 1 below {fmt_num(result.cutoff)}"
    )
    summary = _summary_table(num, result)
    evaluations = [(f.name, _evaluation(f)) for f in result.features]
    spec = FigureSpec(
        id="fairness-groups",
        kind="group-rates",
        caption="Adverse-outcome rate at the operating cut-off (bars) and mean predicted "
        "probability (dots) per protected group, on the "
        + ", ".join(sorted({DATASET_WORDS.get(d.dataset, d.dataset) for _, d in evaluations}))
        + f" data. Groups marked * hold fewer than {fmt_int(results.run.options.min_samples)} "
        "rows.",
        alt="Bars of the adverse-outcome rate per protected group",
        data={
            "labels": [
                f"{name}: {g.group}{' *' if g.small else ''}"
                for name, d in evaluations
                for g in d.groups
            ],
            "adverse": [g.adverse_rate for _, d in evaluations for g in d.groups],
            "predicted": [g.mean_score for _, d in evaluations for g in d.groups],
            "cutoff": result.cutoff,
        },
    )
    figure = num.figure(spec)
    flagged = [f.name for f in result.features if _flags(f)]
    context = {
        "available": True,
        "reading": {
            "shows": "Whether the network's decisions depend on the protected characteristics "
            + ", ".join(f.name for f in result.features)
            + ", directly (changing only that value changes the decision) or through outcomes "
            "that differ by group.",
            "todo": (
                "Ask the model owner to justify or remove the dependence on "
                + ", ".join(flagged)
                + " (business necessity, a less discriminatory alternative), and have legal "
                "or compliance review the group differences before approval."
                if flagged
                else "No protected characteristic is flagged; record the result and repeat the "
                "test at each revalidation."
            ),
        },
        "intro": _INTRO,
        "none": "",
        "figure": figure,
        "setting": f"Operating cut-off: {adverse} is the adverse outcome (cut-off from the data "
        "dictionary, default 0.5). Group metrics are shown for every data set; the summary "
        "uses the test data when there is one.",
        "summary": summary,
        "features": [_feature_block(num, f, result) for f in result.features],
        "checks": _policy_rows(results),
    }
    return {"fairness": context}, [spec]
