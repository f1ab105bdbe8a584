"""Figure of section 6: the merging curve (held-out performance and fidelity against K)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from matplotlib.figure import Figure

from govreport.analyses.simplify.stage import SimplificationDone
from govreport.render.figures.style import GREY, new_figure, series_style

__all__ = ["plot_merging_curve"]


def _value(entry: Mapping[str, float | int | None], key: str) -> float:
    value = entry.get(key)
    return float("nan") if value is None else float(value)


def plot_merging_curve(block: SimplificationDone) -> Figure:
    """Left: validation AUC (or RMSE) per K with the network's as a line; right: fidelity."""
    curve = block.curve
    ks = [p.k for p in curve]
    multiclass = block.selection_metric == "macro_auc"
    binary = block.selection_metric == "auc" or multiclass  # decisions to compare
    metric = {"auc": "auc", "macro_auc": "macro_auc"}.get(block.selection_metric, "rmse")
    fig = new_figure(6.5, 3.3)
    left, right = fig.subplots(1, 2)
    style = series_style(0)
    left.plot(
        ks,
        [_value(p.metrics, metric) for p in curve],
        color=style["color"],
        marker=style["marker"],
        markersize=3.5,
        label="merged model",
    )
    reference = block.validation_network.get(metric)
    if reference is not None:
        left.axhline(float(reference), color=GREY, linestyle=(0, (5, 2)), label="network")
    chosen = block.chosen_k
    for ax in (left, right):
        ax.axvline(chosen, color=GREY, linewidth=0.8, linestyle=(0, (1, 1.5)))
        ax.set_xticks(ks)
        ax.set_xlabel("clusters K")
        ax.grid(True)
        ax.set_axisbelow(True)
    left.set_ylabel(f"held-out {'macro AUC' if multiclass else 'AUC' if binary else 'RMSE'}")
    left.set_title(f"Performance (chosen K = {chosen})", loc="left")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, frameon=False)
    series = [("logit_corr", "logit correlation" if binary else "output correlation")]
    if binary:
        series.insert(0, ("agreement", "decision agreement"))
        if any("kappa" in p.fidelity for p in curve):
            series.insert(1, ("kappa", "κ (agreement beyond chance)"))
        series.append(
            (
                "auc",
                "macro AUC for network decisions" if multiclass else "AUC for network decisions",
            )
        )
    # A measure undefined at every K (e.g. the AUC when the network predicts one class
    # only) would be an empty line with a legend entry: left out.
    series = [
        (key, label)
        for key, label in series
        if any(not math.isnan(_value(p.fidelity, key)) for p in curve)
    ]
    for i, (key, label) in enumerate(series):
        s = series_style(i)
        right.plot(
            ks,
            [_value(p.fidelity, key) for p in curve],
            color=s["color"],
            linestyle=s["linestyle"],
            marker=s["marker"],
            markersize=3.5,
            label=label,
        )
    baseline = curve[0].fidelity.get("baseline_agreement") if binary and curve else None
    if baseline is not None:
        right.axhline(
            float(baseline), color=GREY, linestyle=(0, (5, 2)), label="constant-model agreement"
        )
    right.set_ylabel("fidelity to the network")
    right.set_title("Fidelity (held-out rows)", loc="left")
    # Below the axes: five series and a line leave no free corner inside.
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, frameon=False)
    return fig
