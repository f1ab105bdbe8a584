"""Sign and monotonicity constraints on the exact local slopes.

In activation region r a ReLU network is exactly ``eta(x) = W_r x + b_r``, so
the slope of output k with respect to feature j, for every sample of the
region, is the coefficient ``W_r[k, j]``: the exact gradient, not an estimate.
A policy constrains a feature to a positive effect (``"+"``: the output must
not decrease as the feature grows) or a negative one (``"-"``: must not
increase). For classification the output is the logit, so the constraint is
on the scale the network computes (the sigmoid and softmax are increasing, so
for a binary model the logit's sign is the probability's sign).

Rules, exactly:

* ``"+"`` is violated where ``W_r[k, j] < 0``; ``"-"`` where ``W_r[k, j] > 0``.
  A slope of exactly 0 satisfies both signs (a flat effect never moves the
  output the wrong way); such samples are counted separately
  (``zero_slope_samples``) so that a feature the network ignores is visible.
* Shares are exact and need no per-sample array: the share of samples is
  ``sum(n_r over violating r) / N`` and the share of regions is
  ``#violating r / R``, both read from the region table (counts and ``W_r``).
* The check's value (metric ``slopes.sign_violation_share``) is the largest
  share of samples over the features the check constrains: the check fails if
  any one feature is violated too often. The per-feature breakdown goes into
  results.json.
* The regions listed are the violating regions holding the most samples
  (ties: larger ``|slope|``, then region rank), and the single violating region
  with the largest ``|slope|``.

The network is continuous, so along a line ``x + t e_j`` it is monotone in
feature j exactly when every region the line crosses has a slope of the right
sign. The check sees only the regions that hold samples, not the regions a line
crosses between them: correct signs on every sample do not prove monotonicity
over the input space.

Feature keys in a policy's ``expected`` mapping are exact column names, or
shell-style patterns when they contain ``*``, ``?`` or ``[`` and are not a
column's exact name: ``PAY_[0-9]``
matches ``PAY_0`` ... ``PAY_6`` but not ``PAY_AMT1``; ``PAY_AMT*`` matches
``PAY_AMT1`` ... ``PAY_AMT6``. Patterns match whole names, case-sensitively
(:func:`fnmatch.fnmatchcase`). A pattern that matches nothing, a name the data
lacks, and one feature given opposite signs by two keys are errors.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

import numpy as np

from govreport.analyses.context import AnalysisContext
from govreport.jsontypes import JSON_CONFIG, Float, Number
from govreport.metrics import SIGN_VIOLATION_METRIC, MetricKey
from govreport.network import FloatArray
from govreport.policy import CheckObservation, Policy
from govreport.regions import RegionTable

__all__ = [
    "WORST_REGIONS",
    "ConstrainedFeature",
    "FeatureSignResult",
    "SignCheckPlan",
    "SignCheckResult",
    "SignConstraint",
    "SignConstraintsResult",
    "SignSpecError",
    "ViolatingRegion",
    "check_values",
    "evaluate_sign_checks",
    "observed",
    "plan_sign_checks",
    "resolve_expected",
    "resolve_output",
    "run",
    "sign_violations",
]

Sign = Literal["+", "-"]

WORST_REGIONS = 5
"""Violating regions listed per feature (those holding the most samples)."""

_PATTERN_CHARS = frozenset("*?[")
_LISTED_NAMES = 30


class SignSpecError(ValueError):
    """A sign constraint that cannot be applied to these data; ``sub`` is its key path.

    ``sub`` is relative to the check's ``params``, e.g. ``("expected", "PAY_1")``.
    """

    def __init__(self, sub: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.sub = sub
        self.message = message


@dataclass(frozen=True, slots=True)
class SignConstraint:
    """One feature with its expected sign; ``key`` is the policy key that named it."""

    feature: str
    index: int
    sign: Sign
    key: str


@dataclass(frozen=True, slots=True)
class ViolatingRegion:
    """A region whose slope has the wrong sign.

    ``rank``: 1-based position in the region table (1 = largest region).
    ``share``: ``count / N``. ``slope``: ``W_r[k, j]`` in output units per
    feature unit. ``effect_per_std``: ``slope * s_j`` (the effect of one
    standard deviation of the feature; s_j the feature scale,
    :func:`govreport.analyses.context.feature_scale`), or ``None`` without a scale.
    """

    __pydantic_config__ = JSON_CONFIG

    rank: int
    count: int
    share: Float
    slope: Float
    effect_per_std: Number


@dataclass(frozen=True, slots=True)
class FeatureSignResult:
    """Violations of one feature's expected sign on one data set."""

    __pydantic_config__ = JSON_CONFIG

    feature: str
    key: str
    sign: Sign
    samples: int
    regions: int
    violating_samples: int
    violating_regions: int
    sample_share: Float
    region_share: Float
    zero_slope_samples: int
    worst_regions: tuple[ViolatingRegion, ...]
    largest_violation: ViolatingRegion | None


def _names_hint(feature_names: Sequence[str]) -> str:
    shown = ", ".join(feature_names[:_LISTED_NAMES])
    more = len(feature_names) - _LISTED_NAMES
    return shown + (f", ... ({more} more)" if more > 0 else "")


def resolve_expected(
    expected: Mapping[str, str], feature_names: Sequence[str]
) -> tuple[SignConstraint, ...]:
    """The constrained features, in model input order.

    Raises :class:`SignSpecError` for a name the data lacks, a pattern that
    matches no feature, a sign other than ``"+"``/``"-"``, or a feature given
    opposite signs by two keys (the error points at the later key).
    """
    chosen: dict[int, SignConstraint] = {}
    for key, sign in expected.items():
        sub = ("expected", key)
        if sign not in ("+", "-"):
            raise SignSpecError(sub, f"expected '+' or '-', got {sign!r}")
        if key in feature_names:  # an exact name, even one that holds * ? or [
            matched = [list(feature_names).index(key)]
        elif _PATTERN_CHARS.isdisjoint(key):
            close = difflib.get_close_matches(key, list(feature_names), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SignSpecError(
                sub,
                f"the data has no feature {key!r}{hint}; features: {_names_hint(feature_names)}",
            )
        else:
            matched = [j for j, name in enumerate(feature_names) if fnmatchcase(name, key)]
            if not matched:
                raise SignSpecError(
                    sub,
                    f"pattern {key!r} matches no feature; features: {_names_hint(feature_names)}",
                )
        for j in matched:
            earlier = chosen.get(j)
            if earlier is None:
                chosen[j] = SignConstraint(feature_names[j], j, sign, key)  # type: ignore[arg-type]
            elif earlier.sign != sign:
                raise SignSpecError(
                    sub,
                    f"feature {feature_names[j]!r} is expected {sign!r} here but "
                    f"{earlier.sign!r} by key {earlier.key!r}",
                )
    return tuple(chosen[j] for j in sorted(chosen))


def resolve_output(output: str | None, output_names: Sequence[str]) -> int:
    """Index of the output whose slopes are checked; raises :class:`SignSpecError`."""
    if output is None:
        if len(output_names) == 1:
            return 0
        raise SignSpecError(
            ("output",),
            f"the model has {len(output_names)} outputs; name the one to check with "
            f"params.output (one of {', '.join(output_names)})",
        )
    if output not in output_names:
        raise SignSpecError(
            ("output",),
            f"the model has no output {output!r}; outputs: {', '.join(output_names)}",
        )
    return list(output_names).index(output)


def _region(table: RegionTable, r: int, slope: float, n: int, std: float | None) -> ViolatingRegion:
    count = int(table.counts[r])
    return ViolatingRegion(
        rank=r + 1,
        count=count,
        share=count / n,
        slope=slope,
        effect_per_std=None if std is None else slope * std,
    )


def sign_violations(
    table: RegionTable,
    constraints: Sequence[SignConstraint],
    *,
    output: int = 0,
    feature_std: FloatArray | None = None,
    worst: int = WORST_REGIONS,
) -> tuple[FeatureSignResult, ...]:
    """Share of samples and regions whose slope violates each constraint.

    ``table.weights``: (R, K, d) exact local models; ``table.counts``: (R,).
    ``feature_std``: (d,) scale for ``effect_per_std`` (``None``: omitted).
    O(R) per feature; no per-sample array.
    """
    counts = table.counts
    n = int(counts.sum())
    n_regions = table.n_regions
    results = []
    for constraint in constraints:
        slopes = table.weights[:, output, constraint.index]
        wrong = slopes < 0.0 if constraint.sign == "+" else slopes > 0.0
        violating = np.flatnonzero(wrong)
        std = None if feature_std is None else float(feature_std[constraint.index])
        magnitude = np.abs(slopes[violating])
        # Most samples first; ties: larger |slope|, then lower rank (lexsort: last key first).
        by_count = violating[np.lexsort((violating, -magnitude, -counts[violating]))][:worst]
        largest = int(violating[np.lexsort((violating, -magnitude))[0]]) if violating.size else None
        violating_samples = int(counts[violating].sum())
        results.append(
            FeatureSignResult(
                feature=constraint.feature,
                key=constraint.key,
                sign=constraint.sign,
                samples=n,
                regions=n_regions,
                violating_samples=violating_samples,
                violating_regions=int(violating.size),
                sample_share=violating_samples / n if n else 0.0,
                region_share=violating.size / n_regions if n_regions else 0.0,
                zero_slope_samples=int(counts[slopes == 0.0].sum()),
                worst_regions=tuple(
                    _region(table, int(r), float(slopes[r]), n, std) for r in by_count
                ),
                largest_violation=None
                if largest is None
                else _region(table, largest, float(slopes[largest]), n, std),
            )
        )
    return tuple(results)


# ---------------------------------------------------------------------------
# The policy's sign checks: resolved before any heavy computation, evaluated
# on the region tables.


@dataclass(frozen=True, slots=True)
class SignCheckPlan:
    """One policy check on ``slopes.sign_violation_share``, resolved against the data."""

    check_id: str
    dataset: str
    output_index: int
    output_name: str
    constraints: tuple[SignConstraint, ...]


def plan_sign_checks(
    policy: Policy, feature_names: Sequence[str], output_names: Sequence[str]
) -> tuple[SignCheckPlan, ...]:
    """Resolve every sign check's features and output against the data and the model.

    Raises :class:`~govreport.errors.PolicyError` (exit 2) naming the policy
    file, the line and the key path of the first key that does not resolve.
    """
    plans = []
    for check in policy.checks:
        if check.metric != SIGN_VIOLATION_METRIC:
            continue
        try:
            constraints = resolve_expected(check.params["expected"], feature_names)
            output = resolve_output(check.params.get("output"), output_names)
        except SignSpecError as error:
            raise policy.error_at(check, ("params", *error.sub), error.message) from None
        plans.append(
            SignCheckPlan(check.id, check.dataset, output, output_names[output], constraints)
        )
        _check_waiver_scope(policy, check.id, constraints)
    return tuple(plans)


def _check_waiver_scope(
    policy: Policy, check_id: str, constraints: Sequence[SignConstraint]
) -> None:
    """Every key of a waiver's scope must match a feature the check constrains."""
    for index, waiver in enumerate(policy.waivers):
        if waiver.check != check_id:
            continue
        features = [c.feature for c in constraints]
        for position, key in enumerate(waiver.scope):
            if not any(fnmatchcase(feature, key) for feature in features):
                raise policy.error_at_loc(
                    ("waivers", index, "scope", position),
                    f"{key!r} matches no feature of check {check_id!r}; it constrains "
                    f"{_names_hint(features)}",
                )


@dataclass(frozen=True, slots=True)
class ConstrainedFeature:
    """A constraint of a check that was not evaluated (its data set is absent)."""

    __pydantic_config__ = JSON_CONFIG

    feature: str
    key: str
    sign: Sign


@dataclass(frozen=True, slots=True)
class SignCheckResult:
    """One policy sign check on one data set.

    ``value``: the largest share of violating samples over the features (None when not
    evaluated); ``worst_feature``: the feature that gives it (None when nothing violates);
    ``features``: one result per constrained feature, or the bare constraints when the
    check was not evaluated (``reason`` says why).
    """

    __pydantic_config__ = JSON_CONFIG

    check: str
    dataset: str
    output: str
    evaluated: bool
    reason: str | None
    value: Number
    worst_feature: str | None
    features: tuple[FeatureSignResult, ...] | tuple[ConstrainedFeature, ...]


SIGN_RULE = (
    "'+': a local slope below 0 violates; '-': a local slope above 0 violates; "
    "a slope of exactly 0 satisfies both. Slopes are the exact coefficients of each "
    "region's local linear model on the output named (the logit for classification)."
)


@dataclass(frozen=True, slots=True)
class SignConstraintsResult:
    """The sign checks of the policy, evaluated on the region tables (``sign_constraints``)."""

    __pydantic_config__ = JSON_CONFIG

    checks: tuple[SignCheckResult, ...]
    worst_regions: int
    rule: str = SIGN_RULE


def evaluate_sign_checks(
    plans: Sequence[SignCheckPlan],
    tables: Mapping[str, RegionTable],
    feature_std: FloatArray | None,
    *,
    worst: int = WORST_REGIONS,
) -> SignConstraintsResult:
    """Evaluate the planned checks on the region tables of the data sets given.

    ``tables`` maps a data set name (``"train"``, ``"test"``) to its region
    table; a check on a data set that is absent is not evaluated, with the
    reason. ``feature_std``: (d,) scale of ``effect_per_std`` (None: omitted).
    """
    checks = []
    for plan in plans:
        table = tables.get(plan.dataset)
        if table is None:
            checks.append(
                SignCheckResult(
                    check=plan.check_id,
                    dataset=plan.dataset,
                    output=plan.output_name,
                    evaluated=False,
                    reason=f"no {plan.dataset} data was given",
                    value=None,
                    worst_feature=None,
                    features=tuple(
                        ConstrainedFeature(c.feature, c.key, c.sign) for c in plan.constraints
                    ),
                )
            )
            continue
        features = sign_violations(
            table, plan.constraints, output=plan.output_index, feature_std=feature_std, worst=worst
        )
        worst_feature = max(features, key=lambda f: f.sample_share)  # first of equals
        value = worst_feature.sample_share
        checks.append(
            SignCheckResult(
                check=plan.check_id,
                dataset=plan.dataset,
                output=plan.output_name,
                evaluated=True,
                reason=None,
                value=value,
                worst_feature=worst_feature.feature if value > 0.0 else None,
                features=features,
            )
        )
    return SignConstraintsResult(checks=tuple(checks), worst_regions=worst)


def run(ctx: AnalysisContext, plans: Sequence[SignCheckPlan]) -> SignConstraintsResult:
    """The sign checks on every data set of ``ctx``; effects per std of ``ctx.feature_scale``."""
    tables = {data.name: data.extraction.table for data in ctx.datasets}
    return evaluate_sign_checks(plans, tables, ctx.feature_scale)


def observed(result: SignConstraintsResult) -> dict[MetricKey, float]:
    """No metric values: a sign check's value depends on its params (see :func:`check_values`)."""
    del result
    return {}


def check_values(result: SignConstraintsResult) -> dict[str, CheckObservation]:
    """The observation of each check, by check id, for ``evaluate_policy(check_values=...)``."""
    values: dict[str, CheckObservation] = {}
    for check in result.checks:
        if not check.evaluated or check.value is None:
            values[check.check] = CheckObservation(None, check.reason or "")
            continue
        evaluated = [f for f in check.features if isinstance(f, FeatureSignResult)]
        note = (
            f"worst feature: {check.worst_feature}"
            if check.value > 0.0
            else f"no sample violates any of the {len(evaluated)} constraints"
        )
        values[check.check] = CheckObservation(
            check.value, note, {f.feature: f.sample_share for f in evaluated}
        )
    return values
