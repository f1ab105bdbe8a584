"""Figure of section 4.3: raw and scaled feature importance."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from govreport.analyses.importance import FeatureImportance
from govreport.render.figures.style import (
    OKABE_ITO,
    new_figure,
    short_label,
)

__all__ = ["plot_importance"]


def plot_importance(features: Sequence[FeatureImportance]) -> Figure:
    """Horizontal bars of raw (solid) and scaled (hatched) importance, one per feature given
    (the section builder picks the top features by raw importance)."""
    top = list(features)
    height = max(1.6, 0.6 + 0.26 * len(top))
    fig = new_figure(6.5, height)
    ax = fig.add_subplot()
    ys = list(range(len(top)))
    bar_h = 0.38
    raw = [float(f.raw_pct or 0.0) for f in top]
    scaled = [float(f.scaled_pct or 0.0) for f in top]
    ax.barh(
        [y - bar_h / 2 for y in ys],
        raw,
        height=bar_h,
        color=OKABE_ITO[0],
        edgecolor=OKABE_ITO[0],
        label="raw",
    )
    ax.barh(
        [y + bar_h / 2 for y in ys],
        scaled,
        height=bar_h,
        color="white",
        edgecolor=OKABE_ITO[1],
        hatch="////",
        label="scaled",
    )
    ax.set_yticks(ys, [short_label(f.name) for f in top])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(PercentFormatter(100.0, decimals=0))
    ax.set_xlabel("share of total importance")
    ax.grid(True, axis="x")
    ax.set_axisbelow(True)
    ax.legend(loc="lower right", frameon=False)
    return fig
