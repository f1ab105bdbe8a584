"""The typed results document: the ``Results`` tree of frozen dataclasses (schema 2).

Field names are the keys of results.json; field types are JSON-level only (str,
int, float, bool, None, tuples, string-keyed dicts, nested result classes).
``Number`` (a float, or ``None``) is a float that may be NaN or infinite:
results.json stores those as ``null``; an integer in a file stays an integer. A
field declared with ``metadata=OMIT_IF_NONE`` is a key that may be absent (left
out of the JSON when ``None``); keys written by every version-2 run but missing
from early version-1 files are declared that way too, so old files still load
after :mod:`govreport.results.migrate`.

The provenance blocks (generator, run, inputs, model, features, datasets) and
the region blocks live in :mod:`govreport.results.provenance_types` and
:mod:`govreport.results.region_types`; this module composes the whole tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import ConfigDict

from govreport.analyses.challengers import ChallengersResult
from govreport.analyses.outcomes import OutcomesResult
from govreport.analyses.uncertainty import UncertaintyResult
from govreport.results.jsonable import OMIT_IF_NONE
from govreport.results.provenance_types import (
    DatasetDocument,
    Generator,
    Inputs,
    ModelDocument,
    Number,
    RunInfo,
)
from govreport.results.region_types import Regions

__all__ = [
    "SCHEMA_VERSION",
    "CheckDocument",
    "FeatureImportanceDocument",
    "ImportanceDocument",
    "JsonObject",
    "OutputImportanceDocument",
    "PerformanceDocument",
    "PolicyDocument",
    "ProfileDensity",
    "ProfileDocument",
    "ProfileRegion",
    "Results",
    "ReviewDocument",
    "SignoffDocument",
    "SignoffPerson",
    "WaiverApproval",
    "WaiverDocument",
]

#: Version of the results.json layout this code writes (and reads after migration).
SCHEMA_VERSION: Final = 2

#: An analysis block not typed here yet: any JSON object.
JsonObject = dict[str, Any]


# --------------------------------------------------------------------------- performance


@dataclass(frozen=True, slots=True)
class PerformanceDocument:
    """Performance of the network on one data set (metric name -> value)."""

    dataset: str
    metrics: dict[str, Number]


# --------------------------------------------------------------------------- importance


@dataclass(frozen=True, slots=True)
class FeatureImportanceDocument:
    name: str
    raw_pct: Number
    scaled_pct: Number


@dataclass(frozen=True, slots=True)
class OutputImportanceDocument:
    output: str
    features: tuple[FeatureImportanceDocument, ...]


@dataclass(frozen=True, slots=True)
class ImportanceDocument:
    """Aletheia feature importance per output (raw and scale-aware)."""

    outputs: tuple[OutputImportanceDocument, ...]
    note: str | None = field(default=None, metadata=OMIT_IF_NONE)


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True, slots=True)
class ProfileDensity:
    x: tuple[Number, ...]
    y: tuple[Number, ...]


@dataclass(frozen=True, slots=True)
class ProfileRegion:
    """One region's segment in a feature profile."""

    rank: int
    count: int
    slope: Number
    x_min: Number
    x_max: Number
    y_min: Number
    y_max: Number
    density: ProfileDensity | None
    values: tuple[Number, ...]
    withheld: bool | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class ProfileDocument:
    """The profile of one feature over the largest regions."""

    feature: str
    importance_pct: Number
    scaled_importance_pct: Number
    regions_drawn: int
    regions_total: int
    regions: tuple[ProfileRegion, ...]


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True, slots=True)
class WaiverApproval:
    name: str
    role: str
    date: str


@dataclass(frozen=True, slots=True)
class WaiverDocument:
    """A waiver of a check, as the policy file states it."""

    justification: str
    approved_by: WaiverApproval
    expires: str
    expired: bool
    cap_severity: str
    scope: tuple[str, ...] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class CheckDocument:
    """One policy check and its result (``CheckResult.to_dict()``)."""

    id: str
    metric: str
    dataset: str
    description: str
    observed: Number
    bound: str
    status: str
    severity: str | None
    effective_severity: str | None
    gating: bool
    waiver: WaiverDocument | None
    refs: tuple[str, ...]
    message: str
    waiver_applied: bool | None = field(default=None, metadata=OMIT_IF_NONE)
    params: dict[str, Any] | None = field(default=None, metadata=OMIT_IF_NONE)
    on: str | None = field(default=None, metadata=OMIT_IF_NONE)
    point: Number = field(default=None, metadata=OMIT_IF_NONE)
    interval: tuple[Number, ...] | None = field(default=None, metadata=OMIT_IF_NONE)
    within_sampling_error: bool | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """The ``policy`` block: the policy's identity, outcome, counts and every check."""

    id: str
    version: str
    owner: str
    effective: str
    file: str
    sha256: str
    severity_levels: tuple[str, ...]
    gate: str
    run_date: str
    outcome: str
    counts: dict[str, int]
    checks: tuple[CheckDocument, ...]


# --------------------------------------------------------------------------- review


@dataclass(frozen=True, slots=True)
class SignoffPerson:
    name: str | None
    role: str | None
    decision: str | None
    date: str | None


@dataclass(frozen=True, slots=True)
class SignoffDocument:
    validator: SignoffPerson
    reviewer: SignoffPerson
    approver: SignoffPerson


@dataclass(frozen=True, slots=True)
class ReviewDocument:
    """Review metadata (``--review``); every field blank without a review file."""

    file: str | None
    sha256: str | None
    report_id: str | None
    model_id: str | None
    model_version: str | None
    review_type: str | None
    intended_use: str | None
    data_windows: dict[str, str]
    signoff: SignoffDocument


# --------------------------------------------------------------------------- the document


@dataclass(frozen=True, slots=True)
class Results:
    """The whole results document (results.json, schema 2)."""

    __pydantic_config__ = ConfigDict(strict=True, extra="forbid")

    schema_version: Literal[2]
    generator: Generator
    run: RunInfo
    inputs: Inputs
    model: ModelDocument
    features: tuple[str, ...]
    datasets: tuple[DatasetDocument, ...]
    performance: tuple[PerformanceDocument, ...]
    regions: Regions
    importance: ImportanceDocument
    profiles: tuple[ProfileDocument, ...]
    policy: PolicyDocument
    review: ReviewDocument | None = field(default=None, metadata=OMIT_IF_NONE)
    # TODO(issue 10): the analyses' own result types replace these JSON objects
    # (aletheia_plots, coefficients: analyses/aletheia.py; sign_constraints: analyses/slopes.py;
    # clusters: analyses/clusters.py; insens: analyses/insens*; simplification: analyses/simplify).
    aletheia_plots: JsonObject | None = field(default=None, metadata=OMIT_IF_NONE)
    coefficients: JsonObject | None = field(default=None, metadata=OMIT_IF_NONE)
    sign_constraints: JsonObject | None = field(default=None, metadata=OMIT_IF_NONE)
    clusters: JsonObject | None = field(default=None, metadata=OMIT_IF_NONE)
    insens: JsonObject | None = field(default=None, metadata=OMIT_IF_NONE)
    simplification: JsonObject | None = field(default=None, metadata=OMIT_IF_NONE)
    # Issue 13: outcomes (curves, calibration), bootstrap intervals, challenger models.
    outcomes: OutcomesResult | None = field(default=None, metadata=OMIT_IF_NONE)
    uncertainty: UncertaintyResult | None = field(default=None, metadata=OMIT_IF_NONE)
    challengers: ChallengersResult | None = field(default=None, metadata=OMIT_IF_NONE)
