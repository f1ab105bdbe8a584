"""Section 4.2, local linear models of the largest regions, with Aletheia's pure-label
("dummy") regions and local versus global performance.
"""

from __future__ import annotations

from typing import Any

from govreport.analyses.summary import SummaryTable
from govreport.render.figures.spec import FigureSpec
from govreport.render.text import (
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

__all__ = ["build", "summary_table"]


def summary_table(
    counter: TableCounter, summary: SummaryTable, dataset: str, title: str
) -> dict[str, Any]:
    """A numbered table of the local linear models of the largest regions (4.2 and 5)."""
    metric = summary.local_metric
    rows = []
    for r in summary.rows:
        rows.append(
            [
                fmt_int(r.rank),
                fmt_int(r.count),
                fmt_share(r.share),
                fmt_metric(r.response_mean),
                fmt_metric(r.response_std),
                fmt_metric(r.local_metric),
                fmt_metric(r.global_metric),
                fmt_bool(r.constant),
                fmt_bool(r.dummy),
            ]
        )
    shown, total = summary.shown, summary.total_regions
    return make_table(
        counter,
        title,
        [
            "Region",
            "Samples",
            "Share",
            "Response mean",
            "Response std",
            f"Local {metric}",
            f"Global {metric}",
            "Constant",
            "Pure label",
        ],
        rows,
        align="rrrrrrrcc",
        note=(
            f"The {fmt_int(shown)} largest of {fmt_int(total)} regions on the {dataset} data. "
            f"Local {metric}: the region's linear model scored on the region's own samples; "
            f"Global {metric}: the same linear model scored on all {dataset} samples. "
            "Pure label: at least two samples, all with the same response (Aletheia's "
            "'dummy' region). "
            "— marks a value that is undefined (a single-class region, or a single sample)."
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


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4.2: the summary table, the pure-label sentence, local versus global metric."""
    train = results.regions["train"]
    summary = train.summary_table
    census = train.census
    llm_table = summary_table(
        num.tables, summary, "training", "Local linear model summary, largest training regions"
    )
    out: dict[str, Any] = {"dummy_sentence": "", "figure": None}
    specs = []
    if census.dummy_regions is not None:
        out["dummy_sentence"] = (
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
    if _has_diagperf(summary):
        metric = summary.local_metric
        n = len(summary.rows)
        spec = FigureSpec(
            id="diagperf",
            kind="diagperf",
            data={"summary": summary, "network_metric": _network_metric(results, metric)},
            caption=f"Local versus global {metric} of the {fmt_int(n)} largest training regions "
            f"(the rows of the table above; --top-regions caps them). Solid bars: local "
            f"{metric}, the region's linear model on its own samples (missing bar: undefined, "
            f"e.g. a single-class region); hatched bars: global {metric}, the same model on "
            f"all training samples. Dashed line: the network's own {metric} on the training "
            "data, where available.",
            alt=f"Grouped bar chart of local and global {metric} per region",
        )
        out["figure"] = num.figure(spec)
        specs.append(spec)
    return {"llm_table": llm_table, "llm_extras": out}, specs
