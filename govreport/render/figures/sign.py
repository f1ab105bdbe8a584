"""Figures of section 4.6: where in each feature's range the sign constraint breaks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from govreport.render.figures.style import OKABE_ITO, new_figure, short_label

__all__ = ["plot_sign_breakdown"]

#: Panels per row of the small multiples.
PANELS_PER_ROW = 3


def plot_sign_breakdown(panels: Sequence[Mapping[str, Any]], material_label: str) -> Figure:
    """Small multiples, one panel per feature: the share of the clients of each value or
    decile whose effect has the wrong sign (light bar) and a material one (dark bar).

    ``panels``: each ``{"title": str, "xlabel": str, "ticks": [str], "wrong": [share],
    "material": [share]}``; ``material_label``: the legend of the dark bars.
    """
    n = max(1, len(panels))
    cols = min(PANELS_PER_ROW, n)
    rows = math.ceil(n / cols)
    fig = new_figure(6.5, 0.5 + 1.55 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, panel in enumerate(panels):
        ax = axes[i // cols][i % cols]
        xs = list(range(len(panel["ticks"])))
        ax.bar(xs, list(panel["wrong"]), width=0.8, color="#a6cbe3", label="wrong sign (any size)")
        ax.bar(xs, list(panel["material"]), width=0.5, color=OKABE_ITO[1], label=material_label)
        ax.set_title(short_label(str(panel["title"])), fontsize=8)
        ax.set_xticks(xs, list(panel["ticks"]), fontsize=6)
        ax.set_xlabel(str(panel["xlabel"]), fontsize=7)
        ax.set_ylim(0.0, 1.0)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.tick_params(axis="y", labelsize=6)
        ax.grid(True, axis="y")
        ax.set_axisbelow(True)
    for j in range(len(panels), rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=2, frameon=False, fontsize=7)
    return fig
