"""Figures of the report, drawn from the ``results`` dict as inline SVG.

Every figure reads only the JSON twin of its data in ``results`` (the results
contract), so ``govreport render results.json`` redraws it without
recomputation. Figures use matplotlib's Agg machinery through an explicit
:class:`~matplotlib.figure.Figure` (never ``pyplot``'s global state), an
Okabe–Ito palette that survives colour-blindness, and line styles and markers
that also tell series apart in greyscale.

The SVG is deterministic: fixed ``svg.hashsalt``, no date metadata, text kept
as text (``svg.fonttype = 'none'``), and element ids prefixed per figure so that
several figures can share one HTML document. The XML prolog, DOCTYPE, RDF
metadata and namespace declarations are stripped (inline SVG in HTML needs
none of them, and the report must contain no URL of any kind).

Figure ids (``coverage``, ``importance``, ``profile-1``...) match the ids that
:func:`govreport.render.context.build_context` numbers and captions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, PercentFormatter

from govreport.render.context import IMPORTANCE_FIGURE_BARS
from govreport.render.plots_aletheia import render_aletheia_figures
from govreport.render.plots_clusters import render_cluster_figures
from govreport.render.plots_insens import render_insens_figures
from govreport.render.plots_simplification import render_simplification_figures
from govreport.render.plotting import (
    GREY,
    OKABE_ITO,
    RUG_ROW_INCHES,
    figure_style,
    figure_to_svg,
    new_figure,
    series_style,
    short_label,
)

if TYPE_CHECKING:
    pass

__all__ = ["render_figures"]

# ---------------------------------------------------------------------------
# figures


def plot_coverage(census: Mapping[str, Any], test_census: Mapping[str, Any] | None) -> Figure:
    """Share of samples in the k largest regions against k (log scale)."""
    fig = new_figure(6.5, 2.8)
    ax = fig.add_subplot()
    curve = census["coverage_curve"]
    ax.plot(
        curve["k"],
        curve["share"],
        color=OKABE_ITO[0],
        linestyle="solid",
        marker="o",
        markersize=2.5,
        markevery=max(1, len(curve["k"]) // 12),
        label=f"train ({int(census['regions']):,} regions)",
    )
    if test_census and (test_census.get("coverage_curve") or {}).get("k"):
        tcurve = test_census["coverage_curve"]
        ax.plot(
            tcurve["k"],
            tcurve["share"],
            color=OKABE_ITO[1],
            linestyle=(0, (5, 2)),
            marker="s",
            markersize=2.5,
            markevery=max(1, len(tcurve["k"]) // 12),
            label=f"test ({int(test_census['regions']):,} regions)",
        )
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("k largest regions (log scale)")
    ax.set_ylabel("share of samples")
    ax.grid(True, which="major")
    k_min = census.get("regions_with_min_samples")
    if k_min:
        ax.axvline(
            float(k_min),
            color=GREY,
            linestyle=(0, (1, 2)),
            linewidth=1.0,
            label=f"regions with ≥ {int(census['min_samples'])} samples",
        )
    ax.legend(loc="lower right", frameon=False)
    return fig


def plot_importance(features: Sequence[Mapping[str, Any]]) -> Figure:
    """Horizontal bars of raw (solid) and scaled (hatched) importance, top features by raw."""
    top = list(features[:IMPORTANCE_FIGURE_BARS])
    height = max(1.6, 0.6 + 0.26 * len(top))
    fig = new_figure(6.5, height)
    ax = fig.add_subplot()
    ys = list(range(len(top)))
    bar_h = 0.38
    raw = [float(f["raw_pct"] or 0.0) for f in top]
    scaled = [float(f["scaled_pct"] or 0.0) for f in top]
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
    ax.set_yticks(ys, [short_label(f["name"]) for f in top])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(PercentFormatter(100.0, decimals=0))
    ax.set_xlabel("share of total importance")
    ax.grid(True, axis="x")
    ax.set_axisbelow(True)
    ax.legend(loc="lower right", frameon=False)
    return fig


def plot_profile(profile: Mapping[str, Any], scale: str = "logit") -> Figure:
    """Aletheia's local linear profile: region segments above, per-region distributions below.

    The lower panel draws each region's kernel density of the feature; a region
    whose ``density`` is null (fewer than two distinct values) gets a labelled
    rug row below the densities instead, one tick per distinct value.
    """
    # A region whose input statistics are withheld (disclosure control) has no range to draw.
    regions = [r for r in profile["regions"] if r.get("x_min") is not None]
    densities = [r.get("density") if (r.get("density") or {}).get("x") else None for r in regions]
    rug_rows = [i for i, d in enumerate(densities) if d is None]
    dens_max = max((max(float(v) for v in d["y"]) for d in densities if d), default=0.0)
    dens_h = 1.3 if dens_max > 0 else 0.0  # inches of the density part of the lower panel
    rug_h = RUG_ROW_INCHES * (len(rug_rows) + 0.6) if rug_rows else 0.0
    top_h = 2.5
    fig = new_figure(6.5, top_h + dens_h + rug_h + 0.75)
    grid = fig.add_gridspec(2, 1, height_ratios=(top_h, dens_h + rug_h))
    ax_top: Axes = fig.add_subplot(grid[0])
    ax_low: Axes = fig.add_subplot(grid[1], sharex=ax_top)
    feature = short_label(profile["feature"])

    ax_top.axhline(0.0, color=GREY, linestyle=(0, (4, 3)), linewidth=0.8)
    for i, r in enumerate(regions):
        st = series_style(i)
        ax_top.plot(
            [float(r["x_min"]), float(r["x_max"])],
            [float(r["y_min"]), float(r["y_max"])],
            color=st["color"],
            linestyle=st["linestyle"],
            marker=st["marker"],
            markersize=3.5,
            label=f"R{r['rank']} (n={int(r['count']):,})",
        )
    ax_top.set_title(
        f"Feature importance of {feature}: {float(profile['importance_pct']):.1f}% raw, "
        f"{float(profile['scaled_importance_pct']):.1f}% scale-aware",
        loc="left",
    )
    ax_top.set_ylabel(f"centred effect\non {scale}")
    ax_top.grid(True)
    ax_top.tick_params(labelbottom=False)
    ax_top.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        ncols=1 if len(regions) <= 10 else 2,
        handlelength=2.6,
    )

    # One rug row is RUG_ROW_INCHES tall whatever the density scale.
    step = dens_max * RUG_ROW_INCHES / dens_h if dens_max > 0 else 1.0
    ticks: list[float] = []
    labels: list[str] = []
    if dens_max > 0:
        ticks = [t for t in MaxNLocator(nbins=3).tick_values(0.0, dens_max) if 0 <= t <= dens_max]
        labels = [f"{t:g}" for t in ticks]
    for i, r in enumerate(regions):
        st = series_style(i)
        dens = densities[i]
        if dens is not None:
            ax_low.plot(
                dens["x"], dens["y"], color=st["color"], linestyle=st["linestyle"], linewidth=1.1
            )
            continue
        y = -(rug_rows.index(i) + 0.8) * step
        vals = [float(v) for v in r.get("values") or []]
        ax_low.plot(
            vals,
            [y] * len(vals),
            linestyle="none",
            marker="|",
            markersize=6,
            markeredgewidth=1.6,
            color=st["color"],
        )
        ticks.append(y)
        labels.append(f"R{r['rank']}")
    bottom = -(len(rug_rows) + 0.4) * step if rug_rows else 0.0
    ax_low.set_ylim(bottom, dens_max * 1.08 if dens_max > 0 else 0.0)
    ax_low.set_yticks(ticks, labels)
    if rug_rows and dens_max > 0:
        ax_low.axhline(0.0, color=GREY, linewidth=0.5)
    ax_low.set_ylabel("density" if dens_max > 0 else "distinct values")
    ax_low.set_xlabel(feature)
    ax_low.grid(True, axis="x")
    return fig


# ---------------------------------------------------------------------------
# entry point


def render_figures(results: Mapping[str, Any]) -> dict[str, str]:
    """Draw every figure of the report.

    Returns ``{figure id: inline SVG string}``. Ids: ``coverage`` (when the
    training census carries a coverage curve), ``importance`` (when importance
    has at least one output), ``profile-<i>`` for each profile, 1-based.
    """
    out: dict[str, str] = {}
    with figure_style():
        regions = results["regions"]
        census = regions["train"]["census"]
        test = regions.get("test") or None
        if (census.get("coverage_curve") or {}).get("k"):
            out["coverage"] = figure_to_svg(
                plot_coverage(census, test["census"] if test else None), "coverage"
            )
        outputs = results["importance"]["outputs"]
        if outputs:
            out["importance"] = figure_to_svg(plot_importance(outputs[0]["features"]), "importance")
        link = str(results["model"].get("output_link", "identity"))
        scale = "output" if link == "identity" else "logit"
        for i, profile in enumerate(results["profiles"]):
            fig_id = f"profile-{i + 1}"
            out[fig_id] = figure_to_svg(plot_profile(profile, scale), fig_id)
        out.update(render_cluster_figures(results))
        out.update(render_insens_figures(results))
        out.update(render_aletheia_figures(results))
        out.update(render_simplification_figures(results))
    return out
