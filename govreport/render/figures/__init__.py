"""Figures of the report: one module per figure family, and :func:`draw`.

A section builder chooses what a figure shows once, in a
:class:`~govreport.render.figures.spec.FigureSpec`; :func:`draw` hands the
spec's data to the plot function of its family and returns inline SVG. Figures
use matplotlib through an explicit :class:`~matplotlib.figure.Figure` (never
``pyplot``'s global state) in the style of :mod:`govreport.render.figures.style`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from matplotlib.figure import Figure

from govreport.render.figures.allclient import plot_ice, plot_slope_by_value
from govreport.render.figures.census import plot_coverage
from govreport.render.figures.clusters import plot_cluster_importance
from govreport.render.figures.coefficients import (
    plot_coefficient_boxes,
    plot_intercepts,
    plot_pair,
    plot_parallel,
)
from govreport.render.figures.data import plot_group_rates, plot_psi
from govreport.render.figures.importance import plot_importance
from govreport.render.figures.insens import plot_insens_global, plot_insens_robustness
from govreport.render.figures.llm import plot_diagperf
from govreport.render.figures.merging import plot_merging_curve
from govreport.render.figures.outcomes import (
    plot_reliability,
    plot_residuals,
    plot_roc_pr,
    plot_scores,
)
from govreport.render.figures.profiles import plot_profile
from govreport.render.figures.sign import plot_sign_breakdown
from govreport.render.figures.spec import FigureSpec
from govreport.render.figures.style import figure_style, figure_to_svg

__all__ = ["FigureSpec", "draw", "draw_all"]

#: Figure family (``FigureSpec.kind``) -> the function that draws it from the spec's data.
PLOTTERS: dict[str, Callable[..., Figure]] = {
    "coverage": plot_coverage,
    "diagperf": plot_diagperf,
    "importance": plot_importance,
    "profile": plot_profile,
    "slope-by-value": plot_slope_by_value,
    "ice": plot_ice,
    "coef-box": plot_coefficient_boxes,
    "coef-parallel": plot_parallel,
    "coef-pair": plot_pair,
    "coef-intercept": plot_intercepts,
    "clusters-fi": plot_cluster_importance,
    "insens-global": plot_insens_global,
    "insens-robustness": plot_insens_robustness,
    "merging-curve": plot_merging_curve,
    "psi": plot_psi,
    "group-rates": plot_group_rates,
    "roc-pr": plot_roc_pr,
    "reliability": plot_reliability,
    "score-distribution": plot_scores,
    "residuals": plot_residuals,
    "sign-breakdown": plot_sign_breakdown,
}


def draw(spec: FigureSpec) -> str:
    """The inline SVG of ``spec``: its family's plot of the spec's data, nothing else."""
    plot: Callable[..., Any] = PLOTTERS[spec.kind]
    with figure_style():
        return figure_to_svg(plot(**spec.data), spec.id)


def draw_all(specs: Iterable[FigureSpec]) -> dict[str, str]:
    """``{figure id: inline SVG}`` for ``specs``, drawn in the order given."""
    return {spec.id: draw(spec) for spec in specs}
