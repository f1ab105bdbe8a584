"""Figure of section 4.1: the coverage curve of the activation regions."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, PercentFormatter

from govreport.analyses.census import CoverageCurve
from govreport.render.figures.style import (
    GREY,
    OKABE_ITO,
    new_figure,
)

__all__ = ["plot_coverage"]


def plot_coverage(
    curve: CoverageCurve,
    regions: int,
    test_curve: CoverageCurve | None,
    test_regions: int | None,
    min_regions: int | None,
    min_samples: int,
) -> Figure:
    """Share of samples in the k largest regions against k (log scale).

    ``curve``/``test_curve``: the coverage curves (k, share) of the training and test
    census (``test_curve`` ``None`` when not drawn); ``min_regions``: the number of regions
    with at least ``min_samples`` samples (a dotted line; none when falsy).
    """
    fig = new_figure(6.5, 2.8)
    ax = fig.add_subplot()
    ax.plot(
        curve.k,
        curve.share,
        color=OKABE_ITO[0],
        linestyle="solid",
        marker="o",
        markersize=2.5,
        markevery=max(1, len(curve.k) // 12),
        label=f"train ({int(regions):,} regions)",
    )
    if test_curve is not None:
        ax.plot(
            test_curve.k,
            test_curve.share,
            color=OKABE_ITO[1],
            linestyle=(0, (5, 2)),
            marker="s",
            markersize=2.5,
            markevery=max(1, len(test_curve.k) // 12),
            label=f"test ({int(test_regions or 0):,} regions)",
        )
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("k largest regions (log scale)")
    ax.set_ylabel("share of samples")
    ax.grid(True, which="major")
    if min_regions:
        ax.axvline(
            float(min_regions),
            color=GREY,
            linestyle=(0, (1, 2)),
            linewidth=1.0,
            label=f"regions with ≥ {int(min_samples)} samples",
        )
    ax.legend(loc="lower right", frameon=False)
    return fig
