"""Sign checks, part 1: the policy's constraints resolved against the data before any
heavy computation (features, signs, domains, codes, materiality), and the region-level
counts kept as information. See :mod:`govreport.analyses.sign`."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from govreport.inputs.dictionary import DataDictionary
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.metrics import SIGN_VIOLATION_METRIC
from govreport.network import FloatArray
from govreport.policy import Policy
from govreport.policy.schema import parse_where
from govreport.regions import RegionTable

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
    """One feature with its expected sign; ``key`` is the policy key that named it.

    ``kind``: ``"continuous"`` (tested on the exact local slope) or ``"discrete"``
    (tested by exact finite differences between adjacent ``values``, ascending, the
    admissible values inside the domain). ``domain``: the ``where`` comparisons
    ``(operator, number)`` a client's value must satisfy (empty: every client);
    ``where``: their text. ``materiality``: the smallest wrong-way effect, in output
    units, that counts as material. ``source``: where the type came from
    (``"policy"``, ``"dictionary"`` or ``""`` for the continuous default).
    """

    feature: str
    index: int
    sign: Sign
    key: str
    kind: Literal["continuous", "discrete"] = "continuous"
    values: tuple[float, ...] = ()
    domain: tuple[tuple[str, float], ...] = ()
    where: str | None = None
    materiality: float = 0.0
    source: str = ""


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
class SignBin:
    """The clients of one feature value (discrete) or decile (continuous).

    ``label``: the value or the decile's range as text; ``lo``/``hi``: its bounds
    (equal for a value). ``step``: the step tested for these clients (discrete, e.g.
    ``"2 → 3"``; empty for continuous). ``median_effect``: median over its clients of
    the signed effect (output units) of the step up or of one standard deviation up.
    """

    __pydantic_config__ = JSON_CONFIG

    label: str
    lo: Float
    hi: Float
    step: str
    clients: int
    wrong_way: int
    material: int
    median_effect: Number


@dataclass(frozen=True, slots=True)
class FeatureSignResult:
    """Violations of one feature's expected sign on one data set.

    Per client (the check's value): ``clients`` in the domain were tested,
    ``outside_domain`` failed its ``where`` and ``off_code`` satisfied it but hold no
    admissible value (both excluded); ``wrong_way`` clients have an effect of the
    wrong sign, ``material`` of them one larger than ``materiality`` (output units:
    ``unit``); shares are of ``clients``. ``breakdown``: by value or decile.
    Per region (information, the exact local slopes): ``samples`` ... ``largest_violation``.
    """

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
    kind: Literal["continuous", "discrete"] = "continuous"
    where: str | None = field(default=None, metadata=OMIT_IF_NONE)
    values: tuple[Float, ...] = ()
    type_source: str = ""
    materiality: Float = 0.0
    unit: str = ""
    clients: int = 0
    outside_domain: int = 0
    off_code: int = 0
    wrong_way: int = 0
    material: int = 0
    wrong_way_share: Float = 0.0
    material_share: Float = 0.0
    median_wrong_effect: Number = None
    max_wrong_effect: Number = None
    breakdown: tuple[SignBin, ...] = ()


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


#: Admissible values above which a discrete feature's breakdown is by decile, not by value.
MAX_VALUE_ROWS = 20
#: Bins of the breakdown of a continuous feature (deciles of the clients tested).
DECILES = 10


def in_domain(values: FloatArray, domain: Sequence[tuple[str, float]]) -> npt.NDArray[np.bool_]:
    """(n,) True where ``values`` satisfy every comparison of ``domain``."""
    mask = np.ones(values.shape, dtype=bool)
    for op, bound in domain:
        if op == ">=":
            mask &= values >= bound
        elif op == ">":
            mask &= values > bound
        elif op == "<=":
            mask &= values <= bound
        elif op == "<":
            mask &= values < bound
        elif op == "==":
            mask &= values == bound
        else:
            mask &= values != bound
    return mask


def _matching(key: str, constraints: Sequence[SignConstraint]) -> list[int]:
    """Positions of the constraints a ``where``/``coded`` key names (exact name or pattern)."""
    exact = [i for i, c in enumerate(constraints) if c.feature == key]
    if exact:
        return exact
    if _PATTERN_CHARS.isdisjoint(key):
        return []
    return [i for i, c in enumerate(constraints) if fnmatchcase(c.feature, key)]


def resolve_domains(
    constraints: Sequence[SignConstraint],
    params: Mapping[str, Any],
    dictionary: DataDictionary | None = None,
) -> tuple[SignConstraint, ...]:
    """Each constraint with its type, admissible values, domain and materiality.

    A feature is discrete when the check's ``coded`` names it (its values) or, failing
    that, when the data dictionary types it ordinal or categorical with ``values``;
    otherwise continuous. Its admissible values are those codes that satisfy its
    ``where`` comparisons, ascending; a discrete feature needs two. Raises
    :class:`SignSpecError` for a ``where`` that does not parse, a ``where``/``coded``
    key naming no constrained feature, or fewer than two admissible values.
    """
    names = [c.feature for c in constraints]
    materiality = params.get("materiality", 0.0) or 0.0
    if isinstance(materiality, Mapping):
        out = list(constraints)
        for key, size in materiality.items():
            positions = _matching(key, out)
            if not positions:
                raise SignSpecError(
                    ("materiality", key),
                    f"{key!r} names none of the features this check constrains: "
                    f"{_names_hint(names)}",
                )
            for i in positions:
                out[i] = replace(out[i], materiality=float(size))
    else:
        out = [replace(c, materiality=float(materiality)) for c in constraints]
    for key, text in (params.get("where") or {}).items():
        sub = ("where", key)
        positions = _matching(key, out)
        if not positions:
            raise SignSpecError(
                sub,
                f"{key!r} names none of the features this check constrains: {_names_hint(names)}",
            )
        try:
            domain = parse_where(text)
        except ValueError as error:
            raise SignSpecError(sub, str(error)) from None
        for i in positions:
            out[i] = replace(
                out[i],
                domain=domain,
                where=" and ".join(f"{op} {short_number(b)}" for op, b in domain),
            )
    coded = dict(params.get("coded") or {})
    for key in coded:
        if not _matching(key, out):
            raise SignSpecError(
                ("coded", key),
                f"{key!r} names none of the features this check constrains: {_names_hint(names)}",
            )
    for i, c in enumerate(out):
        key_of = next((k for k in coded if _matching(k, [c])), None)
        codes: tuple[float, ...] | None = None
        source = ""
        if key_of is not None:
            codes, source = tuple(float(v) for v in coded[key_of]), "policy"
        elif dictionary is not None:
            entry = dictionary.features.get(c.feature)
            if entry is not None and entry.type != "continuous" and entry.values:
                codes, source = entry.values, "dictionary"
        if codes is None:
            continue
        grid = np.unique(np.asarray(codes, dtype=np.float64))
        admissible = tuple(float(v) for v in grid[in_domain(grid, c.domain)])
        if len(admissible) < 2:
            sub = ("coded", key_of) if key_of is not None else ("where", c.key)
            raise SignSpecError(
                sub,
                f"feature {c.feature!r} has {len(admissible)} admissible value(s) "
                f"{list(admissible)} inside its domain; a step needs at least two",
            )
        out[i] = replace(c, kind="discrete", values=admissible, source=source)
    return tuple(out)


def short_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


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
    policy: Policy,
    feature_names: Sequence[str],
    output_names: Sequence[str],
    dictionary: DataDictionary | None = None,
) -> tuple[SignCheckPlan, ...]:
    """Resolve every sign check's features, domains and output against the data and model.

    ``dictionary``: types and codes of features the check's ``coded`` does not name.

    Raises :class:`~govreport.errors.PolicyError` (exit 2) naming the policy
    file, the line and the key path of the first key that does not resolve.
    """
    plans = []
    for check in policy.checks:
        if check.metric != SIGN_VIOLATION_METRIC:
            continue
        try:
            constraints = resolve_expected(check.params["expected"], feature_names)
            constraints = resolve_domains(constraints, check.params, dictionary)
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
