"""Figures of the Aletheia diagnostics (issue 3), drawn from the results dict only.

- ``diagperf``: local versus global metric of the largest training regions (Aletheia's
  ``diagperf_bar``), from ``regions.train.summary_table``;
- ``coef-box``: box plots of the scale-aware local coefficients over all samples, from
  the quantiles in ``coefficients``;
- ``coef-parallel``, ``coef-pair``, ``coef-intercept``: the companion plots of §1.5, from
  ``aletheia_plots`` (the LOWESS curves and residuals are analysis data; nothing is
  fitted here).

Whether a figure is drawn is decided by the same predicates that caption it
(:mod:`govreport.render.context_aletheia`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from govreport.render.context_aletheia import (
    BOX_FEATURES,
    has_box,
    has_diagperf,
    has_pair,
    has_parallel,
    scaled_order,
)
from govreport.render.plotting import (
    GREY,
    OKABE_ITO,
    figure_to_svg,
    new_figure,
    series_style,
    short_label,
)

__all__ = ["render_aletheia_figures"]

_DASHED = (0, (4, 3))


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def plot_diagperf(summary: Mapping[str, Any], network_metric: float | None) -> Figure:
    """Grouped bars: local (solid) and global (hatched) metric per region."""
    rows = list(summary["rows"])
    metric = str(summary["local_metric"])
    fig = new_figure(6.5, 2.6)
    ax = fig.add_subplot()
    xs = list(range(len(rows)))
    width = 0.4
    local = [_num(r.get("local_metric")) for r in rows]
    glob = [_num(r.get("global_metric")) for r in rows]
    ax.bar([x - width / 2 for x in xs], local, width, color=OKABE_ITO[0], label=f"local {metric}")
    ax.bar(
        [x + width / 2 for x in xs],
        glob,
        width,
        color="white",
        edgecolor=OKABE_ITO[1],
        hatch="////",
        label=f"global {metric}",
    )
    if network_metric is not None and math.isfinite(network_metric):
        ax.axhline(
            network_metric,
            color=GREY,
            linestyle=_DASHED,
            linewidth=1.0,
            label=f"network {metric} ({network_metric:.3f})",
        )
    ax.set_xticks(xs, [str(int(r["rank"])) for r in rows], fontsize=6.5 if len(rows) > 25 else None)
    finite = [v for v in local + glob if math.isfinite(v)]
    if metric in ("AUC", "accuracy"):
        low = min([0.5, *finite])
        ax.set_ylim(max(0.0, low - 0.05), 1.0)
    ax.set_ylabel(metric)
    ax.set_xlabel("region rank (1 = largest)")
    ax.grid(True, axis="y")
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def plot_coefficient_boxes(features: Sequence[Mapping[str, Any]], output: str) -> Figure:
    """Horizontal box plots of the scale-aware coefficient per feature, from quantiles.

    Quantile order: min, p1, p5, p25, median, p75, p95, p99, max.
    """
    stats = []
    for f in features:
        q = [float(v) for v in f["scaled"]["quantiles"]]
        stats.append(
            {
                "label": short_label(f["name"]),
                "whislo": q[2],
                "q1": q[3],
                "med": q[4],
                "q3": q[5],
                "whishi": q[6],
                "mean": float(f["scaled"]["mean"]),
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


def plot_parallel(parallel: Mapping[str, Any], output: str) -> Figure:
    """One line per LLM across the features; y = scale-aware coefficient."""
    features = [short_label(f) for f in parallel["features"]]
    lines = list(parallel["lines"])
    fig = new_figure(6.5, 3.0)
    ax = fig.add_subplot()
    xs = list(range(len(features)))
    ax.axhline(0.0, color=GREY, linestyle=_DASHED, linewidth=0.8)
    for i, line in enumerate(lines):
        st = series_style(i)
        ax.plot(
            xs,
            [float(v) for v in line["scaled"]],
            color=st["color"],
            linestyle=st["linestyle"],
            marker=st["marker"],
            markersize=3,
            linewidth=1.0,
            label=f"R{int(line['rank'])} (n={int(line['count']):,})",
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


def plot_pair(pair: Mapping[str, Any]) -> Figure:
    """Aletheia's pair plot: diagonal (μ_j, w_j) + LOWESS, off-diagonal (μ_k, residual_j)."""
    features = list(pair["features"])
    n = len(features)
    side = 1.6 * n + 0.4
    fig = new_figure(min(6.5, side), min(6.5, side))
    grid = fig.add_gridspec(n, n)
    sizes = _sizes(pair["counts"])
    for row, fj in enumerate(features):
        for col, fk in enumerate(features):
            ax: Axes = fig.add_subplot(grid[row, col])
            x = [float(v) for v in fk["centers"]]
            if row == col:
                y = [float(v) for v in fj["coefficients"]]
                ax.scatter(x, y, s=sizes, color=OKABE_ITO[0], alpha=0.7, linewidths=0)
                ax.plot(
                    [float(v) for v in fj["curve_x"]],
                    [float(v) for v in fj["curve_y"]],
                    color=OKABE_ITO[1],
                    linewidth=1.4,
                )
            else:
                y = [float(v) for v in fj["residuals"]]
                ax.axhline(0.0, color=GREY, linestyle=_DASHED, linewidth=0.6)
                ax.scatter(x, y, s=sizes, color=OKABE_ITO[2], alpha=0.7, linewidths=0)
            _small_axes(ax)
            if row == n - 1:
                ax.set_xlabel(f"μ {short_label(fk['name'])}", fontsize=7)
            if col == 0:
                ax.set_ylabel(f"w {short_label(fj['name'])}", fontsize=7)
            ax.grid(True)
    return fig


def plot_intercepts(pair: Mapping[str, Any], output: str) -> Figure:
    """Intercept b_r against the centre μ_rj, one panel per feature."""
    features = list(pair["features"])
    n = len(features)
    fig = new_figure(6.5, 1.9)
    sizes = _sizes(pair["counts"])
    b = [float(v) for v in pair["intercepts"]]
    for col, f in enumerate(features):
        ax = fig.add_subplot(1, n, col + 1)
        ax.scatter(
            [float(v) for v in f["centers"]],
            b,
            s=sizes,
            color=OKABE_ITO[4],
            alpha=0.75,
            linewidths=0,
        )
        ax.set_xlabel(f"μ {short_label(f['name'])}", fontsize=7)
        if col == 0:
            ax.set_ylabel(f"intercept b ({output})", fontsize=7)
        _small_axes(ax)
        ax.grid(True)
    return fig


def _network_metric(results: Mapping[str, Any], metric: str) -> float | None:
    key = {"AUC": "auc", "accuracy": "accuracy"}.get(metric)
    if key is None:
        return None
    for p in results.get("performance") or []:
        if p.get("dataset") == "train":
            value = (p.get("metrics") or {}).get(key)
            return None if value is None else float(value)
    return None


def render_aletheia_figures(results: Mapping[str, Any]) -> dict[str, str]:
    """``{figure id: svg}`` for the Aletheia figures present in ``results``.

    Call inside :func:`govreport.render.plotting.figure_style`.
    """
    out: dict[str, str] = {}
    output = str(((results.get("model") or {}).get("output_names") or ["output"])[0])
    if has_diagperf(results):
        summary = results["regions"]["train"]["summary_table"]
        fig = plot_diagperf(summary, _network_metric(results, str(summary["local_metric"])))
        out["diagperf"] = figure_to_svg(fig, "diagperf")
    if has_box(results):
        first = results["coefficients"]["outputs"][0]
        by_name = {str(f["name"]): f for f in first["features"]}
        order = [n for n in scaled_order(results) if n in by_name] or list(by_name)
        chosen = [by_name[n] for n in order[:BOX_FEATURES]]
        out["coef-box"] = figure_to_svg(
            plot_coefficient_boxes(chosen, str(first.get("output", output))), "coef-box"
        )
    plots = results.get("aletheia_plots") or {}
    if has_parallel(results):
        out["coef-parallel"] = figure_to_svg(
            plot_parallel(plots["parallel"], output), "coef-parallel"
        )
    if has_pair(results):
        out["coef-pair"] = figure_to_svg(plot_pair(plots["pair"]), "coef-pair")
        out["coef-intercept"] = figure_to_svg(
            plot_intercepts(plots["pair"], output), "coef-intercept"
        )
    return out
