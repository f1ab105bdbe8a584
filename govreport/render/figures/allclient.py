"""Figures of the all-client views (section 4.4): local slope by feature value, ICE curves.

One panel per feature, at most two panels a row. The data is what
:mod:`govreport.analyses.slope_profiles` stored: per value bin the median and quartiles
of the clients' exact local slopes; per grid value the mean and percentiles of the
sampled clients' outputs. The caller passes only features with something to draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from govreport.analyses.slope_profiles import IceCurves, SlopeByValue
from govreport.render.figures.style import GREY, OKABE_ITO, new_figure, short_label

__all__ = ["plot_ice", "plot_slope_by_value", "slope_unit"]

_DASHED = (0, (4, 3))


def _grid(n: int, row_inches: float) -> tuple[Figure, list[Axes]]:
    cols = 1 if n == 1 else 2
    rows = math.ceil(n / cols)
    fig = new_figure(6.5, row_inches * rows + 0.3)
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    return fig, axes


def slope_unit(feature: SlopeByValue) -> str:
    """Unit of the plotted slope: per one step of a discrete feature, per SD otherwise."""
    return "per unit" if feature.discrete else "per SD"


def _short(value: float) -> str:
    """A compact tick label: 30000 -> 30k, 1200000 -> 1.2M, 0.25 -> 0.25."""
    size = abs(value)
    if size >= 1e6:
        text = f"{value / 1e6:.3g}M"
    elif size >= 1e3:
        text = f"{value / 1e3:.3g}k"
    else:
        text = f"{value:.3g}"
    return text.replace("-", "\u2212")


def _bin_label(low: float, high: float, discrete: bool) -> str:
    if discrete or low == high:
        return f"{low:g}".replace("-", "\u2212")
    return f"{_short(low)}–{_short(high)}"


def plot_slope_by_value(features: Sequence[SlopeByValue], scale: str = "logit") -> Figure:
    """Median (point) and interquartile range (bar) of the local slope per value bin."""
    fig, axes = _grid(len(features), 2.3)
    for ax, feature in zip(axes, features, strict=True):
        factor = 1.0 if feature.discrete else float(feature.scale)
        bins = feature.bins
        xs = list(range(len(bins)))
        median = [float(b.median) * factor for b in bins]
        low = [float(b.q25) * factor for b in bins]
        high = [float(b.q75) * factor for b in bins]
        ax.axhline(0.0, color=GREY, linestyle=_DASHED, linewidth=0.8)
        ax.errorbar(
            xs,
            median,
            yerr=[
                [m - lo for m, lo in zip(median, low, strict=True)],
                [hi - m for m, hi in zip(median, high, strict=True)],
            ],
            fmt="o",
            color=OKABE_ITO[0],
            ecolor=OKABE_ITO[0],
            markersize=3.5,
            elinewidth=1.2,
            capsize=2,
        )
        labels = [_bin_label(float(b.low), float(b.high), feature.discrete) for b in bins]
        ax.set_xticks(
            xs,
            labels,
            rotation=0 if feature.discrete else 45,
            ha="center" if feature.discrete else "right",
            fontsize=6.5,
        )
        ax.set_title(short_label(feature.feature), loc="left")
        ax.set_ylabel(f"slope ({scale} {slope_unit(feature)})")
        ax.set_xlabel("value" if feature.discrete else "decile of the value")
        ax.grid(True, axis="y")
    return fig


def plot_ice(curves: Sequence[IceCurves], ylabel: str = "predicted probability") -> Figure:
    """Per feature: 10-90% and 25-75% bands of the individual curves, their median, and
    the mean (partial dependence, dashed)."""
    fig, axes = _grid(len(curves), 2.2)
    fig.set_figheight(fig.get_figheight() + 0.3)
    for ax, curve in zip(axes, curves, strict=True):
        grid = [float(v) for v in curve.grid]
        pct = {k: [float(v) for v in vs] for k, vs in curve.percentiles.items()}
        marker = "o" if curve.discrete else None
        ax.fill_between(
            grid,
            pct["p10"],
            pct["p90"],
            color=OKABE_ITO[0],
            alpha=0.15,
            linewidth=0,
            label="10–90% of clients",
        )
        ax.fill_between(
            grid,
            pct["p25"],
            pct["p75"],
            color=OKABE_ITO[0],
            alpha=0.35,
            linewidth=0,
            label="25–75% of clients",
        )
        ax.plot(
            grid,
            pct["p50"],
            color=OKABE_ITO[0],
            marker=marker,
            markersize=3,
            linewidth=1.2,
            label="median client",
        )
        ax.plot(
            grid,
            [float(v) for v in curve.mean],
            color=OKABE_ITO[1],
            linestyle=_DASHED,
            linewidth=1.2,
            label="mean (partial dependence)",
        )
        ax.set_title(short_label(curve.feature), loc="left")
        ax.set_xlabel("value set for every sampled client")
        ax.set_ylabel(ylabel)
        ax.grid(True)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, frameon=False)
    return fig
