"""Figures of sections 3.2 and 4.9: population stability and adverse-outcome rates by group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter, PercentFormatter

from govreport.render.figures.style import OKABE_ITO, new_figure, short_label

__all__ = ["plot_group_rates", "plot_psi"]

#: PSI readings drawn as reference lines (moderate, major shift).
PSI_LINES = (0.1, 0.25)
#: The smallest PSI drawn (the x axis is logarithmic; smaller values sit on it).
PSI_FLOOR = 1e-4


def plot_psi(names: Sequence[str], series: Sequence[Mapping[str, Any]]) -> Figure:
    """Horizontal bars of the PSI of each feature (and the score), one colour per data set.

    ``series``: each ``{"label": str, "psi": [float per name]}``.
    """
    height = max(1.8, 0.7 + 0.22 * len(names) * max(1, len(series)) ** 0.5)
    fig = new_figure(6.5, height)
    ax = fig.add_subplot()
    ys = list(range(len(names)))
    bar_h = 0.8 / max(1, len(series))
    for i, s in enumerate(series):
        values = [max(float(v), PSI_FLOOR) for v in s["psi"]]
        offset = (i - (len(series) - 1) / 2) * bar_h
        ax.barh(
            [y + offset for y in ys],
            values,
            height=bar_h,
            color=OKABE_ITO[i % len(OKABE_ITO)],
            label=str(s["label"]),
        )
    for line, style in zip(PSI_LINES, ("--", ":"), strict=True):
        ax.axvline(line, color="black", linestyle=style, linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlim(left=PSI_FLOOR)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(ys, [short_label(n) for n in names])
    ax.invert_yaxis()
    ax.set_xlabel("PSI against the training data (log scale)")
    ax.grid(True, axis="x")
    ax.set_axisbelow(True)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    return fig


def plot_group_rates(
    labels: Sequence[str], adverse: Sequence[float], predicted: Sequence[float], cutoff: float
) -> Figure:
    """Adverse-outcome rate at the cut-off (bars) and mean predicted probability (dots) per
    protected group, one row per group (``labels``: "FEATURE: group")."""
    height = max(1.8, 0.7 + 0.26 * len(labels))
    fig = new_figure(6.5, height)
    ax = fig.add_subplot()
    ys = list(range(len(labels)))
    ax.barh(ys, list(adverse), height=0.6, color=OKABE_ITO[0], label=f"adverse (p ≥ {cutoff:g})")
    ax.plot(list(predicted), ys, "o", color=OKABE_ITO[1], label="mean predicted probability")
    ax.set_yticks(ys, [short_label(label) for label in labels])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("share of clients")
    ax.grid(True, axis="x")
    ax.set_axisbelow(True)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    return fig
