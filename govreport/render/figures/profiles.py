"""Figures of section 4.4: local linear profiles, one per profiled feature."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from govreport.analyses.profiles import Density, FeatureProfile, ProfileSegment
from govreport.render.figures.style import (
    GREY,
    RUG_ROW_INCHES,
    new_figure,
    series_style,
    short_label,
)

__all__ = ["plot_profile"]


def _within_range(region: ProfileSegment) -> Density | None:
    """The region's density cut to the range of its data: a kernel estimate spreads mass
    beyond the observed values (below 0 for an amount that cannot be negative). ``None``
    (a rug of values instead) when fewer than two grid points remain."""
    d = region.density
    if d is None or not d.x or region.x_min is None or region.x_max is None:
        return None
    lo, hi = float(region.x_min), float(region.x_max)
    kept = [(float(x), float(y)) for x, y in zip(d.x, d.y, strict=True) if lo <= float(x) <= hi]
    if len(kept) < 2:
        return None
    return Density(x=tuple(x for x, _ in kept), y=tuple(y for _, y in kept))


def plot_profile(profile: FeatureProfile, scale: str = "logit") -> Figure:
    """Aletheia's local linear profile: region segments above, per-region distributions below.

    The lower panel draws each region's kernel density of the feature; a region
    whose ``density`` is null (fewer than two distinct values) gets a labelled
    rug row below the densities instead, one tick per distinct value.
    """
    # A region whose input statistics are withheld (disclosure control) has no range to draw.
    regions = [r for r in profile.regions if r.x_min is not None]
    densities = [_within_range(r) for r in regions]
    rug_rows = [i for i, d in enumerate(densities) if d is None]
    dens_max = max((max(float(v) for v in d.y) for d in densities if d), default=0.0)
    dens_h = 1.3 if dens_max > 0 else 0.0  # inches of the density part of the lower panel
    rug_h = RUG_ROW_INCHES * (len(rug_rows) + 0.6) if rug_rows else 0.0
    top_h = 2.5
    fig = new_figure(6.5, top_h + dens_h + rug_h + 0.75)
    grid = fig.add_gridspec(2, 1, height_ratios=(top_h, dens_h + rug_h))
    ax_top: Axes = fig.add_subplot(grid[0])
    ax_low: Axes = fig.add_subplot(grid[1], sharex=ax_top)
    feature = short_label(profile.feature)

    ax_top.axhline(0.0, color=GREY, linestyle=(0, (4, 3)), linewidth=0.8)
    for i, r in enumerate(regions):
        st = series_style(i)
        ax_top.plot(
            [float(r.x_min or 0.0), float(r.x_max or 0.0)],
            [float(r.y_min or 0.0), float(r.y_max or 0.0)],
            color=st["color"],
            linestyle=st["linestyle"],
            marker=st["marker"],
            markersize=3.5,
            label=f"R{r.rank} (n={r.count:,})",
        )
    ax_top.set_title(
        f"Feature importance of {feature}: {float(profile.importance_pct):.1f}% raw, "
        f"{float(profile.scaled_importance_pct):.1f}% scale-aware",
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
            ax_low.plot(dens.x, dens.y, color=st["color"], linestyle=st["linestyle"], linewidth=1.1)
            continue
        y = -(rug_rows.index(i) + 0.8) * step
        vals = [float(v) for v in r.values] or sorted(
            {float(r.x_min or 0.0), float(r.x_max or 0.0)}
        )
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
        labels.append(f"R{r.rank}")
    bottom = -(len(rug_rows) + 0.4) * step if rug_rows else 0.0
    ax_low.set_ylim(bottom, dens_max * 1.08 if dens_max > 0 else 0.0)
    ax_low.set_yticks(ticks, labels)
    if rug_rows and dens_max > 0:
        ax_low.axhline(0.0, color=GREY, linewidth=0.5)
    ax_low.set_ylabel("density" if dens_max > 0 else "distinct values")
    ax_low.set_xlabel(feature)
    ax_low.grid(True, axis="x")
    return fig
