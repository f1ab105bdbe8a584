"""The ``"policy"`` block of results.json as typed values.

Plain frozen dataclasses whose field names are the JSON keys and whose field types
are JSON-level (text, numbers, booleans, ``None``, tuples, nested records), so the
generic dump (:func:`govreport.results.to_jsonable`, sorted keys) writes the block
byte for byte. Built by :meth:`govreport.policy.PolicyEvaluation.record`; the
decisions they carry (``status``, ``waiver_applied``, ``gating``, ``outcome``) are
made in :mod:`govreport.policy.evaluate` and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import JsonValue

from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.policy.schema import Outcome, Status

__all__ = [
    "ApprovalRecord",
    "ChangeRecord",
    "CheckRecord",
    "PolicyCounts",
    "PolicyRecord",
    "WaiverRecord",
]


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """Who approved a waiver; ``date`` in ISO form (``2026-03-02``)."""

    __pydantic_config__ = JSON_CONFIG

    name: str
    role: str
    date: str


@dataclass(frozen=True, slots=True)
class WaiverRecord:
    """A check's waiver as the policy file gives it, and whether it had expired on the run date.

    Whether it was *applied* is the check's ``waiver_applied``, not read from here.
    """

    __pydantic_config__ = JSON_CONFIG

    justification: str
    approved_by: ApprovalRecord
    expires: str
    expired: bool
    cap_severity: str
    scope: tuple[str, ...] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """The two values a change check (``change:``, issue 14) compares.

    ``compared``: the previous review's results were given (else the check is not
    evaluated); ``then``: the previous review's value, ``now``: this run's. The check's
    ``observed`` is ``now - then``.
    """

    __pydantic_config__ = JSON_CONFIG

    compared: bool
    then: Number
    now: Number


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """One check's result: one entry of ``"policy"."checks"``.

    ``status`` is ``pass``, ``fail`` or ``not_evaluated``; a failure with
    ``waiver_applied`` is shown as *waived* everywhere
    (:func:`govreport.policy.check_status`). ``observed`` is ``None`` when not
    produced or not finite. ``waiver_applied`` and ``params`` are absent (``None``)
    only in files written before they existed.
    """

    __pydantic_config__ = JSON_CONFIG

    id: str
    metric: str
    dataset: str
    description: str
    observed: Number
    bound: str
    status: Status
    severity: str | None
    effective_severity: str | None
    gating: bool
    waiver: WaiverRecord | None
    refs: tuple[str, ...]
    message: str
    params: dict[str, JsonValue] | None = field(default=None, metadata=OMIT_IF_NONE)
    waiver_applied: bool | None = field(default=None, metadata=OMIT_IF_NONE)
    #: ``lower_ci``/``upper_ci`` when the bound applies to an interval end (absent: the value).
    on: Literal["lower_ci", "upper_ci"] | None = field(default=None, metadata=OMIT_IF_NONE)
    #: The point value when ``observed`` is an interval end.
    point: Number = field(default=None, metadata=OMIT_IF_NONE)
    #: The metric's 95% interval (lower, upper), when the run has one.
    interval: tuple[Float, Float] | None = field(default=None, metadata=OMIT_IF_NONE)
    #: With an interval: True when the point and the interval end the check does not judge
    #: fall on different sides of a bound (a pass, or a failure, only inside sampling error).
    within_sampling_error: bool | None = field(default=None, metadata=OMIT_IF_NONE)
    #: A change check's values then and now (issue 14).
    change: ChangeRecord | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class PolicyCounts:
    """Checks by status; the four counts partition the checks."""

    __pydantic_config__ = JSON_CONFIG

    passed: int
    failed: int
    waived: int
    not_evaluated: int


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """The ``"policy"`` block: the policy's identity, the run date, the outcome, every check."""

    __pydantic_config__ = JSON_CONFIG

    id: str
    version: str
    owner: str
    effective: str
    file: str
    sha256: str
    severity_levels: tuple[str, ...]
    gate: str
    run_date: str
    outcome: Outcome
    counts: PolicyCounts
    checks: tuple[CheckRecord, ...]
