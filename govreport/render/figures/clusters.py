"""Figure of section 4.7: signed cluster feature importance, one panel per main cluster."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from govreport.render.figures.style import GREY, OKABE_ITO, new_figure, short_label

__all__ = ["plot_cluster_importance"]


def plot_cluster_importance(
    panels: Sequence[Mapping[str, Any]], exact: bool, scale: str, panel_features: int
) -> Figure:
    """Horizontal signed bars of FI, a grid of panels (two columns when more than one).

    ``panels``: one per cluster drawn, each ``title``, ``names``, ``values`` (effect of one
    standard deviation, w × std; largest in size first) and ``spreads`` (standard
    deviations, drawn as whiskers for groups that are not exact); ``panel_features``: the
    most features a panel holds (sets its height).
    """
    columns = 2 if len(panels) > 1 else 1
    rows = -(-len(panels) // columns)
    panel_h = 0.5 + 0.22 * panel_features
    fig = new_figure(6.5, 0.3 + panel_h * rows)
    grid = fig.add_gridspec(rows, columns)
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(grid[i // columns, i % columns])
        values = list(panel["values"])
        spreads = list(panel["spreads"])
        ys = list(range(len(values)))
        colors = [OKABE_ITO[0] if v >= 0 else "white" for v in values]
        edges = [OKABE_ITO[0] if v >= 0 else OKABE_ITO[1] for v in values]
        hatches = ["" if v >= 0 else "////" for v in values]
        bars = ax.barh(ys, values, height=0.62, color=colors, edgecolor=edges)
        for bar, hatch in zip(bars, hatches, strict=True):
            bar.set_hatch(hatch)
        if not exact and any(spreads):
            ax.errorbar(
                values, ys, xerr=spreads, fmt="none", ecolor=GREY, elinewidth=0.8, capsize=2
            )
        ax.axvline(0.0, color=GREY, linewidth=0.6)
        ax.set_yticks(ys, [short_label(name) for name in panel["names"]])
        ax.invert_yaxis()
        ax.grid(True, axis="x")
        ax.set_axisbelow(True)
        ax.set_title(str(panel["title"]), loc="left")
        ax.set_xlabel(
            f"effect of one SD ({scale})" if exact else f"mean effect of one SD ({scale})"
        )
    return fig
