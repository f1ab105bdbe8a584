"""What a figure of the report shows: chosen once, by the section that numbers it.

A :class:`FigureSpec` is built by a section builder (``render/sections/``) from
the results. It holds the figure's id, its caption and alt text, the family
that draws it (``kind``) and the data to draw, already selected (the bars,
the regions, the curves). The caption and the figure list are made from the
same spec, and :func:`govreport.render.figures.draw` draws only what the spec
holds: it never goes back to the results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FigureSpec"]


@dataclass(frozen=True, slots=True)
class FigureSpec:
    """One figure: ``id`` (the key of its SVG), ``kind`` (the plot function that draws it),
    ``caption`` and ``alt`` (the text printed with it) and ``data`` (the keyword arguments
    of the plot function: the data to draw, selected by the section builder)."""

    id: str
    kind: str
    caption: str
    alt: str
    data: Mapping[str, Any]
