"""Section 4.5, coefficient distributions across samples, with Aletheia's parallel, pair and
intercept plots. The blocks are optional: a results file without them says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from govreport.analyses.coefficients import FeatureCoefficients
from govreport.analyses.importance import ImportanceResult, by_headline_importance, headline
from govreport.analyses.region_plots import ClassRegionPlots
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.classes import class_phrase, is_multiclass, shown
from govreport.render.sections.regime import fragmented, why_appendix
from govreport.render.text import (
    Numbering,
    TableCounter,
    fmt_int,
    fmt_num,
    fmt_share,
    make_table,
)
from govreport.results.schema import Results

__all__ = ["BOX_FEATURES", "COEFFICIENT_TABLE_ROWS", "build", "region_plots"]

#: The plain-words box of section 4.5.
READING = {
    "shows": "For every feature, the spread over all training clients of its exact local "
    "slope: the change in the model's score when the feature moves, inside each client's own "
    "linear model.",
    "todo": "Look for features whose slope takes both signs for a material share of "
    "clients, or whose spread is very wide, and ask the developer to explain them.",
}


#: Features in the coefficient box plot (largest scale-aware importance first).
BOX_FEATURES = 12


#: Rows of each coefficient-distribution table (the rest stay in results.json).
COEFFICIENT_TABLE_ROWS = 30


def _has_parallel(plots: ClassRegionPlots) -> bool:
    return bool(plots.parallel.lines) and bool(plots.parallel.features)


def _has_pair(plots: ClassRegionPlots) -> bool:
    return bool(plots.pair.ranks) and bool(plots.pair.features)


def _scaled_order(
    importance: ImportanceResult, features: Sequence[FeatureCoefficients]
) -> list[str]:
    """Feature names by the report's headline importance (output 0), largest first;
    without importance, the order of the coefficient ``features``."""
    if not importance.outputs:
        return [f.name for f in features]
    return [f.name for f in by_headline_importance(importance)]


def _absent(text: str) -> list[dict[str, str]]:
    return [{"title": "Coefficient distributions across samples", "issue": "", "text": text}]


def _quantile_table(
    counter: TableCounter,
    features: Sequence[FeatureCoefficients],
    names: Sequence[str],
    scaled: bool,
    title: str,
    note: str,
) -> dict[str, Any]:
    rows = [
        [f.name] + [fmt_num(v) for v in (f.scaled if scaled else f.raw).quantiles] for f in features
    ]
    head = ["Feature", *[n if n != "median" else "Median" for n in names]]
    return make_table(
        counter, title, head, rows, align="l" + "r" * len(names), note=note, css="coefficients"
    )


def _class_plots(
    plots: ClassRegionPlots, output: str, *, key: str, suffix: str, multiclass: bool
) -> tuple[list[FigureSpec], str]:
    """The parallel, pair and intercept figures of one output (``suffix``: " (logit of class
    x)" for a class of a multiclass model), and a note when the pair and intercept plots
    have nothing to draw."""
    specs: list[FigureSpec] = []
    figures_note = ""
    if _has_parallel(plots):
        parallel = plots.parallel
        specs.append(
            FigureSpec(
                id=f"coef-parallel{key}",
                kind="coef-parallel",
                data={"parallel": parallel, "output": output},
                caption=(
                    f"Parallel coordinates of the local linear models: one line per region, the "
                    f"{fmt_int(len(parallel.lines))} largest of "
                    f"{fmt_int(parallel.regions_total)} (R1 = largest); x: the "
                    f"{fmt_int(len(parallel.features))} features of highest scale-aware "
                    "importance; y: the region's scale-aware coefficient w·std (raw coefficients "
                    "are in results.json), so features on different scales are comparable. "
                    "Lines that cross zero mark features whose effect changes sign between "
                    "regions." + (f" Logit of {class_phrase(plots.output)}." if multiclass else "")
                ),
                alt=f"Parallel-coordinate plot of local coefficients{suffix}",
            )
        )
    if _has_pair(plots):
        pair = plots.pair
        withheld = pair.withheld
        privacy = (
            f"Only regions with at least {fmt_int(pair.disclosure_min_samples)} samples "
            "are drawn, because a region's centre is a mean of its inputs"
            + (
                f" ({fmt_int(withheld)} of the {fmt_int(pair.considered)} largest "
                "regions withheld)."
                if withheld
                else "."
            )
        )
        regions_text = (
            f"the {fmt_int(len(pair.ranks))} largest regions"
            if not withheld
            else f"{fmt_int(len(pair.ranks))} regions (the largest of the "
            f"{fmt_int(pair.considered)} largest that pass the "
            "disclosure threshold)"
        )
        n_feat = fmt_int(len(pair.features))
        specs.append(
            FigureSpec(
                id=f"coef-pair{key}",
                kind="coef-pair",
                data={"pair": pair},
                caption=(
                    f"Pair plot of the local linear models{suffix} over {regions_text}, for the "
                    f"{n_feat} features of highest scale-aware importance. Diagonal cell j: region "
                    "centre μ_j (mean of feature j in the region) against the raw coefficient w_j, "
                    f"with a LOWESS curve (span {fmt_num(pair.lowess_frac)}, "
                    f"{fmt_int(pair.lowess_iterations)} robustness steps, each region "
                    "counted once per sample); a curved or sloped line means the effect of j "
                    "depends on the level of j (non-linearity). Off-diagonal cell (row j, column "
                    "k): centre μ_k against the residual w_j − LOWESS_j(μ_j); a trend means the "
                    "effect of j depends on feature k (interaction). Marker area grows with the "
                    f"region's sample count. {privacy}"
                ),
                alt=f"Pair plot of region centres against local coefficients{suffix}",
            )
        )
        specs.append(
            FigureSpec(
                id=f"coef-intercept{key}",
                kind="coef-intercept",
                data={"pair": pair, "output": output},
                caption=(
                    f"Intercept b of each local linear model{suffix} against the region centre "
                    f"μ_j, for {regions_text} and the same {n_feat} features. Marker area grows "
                    f"with the region's sample count. {privacy}"
                ),
                alt=f"Scatter plots of region centres against intercepts{suffix}",
            )
        )
    else:
        pair = plots.pair
        figures_note = (
            f"No pair or intercept plot{suffix}: none of the {fmt_int(pair.considered)} "
            f"largest regions holds at least {fmt_int(pair.disclosure_min_samples)} samples, "
            "and a region's centre (a mean of its inputs) is withheld below that count."
        )
    return specs, figures_note


def region_plots(
    results: Results, num: Numbering
) -> tuple[list[dict[str, Any]], list[FigureSpec], str]:
    """Aletheia's parallel, pair and intercept plots of the largest regions (numbered here),
    one set per class the results hold for a multiclass model, and a note when the pair and
    intercept plots have nothing to draw."""
    plots = results.aletheia_plots
    if plots is None:
        return [], [], ""
    names = tuple(results.model.output_names) or ("output",)
    multiclass = is_multiclass(results)
    specs: list[FigureSpec] = []
    notes: list[str] = []
    for cls in plots.classes() if multiclass else plots.classes()[:1]:
        index = names.index(cls.output) if cls.output in names else 0
        class_specs, note = _class_plots(
            cls,
            f"logit of {cls.output}" if multiclass else names[0],
            key=f"-{index}" if multiclass and index else "",
            suffix=f" (logit of {class_phrase(cls.output)})" if multiclass else "",
            multiclass=multiclass,
        )
        specs += class_specs
        if note:
            notes.append(note)
    return [num.figure(spec) for spec in specs], specs, " ".join(notes)


def _scaled_order_of(
    importance: ImportanceResult, features: Sequence[FeatureCoefficients], output: int
) -> list[str]:
    """Feature names by the headline importance of ``output``, largest first."""
    if output == 0 or len(importance.outputs) <= output:
        return _scaled_order(importance, features)
    return [f.name for f in sorted(importance.outputs[output].features, key=lambda f: -headline(f))]


def _output_block(
    results: Results,
    num: Numbering,
    index: int,
    label: str,
    multiclass: bool,
) -> tuple[list[dict[str, Any]], FigureSpec]:
    """The three tables and the box plot of one output (one class of a multiclass model)."""
    coefficients = results.coefficients
    assert coefficients is not None
    importance = results.importance
    out = coefficients.outputs[index]
    features = out.features
    output = f"logit of {label}" if multiclass else out.output
    suffix = f", {class_phrase(label)}" if multiclass else ""
    names = list(coefficients.names)
    scaled_order = _scaled_order_of(importance, features, index)
    order = {name: i for i, name in enumerate(scaled_order)}
    ranked = sorted(features, key=lambda f: order.get(f.name, len(order)))
    shown_rows = ranked[:COEFFICIENT_TABLE_ROWS]
    which = (
        f"all {fmt_int(len(ranked))} features"
        if len(shown_rows) == len(ranked)
        else f"the {fmt_int(len(shown_rows))} features of highest scale-aware importance of "
        f"{fmt_int(len(ranked))} (the rest are in results.json)"
    )
    samples, regions = coefficients.samples, coefficients.regions
    basis = (
        f"Over all {fmt_int(samples)} training samples ({fmt_int(regions)} regions, each "
        f"weighted by its sample count), exact; output {output}; {which}, by scale-aware "
        "importance."
    )
    tables = [
        _quantile_table(
            num.tables,
            shown_rows,
            names,
            True,
            f"Scale-aware local coefficients w·std across samples{suffix}",
            f"{basis} Scale-aware coefficient: the change of the {output} for a one-standard-"
            "deviation increase of the feature, inside the sample's region. p1…p99: "
            "percentiles of the samples.",
        ),
        _quantile_table(
            num.tables,
            shown_rows,
            names,
            False,
            f"Raw local coefficients w across samples{suffix}",
            f"{basis} Raw coefficient: change of the {output} per unit of the feature "
            "(Aletheia's coefficients, the basis of raw importance).",
        ),
        make_table(
            num.tables,
            f"Mean and sign of the local coefficients across samples{suffix}",
            ["Feature", "Mean raw", "Mean scaled", "Positive", "Negative", "Zero"],
            [
                [
                    f.name,
                    fmt_num(f.raw.mean),
                    fmt_num(f.scaled.mean),
                    fmt_share(f.raw.positive_share),
                    fmt_share(f.raw.negative_share),
                    fmt_share(f.raw.zero_share),
                ]
                for f in shown_rows
            ],
            align="lrrrrr",
            note=f"{basis} Positive, negative, zero: share of samples whose local coefficient "
            "has that sign (the same for raw and scaled coefficients). A feature with material "
            "shares of both signs has an effect whose direction depends on where the sample "
            "lies.",
        ),
    ]
    n_box = min(len(ranked), BOX_FEATURES)
    by_name = {f.name: f for f in features}
    box_order = [n for n in scaled_order if n in by_name] or list(by_name)
    spec = FigureSpec(
        id="coef-box" if index == 0 else f"coef-box-{index}",
        kind="coef-box",
        data={
            "features": [by_name[n] for n in box_order[:BOX_FEATURES]],
            "output": output,
        },
        caption=f"Distribution over all training samples of the scale-aware local coefficient "
        f"(w·std, {output} per standard deviation) of the {fmt_int(n_box)} features of "
        f"highest scale-aware importance (of {fmt_int(len(ranked))}). Box: 25th to 75th "
        "percentile, line: median, diamond: mean, whiskers: 5th to 95th percentile, open "
        "circles: minimum and maximum. Exact, each region weighted by its sample count.",
        alt=f"Box plots of local coefficients per feature{suffix}",
    )
    return tables, spec


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4.5: distribution tables and box plot per shown output (every class of a
    multiclass model), parallel, pair and intercept plots."""
    coefficients = results.coefficients
    features = coefficients.outputs[0].features if coefficients and coefficients.outputs else ()
    if coefficients is None or not features:
        return {
            "coefficients": {
                "absent": _absent("This results file holds no coefficient distributions."),
                "tables": [],
                "figures": [],
                "note": "",
                "reading": READING,
                "moved": "",
            }
        }, []
    multiclass = is_multiclass(results)
    tables: list[dict[str, Any]] = []
    specs: list[FigureSpec] = []
    for index, label in shown(results):
        if index >= len(coefficients.outputs):
            continue
        block, spec = _output_block(results, num, index, label, multiclass)
        tables += block
        specs.append(spec)
    figures_note = ""
    figures = [num.figure(spec) for spec in specs]
    moved = ""
    if fragmented(results):
        moved = why_appendix(results, num).replace("their tables and plots", "their plots")
    else:
        region_figures, region_specs, figures_note = region_plots(results, num)
        figures += region_figures
        specs += region_specs
    context = {
        "absent": [],
        "reading": READING,
        "tables": tables,
        "figures": figures,
        "note": figures_note,
        "moved": moved,
    }
    return {"coefficients": context}, specs
