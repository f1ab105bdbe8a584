"""The regime the data is in, as the report reads it (issue 12, item 5).

One decision, made by the analysis (:mod:`govreport.analyses.slope_profiles`) and read
here by every section that places region-level material: in the ``"fragmented"`` regime
(the largest regions hold few clients) the region-level tables and plots go to the
appendix "Region-level views" and sections 4.1-4.5 lead with views of all clients.
A results file without the block keeps the region-level layout.
"""

from __future__ import annotations

from govreport.analyses.slope_profiles import RegimeDecision
from govreport.render.text import Numbering, fmt_int, fmt_share
from govreport.results.schema import Results

__all__ = ["APPENDIX", "decision", "fmt_threshold", "fragmented", "regime_box", "why_appendix"]


def fmt_threshold(share: float) -> str:
    """The regime threshold as a plain percentage: 0.1 -> "10%"."""
    return f"{float(share) * 100:g}%"


#: Key of the appendix that holds the region-level views in the fragmented regime.
APPENDIX = "app-regions"


def decision(results: Results) -> RegimeDecision | None:
    """The run's regime decision, None for a results file that predates it."""
    views = results.slope_profiles
    return None if views is None else views.regime


def fragmented(results: Results) -> bool:
    """True when the region-level views belong in the appendix."""
    d = decision(results)
    return d is not None and d.regime == "fragmented"


def why_appendix(results: Results, num: Numbering) -> str:
    """One sentence: why the region-level material of a section is in the appendix."""
    d = decision(results)
    if d is None:
        return ""
    link = f"Appendix {num.section(APPENDIX)}"
    return (
        f"The {fmt_int(d.top_regions)} largest regions hold only {fmt_share(d.top_share)} of "
        f"the training clients (below the {fmt_threshold(d.threshold)} at which region-level "
        f"views describe the model), so their tables and plots are in {link}."
    )


def regime_box(results: Results, num: Numbering) -> dict[str, str] | None:
    """The "what this regime means" box of section 4.1 (fragmented regime only)."""
    d = decision(results)
    if d is None or d.regime != "fragmented":
        return None
    return {
        "title": "What this regime means",
        "text": (
            "The network cuts the data so finely that almost every client has an activation "
            "region, and so an exact linear model, of its own. Each of these models is the "
            "network itself around that client, not an estimate from few observations. "
            f"Statistics of single regions describe very few clients: the "
            f"{fmt_int(d.top_regions)} largest regions together hold "
            f"{fmt_share(d.top_share)} of them. Read the views of all clients instead: the "
            "distribution of each feature's local slope over all clients (section "
            f"{num.section('coefficients')}), how that slope varies with the feature's value, "
            "and how the predicted outcome moves when one feature changes (section "
            f"{num.section('profiles')})."
        ),
    }
