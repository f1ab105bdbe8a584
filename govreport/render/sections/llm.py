"""Section 4.2, local linear models of the largest regions, with Aletheia's pure-label
("dummy") regions and local versus global performance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from govreport.analyses.summary import SummaryRow, SummaryTable
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.regime import fragmented, why_appendix
from govreport.render.text import (
    DASH,
    Numbering,
    TableCounter,
    fmt_bool,
    fmt_int,
    fmt_metric,
    fmt_share,
    is_missing,
    make_table,
)
from govreport.results.schema import Results

__all__ = ["DOMINANT_NOTE", "build", "dominant_cells", "region_views", "summary_table"]


def _local_cell(r: SummaryRow, with_ci: bool) -> str:
    """The local metric, with its interval where the row has one."""
    if is_missing(r.local_metric):
        return DASH
    text = fmt_metric(r.local_metric)
    if (
        with_ci
        and not is_missing(r.local_low)
        and not is_missing(r.local_high)
        and r.local_low != r.local_high  # a perfect ranking: DeLong's interval collapses
    ):
        text += f" ({fmt_metric(r.local_low)}–{fmt_metric(r.local_high)})"
    return text


def dominant_cells(
    dominant: int | None, shares: Sequence[float] | None, classes: Sequence[str]
) -> list[str]:
    """The dominant class of a region (its label) and that class's share of the region."""
    if dominant is None or shares is None or dominant >= len(shares):
        return [DASH, DASH]
    name = classes[dominant] if dominant < len(classes) else f"class {dominant}"
    return [name, fmt_share(shares[dominant])]


#: The note on the dominant-class columns of a multiclass model's region tables.
DOMINANT_NOTE = (
    "Dominant class: the class most frequent among the region's samples (the first in the "
    "model's output order on ties); Its share: that class's share of the region's samples."
)


def summary_table(
    counter: TableCounter,
    summary: SummaryTable,
    dataset: str,
    title: str,
    classes: Sequence[str] = (),
) -> dict[str, Any]:
    """A numbered table of the local linear models of the largest regions (4.2 and 5).

    The local metric column is left out when no row has one (every region too small or
    single-class); the reason for a "—" is said once in the note. ``classes``: the class
    labels of a multiclass model, whose table names each region's dominant class instead
    of a response mean.
    """
    multiclass = any(r.dominant_class is not None for r in summary.rows)
    metric = summary.local_metric
    minimum = summary.min_class_cases
    with_local = any(not is_missing(r.local_metric) for r in summary.rows)
    rows = []
    for r in summary.rows:
        row = [
            fmt_int(r.rank),
            fmt_int(r.count),
            fmt_share(r.share),
        ]
        if multiclass:
            row += dominant_cells(r.dominant_class, r.class_shares, classes)
        else:
            row += [fmt_metric(r.response_mean), fmt_metric(r.response_std)]
        if with_local:
            row.append(_local_cell(r, minimum is not None))
        row += [fmt_metric(r.global_metric), fmt_bool(r.constant), fmt_bool(r.dummy)]
        rows.append(row)
    shown, total = summary.shown, summary.total_regions
    local_head = f"Local {metric}" + (" (95% CI)" if minimum is not None else "")
    head = ["Region", "Samples", "Share"]
    head += ["Dominant class", "Its share"] if multiclass else ["Response mean", "Response std"]
    head += [local_head] if with_local else []
    head += [f"Global {metric}", "Constant", "Pure label"]
    if minimum is not None:
        undefined = (
            f"A local {metric} is computed only for a region with at least {fmt_int(minimum)} "
            f"samples of each class, with DeLong's 95% interval (none for a perfect ranking); "
            + (
                "— marks a region with fewer."
                if with_local
                else "no region shown has that many, so the column is left out."
            )
        )
    else:
        undefined = "— marks a value that is undefined (a single-class region, or a single sample)."
    return make_table(
        counter,
        title,
        head,
        rows,
        align=("rrrlr" if multiclass else "rrrrr") + ("r" if with_local else "") + "rcc",
        note=(
            f"The {fmt_int(shown)} largest of {fmt_int(total)} regions on the {dataset} data. "
            f"Local {metric}: the region's linear model scored on the region's own samples; "
            f"Global {metric}: the same linear model scored on all {dataset} samples. "
            "Pure label: at least two samples, all with the same response (Aletheia's "
            f"'dummy' region). {undefined}" + (f" {DOMINANT_NOTE}" if multiclass else "")
        ),
    )


def _has_diagperf(summary: SummaryTable) -> bool:
    return any(
        not is_missing(r.local_metric) or not is_missing(r.global_metric) for r in summary.rows
    )


def _network_metric(results: Results, metric: str) -> float | None:
    key = {"AUC": "auc", "accuracy": "accuracy"}.get(metric)
    if key is None:
        return None
    for p in results.performance:
        if p.dataset == "train":
            value = p.metrics.get(key)
            return None if value is None else float(value)
    return None


def region_views(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """The table of the largest regions' local linear models and the local-versus-global
    figure (section 4.2, or the region-level appendix in the fragmented regime)."""
    train = results.regions["train"]
    summary = train.summary_table
    llm_table = summary_table(
        num.tables,
        summary,
        "training",
        "Local linear model summary, largest training regions",
        results.model.output_names,
    )
    figure = None
    specs = []
    if _has_diagperf(summary):
        metric = summary.local_metric
        n = len(summary.rows)
        interval = (
            " Error bars: DeLong's 95% interval of the local AUC."
            if any(not is_missing(r.local_low) for r in summary.rows)
            else ""
        )
        local = (
            f"Solid bars: local {metric}, the region's linear model on its own samples "
            "(missing bar: not computed, see the table's note)"
            if any(not is_missing(r.local_metric) for r in summary.rows)
            else f"No region has a local {metric} (see the table's note), so only the global "
            "bars are drawn"
        )
        spec = FigureSpec(
            id="diagperf",
            kind="diagperf",
            data={"summary": summary, "network_metric": _network_metric(results, metric)},
            caption=f"Local versus global {metric} of the {fmt_int(n)} largest training regions "
            f"(the rows of the table above). {local}; "
            f"hatched bars: global {metric}, the same model on all training samples.{interval} "
            f"Dashed line: the network's own {metric} on the training data, where available.",
            alt=f"Grouped bar chart of local and global {metric} per region",
        )
        figure = num.figure(spec)
        specs.append(spec)
    return {"table": llm_table, "figure": figure}, specs


def _dummy_sentence(results: Results) -> str:
    census = results.regions["train"].census
    if census.dummy_regions is None:
        return ""
    return (
        f"{fmt_int(census.dummy_regions)} of the "
        f"{fmt_int(census.multi_sample_regions)} training regions with at least two "
        f"samples ({fmt_share(census.dummy_share)}; "
        f"{fmt_share(census.dummy_share_all_regions)} of all regions) are "
        "pure-label ('dummy') regions: every sample in them has the same response, so the "
        "response standard deviation is 0, the local metric is undefined, and the region's "
        f"linear model cannot be judged on its own samples. They hold "
        f"{fmt_share(census.samples_in_dummy_share)} of the training samples. "
        "Single-sample regions are left out of this count: they are trivially pure."
    )


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4.2: the summary table, the pure-label sentence, local versus global metric;
    in the fragmented regime a pointer to the region-level appendix instead."""
    moved = fragmented(results)
    reading = {
        "shows": "The exact linear models of the regions that hold the most training clients: "
        "how many clients each covers, their default rate, and how well each region's model "
        "ranks clients inside the region and across all clients.",
        "todo": "Check that the largest regions hold a material share of clients before "
        "reading anything into a single region. "
        + (
            "Here they do not, so rely on the all-client views of sections "
            f"{num.section('profiles')} and {num.section('coefficients')}."
            if moved
            else "Compare each region's ranking power with the network's own."
        ),
    }
    out: dict[str, Any] = {
        "reading": reading,
        "dummy_sentence": _dummy_sentence(results),
        "figure": None,
        "moved": why_appendix(results, num) if moved else "",
    }
    if moved:
        return {"llm_table": None, "llm_extras": out}, []
    views, specs = region_views(results, num)
    out["figure"] = views["figure"]
    return {"llm_table": views["table"], "llm_extras": out}, specs
