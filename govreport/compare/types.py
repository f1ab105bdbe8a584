"""The typed comparison of two reviews (:class:`ReviewComparison`), as results.json stores it.

JSON-level field types only (text, numbers, booleans, tuples, nested records), so the
comparison is both a block of results.json (``comparison``, written by ``govreport run
--previous``) and the JSON file ``govreport diff`` writes. Every item carries ``note``:
one plain sentence saying what changed and whether it matters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number

__all__ = [
    "CheckChange",
    "DataShift",
    "DatasetAgreement",
    "FeatureMove",
    "FindingChange",
    "Identity",
    "InteriorChange",
    "MetricChange",
    "ModelAgreement",
    "ReviewComparison",
    "ShareChange",
    "WaiverChange",
]

#: How a check's status moved: ``worsened``/``improved`` on pass < waived < fail.
StatusMove = Literal["unchanged", "improved", "worsened", "changed", "added", "removed"]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who and what was reviewed, then and now."""

    __pydantic_config__ = JSON_CONFIG

    review_type: Literal["periodic", "change"]
    previous_report_id: str
    current_report_id: str
    previous_run_date: str
    current_run_date: str
    model_unchanged: bool
    previous_model_sha256: str
    current_model_sha256: str
    architecture_unchanged: bool
    previous_architecture: str
    current_architecture: str
    policy_id: str
    previous_policy_version: str
    current_policy_version: str
    policy_unchanged: bool
    previous_windows: dict[str, str]
    current_windows: dict[str, str]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CheckChange:
    """One policy check compared: value and status then and now.

    ``headroom_*``: distance of the value to the nearest bound of the check, positive
    inside the bounds (``None`` without a bound to measure against).
    """

    __pydantic_config__ = JSON_CONFIG

    id: str
    target: str
    description: str
    move: StatusMove
    status_then: str | None
    status_now: str | None
    value_then: Number
    value_now: Number
    delta: Number
    bound: str
    headroom_then: Number
    headroom_now: Number
    note: str


@dataclass(frozen=True, slots=True)
class FindingChange:
    """A finding (a failed or waived check, or an entry of the findings register)."""

    __pydantic_config__ = JSON_CONFIG

    id: str
    title: str
    state: Literal["new", "closed", "persisting"]
    severity_then: str | None
    severity_now: str | None
    note: str


@dataclass(frozen=True, slots=True)
class WaiverChange:
    """A waiver that expired, was renewed, newly granted or withdrawn between the reviews."""

    __pydantic_config__ = JSON_CONFIG

    check: str
    state: Literal["expired", "renewed", "granted", "withdrawn"]
    expires_then: str | None
    expires_now: str | None
    note: str


@dataclass(frozen=True, slots=True)
class MetricChange:
    """A headline metric with its 95% intervals: is the change beyond sampling error?"""

    __pydantic_config__ = JSON_CONFIG

    metric: str
    dataset: str
    value_then: Number
    value_now: Number
    delta: Number
    interval_then: tuple[Float, Float] | None
    interval_now: tuple[Float, Float] | None
    #: |delta| / sqrt(se_then² + se_now²); beyond 1.96: larger than sampling error.
    z: Number
    significant: bool | None
    note: str


@dataclass(frozen=True, slots=True)
class FeatureMove:
    """How one feature's local coefficients moved (scaled: per standard deviation)."""

    __pydantic_config__ = JSON_CONFIG

    feature: str
    output: str
    #: Wasserstein-1 distance between the two coefficient distributions, from their
    #: stored quantiles (trapezoid rule over the quantile levels), per standard deviation.
    distance: Float
    median_then: Float
    median_now: Float
    rank_then: int | None
    rank_now: int | None
    importance_then: Number
    importance_now: Number


@dataclass(frozen=True, slots=True)
class ShareChange:
    """A named share or count then and now (sign violations, regime, simplification)."""

    __pydantic_config__ = JSON_CONFIG

    name: str
    then: Number
    now: Number
    note: str


@dataclass(frozen=True, slots=True)
class InteriorChange:
    """The network's interior compared, when the model is unchanged."""

    __pydantic_config__ = JSON_CONFIG

    compared: bool
    reason: str
    features: tuple[FeatureMove, ...] = ()
    sign: tuple[ShareChange, ...] = ()
    regime: tuple[ShareChange, ...] = ()
    simplification: tuple[ShareChange, ...] = ()


@dataclass(frozen=True, slots=True)
class DataShift:
    """Population stability index of one variable between the two windows of a data set."""

    __pydantic_config__ = JSON_CONFIG

    dataset: str
    variable: str
    psi: Float
    level: Literal["stable", "moderate", "major"]


@dataclass(frozen=True, slots=True)
class DatasetAgreement:
    """The new network against the previous one on one data set of this review.

    Decisions: binary, probability above 0.5; multiclass, the most probable class;
    regression has none (``None``). Outputs: the probability (binary), every class's
    probability (multiclass, pooled over clients and classes) or the value (regression).
    """

    __pydantic_config__ = JSON_CONFIG

    dataset: str
    n: int
    #: Share of clients whose decision is the same under both networks.
    agreement: Number
    #: Cohen's kappa of the two networks' decisions (chance-corrected agreement).
    kappa: Number
    #: Share of clients whose decision flips (1 - agreement).
    flips: Number
    #: Binary: share below the cut-off under the old network and above it under the new
    #: (``flips_up``), and the reverse (``flips_down``); None otherwise.
    flips_up: Number
    flips_down: Number
    #: Pearson correlation of the two networks' outputs.
    correlation: Number
    #: Quantiles of the output difference new - old at ``quantile_levels``.
    quantile_levels: tuple[Float, ...]
    difference_quantiles: tuple[Float, ...]
    mean_abs_difference: Float
    #: Binary with labels: the old and the new network's AUC on this data set.
    auc_old: Number
    auc_new: Number
    note: str


@dataclass(frozen=True, slots=True)
class ModelAgreement:
    """The new network's agreement with the previous review's network on this review's data."""

    __pydantic_config__ = JSON_CONFIG

    previous_model_file: str
    previous_model_sha256: str
    task: Literal["binary", "multiclass", "regression"]
    #: What the outputs compared are, in words ("probability", ...).
    output: str
    datasets: tuple[DatasetAgreement, ...]


@dataclass(frozen=True, slots=True)
class ReviewComparison:
    """Everything compared between a previous review (``then``) and this one (``now``)."""

    __pydantic_config__ = JSON_CONFIG

    previous_file: str
    identity: Identity
    headlines: tuple[str, ...]
    checks: tuple[CheckChange, ...]
    findings: tuple[FindingChange, ...]
    findings_source: str
    waivers: tuple[WaiverChange, ...]
    metrics: tuple[MetricChange, ...]
    interior: InteriorChange
    data: tuple[DataShift, ...]
    data_note: str
    prior_findings: tuple[str, ...] = ()
    previous_sha256: str | None = field(default=None, metadata=OMIT_IF_NONE)
    #: The new network against the previous one on this review's data (``--previous-model``).
    model_agreement: ModelAgreement | None = field(default=None, metadata=OMIT_IF_NONE)
