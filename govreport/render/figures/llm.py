"""Figure of section 4.2: local versus global metric of the largest training regions
(Aletheia's ``diagperf_bar``).
"""

from __future__ import annotations

import math
from typing import Any

from matplotlib.figure import Figure

from govreport.analyses.summary import SummaryTable
from govreport.render.figures.style import (
    GREY,
    OKABE_ITO,
    new_figure,
)

_DASHED = (0, (4, 3))

__all__ = ["plot_diagperf"]


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def plot_diagperf(summary: SummaryTable, network_metric: float | None) -> Figure:
    """Grouped bars: local (solid) and global (hatched) metric per region."""
    rows = summary.rows
    metric = summary.local_metric
    fig = new_figure(6.5, 2.6)
    ax = fig.add_subplot()
    xs = list(range(len(rows)))
    width = 0.4
    local = [_num(r.local_metric) for r in rows]
    glob = [_num(r.global_metric) for r in rows]
    if any(math.isfinite(v) for v in local):  # no empty legend entry when none has one
        ax.bar(
            [x - width / 2 for x in xs], local, width, color=OKABE_ITO[0], label=f"local {metric}"
        )
    # DeLong intervals of the local AUC, where the table has them.
    ci = [
        (x - width / 2, v, _num(r.local_low), _num(r.local_high))
        for x, v, r in zip(xs, local, rows, strict=True)
        if r.local_low is not None and r.local_high is not None and math.isfinite(v)
    ]
    if ci:
        ax.errorbar(
            [c[0] for c in ci],
            [c[1] for c in ci],
            yerr=[[c[1] - c[2] for c in ci], [c[3] - c[1] for c in ci]],
            fmt="none",
            ecolor="black",
            elinewidth=0.8,
            capsize=2,
        )
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
    ax.set_xticks(xs, [str(r.rank) for r in rows], fontsize=6.5 if len(rows) > 25 else None)
    lows = [c[2] for c in ci if math.isfinite(c[2])]
    finite = [v for v in local + glob + lows if math.isfinite(v)]
    if metric in ("AUC", "accuracy"):
        low = min([0.5, *finite])
        ax.set_ylim(max(0.0, low - 0.05), 1.0)
    ax.set_ylabel(metric)
    ax.set_xlabel("region rank (1 = largest)")
    ax.grid(True, axis="y")
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig
