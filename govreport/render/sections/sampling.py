"""Where a seeded sample stands in for the data, as the report says it.

Read from the ``scale`` block of the results (:mod:`govreport.analyses.scale`), present
only when some data set had more rows than ``--analysis-rows``. Every function here
returns nothing (an empty list, None) when the block is absent, so a run analysed on all
its rows renders exactly as before. The sections that say it: the executive summary's
key facts (1), the data sets of sections 2 and 3, the region census of section 4.1 (the
sample's census beside the census of all training rows), the limits of the validation
(8) and the methods appendix (C).
"""

from __future__ import annotations

import math
from typing import Any

from govreport.analyses.census import RegionCensus
from govreport.analyses.neurons import NeuronsResult
from govreport.analyses.scale import SampledDataset, ScaleResult
from govreport.render.text import (
    DASH,
    Numbering,
    fmt_int,
    fmt_num,
    fmt_sci,
    fmt_share,
    make_table,
)
from govreport.results.schema import Results

__all__ = [
    "DATASET_WORDS",
    "census_comparison",
    "methods_context",
    "rows_cell",
    "rows_note",
    "sample_limit",
    "sample_paragraph",
    "summary_fact",
]

#: The data sets in words ("the training data has ...").
DATASET_WORDS = {"train": "training data", "test": "test data", "oot": "out-of-time data"}

#: The k of the "share of rows in the k largest regions" rows of the comparison table.
_TOP_K = (10, 100)


def _words(name: str) -> str:
    return DATASET_WORDS.get(name, f"{name} data")


def _sampled(results: Results) -> dict[str, SampledDataset]:
    """Data set name -> its sample, for the data sets analysed on a sample."""
    scale = results.scale
    return {} if scale is None else {s.dataset: s for s in scale.sampled}


def rows_cell(results: Results, name: str, rows: int) -> str:
    """The "Rows" cell of data set ``name``: its rows, or "K of N" when it was sampled."""
    sample = _sampled(results).get(name)
    if sample is None:
        return fmt_int(rows)
    return f"{fmt_int(sample.rows_analysed)} of {fmt_int(sample.rows_in_data)}"


def rows_note(results: Results) -> str:
    """The sentence a data set table's note gains when a "Rows" cell reads "K of N"."""
    if not _sampled(results):
        return ""
    return (
        "Rows: K of N, the rows analysed (a seeded random sample) of the rows in the data, "
        "every one of which was read and checked."
    )


def sample_paragraph(results: Results, num: Numbering) -> str:
    """One sentence per sampled data set (its rows, the sample's size and seed) and one on
    the rule; "" when every data set was analysed whole."""
    scale = results.scale
    if scale is None:
        return ""
    census = f"section {num.section('census')}"
    methods = f"Appendix {num.section('app-methods')}"
    sentences = []
    for s in scale.sampled:
        text = (
            f"The {_words(s.dataset)} has {fmt_int(s.rows_in_data)} rows; every row was read "
            f"and checked. The analyses use a seeded random sample of "
            f"{fmt_int(s.rows_analysed)} of them (seed {s.seed})"
        )
        if s.dataset == "train" and scale.census_all_rows is not None:
            text += (
                f"; the region census of {census} is also taken over all "
                f"{fmt_int(s.rows_in_data)} rows"
            )
        sentences.append(text + ".")
    sentences.append(
        f"A data set with more rows than the analysis limit of {fmt_int(scale.analysis_rows)} "
        "is analysed on a sample of that size, drawn by a fixed rule: a rerun with the same "
        f"data, limit and seed uses the same rows ({methods})."
    )
    return " ".join(sentences)


def summary_fact(results: Results, num: Numbering) -> list[tuple[str, str]]:
    """The executive summary's key fact on sampling (none when every row was analysed)."""
    scale = results.scale
    if scale is None:
        return []
    parts = [
        f"{fmt_int(s.rows_analysed)} of the {fmt_int(s.rows_in_data)} rows of the "
        f"{_words(s.dataset)}"
        for s in scale.sampled
    ]
    text = (
        f"The analyses use a seeded random sample: {'; '.join(parts)}. Every row was read and "
        "checked"
    )
    if scale.census_all_rows is not None:
        text += (
            f", and the region census also covers all training rows (section "
            f"{num.section('census')})"
        )
    return [("Data analysed", text + ".")]


def _top_share(census: RegionCensus, k: int) -> str:
    for point in census.top_coverage:
        if point.k == k:
            return fmt_share(point.share)
    return fmt_share(1.0) if census.regions <= k else DASH


def _neurons(layers: NeuronsResult | None, which: str) -> str:
    if layers is None:
        return DASH
    count = sum(getattr(layer, which) for layer in layers)
    return f"{fmt_int(count)} of {fmt_int(sum(layer.width for layer in layers))}"


def _comparison_rows(
    sample: RegionCensus,
    full: RegionCensus,
    sample_neurons: NeuronsResult | None,
    full_neurons: NeuronsResult | None,
) -> list[list[str]]:
    def both(label: str, show: Any) -> list[str]:
        return [label, show(sample), show(full)]

    def large(c: RegionCensus) -> str:
        return (
            f"{fmt_int(c.regions_with_min_samples)} ({fmt_share(c.min_samples_coverage)} of rows)"
        )

    rows = [
        both("Rows", lambda c: fmt_int(c.samples)),
        both("Activation regions", lambda c: fmt_int(c.regions)),
        both("Regions per row", _per_row),
        both("Regime", lambda c: c.regime),
        both("Share of regions holding a single row", lambda c: fmt_share(c.singleton_share)),
    ]
    rows += [
        both(f"Rows in the {k:,} largest regions", lambda c, k=k: _top_share(c, k)) for k in _TOP_K
    ]
    if sample.min_samples == full.min_samples:
        rows.append(both(f"Regions with ≥ {fmt_int(full.min_samples)} rows", large))
    else:  # not from one run; each column says its own threshold
        rows.append(
            both(
                "Regions with ≥ min_samples rows",
                lambda c: f"≥ {fmt_int(c.min_samples)}: {large(c)}",
            )
        )
    rows += [
        [
            "Dead neurons (never on)",
            _neurons(sample_neurons, "dead"),
            _neurons(full_neurons, "dead"),
        ],
        [
            "Always-on neurons",
            _neurons(sample_neurons, "always_on"),
            _neurons(full_neurons, "always_on"),
        ],
        both("Exactness: max |local linear model − network|", lambda c: fmt_sci(c.max_abs_error)),
    ]
    return rows


def _per_row(census: RegionCensus) -> str:
    return fmt_num(round(float(census.regions_per_sample), 4))


def _regime_text(sample: RegionCensus, full: RegionCensus) -> str:
    if sample.regime == full.regime:
        text = (
            f"The regime stated above holds for all rows: the census of all "
            f"{fmt_int(full.samples)} rows is in the {full.regime} regime too "
            f"({fmt_int(full.regions)} regions, {_per_row(full)} per row)."
        )
    else:
        text = (
            f"The regime differs: the sample is in the {sample.regime} regime, all "
            f"{fmt_int(full.samples)} rows are in the {full.regime} regime "
            f"({fmt_int(full.regions)} regions, {_per_row(full)} per row). The statement above "
            "describes the sample; for the data as a whole, read the all-rows column."
        )
    if float(full.regions_per_sample) < float(sample.regions_per_sample):
        text += (
            " Over more rows, more of them fall into regions already seen, so the regions per "
            "row are fewer over all rows than in the sample."
        )
    return text


def census_comparison(results: Results, num: Numbering) -> dict[str, Any] | None:
    """Section 4.1's comparison of the sample's census with the census of all training
    rows: a paragraph and a table (None when the training data was analysed whole)."""
    scale = results.scale
    full = None if scale is None else scale.census_all_rows
    if scale is None or full is None or "train" not in results.regions:
        return None
    train = results.regions["train"]
    sample = train.census
    table = make_table(
        num.tables,
        "Region census of the analysed sample and of all training rows",
        ["Quantity", "Analysed sample", "All training rows"],
        _comparison_rows(sample, full, train.neurons, scale.neurons_all_rows),
        align="lrr",
        css="narrow",
        note="All training rows: exact over every row. A neuron dead or always on in the "
        "sample can switch on some row outside it, so the all-rows column is the one that "
        "describes the network on the data.",
    )
    text = (
        f"The analyses of this report use a seeded random sample of {fmt_int(sample.samples)} "
        f"of the {fmt_int(full.samples)} training rows. The region census alone was also "
        f"taken over all {fmt_int(full.samples)} rows, streamed from the data files; "
        f"{table['label']} sets the census of the sample beside it. "
        + _regime_text(sample, full)
        + " The local linear models reproduce the network on every row, to "
        + f"{fmt_sci(full.max_abs_error)} at most."
    )
    return {"text": text, "table": table}


def _margin(rows: int) -> str:
    """Half-width of a 95% interval for a share measured on ``rows`` rows, at its widest."""
    points = 1.96 * 0.5 / math.sqrt(rows) * 100
    return f"{points:.1f}" if points >= 0.1 else f"{points:.2f}"


def sample_limit(results: Results, num: Numbering) -> tuple[str, str] | None:
    """The limit of the validation that a sample stands in for the data (None otherwise)."""
    scale = results.scale
    if scale is None:
        return None
    parts = [
        f"{fmt_int(s.rows_analysed)} of the {fmt_int(s.rows_in_data)} rows of the "
        f"{_words(s.dataset)} (seed {s.seed})"
        for s in scale.sampled
    ]
    census = f"section {num.section('census')}"
    sampled = f"a seeded random sample: {'; '.join(parts)}. Every row was read and checked."
    if "train" not in {s.dataset for s in scale.sampled}:
        words = " and the ".join(_words(s.dataset) for s in scale.sampled)
        limit = f"The analyses of the {words} were computed on {sampled}"
    elif scale.census_all_rows is not None:
        limit = (
            "Every analysis of this report, except the region census of all training rows "
            f"({census}, exact over every row), was computed on {sampled}"
        )
    else:
        limit = f"Every analysis of this report was computed on {sampled}"
    smallest = min(s.rows_analysed for s in scale.sampled)
    mitigation = (
        f"A share measured on a sample of {fmt_int(smallest)} rows is within "
        f"±{_margin(smallest)} percentage points of its value on all rows (95%, at most). "
        + (
            f"The census of all rows ({census}) shows whether the sample's regions "
            "represent the data's. "
            if scale.census_all_rows is not None
            else ""
        )
        + "A larger sample needs a rerun with a higher analysis limit."
    )
    return limit, mitigation


def methods_context(scale: ScaleResult | None) -> dict[str, str] | None:
    """The values Appendix C's paragraph on the sampling rule quotes (None: no sample)."""
    if scale is None:
        return None
    return {
        "limit": fmt_int(scale.analysis_rows),
        "method": scale.method,
        "datasets": "; ".join(
            f"{_words(s.dataset)}: {fmt_int(s.rows_analysed)} of {fmt_int(s.rows_in_data)} "
            f"rows, seed {s.seed}"
            for s in scale.sampled
        ),
    }
