"""Figures of section 4.8 (Insens), drawn from ``results["insens"]`` only.

Ids: ``insens-global`` (mean |Ω_j| bars with the signed mean) and
``insens-robustness`` (stability lines and masked-noise bars); they match the
ids :func:`govreport.render.context_insens.insens_section` numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from govreport.render.context_insens import INSENS_FIGURE_BARS
from govreport.render.plotting import (
    GREY,
    OKABE_ITO,
    figure_to_svg,
    new_figure,
    series_style,
    short_label,
)

__all__ = ["plot_insens_global", "plot_insens_robustness", "render_insens_figures"]


def plot_insens_global(summary: Mapping[str, Any]) -> Figure:
    """Horizontal bars of mean |Ω_j| (largest first) with the signed mean as diamonds."""
    items = sorted(
        (
            (str(n), float(a), float(s))
            for n, a, s in zip(
                summary["feature_names"], summary["mean_abs"], summary["mean_signed"], strict=True
            )
            if a is not None and s is not None
        ),
        key=lambda t: (-t[1], t[0]),
    )[:INSENS_FIGURE_BARS]
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
    ax.legend(loc="lower right", frameon=False)
    return fig


def plot_insens_robustness(r: Mapping[str, Any]) -> Figure:
    """Left: mean cosine against noise level per method. Right: masked-noise damage bars."""
    fig = new_figure(6.5, 2.8)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.25]})
    scales = [float(s) for s in r["noise_scales"]]
    labels = [str(label) for label in r["labels"]]
    for i, label in enumerate(labels):
        style = series_style(i)
        left.plot(
            scales,
            [float(v) for v in r["stability"][i]],
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
    left.legend(loc="lower left", frameon=False, fontsize=6.5)

    masked = {m["method"]: m for m in r["masked"]}
    ys = list(range(len(labels)))
    low = [float(masked[m].get("low_change") or 0.0) for m in r["methods"]]
    high = [float(masked[m].get("high_change") or 0.0) for m in r["methods"]]
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
    if r.get("random_change") is not None:
        right.axvline(
            float(r["random_change"]), color=GREY, linestyle=(0, (1, 1.5)), label="random"
        )
    right.axvline(0.0, color="black", linewidth=0.5)
    right.set_yticks(ys, [short_label(label) for label in labels])
    right.invert_yaxis()
    word = "increase" if r["metric"] == "rmse" else "drop"
    right.set_xlabel(f"{str(r['metric']).upper()} {word} under masked noise")
    right.grid(True, axis="x")
    right.set_axisbelow(True)
    right.legend(loc="lower right", frameon=False, fontsize=6.5)
    return fig


def render_insens_figures(results: Mapping[str, Any]) -> dict[str, str]:
    """``{figure id: svg}`` for section 4.8; empty when the results hold no Insens."""
    doc = results.get("insens")
    if not doc:
        return {}
    out = {
        "insens-global": figure_to_svg(
            plot_insens_global(doc["summaries"]["train"]), "insens-global"
        )
    }
    if doc.get("robustness"):
        out["insens-robustness"] = figure_to_svg(
            plot_insens_robustness(doc["robustness"]), "insens-robustness"
        )
    return out
