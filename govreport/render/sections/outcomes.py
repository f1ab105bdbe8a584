"""Section 5, outcomes analysis: held-out performance with intervals, discrimination curves,
calibration, score distributions and benchmark models (issue 13), test regions, test
exposure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from govreport.analyses.dataset_regions import DatasetRegionsResult
from govreport.policy import check_status
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.benchmark import build_benchmark
from govreport.render.sections.calibration import build_evidence
from govreport.render.sections.census import census_rows
from govreport.render.sections.llm import DOMINANT_NOTE, dominant_cells, summary_table
from govreport.render.sections.model_data import performance_table
from govreport.render.sections.regime import APPENDIX, fragmented
from govreport.render.text import (
    DASH,
    Numbering,
    fmt_bool,
    fmt_int,
    fmt_metric,
    fmt_share,
    is_missing,
    make_table,
)
from govreport.results.schema import Results

__all__ = ["build"]


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 5: held-out performance, and with test data the region exposure."""
    test = results.regions.get("test")
    out: dict[str, Any] = {
        "reading": _reading(results, test is not None),
        "has_test": test is not None,
        "no_test": "No test data was supplied: the outcomes analysis rests on the training data "
        "alone, and neither holdout performance nor region exposure can be assessed.",
        "performance_table": performance_table(num.tables, results),
        "exposure": None,
    }
    out["evidence"], specs = build_evidence(results, num)
    out["benchmark"], more = build_benchmark(results, num)
    specs += more
    if test is None:
        return {"outcomes": out}, specs
    census = test.census
    train_census = results.regions["train"].census
    train_rows = dict(census_rows(train_census))
    rows = [[label, train_rows.get(label, DASH), value] for label, value in census_rows(census)]
    unseen = test.unseen_share
    out["unseen_sentence"] = (
        f"For information: {fmt_share(unseen)} of the {fmt_int(census.samples)} test samples "
        "have an activation pattern that no training sample has. With about one linear model "
        "per client this is expected and does not mean those clients lie outside the "
        "training data (the extrapolation measure above answers that); it means only that "
        "evidence about single training regions cannot be carried over region by region."
    )
    out["extrapolation"] = extrapolation_block(num, results)
    out["census_table"] = make_table(
        num.tables,
        "Region census, training versus test data",
        ["Quantity", "Train", "Test"],
        rows,
        align="lrr",
    )
    out["test_llm_table"], out["exposure"], out["regions_elsewhere"] = None, None, None
    if fragmented(results):  # region-level tables describe very few clients: Appendix F
        out["regions_elsewhere"] = (
            "The tables of the largest test regions and of how the largest training regions' "
            "models do on the test clients that share them are in Appendix "
            f"{num.section(APPENDIX)}: in this regime each region holds very few clients."
        )
    else:
        out["test_llm_table"], out["exposure"] = test_region_tables(
            num, test, results.model.output_names
        )
    return {"outcomes": out}, specs


def test_region_tables(
    num: Numbering, test: DatasetRegionsResult, classes: Sequence[str] = ()
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The summary table of the largest test regions and Aletheia's test exposure of the
    largest training regions (None when the results hold no exposure table)."""
    table = summary_table(
        num.tables,
        test.summary_table,
        "test",
        "Local linear model summary, largest test regions",
        classes,
    )
    return table, _exposure(num, test, classes)


EXTRAPOLATION_READING = {
    "shows": "Whether the test clients resemble the clients the network was trained on: for "
    "each client, how far the nearest training clients are, compared with how far training "
    "clients are from each other.",
    "todo": "If clearly more than about 1% of the test clients lie beyond the training "
    "range, find out which clients they are (new products, segments or periods) and treat "
    "the model's outputs for them with caution; record it as a limitation of use.",
}


def _distance(value: Any) -> str:
    return DASH if is_missing(value) else f"{float(value):.2f}"


def extrapolation_block(num: Numbering, results: Results) -> dict[str, Any] | None:
    """The input-space extrapolation of the holdout sets (test, then out-of-time): a
    sentence and a table of the distance distributions; None without a measurement."""
    measured = [
        (name, block.extrapolation)
        for name, block in results.regions.items()
        if name != "train" and block.extrapolation is not None
    ]
    if not measured:
        return None
    first = measured[0][1]
    words = {"test": "test", "oot": "out-of-time"}
    expected = 100.0 - float(first.percentile)
    parts = []
    for name, e in measured:
        parts.append(
            f"{fmt_share(e.share_beyond)} of the {fmt_int(e.query_rows)} "
            f"{words.get(name, name)} clients" + (" measured" if e.query_sampled else "")
        )
    sentence = (
        " and ".join(parts)
        + f" lie farther from the training data than {float(first.percentile):g}% of training "
        f"clients lie from each other; about {expected:g}% would if the data were drawn like "
        f"the training data. The distance is to the {fmt_int(first.k)}th nearest training "
        "client, with every input measured in standard deviations of the training data."
    )
    if first.reference_sampled:
        sentence += (
            f" The training reference is a fixed random sample of "
            f"{fmt_int(first.reference_rows)} of the {fmt_int(first.train_rows)} training "
            "clients."
        )
    head = ["Distance to the nearest training clients", "Training (each left out)"]
    head += [words.get(name, name).capitalize() for name, _ in measured]
    rows = []
    for i, level in enumerate(first.quantile_levels):
        label = "Median" if float(level) == 0.5 else f"{100 * float(level):g}th percentile"
        rows.append(
            [label, _distance(first.train_quantiles[i])]
            + [_distance(e.holdout_quantiles[i]) for _, e in measured]
        )
    rows.append(
        [
            f"Share beyond the training {float(first.percentile):g}th percentile",
            fmt_share(expected / 100.0),
        ]
        + [fmt_share(e.share_beyond) for _, e in measured]
    )
    table = make_table(
        num.tables,
        "Are the held-out clients inside the training data?",
        head,
        rows,
        align="l" + "r" * (len(head) - 1),
        note=f"Euclidean distance to the {fmt_int(first.k)}th nearest training client over "
        "all inputs, each standardised with the training mean and standard deviation. "
        "Training column: each training client's distance to the others (itself left out); "
        "its share row is the expected share by construction.",
    )
    return {"reading": EXTRAPOLATION_READING, "sentence": sentence, "table": table}


#: Metrics of section 5's policy checks (performance, calibration, benchmark).
_OUTCOME_METRICS = ("performance.", "outcomes.", "benchmark.")


def _reading(results: Results, has_test: bool) -> dict[str, str]:
    """The plain-words box of section 5, from the status of its policy checks."""
    shows = (
        "How well the network ranks and prices risk on data it did not learn from: "
        "discrimination (AUC) with sampling intervals, calibration of the probabilities "
        "against observed rates, and whether conventional benchmark models do as well."
        if has_test
        else "How well the network ranks and prices risk, on the training data only: no "
        "held-out data was supplied."
    )
    failed = [
        c.description or c.id
        for c in results.policy.checks
        if c.metric.startswith(_OUTCOME_METRICS) and check_status(c) in ("fail", "waived")
    ]
    if not has_test:
        todo = (
            "Ask for held-out (ideally out-of-time) data: without it, the performance below "
            "is an optimistic in-sample figure and cannot support approval."
        )
    elif failed:
        todo = (
            "Address the outcome checks that fail: "
            + "; ".join(failed)
            + ". Recalibrate or retrain as the findings (section 7) describe, or restrict "
            "the model's use until they are resolved."
        )
    else:
        todo = (
            "No outcome check fails. Confirm the held-out data is representative of the "
            "clients the model will score, and monitor these measures in production."
        )
    return {"shows": shows, "todo": todo}


def _exposure(
    num: Numbering, test: DatasetRegionsResult, classes: Sequence[str] = ()
) -> dict[str, Any] | None:
    """Aletheia's test exposure table, or None when the results hold none."""
    exposure = test.exposure_table
    if exposure is None:
        return None
    metric = exposure.local_metric
    multiclass = any(r.dominant_class is not None for r in exposure.rows)
    rows = [
        [
            fmt_int(r.rank),
            fmt_int(r.train_count),
            fmt_int(r.test_count),
            fmt_share(r.test_share),
            *(
                dominant_cells(r.dominant_class, r.class_shares, classes)
                if multiclass
                else [fmt_metric(r.response_mean), fmt_metric(r.response_std)]
            ),
            fmt_metric(r.local_metric),
            fmt_metric(r.global_metric),
            fmt_bool(r.constant),
        ]
        for r in exposure.rows
    ]
    shown = exposure.shown
    empty = exposure.shown_without_test
    sentence = (
        f"The {fmt_int(shown)} largest training regions receive "
        f"{fmt_int(exposure.test_samples_in_shown)} of the "
        f"{fmt_int(exposure.test_samples)} test samples "
        f"({fmt_share(exposure.test_share_in_shown)}); "
        + (
            "each of them receives at least one."
            if empty == 0
            else f"{fmt_int(empty)} of them {'receives' if empty == 1 else 'receive'} none."
        )
    )
    table = make_table(
        num.tables,
        "Test exposure of the largest training regions",
        [
            "Train region",
            "Train samples",
            "Test samples",
            "Test share",
            *(
                ["Test dominant class", "Its share"]
                if multiclass
                else ["Test response mean", "Test response std"]
            ),
            f"Local {metric}",
            f"Global {metric}",
            "Constant",
        ],
        rows,
        align="rrrrlrrrc" if multiclass else "rrrrrrrrc",
        note=(
            f"Aletheia's evaluation of the {fmt_int(shown)} largest of "
            f"{fmt_int(exposure.training_regions)} training regions on the "
            "test samples whose activation pattern equals the region's. Local "
            f"{metric}: the training region's linear model on those test samples; Global "
            f"{metric}: the same model on all test samples. {DASH} marks an undefined value "
            "(no test sample, a single sample or a single class)."
            + (f" {DOMINANT_NOTE}" if multiclass else "")
        ),
    )
    return {"sentence": sentence, "table": table}
