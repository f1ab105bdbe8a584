"""Appendix C, methods: the few run values its text quotes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.text import DASH, Numbering, fmt_int

__all__ = ["build"]


def build(results: Mapping[str, Any], num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Appendix C: the values the methods text quotes (the text is in the template)."""
    options = results["run"].get("options") or {}
    census = results["regions"]["train"]["census"]

    def option(key: str) -> str:
        return fmt_int(options[key]) if key in options else DASH

    methods = {
        "min_samples": fmt_int(options.get("min_samples", census["min_samples"])),
        "profile_regions": option("profile_regions"),
        "top_regions": option("top_regions"),
    }
    return {"methods": methods}, []
