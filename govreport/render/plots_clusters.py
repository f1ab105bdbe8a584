"""Figure of section 4.7: signed cluster feature importance, one panel per main cluster.

Reads only ``results["clusters"]`` (optional key); draws nothing when it is absent
or has no main cluster. The figure id ``clusters-fi`` matches the one
:func:`govreport.render.context_clusters.clusters_section` numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from govreport.render.context_clusters import FIGURE_CLUSTERS, FIGURE_FEATURES
from govreport.render.formatting import fmt_int, fmt_share
from govreport.render.plotting import GREY, OKABE_ITO, figure_to_svg, new_figure, short_label

__all__ = ["plot_cluster_importance", "render_cluster_figures"]


def plot_cluster_importance(clusters: Mapping[str, Any]) -> Figure:
    """Horizontal signed bars of FI for the largest main clusters, a grid of panels."""
    main = list(clusters.get("main") or [])[:FIGURE_CLUSTERS]
    exact = bool(clusters.get("exact"))
    columns = 2 if len(main) > 1 else 1
    rows = -(-len(main) // columns)
    panel_h = 0.5 + 0.22 * FIGURE_FEATURES
    fig = new_figure(6.5, 0.3 + panel_h * rows)
    grid = fig.add_gridspec(rows, columns)
    label = "C" if exact else "G"
    scale = "output" if clusters.get("prediction_kind") == "mean_prediction" else "logit"
    for i, cluster in enumerate(main):
        ax = fig.add_subplot(grid[i // columns, i % columns])
        features = list((cluster.get("outputs") or [{}])[0].get("features") or [])
        ranked = sorted(
            enumerate(features), key=lambda item: (-abs(float(item[1].get("fi") or 0.0)), item[0])
        )[:FIGURE_FEATURES]
        values = [float(f.get("fi") or 0.0) for _, f in ranked]
        spreads = [float(f.get("std") or 0.0) for _, f in ranked]
        ys = list(range(len(ranked)))
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
        ax.set_yticks(ys, [short_label(f["name"]) for _, f in ranked])
        ax.invert_yaxis()
        ax.grid(True, axis="x")
        ax.set_axisbelow(True)
        ax.set_title(
            f"{label}{cluster['rank']}: n = {fmt_int(cluster['count'])} "
            f"({fmt_share(cluster['support'])})",
            loc="left",
        )
        ax.set_xlabel(
            f"FI (coefficient on the {scale})" if exact else f"mean coefficient ({scale})"
        )
    return fig


def render_cluster_figures(results: Mapping[str, Any]) -> dict[str, str]:
    """``{"clusters-fi": svg}`` when results hold main clusters, else ``{}``.

    Call inside :func:`govreport.render.plotting.figure_style`.
    """
    clusters = results.get("clusters")
    if not clusters or not clusters.get("main"):
        return {}
    return {"clusters-fi": figure_to_svg(plot_cluster_importance(clusters), "clusters-fi")}
