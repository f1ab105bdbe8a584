"""Appendix C, methods: the few run values its text quotes."""

from __future__ import annotations

from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.text import Numbering, fmt_int
from govreport.results.schema import Results

__all__ = ["build"]


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Appendix C: the values the methods text quotes (the text is in the template)."""
    options = results.run.options
    methods = {
        "min_samples": fmt_int(options.min_samples),
        "profile_regions": fmt_int(options.profile_regions),
        "top_regions": fmt_int(options.top_regions),
    }
    return {"methods": methods}, []
