"""Appendix C, methods: the few run values its text quotes."""

from __future__ import annotations

from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.sections import sampling
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
        "multiclass": results.model.task == "multiclass",
        "sampling": sampling.methods_context(results.scale),
        "reading": {
            "shows": "How each analysis of the report works: its purpose, mechanism, what "
            "signals a risk, its limitations and its source, with the options and "
            "implementation details that the body leaves out.",
            "todo": "Use it to challenge a result: a limitation listed here can make a "
            "finding weaker or stronger than it looks in the body.",
        },
    }
    return {"methods": methods}, []
