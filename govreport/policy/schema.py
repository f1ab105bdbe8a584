"""The policy file's schema and the validated, immutable policy it loads into.

Two layers: the pydantic models (``*Model``) describe the file as written
(structure and types only; unknown keys are errors, no coercion), and the frozen
dataclasses (:class:`Band`, :class:`Check`, :class:`Waiver`, :class:`Policy`) are
the normalised policy the rest of govreport uses (a single bound is one band, the
data set resolved), independent of pydantic. Rules that need context (severities,
metrics, check ids) are in :mod:`govreport.policy.load`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from govreport.errors import PolicyError
from govreport.metrics import SIGN_VIOLATION_METRIC, MetricKey
from govreport.yamlfile import Loc, format_loc

__all__ = [
    "DEFAULT_SEVERITY_LEVELS",
    "SCHEMA_VERSION",
    "WHERE_SYNTAX",
    "Approval",
    "Band",
    "Change",
    "Check",
    "CheckStatus",
    "Condition",
    "On",
    "OnMissing",
    "Outcome",
    "Policy",
    "PolicyFileModel",
    "RatingRule",
    "Status",
    "Waiver",
    "materiality_problem",
    "parse_where",
]

SCHEMA_VERSION = 1
"""The only policy ``schema_version`` this module reads."""

DEFAULT_SEVERITY_LEVELS: tuple[str, ...] = ("info", "minor", "major", "critical")
"""Severity levels when a file does not list its own, lowest first."""

OnMissing = Literal["fail", "warn", "skip"]
#: What a check's bound applies to: the point value, or one end of its 95% interval.
On = Literal["value", "lower_ci", "upper_ci"]
Status = Literal["pass", "fail", "not_evaluated"]
CheckStatus = Literal["pass", "fail", "waived", "not_evaluated"]
"""A check's status: ``waived`` is a failure whose waiver lowered (capped) its severity."""
Outcome = Literal["pass", "pass_with_waivers", "fail"]


# ---------------------------------------------------------------------------
# Schema of the file (pydantic): structure and types only. Rules that need
# context (severities, metrics, check ids) are in _semantic_problems().
# ---------------------------------------------------------------------------

_Text = Annotated[str, Field(min_length=1)]
_Bound = Annotated[float | None, Field(default=None, allow_inf_nan=False)]


class _FileModel(BaseModel):
    """Common configuration: unknown keys are errors, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PolicyInfoModel(_FileModel):
    """The ``policy:`` block: identity of the policy document."""

    id: _Text
    version: _Text
    owner: _Text
    effective: dt.date


class GateModel(_FileModel):
    """The ``gate:`` block: the lowest severity that fails the run."""

    fail_on: _Text


class BandModel(_FileModel):
    """One band of a check: a bound with its own severity."""

    min: _Bound = None
    max: _Bound = None
    severity: _Text


class FindingTemplateModel(_FileModel):
    """A check's ``finding:`` block: how its failure reads in the findings register."""

    id: _Text | None = None
    cause: _Text | None = None
    remediation: _Text | None = None


class ChangeModel(_FileModel):
    """``change:`` of a check (issue 14): how far the metric may move since the last review.

    ``max_drop``: how much it may fall, ``max_rise``: how much it may rise,
    ``max_abs_change``: how far it may move either way (all >= 0, same unit as the metric).
    The check is judged on the difference now minus then, when the previous review's
    results are given; without them it is not evaluated.
    """

    max_drop: Annotated[float | None, Field(default=None, ge=0, allow_inf_nan=False)] = None
    max_rise: Annotated[float | None, Field(default=None, ge=0, allow_inf_nan=False)] = None
    max_abs_change: Annotated[float | None, Field(default=None, ge=0, allow_inf_nan=False)] = None


class CheckModel(_FileModel):
    """One entry of ``checks:`` as written in the file."""

    id: _Text
    metric: _Text
    dataset: str | None = None
    min: _Bound = None
    max: _Bound = None
    severity: _Text | None = None
    bands: list[BandModel] | None = None
    on_missing: OnMissing = "fail"
    on: On = "value"
    params: dict[str, Any] = Field(default_factory=dict)
    refs: list[_Text] = Field(default_factory=list)
    description: _Text | None = None
    title: _Text | None = None
    finding: FindingTemplateModel | None = None
    monitor: bool | None = None
    change: ChangeModel | None = None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def materiality_problem(value: Any) -> tuple[tuple[str, ...], str] | None:
    """Why a sign check's ``materiality`` is not a number >= 0 or a mapping of features
    to numbers >= 0, as (key path below ``materiality``, message); None when it is."""
    expected = (
        "expected a number >= 0 (a change of the prediction, e.g. 0.01) or a mapping of "
        "features to such numbers"
    )
    if isinstance(value, Mapping):
        for key, size in value.items():
            if not _is_number(size) or size < 0:
                return (str(key),), f"{expected}; got {size!r}"
        return None
    if not _is_number(value) or value < 0:
        return (), f"{expected}; got {value!r}"
    return None


class SignParamsModel(_FileModel):
    """``params`` of a ``slopes.sign_violation_share`` check.

    ``expected`` maps a feature name, or a shell-style pattern (``*``, ``?``,
    ``[0-9]``; matched case-sensitively against the whole name), to ``"+"``
    (the local slope must not be negative) or ``"-"`` (must not be positive).
    ``output`` names the output whose slopes are checked (needed only when the
    model has several outputs). ``where`` restricts a feature (name or pattern) to
    the clients whose value satisfies comparisons such as ``">= 0"`` or
    ``">= 0 and <= 9"``; ``coded`` declares a feature discrete with its admissible
    values (otherwise the data dictionary's ordinal/categorical ``values``, else
    continuous); ``materiality`` is the smallest wrong-way effect, in output units
    (probability for a classifier) of one admissible step or one standard deviation,
    that counts as material (default 0: any wrong-way effect): one number for every
    feature of the check, or a mapping of features (names or patterns) to numbers, a
    feature it does not name getting 0. Feature names and
    ``where`` expressions are resolved against the data at run time, before any heavy
    computation.
    """

    expected: dict[_Text, Literal["+", "-"]] = Field(min_length=1)
    output: _Text | None = None
    where: dict[_Text, _Text] | None = None
    coded: dict[_Text, list[int | float]] | None = None
    #: A number >= 0 or {feature or pattern: number >= 0}; checked by :func:`materiality_problem`.
    materiality: Any = 0.0


_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_COMPARISON = re.compile(rf"^\s*(>=|<=|==|!=|>|<)\s*({_NUMBER})\s*$")
WHERE_SYNTAX = (
    "comparisons with a number joined by 'and', e.g. '>= 0' or '>= 0 and <= 9' "
    "(operators >= > <= < == !=)"
)


def parse_where(text: str) -> tuple[tuple[str, float], ...]:
    """The comparisons of a ``where`` expression; raises ``ValueError`` naming the syntax."""
    out = []
    for part in re.split(r"\band\b", str(text)):
        match = _COMPARISON.match(part)
        if match is None:
            raise ValueError(f"cannot read {str(text)!r}: expected {WHERE_SYNTAX}")
        out.append((match.group(1), float(match.group(2))))
    return tuple(out)


_PARAMS_MODELS: dict[str, type[_FileModel]] = {SIGN_VIOLATION_METRIC: SignParamsModel}


class ApprovalModel(_FileModel):
    """Who approved a waiver, and when."""

    name: _Text
    role: _Text
    date: dt.date


class WaiverModel(_FileModel):
    """One entry of ``waivers:`` as written in the file."""

    check: _Text
    scope: list[_Text] | None = Field(default=None, min_length=1)
    cap_severity: _Text
    justification: _Text
    approved_by: ApprovalModel
    expires: dt.date


RatingStatus = Literal["fail", "waived", "not_evaluated"]
_FAIL_ONLY: list[RatingStatus] = ["fail"]


class ConditionModel(_FileModel):
    """One condition of a rating rule: at least ``at_least`` checks match every key given."""

    status: list[RatingStatus] = Field(default_factory=lambda: _FAIL_ONLY[:], min_length=1)
    min_severity: _Text | None = None
    gating: bool | None = None
    at_least: Annotated[int, Field(ge=1)] = 1


class RatingRuleModel(_FileModel):
    """One entry of ``rating:``: the rating given when ``when`` holds (first match wins)."""

    id: _Text
    label: _Text
    #: ``always``, a condition (mapping) or a list of conditions; validated in load.py
    #: (one precise message instead of one per member of a union).
    when: Any
    conditions: list[_Text] = Field(default_factory=list)


class MonitoringModel(_FileModel):
    """The ``monitoring:`` block: how often the monitored checks are recomputed."""

    frequency: _Text = "quarterly"


class PolicyFileModel(_FileModel):
    """The whole policy file (``schema_version: 1``)."""

    schema_version: Literal[1]
    policy: PolicyInfoModel
    severity_levels: list[_Text] = Field(
        default_factory=lambda: list(DEFAULT_SEVERITY_LEVELS), min_length=1
    )
    gate: GateModel
    checks: list[CheckModel] = Field(min_length=1)
    waivers: list[WaiverModel] = Field(default_factory=list)
    rating: list[RatingRuleModel] | None = Field(default=None, min_length=1)
    remediation_days: dict[_Text, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    monitoring: MonitoringModel | None = None


# ---------------------------------------------------------------------------
# The validated policy: immutable, normalised (a single bound is one band,
# dataset resolved), independent of pydantic.
# ---------------------------------------------------------------------------


def _num(value: float) -> str:
    """Short text of a number: 6 significant digits (``1e-06``, ``0.75``)."""
    return f"{value:.6g}"


def _num_against(value: float, bound: float) -> str:
    """Text of an observed value, precise enough not to read as equal to ``bound``."""
    text = _num(value)
    if text == _num(bound) and value != bound:
        return repr(float(value))
    return text


@dataclass(frozen=True, slots=True)
class Band:
    """A bound (``min``, ``max`` or both) and the severity of violating it."""

    severity: str
    min: float | None = None
    max: float | None = None

    def violated_by(self, observed: float) -> bool:
        """True if ``observed`` is outside the bound; NaN violates every bound."""
        if math.isnan(observed):
            return True
        if self.min is not None and observed < self.min:
            return True
        return self.max is not None and observed > self.max

    def describe(self) -> str:
        """The bound as it must hold, e.g. ``">= 0.75"``, ``"<= 1e-06"``, ``"in [0, 1]"``."""
        if self.min is not None and self.max is not None:
            return f"in [{_num(self.min)}, {_num(self.max)}]"
        if self.min is not None:
            return f">= {_num(self.min)}"
        assert self.max is not None  # guaranteed by load_policy
        return f"<= {_num(self.max)}"

    def compare(self, observed: float) -> str:
        """How ``observed`` relates to the bound, e.g. ``"0.68 < 0.7"``."""
        if self.min is not None and observed < self.min:
            return f"{_num_against(observed, self.min)} < {_num(self.min)}"
        if self.max is not None and observed > self.max:
            return f"{_num_against(observed, self.max)} > {_num(self.max)}"
        if self.min is not None and self.max is not None:
            return f"{_num(observed)} in [{_num(self.min)}, {_num(self.max)}]"
        if self.min is not None:
            return f"{_num_against(observed, self.min)} >= {_num(self.min)}"
        assert self.max is not None
        return f"{_num_against(observed, self.max)} <= {_num(self.max)}"


@dataclass(frozen=True, slots=True)
class Change:
    """A bound on the change of a metric since the previous review (``change:``)."""

    max_drop: float | None = None
    max_rise: float | None = None
    max_abs_change: float | None = None

    def band(self, severity: str) -> Band:
        """The bound as a band on the difference now minus then."""
        lows = [-v for v in (self.max_drop, self.max_abs_change) if v is not None]
        highs = [v for v in (self.max_rise, self.max_abs_change) if v is not None]
        return Band(severity, max(lows) if lows else None, min(highs) if highs else None)

    def describe(self) -> str:
        """E.g. ``"change since the last review: drop <= 0.02"``."""
        parts = []
        if self.max_drop is not None:
            parts.append(f"drop <= {_num(self.max_drop)}")
        if self.max_rise is not None:
            parts.append(f"rise <= {_num(self.max_rise)}")
        if self.max_abs_change is not None:
            parts.append(f"|change| <= {_num(self.max_abs_change)}")
        return "change since the last review: " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Check:
    """One check: a metric, the data set it is read on, and its bands.

    A check written as ``min``/``max`` + ``severity`` is stored as a single
    band with ``banded=False``; ``bands`` keeps the file's order.
    ``dataset`` is ``"train"``/``"test"`` for per-data-set metrics and ``""``
    for metrics not tied to a data set, so that ``key`` matches the
    pipeline's :data:`~govreport.metrics.MetricKey`. ``loc`` is the check's
    key path in the file (``("checks", 3)``) and ``lines`` the 1-based line of
    every key path under it (``"checks[3].params.expected.PAY_0"`` -> 41), so
    that problems found at run time (a feature the data lacks) still point at
    the file's line and key.
    """

    id: str
    metric: str
    dataset: str
    bands: tuple[Band, ...]
    banded: bool = False
    on_missing: OnMissing = "fail"
    #: ``value`` (the point value), or ``lower_ci``/``upper_ci``: the end of the metric's
    #: 95% interval the bound applies to (metrics.INTERVAL_METRICS).
    on: On = "value"
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    refs: tuple[str, ...] = ()
    description: str | None = None
    loc: Loc = ()
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    #: Short plain title of the finding a failure raises (default: from the description).
    title: str | None = None
    #: The finding's stable id (default ``F-`` + the check id in capitals, ``_`` -> ``-``).
    finding_id: str = ""
    cause: str | None = None
    remediation: str | None = None
    #: Recomputed in ongoing monitoring (default: by metric family, see conclusion.py).
    monitor: bool | None = None
    #: A bound on the change since the previous review (issue 14); ``bands`` then hold
    #: that bound on the difference now minus then.
    change: Change | None = None

    @property
    def key(self) -> MetricKey:
        """``(metric_id, dataset)``: where the observed value is looked up."""
        return (self.metric, self.dataset)

    @property
    def target(self) -> str:
        """Human text of the metric and data set, e.g. ``performance.auc[test]``."""
        return f"{self.metric}[{self.dataset}]" if self.dataset else self.metric

    def describe_bound(self) -> str:
        """The bound, or every band with its severity, as text."""
        if self.change is not None:
            return self.change.describe()
        if not self.banded:
            return self.bands[0].describe()
        return "; ".join(f"{band.describe()} else {band.severity}" for band in self.bands)


@dataclass(frozen=True, slots=True)
class Condition:
    """A rating rule's condition: at least ``at_least`` checks whose status is in ``status``,
    whose effective severity is at or above ``min_severity`` (if given) and whose gating flag
    equals ``gating`` (if given)."""

    status: tuple[str, ...] = ("fail",)
    min_severity: str | None = None
    gating: bool | None = None
    at_least: int = 1

    def describe(self) -> str:
        """The condition in plain words, e.g. ``"any unwaived failure at major or above"``."""
        one = {
            "fail": "unwaived failure",
            "waived": "waived failure",
            "not_evaluated": "check not evaluated",
        }
        many = {
            "fail": "unwaived failures",
            "waived": "waived failures",
            "not_evaluated": "checks not evaluated",
        }
        level = f" at {self.min_severity} or above" if self.min_severity is not None else ""
        if set(self.status) == {"fail", "waived"}:
            text = (
                f"any failure{level}, waived or not"
                if self.at_least == 1
                else (f"at least {self.at_least} failures{level}, waived or not")
            )
        elif self.at_least == 1:
            text = "any " + " or ".join(one[s] for s in self.status) + level
        else:
            text = f"at least {self.at_least} " + " or ".join(many[s] for s in self.status)
            text += level
        if self.gating is True:
            text += " that blocks approval"
        elif self.gating is False:
            text += " below the gate"
        return text


@dataclass(frozen=True, slots=True)
class RatingRule:
    """One rating rule; ``when`` empty means ``always`` (the fallback, last rule)."""

    id: str
    label: str
    when: tuple[Condition, ...]
    conditions: tuple[str, ...] = ()

    def describe(self) -> str:
        if not self.when:
            return "no earlier rule applies"
        return "; or ".join(c.describe() for c in self.when)


@dataclass(frozen=True, slots=True)
class Approval:
    """The approver of a waiver."""

    name: str
    role: str
    date: dt.date


@dataclass(frozen=True, slots=True)
class Waiver:
    """A committee's decision to cap the severity of one check's failure until a date."""

    check: str
    cap_severity: str
    justification: str
    approved_by: Approval
    expires: dt.date
    #: Features (names or patterns) of a sign check that the waiver covers; empty: all of it.
    scope: tuple[str, ...] = ()

    def covers(self, feature: str) -> bool:
        """True if ``feature`` is within the scope (always, for a waiver without scope)."""
        return not self.scope or any(fnmatchcase(feature, key) for key in self.scope)

    def is_expired(self, run_date: dt.date) -> bool:
        """True once ``run_date`` is after ``expires`` (the expiry day itself is covered)."""
        return run_date > self.expires


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy; built by :func:`load_policy`."""

    id: str
    version: str
    owner: str
    effective: dt.date
    severity_levels: tuple[str, ...]
    fail_on: str
    checks: tuple[Check, ...]
    waivers: tuple[Waiver, ...] = ()
    source: str = "<policy>"
    #: 1-based line of every key path in the file (formatted, e.g. ``"waivers[0].scope[1]"``).
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    #: The ``rating:`` rules in order (empty: the policy declares none; the default applies).
    rating: tuple[RatingRule, ...] = ()
    #: Days to remediate a finding, by severity (counted from the report date).
    remediation_days: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    #: How often the monitored checks are recomputed (None: not declared).
    monitoring_frequency: str | None = None

    def rank(self, severity: str) -> int:
        """Position of ``severity`` in ``severity_levels`` (0 = lowest)."""
        return self.severity_levels.index(severity)

    def worst_severity(self, check: Check) -> str:
        """The highest severity any band of ``check`` can give."""
        return max((band.severity for band in check.bands), key=self.rank)

    def waiver_for(self, check_id: str) -> Waiver | None:
        """The waiver naming ``check_id``, if any (at most one per check)."""
        return next((w for w in self.waivers if w.check == check_id), None)

    def error_at(self, check: Check, sub: Loc, message: str) -> PolicyError:
        """A PolicyError ``<file>:<line>: <key path>: <message>`` for a problem found after loading.

        ``sub`` is the key path below the check (``("params", "expected", "PAY_1")``);
        the line is that of the deepest part of the path present in the file.
        """
        loc: Loc = (*check.loc, *sub)
        line = 1
        for depth in range(len(loc), 0, -1):
            found = check.lines.get(format_loc(loc[:depth]))
            if found is not None:
                line = found
                break
        return PolicyError(f"{self.source}:{line}: {format_loc(loc)}: {message}")

    def error_at_loc(self, loc: Loc, message: str) -> PolicyError:
        """Like :meth:`error_at` for any key path of the file (``("waivers", 0, "scope", 1)``)."""
        line = 1
        for depth in range(len(loc), 0, -1):
            found = self.lines.get(format_loc(loc[:depth]))
            if found is not None:
                line = found
                break
        return PolicyError(f"{self.source}:{line}: {format_loc(loc)}: {message}")
