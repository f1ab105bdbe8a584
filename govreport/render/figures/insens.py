"""Figures of the technical annex (Insens): mean |Ω_j| per feature, and attribution robustness."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from govreport.analyses.insens.attribution import AttributionRobustness
from govreport.render.figures.style import (
    GREY,
    OKABE_ITO,
    new_figure,
    series_style,
    short_label,
)

__all__ = ["plot_insens_global", "plot_insens_robustness"]


def plot_insens_global(items: Sequence[tuple[str, float, float]]) -> Figure:
    """Horizontal bars of mean |Ω_j| with the signed mean as diamonds.

    ``items``: (feature, mean |Ω_j|, mean Ω_j) in drawing order, largest first.
    """
    fig = new_figure(6.5, max(1.6, 0.6 + 0.24 * len(items)))
    ax = fig.add_subplot()
    ys = list(range(len(items)))
    ax.barh(ys, [a for _, a, _ in items], height=0.6, color=OKABE_ITO[0], label="mean |Ω_j|")
    ax.scatter(
        [s for _, _, s in items],
        ys,
        marker="D",
        s=18,
        color=OKABE_ITO[1],
        edgecolor="black",
        linewidth=0.4,
        zorder=3,
        label="mean Ω_j (signed)",
    )
    ax.axvline(0.0, color=GREY, linewidth=0.6)
    ax.set_yticks(ys, [short_label(n) for n, _, _ in items])
    ax.invert_yaxis()
    ax.set_xlabel("standard deviations of the feature")
    ax.grid(True, axis="x")
    ax.set_axisbelow(True)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, frameon=False)
    return fig


def plot_insens_robustness(r: AttributionRobustness) -> Figure:
    """Left: mean cosine against noise level per method. Right: masked-noise damage bars."""
    fig = new_figure(6.5, 3.3)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.25]})
    scales = [float(s) for s in r.noise_scales]
    labels = list(r.labels)
    for i, label in enumerate(labels):
        style = series_style(i)
        left.plot(
            scales,
            [float(v) for v in r.stability[i]],
            color=style["color"],
            linestyle=style["linestyle"],
            marker=style["marker"],
            markersize=3.5,
            label=label,
        )
    left.set_xlabel("noise s (SD per feature)")
    left.set_ylabel("mean cosine similarity")
    left.set_xticks(scales, [f"{s:g}" for s in scales])
    left.grid(True)
    # Legends below the panels, never over the lines or bars.
    left.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2, frameon=False, fontsize=6.5
    )

    masked = {m.method: m for m in r.masked}
    ys = list(range(len(labels)))
    low = [float(masked[m].low_change or 0.0) for m in r.methods]
    high = [float(masked[m].high_change or 0.0) for m in r.methods]
    h = 0.38
    right.barh([y - h / 2 for y in ys], low, height=h, color=OKABE_ITO[0], label="least important")
    right.barh(
        [y + h / 2 for y in ys],
        high,
        height=h,
        color="white",
        edgecolor=OKABE_ITO[1],
        hatch="////",
        label="most important",
    )
    if r.random_change is not None:
        right.axvline(float(r.random_change), color=GREY, linestyle=(0, (1, 1.5)), label="random")
    right.axvline(0.0, color="black", linewidth=0.5)
    right.set_yticks(ys, [short_label(label) for label in labels])
    right.invert_yaxis()
    word = "increase" if r.metric == "rmse" else "drop"
    right.set_xlabel(f"{r.metric.upper()} {word} under masked noise")
    right.grid(True, axis="x")
    right.set_axisbelow(True)
    right.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2, frameon=False, fontsize=6.5
    )
    return fig
