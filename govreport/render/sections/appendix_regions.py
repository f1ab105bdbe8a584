"""Appendix "Region-level views": the largest regions' tables and plots, when the data is in
the fragmented regime (:mod:`govreport.render.sections.regime`) and they left the body.

In the regime of few large regions this appendix is empty and left out of the report.
"""

from __future__ import annotations

from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.sections import coefficients, llm, outcomes, profiles
from govreport.render.sections.regime import APPENDIX, decision, fmt_threshold, fragmented
from govreport.render.text import Numbering, fmt_int, fmt_share
from govreport.results.schema import Results

__all__ = ["build"]


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """The region-level views in the fragmented regime; ``present`` False otherwise."""
    d = decision(results)
    if d is None or not fragmented(results):
        return {"region_appendix": {"present": False}, "hidden_sections": [f"sec-{APPENDIX}"]}, []
    why = (
        f"The {fmt_int(d.top_regions)} largest regions hold {fmt_share(d.top_share)} of the "
        f"training clients, below the {fmt_threshold(d.threshold)} at which the report shows "
        "region-level views in the body. They are kept here for completeness: each describes "
        "very few clients."
    )
    views, specs = llm.region_views(results, num)
    figures, profile_specs = profiles.region_profiles(results, num)
    specs += profile_specs
    note = ""
    if results.profiles and not figures:
        note = (
            "No region profile is drawn: every one of the largest regions holds fewer than "
            f"{fmt_int(d.disclosure_min_samples)} clients, the disclosure threshold below "
            f"which a region's input range is withheld; section {num.section('profiles')} "
            "shows the views of all clients instead."
        )
    plot_figures, plot_specs, plot_note = coefficients.region_plots(results, num)
    specs += plot_specs
    test = results.regions.get("test")
    test_llm_table, exposure = (
        outcomes.test_region_tables(num, test, results.model.output_names)
        if test is not None
        else (None, None)
    )
    return {
        "region_appendix": {
            "present": True,
            "reading": {
                "shows": "The tables and plots of the largest activation regions: their "
                "linear models, how well each ranks clients, and how the top features' "
                "effects differ from region to region.",
                "todo": "Read them as examples, not as a description of the model: together "
                f"they cover {fmt_share(d.top_share)} of the clients. Base conclusions on "
                f"sections {num.section('profiles')} and {num.section('coefficients')}.",
            },
            "why": why,
            "llm": views,
            "profiles": figures,
            "profiles_note": note,
            "plots": plot_figures,
            "plots_note": plot_note,
            "test_llm_table": test_llm_table,
            "exposure": exposure,
        }
    }, specs
