"""Section 4.4, local linear profiles: how the effect of a top feature varies by region."""

from __future__ import annotations

from typing import Any

from govreport.analyses.profiles import FeatureProfile
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.review import withheld_sentence
from govreport.render.text import Numbering, fmt_int, fmt_num, fmt_pct, have, is_missing
from govreport.results.schema import Results

__all__ = ["build"]


def _slope_sentence(profile: FeatureProfile) -> str:
    slopes = [float(r.slope) for r in profile.regions if not is_missing(r.slope)]
    if not slopes:
        return ""
    pos = sum(1 for s in slopes if s > 0)
    neg = sum(1 for s in slopes if s < 0)
    return (
        f"Of the {fmt_int(len(slopes))} regions drawn, {have(pos)} a positive and {have(neg)} "
        f"a negative slope for {profile.feature} (slopes from {fmt_num(min(slopes))} to "
        f"{fmt_num(max(slopes))})."
    )


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4.4: one profile figure per profiled feature."""
    link = results.model.output_link
    scale = "output" if link == "identity" else "logit"
    profiles = []
    specs = []
    for i, p in enumerate(results.profiles):
        feature = p.feature
        rug = any(r.density is None and r.x_min is not None for r in p.regions)
        lower = "Lower panel: distribution of the feature within each region (kernel density"
        if rug:
            lower += "; rug ticks at the distinct values of regions with too few for a density"
        caption = (
            f"Local linear profile of {feature} (importance {fmt_pct(p.importance_pct)} "
            f"raw, {fmt_pct(p.scaled_importance_pct)} scale-aware). Upper panel: the "
            f"effect w·(x − x̄) of {feature} "
            f"inside each of the {fmt_int(p.regions_drawn)} largest of "
            f"{fmt_int(p.regions_total)} regions, one segment per region over the range "
            "the region covers, centred on the region's mean; the slope of a segment is the "
            f"region's local coefficient. {lower}). Colours, line styles and markers identify "
            "regions (R1 = largest)." + withheld_sentence(results, p)
        )
        spec = FigureSpec(
            id=f"profile-{i + 1}",
            kind="profile",
            caption=caption,
            alt=f"Local linear profile of {feature}",
            data={"profile": p, "scale": scale},
        )
        figure = num.figure(spec)
        specs.append(spec)
        profiles.append({"feature": feature, "figure": figure, "signs": _slope_sentence(p)})
    absent = (
        []
        if profiles
        else [
            {
                "title": "Local linear profiles",
                "issue": "",
                "text": "This results file holds no local linear profiles.",
            }
        ]
    )
    return {"profiles": {"figures": profiles, "absent": absent}}, specs
