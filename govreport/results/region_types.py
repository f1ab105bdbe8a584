"""Typed ``regions`` block of results.json: census, neurons, top-region tables per data set."""

from __future__ import annotations

from dataclasses import dataclass, field

from govreport.results.jsonable import OMIT_IF_NONE
from govreport.results.provenance_types import Number

__all__ = [
    "Census",
    "CoverageCurveDocument",
    "CoveragePointDocument",
    "ExposureRow",
    "ExposureTable",
    "NeuronActivity",
    "Regions",
    "RegionsOfDataset",
    "SummaryRowDocument",
    "SummaryTableDocument",
]


@dataclass(frozen=True, slots=True)
class CoveragePointDocument:
    k: int
    share: Number


@dataclass(frozen=True, slots=True)
class CoverageCurveDocument:
    k: tuple[int, ...]
    share: tuple[Number, ...]


@dataclass(frozen=True, slots=True)
class Census:
    """How the data set falls into activation regions (plus Aletheia's dummy regions)."""

    samples: int
    regions: int
    regions_per_sample: Number
    regime: str
    singleton_regions: int
    singleton_share: Number
    samples_in_singletons_share: Number
    min_samples: int
    regions_with_min_samples: int
    min_samples_coverage: Number
    constant_regions: int
    max_abs_error: Number
    top_coverage: tuple[CoveragePointDocument, ...]
    coverage_curve: CoverageCurveDocument
    dummy_regions: int | None = field(default=None, metadata=OMIT_IF_NONE)
    multi_sample_regions: int | None = field(default=None, metadata=OMIT_IF_NONE)
    dummy_share: Number = field(default=None, metadata=OMIT_IF_NONE)
    dummy_share_all_regions: Number = field(default=None, metadata=OMIT_IF_NONE)
    samples_in_dummy_share: Number = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class NeuronActivity:
    """Dead and always-on neurons of one hidden layer."""

    layer: int
    width: int
    dead: int
    always_on: int


@dataclass(frozen=True, slots=True)
class SummaryRowDocument:
    rank: int
    count: int
    share: Number
    response_mean: Number
    response_std: Number
    local_metric: Number
    global_metric: Number
    constant: bool
    dummy: bool | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class SummaryTableDocument:
    """The largest regions of a data set with their local and global metrics."""

    local_metric: str
    total_regions: int
    shown: int
    rows: tuple[SummaryRowDocument, ...]


@dataclass(frozen=True, slots=True)
class ExposureRow:
    rank: int
    train_count: int
    test_count: int
    test_share: Number
    response_mean: Number
    response_std: Number
    local_metric: Number
    global_metric: Number
    constant: bool


@dataclass(frozen=True, slots=True)
class ExposureTable:
    """The largest training regions and how much of the test set falls into them."""

    local_metric: str
    training_regions: int
    shown: int
    shown_without_test: int
    test_samples: int
    test_samples_in_shown: int
    test_share_in_shown: Number
    rows: tuple[ExposureRow, ...]


@dataclass(frozen=True, slots=True)
class RegionsOfDataset:
    """The region analyses of one data set (the test set adds unseen share and exposure)."""

    census: Census
    neurons: tuple[NeuronActivity, ...]
    summary_table: SummaryTableDocument
    unseen_share: Number = field(default=None, metadata=OMIT_IF_NONE)
    exposure_table: ExposureTable | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class Regions:
    train: RegionsOfDataset
    test: RegionsOfDataset | None = field(default=None, metadata=OMIT_IF_NONE)
    oot: RegionsOfDataset | None = field(default=None, metadata=OMIT_IF_NONE)
