"""Section 5 addition (issue 13): benchmark (challenger) models against the network.

Reads the typed ``challengers`` block of :class:`Results`
(:class:`~govreport.analyses.challengers.ChallengersResult`).
"""

from __future__ import annotations

from typing import Any

from govreport.analyses.challengers import ChallengersResult
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.calibration import fmt_p, p_is
from govreport.render.text import DASH, Numbering, fmt_int, fmt_metric, make_table
from govreport.results.schema import Results

__all__ = ["build_benchmark", "verdict"]

_COLUMNS = {
    "binary": (("auc", "AUC"), ("accuracy", "Accuracy"), ("log_loss", "Log loss")),
    "multiclass": (("accuracy", "Accuracy"), ("log_loss", "Log loss")),
    "regression": (("rmse", "RMSE"), ("mae", "MAE"), ("r2", "R²")),
}

#: Significance level of the verdict sentence.
ALPHA = 0.05


def verdict(result: ChallengersResult) -> str:
    """Plain words: does a simpler model do as well as the network?"""
    text = _verdict(result)
    if result.holdout == "train":
        return (
            "No test data was supplied, so every model is scored on its own training data, "
            "which favours the more flexible challengers: read this as indicative only. " + text
        )
    return text


def _verdict(result: ChallengersResult) -> str:
    best = next(c for c in result.challengers if c.name == result.best)
    if result.task == "binary":
        gain, p = result.auc_gain, result.delong_p
        if gain is None or p is None:
            return "DeLong's test could not be computed (a single class in the holdout data)."
        facts = (
            f"The best challenger, {best.name.lower()}, reaches an AUC of "
            f"{fmt_metric(best.metrics.get('auc'))} against the network's "
            f"{fmt_metric(result.network.get('auc'))} (difference {fmt_metric(gain)}, 95% CI "
            f"{fmt_metric(result.gain_lower)} to {fmt_metric(result.gain_upper)}, DeLong "
            f"{p_is(p)})."
        )
        if p >= ALPHA:
            return (
                facts + " The difference is within sampling error: a simpler or more "
                "conventional model does as well as the network. The choice of a neural "
                "network needs a justification other than discrimination, or the challenger "
                "should be considered as the model."
            )
        if gain < 0:
            return (
                facts + " The challenger ranks better than the network beyond sampling "
                "error: the network is not the best available model for this data. Explain "
                "why it is preferred, or replace it."
            )
        return facts + " The network ranks better than every challenger beyond sampling error."
    if result.task == "multiclass":
        gain = result.accuracy_gain
        facts = (
            f"The best challenger, {best.name.lower()}, reaches an accuracy of "
            f"{fmt_metric(best.metrics.get('accuracy'))} against the network's "
            f"{fmt_metric(result.network.get('accuracy'))} (network minus challenger: "
            f"{fmt_metric(gain)})."
        )
    else:
        gain = result.rmse_gain
        facts = (
            f"The best challenger, {best.name.lower()}, reaches an RMSE of "
            f"{fmt_metric(best.metrics.get('rmse'))} against the network's "
            f"{fmt_metric(result.network.get('rmse'))} (challenger minus network: "
            f"{fmt_metric(gain)}; positive means the network is better)."
        )
    if gain is None:
        return facts
    if gain <= 0:
        return facts + (
            " A simpler or more conventional model does at least as well as the network on "
            "the same rows: the choice of a neural network needs a justification other than "
            "performance, or the challenger should be considered as the model. No test of "
            "the difference is run for this task: read it against the intervals above."
        )
    return facts + (
        " The network does better than every challenger; no test of the difference is run "
        "for this task: read it against the intervals above."
    )


def build_benchmark(
    results: Results, num: Numbering
) -> tuple[dict[str, Any] | None, list[FigureSpec]]:
    """The challenger table and the verdict, or None when the results hold no challengers."""
    result = results.challengers
    if result is None:
        return None, []
    if not result.challengers:
        return {
            "table": None,
            "verdict": "No challenger model could be trained: the training data hold a single "
            "class.",
        }, []
    columns = _COLUMNS.get(result.task, ())
    binary = result.task == "binary"
    head = ["Model", "Settings", *[label for _, label in columns]]
    if binary:
        head += ["AUC difference (network − model)", "DeLong p"]
    rows = [
        ["Network", "the model under validation"]
        + [fmt_metric(result.network.get(key)) for key, _ in columns]
        + ([DASH, DASH] if binary else [])
    ]
    for c in result.challengers:
        row = [c.name, c.settings] + [fmt_metric(c.metrics.get(key)) for key, _ in columns]
        if binary:
            row += [
                f"{fmt_metric(c.auc_difference)} ({fmt_metric(c.difference_lower)} to "
                f"{fmt_metric(c.difference_upper)})",
                fmt_p(c.delong_p),
            ]
        rows.append(row)
    trained = (
        f"a seeded, stratified subsample of {fmt_int(result.train_rows_used)} of the "
        f"{fmt_int(result.train_rows)} training rows"
        if result.subsampled
        else f"all {fmt_int(result.train_rows)} training rows"
    )
    note = (
        f"Challengers trained on {trained} (seed {fmt_int(result.seed)}) and scored on the "
        f"{result.holdout} data, the same rows as the network."
    )
    if binary:
        note += (
            " AUC difference with DeLong's 95% interval; DeLong p: two-sided test of equal "
            "AUCs on the same rows."
        )
    if result.holdout == "train":
        note += (
            " No test data was supplied: every model is scored on its own training data, "
            "which favours the more flexible models."
        )
    table = make_table(
        num.tables,
        f"Benchmark models against the network, {result.holdout} data",
        head,
        rows,
        align="ll" + "r" * (len(head) - 2),
        note=note,
    )
    return {"table": table, "verdict": verdict(result)}, []
