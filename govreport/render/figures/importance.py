"""Figure of section 4.3: the headline feature importance (scaled effect)."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from govreport.analyses.importance import FeatureImportance, headline
from govreport.render.figures.style import (
    OKABE_ITO,
    new_figure,
    short_label,
)

__all__ = ["plot_importance"]


def _share_label(value: float | None) -> str:
    if value is None:
        return ""
    if value == 0.0:
        return "0%"
    return "<0.1%" if value < 0.05 else f"{value:.1f}%"


def plot_importance(features: Sequence[FeatureImportance], unit: str = "log-odds") -> Figure:
    """Horizontal bars of the headline importance (mean |effect of one SD|, in ``unit``),
    one per feature given, in the order given (the section builder passes the table's top
    rows); each bar is labelled with its share of the total."""
    top = list(features)
    height = max(1.6, 0.6 + 0.26 * len(top))
    fig = new_figure(6.5, height)
    ax = fig.add_subplot()
    ys = list(range(len(top)))
    values = [headline(f) for f in top]
    ax.barh(ys, values, height=0.6, color=OKABE_ITO[0], edgecolor=OKABE_ITO[0])
    right = max(values) if values and max(values) > 0 else 1.0
    for y, v, f in zip(ys, values, top, strict=True):
        share = f.share_pct if f.share_pct is not None else f.scaled_pct
        ax.text(v + right * 0.01, y, _share_label(share), va="center", fontsize=7)
    ax.set_xlim(0, right * 1.15)
    ax.set_yticks(ys, [short_label(f.name) for f in top])
    ax.invert_yaxis()
    ax.set_xlabel(f"mean change of the output per standard deviation ({unit})")
    ax.grid(True, axis="x")
    ax.set_axisbelow(True)
    return fig
