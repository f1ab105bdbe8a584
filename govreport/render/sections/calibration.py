"""Section 5 additions (issue 13): intervals, discrimination curves, calibration, scores.

Reads the typed ``outcomes`` and ``uncertainty`` blocks of :class:`Results` and the
policy's check records.
"""

from __future__ import annotations

from typing import Any

from govreport.analyses.outcomes import DatasetOutcomes, OutcomesResult, RegressionOutcomes
from govreport.analyses.uncertainty import UncertaintyResult
from govreport.render.figures.spec import FigureSpec
from govreport.render.text import (
    DASH,
    Numbering,
    fmt_int,
    fmt_metric,
    fmt_num,
    fmt_share,
    make_table,
)
from govreport.results.schema import Results

__all__ = ["LABELS", "build_evidence", "fmt_p", "holdout_of", "p_is", "sampling_sentence"]


def fmt_p(value: float | None) -> str:
    """A p-value: ``0.0062`` -> ``"0.006"``, below 0.001 -> ``"< 0.001"``."""
    if value is None:
        return DASH
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def p_is(value: float | None) -> str:
    """``"p = 0.006"`` or ``"p < 0.001"``."""
    text = fmt_p(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def holdout_of(datasets: tuple[DatasetOutcomes, ...]) -> DatasetOutcomes:
    """The test data set when there is one, else the training data set."""
    return next((d for d in datasets if d.dataset == "test"), datasets[0])


LABELS = {
    "performance.auc": "AUC",
    "outcomes.gini": "Gini",
    "outcomes.ks": "KS",
    "performance.accuracy": "Accuracy",
    "performance.log_loss": "Log loss",
    "outcomes.brier": "Brier score",
    "performance.rmse": "RMSE",
    "performance.mae": "MAE",
    "performance.r2": "R²",
}


def _interval_table(
    num: Numbering, unc: UncertaintyResult, out: OutcomesResult | None
) -> dict[str, Any]:
    names = [d.dataset for d in unc.datasets]
    metrics: list[str] = []
    for d in unc.datasets:
        metrics += [i.metric for i in d.intervals if i.metric not in metrics]
    rows = []
    for metric in metrics:
        row = [LABELS.get(metric, metric)]
        for d in unc.datasets:
            found = next((i for i in d.intervals if i.metric == metric), None)
            if found is None:
                row.append(DASH)
                continue
            ci = (
                f" ({fmt_metric(found.lower)} to {fmt_metric(found.upper)})"
                if found.lower is not None and found.upper is not None
                else ""
            )
            row.append(fmt_metric(found.point) + ci)
        rows.append(row)
    if out is not None:
        by_name = {d.dataset: d for d in out.datasets}
        base_row = ["Accuracy of always predicting the majority class"]
        for name in names:
            entry = by_name.get(name)
            value = None
            if entry is not None and entry.binary is not None:
                value = entry.binary.majority_accuracy
            elif entry is not None and entry.multiclass is not None:
                value = entry.multiclass.majority_accuracy
            elif entry is not None and entry.regression is not None:
                base_row[0] = "RMSE of always predicting the mean (base line)"
                value = entry.regression.baseline_rmse
            base_row.append(fmt_metric(value))
        rows.append(base_row)
    sub = [d for d in unc.datasets if d.subsampled]
    note = (
        f"Point value on the full data, with its {unc.level * 100:g}% percentile interval "
        f"from {fmt_int(unc.resamples)} bootstrap resamples ({unc.method}, seed "
        f"{fmt_int(unc.seed)}). The last row is the base line every "
        + ("RMSE" if out is not None and out.task == "regression" else "accuracy")
        + " is read against."
    )
    if sub:
        note += " " + "; ".join(
            f"{d.dataset}: intervals from a seeded, stratified subsample of "
            f"{fmt_int(d.rows_used)} of {fmt_int(d.n)} rows (wider than the full data's)"
            for d in sub
        )
        note += "."
    return make_table(
        num.tables,
        "Headline metrics with 95% confidence intervals",
        ["Metric", *names],
        rows,
        align="l" + "r" * len(names),
        note=note,
    )


def sampling_sentence(results: Results) -> str:
    """The checks whose verdict holds only inside sampling error (empty text when none)."""
    inside = [c for c in results.policy.checks if c.within_sampling_error]
    if not inside:
        return ""
    items = "; ".join(
        f"{c.description or c.id} ({c.dataset} data, bound {c.bound}: interval "
        f"{fmt_metric(c.interval[0])} to {fmt_metric(c.interval[1])})"
        for c in inside
        if c.interval is not None
    )
    return (
        f"{fmt_int(len(inside))} policy check{'s' if len(inside) > 1 else ''} "
        f"{'hold' if len(inside) > 1 else 'holds'} only inside sampling error: {items}. "
        "Its verdict could change on another sample of the same size; do not read it as a "
        "clear pass (or failure), and prefer a policy bound on the interval's lower or upper "
        "end where the decision depends on it."
    )


def _binary(
    num: Numbering, out: OutcomesResult, unc: UncertaintyResult | None
) -> tuple[dict[str, Any], list[FigureSpec]]:
    hold = holdout_of(out.datasets)
    b = hold.binary
    assert b is not None
    curves = [
        (d.dataset, d.binary.roc, d.binary.pr)
        for d in out.datasets
        if d.binary is not None and d.binary.roc.x
    ]
    specs = [
        FigureSpec(
            id="outcomes-roc-pr",
            kind="roc-pr",
            data={
                "curves": curves,
                "base_rates": [float(d.binary.base_rate or 0.0) for d in out.datasets if d.binary],
            },
            caption="Left: ROC curve per data set (dotted: a random score). Right: "
            "precision-recall curve (thin dotted lines: each data set's share of events, "
            f"the precision of a random score). At most {fmt_int(out.curve_points)} points "
            "per curve.",
            alt="ROC and precision-recall curves",
        ),
        FigureSpec(
            id="outcomes-reliability",
            kind="reliability",
            data={
                "series": [
                    (d.dataset, d.binary.deciles) for d in out.datasets if d.binary is not None
                ]
            },
            caption=f"Reliability: observed event rate against mean predicted probability in "
            f"each of {fmt_int(out.groups)} equal-size groups by predicted probability. "
            "Points above the diagonal: the model under-predicts; below: it over-predicts.",
            alt="Reliability plot",
        ),
        FigureSpec(
            id="outcomes-scores",
            kind="score-distribution",
            data={
                "edges": b.scores.edges,
                "counts": {
                    ("event (1)" if k == "1" else "no event (0)" if k == "0" else k): v
                    for k, v in b.scores.counts.items()
                },
                "xlabel": "predicted probability",
            },
            caption=f"Distribution of the predicted probability by observed class, "
            f"{hold.dataset} data (share of each class per bin of width 0.05). The further "
            "apart the two distributions, the better the model separates the classes; KS is "
            "their largest vertical gap as cumulative distributions.",
            alt="Histogram of predicted probabilities by class",
        ),
    ]
    under = [g for g in b.deciles if (g.observed_rate or 0.0) > (g.mean_predicted or 0.0)]
    gaps = [abs((g.observed_rate or 0.0) - (g.mean_predicted or 0.0)) for g in b.deciles]
    worst = max(range(len(gaps)), key=lambda i: gaps[i]) if gaps else 0
    rows = [
        [
            fmt_int(i + 1),
            fmt_int(g.n),
            f"{fmt_share(g.min_predicted)} to {fmt_share(g.max_predicted)}",
            fmt_share(g.mean_predicted),
            fmt_share(g.observed_rate),
            fmt_share(
                None
                if g.observed_rate is None or g.mean_predicted is None
                else g.observed_rate - g.mean_predicted
            ),
            fmt_int(g.n_positive),
        ]
        for i, g in enumerate(b.deciles)
    ]
    table = make_table(
        num.tables,
        f"Calibration by decile of predicted probability, {hold.dataset} data",
        [
            "Decile",
            "Samples",
            "Predicted range",
            "Mean predicted",
            "Observed rate",
            "Gap",
            "Events",
        ],
        rows,
        align="rrrrrrr",
        note="Samples sorted by predicted probability and cut into groups of equal size. "
        "Gap: observed rate minus mean predicted probability (positive: under-prediction).",
    )
    calibrated = (b.hl_p or 0.0) >= 0.05 and (b.spiegelhalter_p or 0.0) >= 0.05
    auc_ci = ""
    if unc is not None:
        for d in unc.datasets:
            if d.dataset == hold.dataset:
                for i in d.intervals:
                    if i.metric == "performance.auc" and i.lower is not None:
                        auc_ci = f" (95% CI {fmt_metric(i.lower)} to {fmt_metric(i.upper)})"
    discrimination = (
        f"On the {hold.dataset} data the network's AUC is {fmt_metric(b.auc)}{auc_ci}, Gini "
        f"{fmt_metric(b.gini)} and KS {fmt_metric(b.ks)} (largest separation at a predicted "
        f"probability of {fmt_share(b.ks_threshold)}); average precision "
        f"{fmt_metric(b.average_precision)} against an event rate of {fmt_share(b.base_rate)}. "
        f"Its accuracy at the 0.5 cut-off, {fmt_share(b.accuracy)}, compares with "
        f"{fmt_share(b.majority_accuracy)} for always predicting the majority class: accuracy "
        "is a weak measure when events are rare, read the AUC and the calibration instead."
    )
    calibration = (
        f"Brier score {fmt_metric(b.brier, 4)}, against {fmt_metric(b.brier_reference, 4)} for "
        f"always predicting the event rate (skill {fmt_share(b.brier_skill)}). Mean predicted "
        f"probability {fmt_share(b.mean_predicted)} against an observed rate of "
        f"{fmt_share(b.base_rate)} (calibration in the large). Hosmer-Lemeshow statistic "
        f"{fmt_num(b.hl_statistic)} on {fmt_int(b.hl_df)} degrees of freedom, "
        f"{p_is(b.hl_p)}; Spiegelhalter's z = {fmt_num(b.spiegelhalter_z)}, "
        f"{p_is(b.spiegelhalter_p)}. In {fmt_int(len(under))} of {fmt_int(len(b.deciles))} "
        f"deciles the observed rate exceeds the prediction; the largest gap is "
        f"{fmt_share(gaps[worst] if gaps else None)} in decile {fmt_int(worst + 1)}."
    )
    advice = (
        "Both tests are consistent with calibrated probabilities at the 5% level."
        if calibrated
        else "The probabilities are not calibrated at the 5% level. If they are used as "
        "probabilities (PD for pricing, provisioning or capital) rather than to rank "
        "clients, recalibrate them (e.g. Platt scaling or isotonic regression on recent "
        "data), re-run this report, and record the decision; for ranking alone the AUC is "
        "what matters."
    )
    figures = {spec.id: num.figure(spec) for spec in specs}
    return {
        "kind": "binary",
        "discrimination": discrimination,
        "calibration": calibration,
        "advice": advice,
        "calibration_table": table,
        "roc_figure": figures["outcomes-roc-pr"],
        "reliability_figure": figures["outcomes-reliability"],
        "scores_figure": figures["outcomes-scores"],
    }, specs


def _multiclass(num: Numbering, out: OutcomesResult) -> tuple[dict[str, Any], list[FigureSpec]]:
    hold = holdout_of(out.datasets)
    m = hold.multiclass
    assert m is not None
    names = [d.dataset for d in out.datasets if d.multiclass is not None]
    per = {d.dataset: d.multiclass for d in out.datasets if d.multiclass is not None}
    rows = []
    for k, c in enumerate(m.classes):
        row = [c.label, fmt_share(c.prevalence), fmt_share(c.mean_predicted)]
        row += [fmt_metric(per[n].classes[k].auc) for n in names]
        rows.append(row)
    table = make_table(
        num.tables,
        f"One-vs-rest discrimination per class ({hold.dataset} prevalence)",
        ["Class", "Prevalence", "Mean predicted", *[f"AUC {n}" for n in names]],
        rows,
        align="lrr" + "r" * len(names),
        note="Each class against all others, scored by its softmax probability.",
    )
    spec = FigureSpec(
        id="outcomes-roc-pr",
        kind="roc-pr",
        data={"curves": [(c.label, c.roc, None) for c in m.classes if c.roc.x]},
        caption=f"One-vs-rest ROC curve per class, {hold.dataset} data (dotted: a random score).",
        alt="One-vs-rest ROC curves",
    )
    sentence = (
        f"On the {hold.dataset} data the network's accuracy is {fmt_share(m.accuracy)}, "
        f"against {fmt_share(m.majority_accuracy)} for always predicting {m.majority_class}; "
        f"mean one-vs-rest AUC {fmt_metric(m.macro_auc)}, multiclass Brier score "
        f"{fmt_metric(m.brier, 4)}."
    )
    return {
        "kind": "multiclass",
        "discrimination": sentence,
        "class_table": table,
        "roc_figure": num.figure(spec),
    }, [spec]


def _regression(num: Numbering, out: OutcomesResult) -> tuple[dict[str, Any], list[FigureSpec]]:
    hold = holdout_of(out.datasets)
    r = hold.regression
    assert r is not None
    regs: list[tuple[str, RegressionOutcomes]] = [
        (d.dataset, d.regression) for d in out.datasets if d.regression is not None
    ]
    labels = [
        ("RMSE", "rmse"),
        ("MAE", "mae"),
        ("R²", "r2"),
        ("RMSE of predicting the mean", "baseline_rmse"),
        ("Mean residual (calibration in the large)", "mean_residual"),
        ("Residual std", "residual_std"),
    ]
    rows = [[label, *[fmt_num(getattr(x, key)) for _, x in regs]] for label, key in labels]
    rows += [
        [f"Residual {q}", *[fmt_num(x.residual_quantiles.get(q)) for _, x in regs]]
        for q in ("min", "p5", "p25", "median", "p75", "p95", "max")
        if q in r.residual_quantiles
    ]
    table = make_table(
        num.tables,
        "Residual summary (prediction minus target)",
        ["Quantity", *[n for n, _ in regs]],
        rows,
        align="l" + "r" * len(regs),
    )
    bins = make_table(
        num.tables,
        f"Residuals by decile of the prediction, {hold.dataset} data",
        ["Decile", "Samples", "Mean prediction", "Mean target", "Mean residual"],
        [
            [
                fmt_int(i + 1),
                fmt_int(b.n),
                fmt_num(b.mean_predicted),
                fmt_num(b.mean_observed),
                fmt_num(b.mean_residual),
            ]
            for i, b in enumerate(r.bins)
        ],
        align="rrrrr",
        note="A mean residual that drifts with the prediction: the model is biased in that "
        "range (a slope below one means over-reaction to its inputs).",
    )
    spec = FigureSpec(
        id="outcomes-residuals",
        kind="residuals",
        data={
            "bins": r.bins,
            "edges": r.residuals.edges,
            "counts": next(iter(r.residuals.counts.values()), ()),
        },
        caption=f"Left: mean target against mean prediction per decile of the prediction "
        f"(dotted: perfect calibration); right: histogram of residuals, {hold.dataset} data.",
        alt="Calibration and residual plots",
    )
    sentence = (
        f"On the {hold.dataset} data RMSE {fmt_num(r.rmse)} (predicting the mean: "
        f"{fmt_num(r.baseline_rmse)}), MAE {fmt_num(r.mae)}, R² {fmt_metric(r.r2)}; the mean "
        f"residual is {fmt_num(r.mean_residual)} (calibration in the large)."
    )
    return {
        "kind": "regression",
        "discrimination": sentence,
        "residual_table": table,
        "bins_table": bins,
        "residual_figure": num.figure(spec),
    }, [spec]


def build_evidence(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Intervals, curves, calibration and score distributions (None parts when absent)."""
    out = results.outcomes
    unc = results.uncertainty
    context: dict[str, Any] = {
        "absent": "This results file holds no outcomes analysis (curves, calibration, "
        "intervals): it was written by a govreport version before issue 13."
        if out is None and unc is None
        else "",
        "interval_table": None if unc is None else _interval_table(num, unc, out),
        "sampling": sampling_sentence(results),
        "detail": None,
    }
    specs: list[FigureSpec] = []
    if out is not None and out.datasets:
        first = out.datasets[0]
        if first.binary is not None:
            detail, specs = _binary(num, out, unc)
        elif first.multiclass is not None:
            detail, specs = _multiclass(num, out)
        else:
            detail, specs = _regression(num, out)
        context["detail"] = detail
    return context, specs
