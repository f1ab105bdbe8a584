"""The report says where a seeded sample stands in for the data, and how large it is.

One real run on the Taiwan credit example with an analysis limit of 5,000 rows (both the
24,000 training rows and the 6,000 test rows are sampled) gives results with a ``scale``
block; the rendered report must state the rows read, the rows analysed and the seed in
sections 1, 2 and 3, set the census of the sample beside the census of all training rows
in section 4.1, list the sample among the limits of the validation (section 8) and
describe the rule in Appendix C. The same results without the block render none of it
(the golden test pins the report of a run analysed whole byte for byte).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html as html_lib
import re
from pathlib import Path
from typing import Any

import pytest

import govreport.api
from govreport.analyses.scale import ScaleResult
from govreport.render import render_html
from govreport.render.report import MODEL_DATA, SECTIONS, SOUNDNESS
from govreport.render.sections import sampling
from govreport.render.text import Numbering, fmt_int
from govreport.results import Results

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "taiwan_credit"
LIMIT = 5_000

#: Phrases only a report with a sample prints.
SAMPLE_PHRASES = (
    "every row was read and checked",
    "Data analysed",
    "The analyses use a seeded random sample",
    "Region census of the analysed sample and of all training rows",
    "Region census, training data (analysed sample)",
    "All training rows",
    "Analyses on a seeded sample of rows",
    "splitmix64",
    "the analysis limit of 5,000",
    "K of N",
)


def _text(report: str) -> str:
    """The visible text of an HTML report: tags dropped, entities decoded, spaces collapsed."""
    body = re.sub(r"<style.*?</style>|<svg.*?</svg>", " ", report, flags=re.DOTALL)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).replace("\u200b", "")
    return re.sub(r"\s+", " ", text)


def _section(text: str, start: str, end: str) -> str:
    """The text from the heading ``start`` to the heading ``end`` (the body, not the contents)."""
    begin = text.rindex(start)
    return text[begin : text.index(end, begin)]


def _numbering() -> Numbering:
    return Numbering({s.key: s.number for s in (*SECTIONS, *MODEL_DATA, *SOUNDNESS)})


@pytest.fixture(scope="module")
def results() -> Results:
    run = govreport.api.run(
        model=EXAMPLE / "model.pt",
        data=EXAMPLE / "train.csv",
        test_data=EXAMPLE / "test.csv",
        target="default.payment.next.month",
        drop=("ID",),
        analysis_rows=LIMIT,
        run_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        command="govreport run (test_render_scale)",
    )
    return run.results


@pytest.fixture(scope="module")
def scale(results: Results) -> ScaleResult:
    assert results.scale is not None, "the run should have sampled its data"
    return results.scale


@pytest.fixture(scope="module")
def text(results: Results) -> str:
    return _text(render_html(results))


@pytest.fixture(scope="module")
def whole_text(results: Results) -> str:
    """The same results as if nothing had been sampled (no scale block)."""
    return _text(render_html(dataclasses.replace(results, scale=None)))


def test_the_run_samples_both_data_sets_and_counts_all_training_rows(scale: ScaleResult) -> None:
    sampled = {s.dataset: s for s in scale.sampled}
    assert set(sampled) == {"train", "test"}
    assert sampled["train"].rows_in_data == 24_000 and sampled["train"].rows_analysed == LIMIT
    assert sampled["test"].rows_in_data == 6_000 and sampled["test"].rows_analysed == LIMIT
    assert scale.census_all_rows is not None and scale.census_all_rows.samples == 24_000


def test_sections_2_and_3_say_rows_read_rows_analysed_and_seed_per_data_set(
    text: str, scale: ScaleResult
) -> None:
    scope = _section(text, "2 Scope and use", "3 Model and data")
    model_data = _section(text, "3 Model and data", "3.1 Data quality")
    for part in (scope, model_data):
        for s in scale.sampled:
            words = sampling.DATASET_WORDS[s.dataset]
            assert (
                f"The {words} has {fmt_int(s.rows_in_data)} rows; every row was read and "
                f"checked. The analyses use a seeded random sample of "
                f"{fmt_int(s.rows_analysed)} of them (seed {s.seed})"
            ) in part
            # the data set tables' Rows cells: K of N
            assert f"{fmt_int(s.rows_analysed)} of {fmt_int(s.rows_in_data)}" in part
        assert "the region census of section 4.1 is also taken over all 24,000 rows" in part


def test_the_body_names_no_command_line_option(text: str) -> None:
    """Plain words for the committee: the option is named in the methods appendix only."""
    body = text[: text.rindex("Appendix A. Policy results")]
    assert not re.findall(r"--[a-z][a-z-]+", body)
    appendix = text[text.rindex("Appendix C. Methods") :]
    assert "option --analysis-rows" in appendix


def test_the_executive_summary_names_the_sample_in_its_key_facts(text: str) -> None:
    summary = _section(text, "1 Executive summary", "2 Scope and use")
    assert (
        "Data analysed The analyses use a seeded random sample: 5,000 of the 24,000 rows of "
        "the training data; 5,000 of the 6,000 rows of the test data."
    ) in summary


def test_the_census_section_sets_the_sample_beside_all_rows(
    text: str, results: Results, scale: ScaleResult
) -> None:
    census = _section(text, "4.1 Region census", "4.2 Local linear models")
    full = scale.census_all_rows
    assert full is not None
    sample = results.regions["train"].census
    assert "Region census of the analysed sample and of all training rows" in census
    assert f"Rows {fmt_int(sample.samples)} {fmt_int(full.samples)}" in census
    assert f"Activation regions {fmt_int(sample.regions)} {fmt_int(full.regions)}" in census
    assert f"Regime {sample.regime} {full.regime}" in census
    for label in (
        "Regions per row",
        "Share of regions holding a single row",
        "Rows in the 10 largest regions",
        "Rows in the 100 largest regions",
        f"Regions with ≥ {fmt_int(full.min_samples)} rows",
        "Dead neurons (never on)",
        "Always-on neurons",
    ):
        assert label in census, label
    assert sample.regime == full.regime == "fragmented"
    assert "The regime stated above holds for all rows" in census


def test_a_different_regime_over_all_rows_is_said(results: Results, scale: ScaleResult) -> None:
    assert scale.census_all_rows is not None
    coarse = dataclasses.replace(scale.census_all_rows, regime="coarse")
    changed = dataclasses.replace(results, scale=dataclasses.replace(scale, census_all_rows=coarse))
    comparison = sampling.census_comparison(changed, _numbering())
    assert comparison is not None
    assert "The regime differs: the sample is in the fragmented regime" in comparison["text"]
    assert "in the coarse regime" in comparison["text"]


def test_the_limits_of_the_validation_name_the_sample(text: str) -> None:
    limits = _section(text, "8 Limitations and compensating controls", "9 Ongoing-monitoring")
    assert (
        "Every analysis of this report, except the region census of all training rows "
        "(section 4.1, exact over every row), was computed on a seeded random sample: 5,000 "
        "of the 24,000 rows of the training data (seed 0); 5,000 of the 6,000 rows of the "
        "test data (seed 0)."
    ) in limits
    assert "±1.4 percentage points" in limits


def test_a_sample_of_the_test_data_alone_is_limited_to_its_analyses(
    results: Results, scale: ScaleResult
) -> None:
    test_only = dataclasses.replace(
        scale,
        sampled=tuple(s for s in scale.sampled if s.dataset == "test"),
        census_all_rows=None,
        neurons_all_rows=None,
    )
    changed = dataclasses.replace(results, scale=test_only)
    limit = sampling.sample_limit(changed, _numbering())
    assert limit is not None
    assert limit[0].startswith("The analyses of the test data were computed on a seeded")
    assert sampling.census_comparison(changed, _numbering()) is None


def test_the_methods_appendix_quotes_the_rule(text: str, scale: ScaleResult) -> None:
    methods = _section(text, "Appendix C. Methods", "Appendix D.")
    rule = _section(methods, "C.17 Analyses on a seeded sample of rows", "References")
    assert scale.method in rule
    assert "splitmix64(splitmix64(seed) XOR i)" in rule
    assert "training data: 5,000 of 24,000 rows, seed 0; test data: 5,000 of 6,000 rows" in rule


@pytest.mark.parametrize("phrase", SAMPLE_PHRASES)
def test_without_a_sample_none_of_it_is_said(whole_text: str, text: str, phrase: str) -> None:
    assert phrase in text
    assert phrase not in whole_text


def test_without_a_sample_the_helpers_say_nothing(results: Results) -> None:
    whole = dataclasses.replace(results, scale=None)
    num = _numbering()
    nothing: list[Any] = [
        sampling.sample_paragraph(whole, num),
        sampling.summary_fact(whole, num),
        sampling.census_comparison(whole, num),
        sampling.sample_limit(whole, num),
        sampling.methods_context(whole.scale),
        sampling.rows_note(whole),
    ]
    assert not any(nothing)
    assert sampling.rows_cell(whole, "train", 5_000) == "5,000"
