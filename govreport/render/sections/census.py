"""Section 4.1, region census: how many activation regions the data falls into."""

from __future__ import annotations

from typing import Any

from govreport.analyses.census import RegionCensus
from govreport.analyses.neurons import NeuronsResult
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections import sampling
from govreport.render.sections.regime import regime_box
from govreport.render.text import (
    DASH,
    Numbering,
    TableCounter,
    fmt_int,
    fmt_num,
    fmt_sci,
    fmt_share,
    is_missing,
    make_table,
)
from govreport.results.schema import Results

__all__ = ["build", "census_rows", "regime_sentence"]


def _dummy_rows(census: RegionCensus) -> list[tuple[str, str]]:
    """Census rows on dummy (pure-label) regions; none if the census predates them."""
    if census.dummy_regions is None:
        return []
    return [
        (
            "Pure-label ('dummy') regions, ≥ 2 samples with a constant response",
            f"{fmt_int(census.dummy_regions)} of {fmt_int(census.multi_sample_regions)}"
            f" ({fmt_share(census.dummy_share)})",
        ),
        ("Samples in pure-label regions", fmt_share(census.samples_in_dummy_share)),
    ]


def regime_sentence(census: RegionCensus) -> str:
    """One sentence on the number of regions per sample and the regime it means."""
    n, r = census.samples, census.regions
    head = f"{fmt_int(r)} regions for {fmt_int(n)} samples"
    regime = census.regime
    given = census.regions_per_sample
    ratio = float(given) if not is_missing(given) else (r / n if n else 0.0)
    per_region = n / r if r else 0.0
    if regime == "fragmented":
        if ratio >= 0.9:
            return f"{head}: nearly every sample has its own linear model (fragmented regime)."
        singles = census.singleton_share
        detail = f"on average {per_region:,.1f} samples per region"
        if not is_missing(singles):
            detail += f", and {fmt_share(singles)} of the regions hold a single sample"
        return (
            f"{head}: {detail}, so most regions hold very few clients (fragmented regime). "
            "Each region's linear model is still exact: it is the network itself around "
            "those clients, not an estimate from them."
        )
    if regime == "coarse":
        return (
            f"{head}: the data falls into comparatively few regions, on average "
            f"{per_region:,.0f} samples each, so the network acts like a small set of linear "
            f"models (coarse regime)."
        )
    if regime == "intermediate":
        return (
            f"{head}: on average {per_region:,.1f} samples per region; the largest regions "
            f"carry a useful share of the data but a long tail of small regions remains "
            f"(intermediate regime)."
        )
    return f"{head} (regime: {regime or DASH})."


def _top_share(census: RegionCensus, k: int) -> float | None:
    for item in census.top_coverage:
        if item.k == k:
            return item.share
    return None


def census_rows(census: RegionCensus) -> list[tuple[str, str]]:
    """(quantity, value) rows of a census table (sections 4.1 and 5)."""
    rows = [
        ("Samples", fmt_int(census.samples)),
        ("Activation regions", fmt_int(census.regions)),
        ("Regions per sample", fmt_num(round(float(census.regions_per_sample), 4))),
        ("Regime", census.regime),
        (
            "Singleton regions (one sample)",
            f"{fmt_int(census.singleton_regions)} ({fmt_share(census.singleton_share)} of regions)",
        ),
        ("Samples alone in their region", fmt_share(census.samples_in_singletons_share)),
        (
            f"Regions with ≥ {fmt_int(census.min_samples)} samples",
            fmt_int(census.regions_with_min_samples),
        ),
        (
            f"Samples in regions with ≥ {fmt_int(census.min_samples)} samples",
            fmt_share(census.min_samples_coverage),
        ),
        ("Constant regions (a layer entirely off)", fmt_int(census.constant_regions)),
    ]
    for item in census.top_coverage:
        k = item.k
        label = (
            "Samples in the largest region" if k == 1 else f"Samples in the {k:,} largest regions"
        )
        rows.append((label, fmt_share(item.share)))
    rows += _dummy_rows(census)
    rows.append(("Exactness: max |local linear model − network|", fmt_sci(census.max_abs_error)))
    return rows


def _neuron_table(
    counter: TableCounter,
    neurons: NeuronsResult,
    test: NeuronsResult | None,
) -> dict[str, Any]:
    head = ["Hidden layer", "Width", "Dead (train)", "Always on (train)", "Switching (train)"]
    align = "rrrrr"
    test_by_layer = {n.layer: n for n in test or ()}
    if test is not None:
        head += ["Dead (test)", "Always on (test)"]
        align += "rr"
    rows = []
    for n in neurons:
        width, dead, on = n.width, n.dead, n.always_on
        row = [
            fmt_int(n.layer),
            fmt_int(width),
            fmt_int(dead),
            fmt_int(on),
            fmt_int(width - dead - on),
        ]
        if test is not None:
            t = test_by_layer.get(n.layer)
            row += [fmt_int(t.dead) if t else DASH, fmt_int(t.always_on) if t else DASH]
        rows.append(row)
    return make_table(
        counter,
        "Dead and always-on neurons per hidden layer",
        head,
        rows,
        align=align,
        note="Dead: never active on the data set (the neuron contributes nothing). Always on: "
        "active on every sample (the neuron acts as a plain linear unit). Switching: neither; "
        "only these neurons create region boundaries within the data.",
    )


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4.1: census table, regime sentence, coverage curve, neuron table."""
    train = results.regions["train"]
    census = train.census
    test = results.regions.get("test")
    figure = None
    specs = []
    curve = census.coverage_curve
    if curve.k:
        caption = (
            "Coverage curve: share of training samples held by the k largest regions, k on a "
            f"log scale from 1 to all {fmt_int(census.regions)} regions "
            f"({fmt_int(len(curve.k))} stored points)."
        )
        if test and test.census.coverage_curve.k:
            caption += (
                " Dashed: the same curve for the test data "
                f"({fmt_int(test.census.regions)} regions), regions ranked on the test "
                "data itself."
            )
        if census.regions_with_min_samples:
            caption += (
                f" Dotted vertical line: the {fmt_int(census.regions_with_min_samples)} "
                f"regions holding at least {fmt_int(census.min_samples)} samples."
            )
        test_census = test.census if test else None
        test_curve = test_census.coverage_curve if test_census else None
        spec = FigureSpec(
            id="coverage",
            kind="coverage",
            caption=caption,
            alt="Coverage curve of the activation regions",
            data={
                "curve": curve,
                "regions": census.regions,
                "test_curve": test_curve if test_curve is not None and test_curve.k else None,
                "test_regions": test_census.regions if test_census else None,
                "min_regions": census.regions_with_min_samples,
                "min_samples": census.min_samples,
            },
        )
        figure = num.figure(spec)
        specs.append(spec)
    regime = regime_sentence(census)
    ten = _top_share(census, 10)
    if ten is not None:
        regime += (
            f" The 10 largest regions hold {fmt_share(ten)} of the training samples; "
            f"{fmt_share(census.samples_in_singletons_share)} of the samples sit alone in a "
            "region of their own."
        )
    all_rows = results.scale is not None and results.scale.census_all_rows is not None
    table = make_table(
        num.tables,
        "Region census, training data (analysed sample)"
        if all_rows
        else "Region census, training data",
        ["Quantity", "Value"],
        census_rows(census),
        align="lr",
        css="narrow",
    )
    comparison = sampling.census_comparison(results, num)  # numbered before the oot table
    oot = results.regions.get("oot")
    oot_table = None
    if oot is not None:
        oot_table = make_table(
            num.tables,
            "Region census, out-of-time data",
            ["Quantity", "Value"],
            [
                *census_rows(oot.census),
                ("Samples in patterns unseen in training", fmt_share(oot.unseen_share)),
            ],
            align="lr",
            css="narrow",
        )
    context = {
        "reading": {
            "shows": "Into how many separate linear models the network cuts the training "
            "data, how many clients the largest of them hold, and which hidden neurons never "
            "or always fire.",
            "todo": "Use the regime to decide how to read sections "
            f"{num.section('llm-table')} to {num.section('coefficients')}: with few large "
            "regions, read the region tables; with about one region per client, read the "
            "views of all clients. Ask about many dead neurons (unused capacity).",
        },
        "regime_box": regime_box(results, num),
        "oot_table": oot_table,
        "table": table,
        "all_rows": comparison,
        "regime": regime,
        "figure": figure,
        "neurons_table": _neuron_table(num.tables, train.neurons, test.neurons if test else None),
    }
    return {"census": context}, specs
