"""Section 4.4: how the effect of a top feature varies, over all clients and by region.

Two kinds of view. The all-client views (:mod:`govreport.analyses.slope_profiles`): the
exact local slope of each client binned by the feature's value, and ICE curves of the
network's output on a seeded sample of clients. The region-level view: Aletheia's
local linear profiles of the largest regions. In the fragmented regime
(:mod:`govreport.render.sections.regime`) the profiles go to the region-level appendix
and the all-client views lead; a profile whose regions are all below the disclosure
threshold is never drawn.
"""

from __future__ import annotations

from typing import Any

from govreport.analyses.profiles import FeatureProfile
from govreport.analyses.slope_profiles import ClassViews, SlopeByValue, SlopeProfilesResult
from govreport.render.figures.allclient import slope_unit
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.classes import class_phrase, is_multiclass
from govreport.render.sections.regime import fragmented, why_appendix
from govreport.render.sections.review import withheld_sentence
from govreport.render.text import (
    Numbering,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_share,
    have,
    is_missing,
)
from govreport.results.schema import Results

__all__ = ["all_client_views", "build", "drawable", "region_profiles"]


def _slope_sentence(profile: FeatureProfile) -> str:
    slopes = [float(r.slope) for r in profile.regions if not is_missing(r.slope)]
    if not slopes:
        return ""
    pos = sum(1 for s in slopes if s > 0)
    neg = sum(1 for s in slopes if s < 0)
    return (
        f"Of the {fmt_int(len(slopes))} regions drawn, {have(pos)} a positive and {have(neg)} "
        f"a negative slope for {profile.feature}"
        + ("" if profile.output is None else f" on the logit of {class_phrase(profile.output)}")
        + f" (slopes from {fmt_num(min(slopes))} to "
        f"{fmt_num(max(slopes))})."
    )


def drawable(profile: FeatureProfile) -> bool:
    """True when at least one region of the profile passes the disclosure threshold."""
    return any(r.x_min is not None for r in profile.regions)


def _scale(results: Results) -> str:
    return "output" if results.model.output_link == "identity" else "logit"


def region_profiles(
    results: Results, num: Numbering
) -> tuple[list[dict[str, Any]], list[FigureSpec]]:
    """The profile figures that have something to draw (one per profiled feature)."""
    scale = _scale(results)
    profiles = []
    specs = []
    for i, p in enumerate(results.profiles):
        if not drawable(p):
            continue
        feature = p.feature
        rug = any(r.density is None and r.x_min is not None for r in p.regions)
        lower = "Lower panel: distribution of the feature within each region (kernel density"
        if rug:
            lower += "; rug ticks at the distinct values of regions with too few for a density"
        of_class = "" if p.output is None else f" on the logit of {class_phrase(p.output)}"
        caption = (
            f"Local linear profile of {feature}{of_class} (importance {fmt_pct(p.importance_pct)} "
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
            alt=f"Local linear profile of {feature}{of_class}",
            data={"profile": p, "scale": scale if p.output is None else f"logit of {p.output}"},
        )
        profiles.append(
            {"feature": feature, "figure": num.figure(spec), "signs": _slope_sentence(p)}
        )
        specs.append(spec)
    return profiles, specs


def _fmt_slope(value: float) -> str:
    """A slope at reading precision: two decimals, two significant digits below 0.1."""
    if value == 0.0:
        return "0"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.2g}"


def _feature_sentence(feature: SlopeByValue, scale: str) -> str:
    """One sentence per feature: range of the median slope, share of negative slopes."""
    bins = feature.bins
    factor = 1.0 if feature.discrete else float(feature.scale)
    medians = [float(b.median) * factor for b in bins]
    clients = sum(b.count for b in bins)
    negative = sum(float(b.negative_share) * b.count for b in bins) / clients if clients else 0.0
    negative_bins = [b for b in bins if float(b.median) < 0]
    where = ""
    if negative_bins and len(negative_bins) < len(bins):
        if feature.discrete:
            values = ", ".join(f"{float(b.low):g}" for b in negative_bins)
            plural = "s" if len(negative_bins) > 1 else ""
            where = f"; the median slope is negative at value{plural} {values}"
        else:
            where = (
                f"; the median slope is negative in {fmt_int(len(negative_bins))} of the "
                f"{fmt_int(len(bins))} value bins"
            )
    return (
        f"{feature.feature}: the median local slope runs from {_fmt_slope(min(medians))} to "
        f"{_fmt_slope(max(medians))} {scale} {slope_unit(feature)} across its values, and is "
        f"negative for {fmt_share(negative)} of all clients{where}."
    )


def _class_views(
    views: SlopeProfilesResult,
    cls: ClassViews,
    num: Numbering,
    scale: str,
    *,
    suffix: str,
    label: str,
    key: str,
) -> tuple[list[dict[str, Any]], list[str], list[FigureSpec]]:
    """The slope-by-value and ICE figures of one output (``suffix``: " on the logit of class
    x" for a class of a multiclass model, else empty) and one sentence per feature."""
    specs = []
    slopes = [f for f in cls.slopes if f.bins]
    figures = []
    if slopes:
        names = ", ".join(f.feature for f in slopes)
        spec = FigureSpec(
            id=f"slope-by-value{key}",
            kind="slope-by-value",
            caption=(
                f"Local slope of {names}{suffix} against the feature's value, over all "
                f"{fmt_int(views.clients)} training clients: each client's slope is the "
                f"exact coefficient of its own linear model ({scale} per one-unit step for a "
                f"feature with few distinct values, per standard deviation otherwise). Point: "
                "median over the clients with that value (or in that decile of values); bar: "
                "25th to 75th percentile. Above the dashed line the feature raises the "
                f"{scale}, below it lowers it."
            ),
            alt=f"Median and interquartile range of the local slope per feature value{suffix}",
            data={"features": slopes, "scale": scale},
        )
        figures.append(num.figure(spec))
        specs.append(spec)
    curves = [c for c in cls.ice if c.grid]
    ylabel = {
        "probability": f"probability of {label}" if label else "predicted probability",
        "prediction": "prediction",
        "logit": f"logit of {cls.output}",
    }[views.scale]
    if curves:
        names = ", ".join(c.feature for c in curves)
        spec = FigureSpec(
            id=f"ice{key}",
            kind="ice",
            caption=(
                f"Individual conditional expectation of {names}: for a random sample of "
                f"{fmt_int(views.ice_sample)} training clients (seed {views.ice_seed}), the "
                f"network's {ylabel} when the feature alone is set to each value on the x "
                "axis and everything else about the client is kept. Bands: the middle 50% "
                "and 80% of the sampled clients' curves; solid line: the median client; "
                "dashed: the mean, the partial dependence. Values held by fewer clients than "
                "the disclosure threshold are left out."
            ),
            alt="ICE curves of the network's output for the top features"
            + (f" of {class_phrase(label)}" if label else ""),
            data={"curves": curves, "ylabel": ylabel},
        )
        figures.append(num.figure(spec))
        specs.append(spec)
    sentences = [_feature_sentence(f, scale) for f in slopes]
    missing = [f.feature for f in cls.slopes if not f.bins]
    if missing:
        sentences.append(
            f"No slope view for {', '.join(missing)}: every value is held by fewer clients "
            "than the disclosure threshold."
        )
    if suffix:
        sentences = [f"For {class_phrase(label)}, {s}" for s in sentences]
    return figures, sentences, specs


def all_client_views(
    views: SlopeProfilesResult, num: Numbering, scale: str, results: Results | None = None
) -> tuple[dict[str, Any], list[FigureSpec]]:
    """The slope-by-value and ICE figures of the all-client views, and one sentence per
    feature, for every class the results hold (a multiclass model: one group of figures and
    sentences per shown class, named by its label); a feature with nothing to draw is left
    out (and said)."""
    multiclass = results is not None and is_multiclass(results)
    names = tuple(results.model.output_names) if results is not None else ()
    figures: list[dict[str, Any]] = []
    sentences: list[str] = []
    groups: list[dict[str, Any]] = []
    specs: list[FigureSpec] = []
    for cls in views.classes() if multiclass else (views.classes()[0],):
        index = names.index(cls.output) if cls.output in names else 0
        label = cls.output if multiclass else ""
        class_figures, class_sentences, class_specs = _class_views(
            views,
            cls,
            num,
            f"logit of {label}" if multiclass else scale,
            suffix=f" on the logit of {class_phrase(label)}" if multiclass else "",
            label=label,
            key=f"-{index}" if multiclass and index else "",
        )
        figures += class_figures
        sentences += class_sentences
        specs += class_specs
        groups.append({"figures": class_figures, "sentences": class_sentences})
    return {"figures": figures, "sentences": sentences, "groups": groups}, specs


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4.4: all-client views, then (few large regions) the region profiles."""
    scale = _scale(results)
    views = results.slope_profiles
    moved = fragmented(results)
    reading = {
        "shows": "How the effect of each of the most important features changes with the "
        "feature's value: the exact slope of every client's own linear model, and how the "
        "predicted outcome moves when one feature alone changes.",
        "todo": "Check that each effect has the direction and shape the business expects "
        "over the whole range of values; ask the developer to explain any value range where "
        "the slope changes sign.",
    }
    profiles: list[dict[str, Any]] = []
    specs: list[FigureSpec] = []
    note = ""
    if moved:
        note = why_appendix(results, num)
    else:
        profiles, specs = region_profiles(results, num)
        if results.profiles and not profiles:
            threshold = results.run.options.disclosure_min_samples
            note = (
                "No region profile is drawn: every one of the largest regions holds fewer "
                f"than {fmt_int(threshold or 0)} clients, the disclosure threshold below "
                "which a region's input range is withheld. The views of all clients below "
                "take their place."
            )
    client: dict[str, Any] = {"figures": [], "sentences": [], "groups": []}
    if views is not None:
        client, client_specs = all_client_views(views, num, scale, results)
        specs += client_specs
    absent = (
        []
        if profiles or client["figures"]
        else [
            {
                "title": "Local linear profiles",
                "issue": "",
                "text": "This results file holds no local linear profiles.",
            }
        ]
    )
    return {
        "profiles": {
            "reading": reading,
            "figures": profiles,
            "absent": absent,
            "note": note,
            "all_clients": client,
            "lead": moved or not profiles,
        }
    }, specs
