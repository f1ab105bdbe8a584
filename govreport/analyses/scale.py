"""Where a seeded sample stands in for data larger than the analysis limit.

The ``scale`` block of results.json, present only when some data set had more rows than
``--analysis-rows``: for each such data set, its rows and the rows analysed; and, for the
training data, the region census and neuron activity over **all** its rows (streamed,
:mod:`govreport.engines.census`), beside the sample's own census in the regions section.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from govreport.analyses.census import RegionCensus
from govreport.analyses.neurons import NeuronsResult
from govreport.inputs.data import Dataset
from govreport.inputs.sample import SAMPLE_METHOD
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE

__all__ = ["SampledDataset", "ScaleResult", "scale_result"]


@dataclass(frozen=True, slots=True)
class SampledDataset:
    """One data set analysed on a sample: ``rows_in_data`` rows read and checked, of which
    ``rows_analysed`` (the limit) are analysed, chosen with ``seed``."""

    __pydantic_config__ = JSON_CONFIG

    dataset: str
    rows_in_data: int
    rows_analysed: int
    seed: int


@dataclass(frozen=True, slots=True)
class ScaleResult:
    """The analysis limit, the sampled data sets, and the training data's census over all
    its rows (None when the training data was analysed whole)."""

    __pydantic_config__ = JSON_CONFIG

    analysis_rows: int
    method: str
    sampled: tuple[SampledDataset, ...]
    census_all_rows: RegionCensus | None = field(default=None, metadata=OMIT_IF_NONE)
    neurons_all_rows: NeuronsResult | None = field(default=None, metadata=OMIT_IF_NONE)


def scale_result(
    analysis_rows: int,
    datasets: Sequence[Dataset],
    census_all_rows: RegionCensus | None,
    neurons_all_rows: NeuronsResult | None,
) -> ScaleResult | None:
    """The ``scale`` block, or None when every data set was analysed whole."""
    sampled = tuple(
        SampledDataset(
            dataset=data.name,
            rows_in_data=data.sample.rows_in_data,
            rows_analysed=data.sample.n_rows,
            seed=data.sample.seed,
        )
        for data in datasets
        if data.sample is not None
    )
    if not sampled:
        return None
    return ScaleResult(
        analysis_rows=analysis_rows,
        method=SAMPLE_METHOD,
        sampled=sampled,
        census_all_rows=census_all_rows,
        neurons_all_rows=neurons_all_rows,
    )
