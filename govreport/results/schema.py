"""The typed results document: the ``Results`` tree of frozen dataclasses (schema 2).

``Results`` composes the result types where they are made: each analysis's own
result (:mod:`govreport.analyses`), the policy record
(:mod:`govreport.policy.record`), the review (:mod:`govreport.inputs.review`) and
the provenance blocks (:mod:`govreport.results.provenance_types`). Field names are
the keys of results.json; field types are JSON-level only (str, int, float, bool,
None, tuples, string-keyed dicts, nested result classes; see
:mod:`govreport.jsontypes`). A field declared with ``metadata=OMIT_IF_NONE`` is a
key that may be absent (left out of the JSON when ``None``); keys written by every
version-2 run but missing from early version-1 files are declared that way too, so
old files still load after :mod:`govreport.results.migrate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from govreport.analyses.challengers import ChallengersResult
from govreport.analyses.clusters import ClusterAnalysis
from govreport.analyses.coefficients import CoefficientDistributions
from govreport.analyses.data_quality import DataQualityResult
from govreport.analyses.dataset_regions import DatasetRegionsResult
from govreport.analyses.distributions import DistributionsResult
from govreport.analyses.fairness import FairnessResult
from govreport.analyses.importance import ImportanceResult
from govreport.analyses.insens.stage import InsensResult
from govreport.analyses.outcomes import OutcomesResult
from govreport.analyses.performance import PerformanceResult
from govreport.analyses.profiles import FeatureProfile
from govreport.analyses.region_plots import RegionPlots
from govreport.analyses.scale import ScaleResult
from govreport.analyses.sign import SignConstraintsResult
from govreport.analyses.simplify.stage import SimplificationResult
from govreport.analyses.slope_profiles import SlopeProfilesResult
from govreport.analyses.stability import StabilityResult
from govreport.analyses.uncertainty import UncertaintyResult
from govreport.compare.types import ReviewComparison
from govreport.inputs.review import ReviewRecord
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE
from govreport.policy.conclusion import ConclusionRecord
from govreport.policy.record import PolicyRecord
from govreport.results.provenance_types import (
    DatasetDocument,
    Generator,
    Inputs,
    ModelDocument,
    RunInfo,
)

__all__ = ["SCHEMA_VERSION", "Results"]

#: Version of the results.json layout this code writes (and reads after migration).
SCHEMA_VERSION: Final = 3


@dataclass(frozen=True, slots=True)
class Results:
    """The whole results document (results.json, schema 2).

    ``regions`` is keyed by data set name (``"train"``, and ``"test"`` with a holdout).
    """

    __pydantic_config__ = JSON_CONFIG

    schema_version: Literal[3]
    generator: Generator
    run: RunInfo
    inputs: Inputs
    model: ModelDocument
    features: tuple[str, ...]
    datasets: tuple[DatasetDocument, ...]
    performance: tuple[PerformanceResult, ...]
    regions: dict[str, DatasetRegionsResult]
    importance: ImportanceResult
    profiles: tuple[FeatureProfile, ...]
    policy: PolicyRecord
    review: ReviewRecord | None = field(default=None, metadata=OMIT_IF_NONE)
    aletheia_plots: RegionPlots | None = field(default=None, metadata=OMIT_IF_NONE)
    coefficients: CoefficientDistributions | None = field(default=None, metadata=OMIT_IF_NONE)
    sign_constraints: SignConstraintsResult | None = field(default=None, metadata=OMIT_IF_NONE)
    clusters: ClusterAnalysis | None = field(default=None, metadata=OMIT_IF_NONE)
    insens: InsensResult | None = field(default=None, metadata=OMIT_IF_NONE)
    simplification: SimplificationResult | None = field(default=None, metadata=OMIT_IF_NONE)
    data_quality: DataQualityResult | None = field(default=None, metadata=OMIT_IF_NONE)
    stability: StabilityResult | None = field(default=None, metadata=OMIT_IF_NONE)
    fairness: FairnessResult | None = field(default=None, metadata=OMIT_IF_NONE)
    # Issue 13: outcomes (curves, calibration), bootstrap intervals, challenger models.
    outcomes: OutcomesResult | None = field(default=None, metadata=OMIT_IF_NONE)
    uncertainty: UncertaintyResult | None = field(default=None, metadata=OMIT_IF_NONE)
    challengers: ChallengersResult | None = field(default=None, metadata=OMIT_IF_NONE)
    # Issue 12 item 5: the regime decision and the all-client views (slopes by value, ICE).
    slope_profiles: SlopeProfilesResult | None = field(default=None, metadata=OMIT_IF_NONE)
    # Issue 12: recommended rating, findings register, monitoring plan.
    conclusion: ConclusionRecord | None = field(default=None, metadata=OMIT_IF_NONE)
    # Issue 14: binned feature/score histograms (data drift between reviews) and the
    # comparison with the previous review (``govreport run --previous``).
    distributions: DistributionsResult | None = field(default=None, metadata=OMIT_IF_NONE)
    comparison: ReviewComparison | None = field(default=None, metadata=OMIT_IF_NONE)
    # Issue 15: where a seeded sample stands in for data beyond --analysis-rows, and the
    # training data's region census over all its rows.
    scale: ScaleResult | None = field(default=None, metadata=OMIT_IF_NONE)
