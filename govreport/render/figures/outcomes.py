"""Figures of section 5: ROC and precision-recall curves, reliability, score distributions,
residuals (regression)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from govreport.analyses.outcomes import CalibrationBin, Curve, ResidualBin
from govreport.render.figures.style import GREY, OKABE_ITO, new_figure, series_style

__all__ = ["plot_reliability", "plot_residuals", "plot_roc_pr", "plot_scores"]


def _floats(values: Sequence[Any]) -> list[float]:
    return [float("nan") if v is None else float(v) for v in values]


def plot_roc_pr(
    curves: Sequence[tuple[str, Curve, Curve | None]], base_rates: Sequence[float] = ()
) -> Figure:
    """Left: ROC curves (with the diagonal of a random score); right: precision-recall curves
    (with the base rate of each data set), one line per ``curves`` entry (label, ROC, PR).
    Without PR curves (multiclass one-vs-rest) only the ROC panel is drawn."""
    with_pr = any(pr is not None for _, _, pr in curves)
    fig = new_figure(6.5 if with_pr else 3.6, 3.0)
    axes = fig.subplots(1, 2) if with_pr else [fig.add_subplot()]
    roc_ax = axes[0]
    roc_ax.plot([0, 1], [0, 1], color=GREY, linewidth=0.8, linestyle=(0, (1, 1.5)))
    for i, (label, roc, pr) in enumerate(curves):
        style = series_style(i)
        roc_ax.plot(
            _floats(roc.x),
            _floats(roc.y),
            color=style["color"],
            linestyle=style["linestyle"],
            label=label,
        )
        if with_pr and pr is not None:
            axes[1].plot(
                _floats(pr.x),
                _floats(pr.y),
                color=style["color"],
                linestyle=style["linestyle"],
                label=label,
            )
            if i < len(base_rates):
                axes[1].axhline(
                    float(base_rates[i]), color=style["color"], linewidth=0.7, linestyle=":"
                )
    roc_ax.set_xlabel("false positive rate")
    roc_ax.set_ylabel("true positive rate")
    roc_ax.set_title("ROC", loc="left")
    if with_pr:
        axes[1].set_xlabel("recall")
        axes[1].set_ylabel("precision")
        axes[1].set_title("Precision-recall", loc="left")
        axes[1].set_ylim(0, 1.02)
    for ax in axes:
        ax.set_xlim(0, 1)
        ax.grid(True)
        ax.set_axisbelow(True)
    roc_ax.set_ylim(0, 1.02)
    roc_ax.legend(loc="lower right", frameon=False, fontsize="small")
    return fig


def plot_reliability(series: Sequence[tuple[str, Sequence[CalibrationBin]]]) -> Figure:
    """Observed rate against mean predicted probability per decile, one series (label,
    deciles) per data set, with the diagonal of perfect calibration."""
    fig = new_figure(3.8, 3.4)
    ax = fig.add_subplot()
    top = 0.0
    for i, (label, bins) in enumerate(series):
        style = series_style(i)
        x = _floats([b.mean_predicted for b in bins])
        y = _floats([b.observed_rate for b in bins])
        top = max([top, *x, *y])
        ax.plot(
            x,
            y,
            color=style["color"],
            linestyle=style["linestyle"],
            marker=style["marker"],
            markersize=3.5,
            label=label,
        )
    limit = min(1.0, top * 1.05 + 0.01)
    ax.plot([0, limit], [0, limit], color=GREY, linewidth=0.8, linestyle=(0, (1, 1.5)))
    ax.set_xlim(0, limit)
    ax.set_ylim(0, limit)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    ax.grid(True)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", frameon=False, fontsize="small")
    return fig


def plot_scores(
    edges: Sequence[float | None], counts: Mapping[str, Sequence[int]], xlabel: str
) -> Figure:
    """Histogram per class (share of the class in each bin), as step lines."""
    fig = new_figure(6.5, 2.6)
    ax = fig.add_subplot()
    x = _floats(edges)
    for i, (label, values) in enumerate(counts.items()):
        total = sum(int(v) for v in values) or 1
        shares = [int(v) / total for v in values]
        ax.stairs(
            shares,
            x,
            color=OKABE_ITO[i % len(OKABE_ITO)],
            linewidth=1.4,
            label=str(label),
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of the class")
    ax.grid(True)
    ax.set_axisbelow(True)
    ax.legend(loc="upper right", frameon=False)
    return fig


def plot_residuals(
    bins: Sequence[ResidualBin], edges: Sequence[float | None], counts: Sequence[int]
) -> Figure:
    """Left: mean target against mean prediction per decile of the prediction; right:
    histogram of residuals (prediction - target)."""
    fig = new_figure(6.5, 2.8)
    left, right = fig.subplots(1, 2)
    x = _floats([b.mean_predicted for b in bins])
    y = _floats([b.mean_observed for b in bins])
    lo, hi = min(x + y), max(x + y)
    left.plot([lo, hi], [lo, hi], color=GREY, linewidth=0.8, linestyle=(0, (1, 1.5)))
    style = series_style(0)
    left.plot(x, y, color=style["color"], marker=style["marker"], markersize=3.5)
    left.set_xlabel("mean prediction")
    left.set_ylabel("mean target")
    left.set_title("By decile of the prediction", loc="left")
    right.stairs([int(c) for c in counts], _floats(edges), color=OKABE_ITO[0], fill=True)
    right.set_xlabel("residual (prediction - target)")
    right.set_ylabel("samples")
    right.set_title("Residuals", loc="left")
    for ax in (left, right):
        ax.grid(True)
        ax.set_axisbelow(True)
    return fig
