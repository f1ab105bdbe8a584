"""Figures of section 4.5: box plots of the scale-aware local coefficients (from their
quantiles) and Aletheia's parallel, pair and intercept plots (the LOWESS curves and
residuals are analysis data; nothing is fitted here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from govreport.analyses.coefficients import FeatureCoefficients
from govreport.analyses.region_plots import PairData, ParallelData
from govreport.render.figures.style import (
    GREY,
    OKABE_ITO,
    new_figure,
    series_style,
    short_label,
)

_DASHED = (0, (4, 3))

__all__ = ["plot_coefficient_boxes", "plot_intercepts", "plot_pair", "plot_parallel"]


def plot_coefficient_boxes(features: Sequence[FeatureCoefficients], output: str) -> Figure:
    """Horizontal box plots of the scale-aware coefficient per feature, from quantiles.

    Quantile order: min, p1, p5, p25, median, p75, p95, p99, max.
    """
    stats = []
    for f in features:
        q = [float(v) for v in f.scaled.quantiles]
        stats.append(
            {
                "label": short_label(f.name),
                "whislo": q[2],
                "q1": q[3],
                "med": q[4],
                "q3": q[5],
                "whishi": q[6],
                "mean": float(f.scaled.mean),
                "fliers": [q[0], q[8]],
            }
        )
    height = max(1.8, 0.7 + 0.3 * len(stats))
    fig = new_figure(6.5, height)
    ax = fig.add_subplot()
    ax.bxp(
        stats,
        orientation="horizontal",
        showmeans=True,
        meanprops={
            "marker": "D",
            "markerfacecolor": OKABE_ITO[1],
            "markeredgecolor": "none",
            "markersize": 4,
        },
        medianprops={"color": OKABE_ITO[0], "linewidth": 1.6},
        boxprops={"color": "#333333", "linewidth": 0.8},
        whiskerprops={"color": "#333333", "linewidth": 0.8},
        capprops={"color": "#333333", "linewidth": 0.8},
        flierprops={
            "marker": "o",
            "markerfacecolor": "none",
            "markeredgecolor": GREY,
            "markersize": 3.5,
        },
    )
    ax.invert_yaxis()
    ax.axvline(0.0, color=GREY, linestyle=_DASHED, linewidth=0.8)
    ax.set_xlabel(f"scale-aware local coefficient (change of {output} per standard deviation)")
    ax.grid(True, axis="x")
    ax.set_axisbelow(True)
    return fig


def plot_parallel(parallel: ParallelData, output: str) -> Figure:
    """One line per LLM across the features; y = scale-aware coefficient."""
    features = [short_label(f) for f in parallel.features]
    lines = parallel.lines
    fig = new_figure(6.5, 3.0)
    ax = fig.add_subplot()
    xs = list(range(len(features)))
    ax.axhline(0.0, color=GREY, linestyle=_DASHED, linewidth=0.8)
    for i, line in enumerate(lines):
        st = series_style(i)
        ax.plot(
            xs,
            [float(v) for v in line.scaled],
            color=st["color"],
            linestyle=st["linestyle"],
            marker=st["marker"],
            markersize=3,
            linewidth=1.0,
            label=f"R{line.rank} (n={line.count:,})",
        )
    ax.set_xticks(xs, features, rotation=30, ha="right")
    ax.set_ylabel(f"scale-aware coefficient\n({output} per std)")
    ax.grid(True)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        ncols=1 if len(lines) <= 12 else 2,
        handlelength=2.6,
    )
    return fig


def _small_axes(ax: Axes) -> None:
    """Small ticks, at most 4 per axis, large or tiny values as an offset exponent."""
    ax.tick_params(labelsize=6)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.ticklabel_format(axis="both", style="sci", scilimits=(-3, 4))
    ax.yaxis.get_offset_text().set_fontsize(6)
    ax.xaxis.get_offset_text().set_fontsize(6)


def _sizes(counts: Sequence[Any]) -> list[float]:
    top = max((int(c) for c in counts), default=1) or 1
    return [8.0 + 40.0 * math.sqrt(int(c) / top) for c in counts]


def plot_pair(pair: PairData) -> Figure:
    """Aletheia's pair plot: diagonal (μ_j, w_j) + LOWESS, off-diagonal (μ_k, residual_j)."""
    features = pair.features
    n = len(features)
    side = 1.6 * n + 0.4
    fig = new_figure(min(6.5, side), min(6.5, side))
    grid = fig.add_gridspec(n, n)
    sizes = _sizes(pair.counts)
    for row, fj in enumerate(features):
        for col, fk in enumerate(features):
            ax: Axes = fig.add_subplot(grid[row, col])
            x = [float(v) for v in fk.centers]
            if row == col:
                y = [float(v) for v in fj.coefficients]
                ax.scatter(x, y, s=sizes, color=OKABE_ITO[0], alpha=0.7, linewidths=0)
                ax.plot(
                    [float(v) for v in fj.curve_x],
                    [float(v) for v in fj.curve_y],
                    color=OKABE_ITO[1],
                    linewidth=1.4,
                )
            else:
                y = [float(v) for v in fj.residuals]
                ax.axhline(0.0, color=GREY, linestyle=_DASHED, linewidth=0.6)
                ax.scatter(x, y, s=sizes, color=OKABE_ITO[2], alpha=0.7, linewidths=0)
            _small_axes(ax)
            if row == n - 1:
                ax.set_xlabel(f"μ {short_label(fk.name)}", fontsize=7)
            if col == 0:
                ax.set_ylabel(f"w {short_label(fj.name)}", fontsize=7)
            ax.grid(True)
    return fig


def plot_intercepts(pair: PairData, output: str) -> Figure:
    """Intercept b_r against the centre μ_rj, one panel per feature."""
    features = pair.features
    n = len(features)
    fig = new_figure(6.5, 1.9)
    sizes = _sizes(pair.counts)
    b = [float(v) for v in pair.intercepts]
    for col, f in enumerate(features):
        ax = fig.add_subplot(1, n, col + 1)
        ax.scatter(
            [float(v) for v in f.centers],
            b,
            s=sizes,
            color=OKABE_ITO[4],
            alpha=0.75,
            linewidths=0,
        )
        ax.set_xlabel(f"μ {short_label(f.name)}", fontsize=7)
        if col == 0:
            ax.set_ylabel(f"intercept b ({output})", fontsize=7)
        _small_axes(ax)
        ax.grid(True)
    return fig
