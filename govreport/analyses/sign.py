"""Sign and monotonicity constraints, tested per client: exact and material.

A policy constrains a feature to a positive effect (``"+"``: the prediction must
not fall as the feature grows) or a negative one (``"-"``: must not rise). Each
client (row) of a data set is tested on its own data:

* **Discrete features** (coded or ordinal: listed in the check's ``coded``, or
  typed ordinal/categorical with ``values`` in the data dictionary) are tested by
  an exact finite difference. The admissible values are the codes that satisfy the
  feature's ``where`` comparisons, ascending: a_1 < ... < a_m (m >= 2). A client at
  a_i (i < m) is tested on the step a_i -> a_(i+1); a client at a_m on the step
  a_(m-1) -> a_m (the step into its own value). The network is run (float64, in
  chunks) on the client's row with only the feature set to each end of the step;
  the effect is ``output(upper) - output(lower)``.
* **Continuous features** are tested on the exact local slope: in activation
  region r the network is exactly ``eta(x) = W_r x + b_r``, so the client's slope
  is ``W_r[:, j]`` of its region; the effect is the exact derivative of the output
  times one training standard deviation s_j
  (:func:`govreport.analyses.context.feature_scale`).
* The output is the predicted probability of the output named for a classifier
  (sigmoid: ``p (1 - p) w``; softmax: ``p_k (w_k - sum_m p_m w_m)`` for slopes) and
  the raw output for a regression.
* Clients whose value fails ``where`` (``outside_domain``) or that satisfy it but
  are not on an admissible code (``off_code``) are excluded and counted.
* The wrong-way amount is ``-effect`` for ``"+"`` and ``effect`` for ``"-"``. A
  client violates when it is > 0 (no change satisfies both signs) and violates
  materially when it exceeds the check's ``materiality`` (output units, one number
  or per feature; default 0: any violation is material).
* A check's value (metric ``slopes.sign_violation_share``) is the largest share,
  over its features, of the clients tested with a material violation; the raw
  share (any size) is kept as information (``raw_value``, ``wrong_way_share``).
* Each feature carries a bounded breakdown: by admissible value (discrete, at most
  :data:`MAX_VALUE_ROWS` values) or by decile of the clients tested.
* The region-level counts of earlier versions (share of samples and regions whose
  slope has the wrong sign, the largest violating regions) stay in each feature's
  result as information.

:func:`affine_sign_checks` applies the same rules to a set of affine models (the
merged models of the simplification), each client tested under the model it is
assigned to.

The shares cover the clients given, not the whole input space: correct signs on
every client do not prove monotonicity.

Feature keys in a policy's ``expected``, ``where``, ``coded`` and ``materiality``
mappings are exact column names, or shell-style patterns when they contain ``*``,
``?`` or ``[`` and are not a column's exact name: ``PAY_[0-9]`` matches ``PAY_0``
... ``PAY_6`` but not ``PAY_AMT1``; ``PAY_AMT*`` matches ``PAY_AMT1`` ...
``PAY_AMT6``. Patterns match whole names, case-sensitively
(:func:`fnmatch.fnmatchcase`). A pattern that matches nothing, a name the data
lacks, one feature given opposite signs by two keys, a ``where``/``coded``/
``materiality`` key naming no constrained feature, and a discrete feature with
fewer than two admissible values are errors (exit 2, with the policy line).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from govreport.analyses.context import AnalysisContext
from govreport.inputs.dictionary import DataDictionary
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.metrics import SIGN_VIOLATION_METRIC, MetricKey
from govreport.network import FloatArray
from govreport.policy import CheckObservation, Policy
from govreport.policy.schema import parse_where
from govreport.regions import Int64Array, RegionTable

__all__ = [
    "WORST_REGIONS",
    "AffineSignCheck",
    "AffineSignFeature",
    "ClientEffects",
    "ConstrainedFeature",
    "FeatureSignResult",
    "SignBin",
    "SignCheckPlan",
    "SignCheckResult",
    "SignConstraint",
    "SignConstraintsResult",
    "SignData",
    "SignSpecError",
    "ViolatingRegion",
    "affine_sign_checks",
    "check_values",
    "client_effects",
    "evaluate_sign_checks",
    "in_domain",
    "observed",
    "output_of",
    "parse_where",
    "plan_sign_checks",
    "resolve_domains",
    "resolve_expected",
    "resolve_output",
    "run",
    "sign_violations",
    "slope_effect",
    "step_ends",
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
                out[i], domain=domain, where=" and ".join(f"{op} {_short(b)}" for op, b in domain)
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


def _short(value: float) -> str:
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

    ``value``: the largest share, over the features, of the clients tested with a
    material violation (None when not evaluated); ``worst_feature``: the feature that
    gives it (None when no violation is material); ``raw_value``: the largest share
    with a violation of any size (information); ``features``: one result per
    constrained feature, or the bare constraints when the check was not evaluated
    (``reason`` says why).
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
    raw_value: Number = None


SIGN_RULE = (
    "Per client. A discrete feature (coded or ordinal) is tested on the exact change of the "
    "output when the client's own value moves one admissible step up (at the largest "
    "admissible value: the step into it from the value below); a continuous feature on the "
    "exact derivative of the output times one standard deviation of the feature (from the "
    "client's region's local coefficient). The output is the predicted probability for a "
    "classifier and the raw output for a regression. '+': a decrease violates; '-': an "
    "increase violates; no change satisfies both. A violation is material when the wrong-way "
    "change exceeds the check's materiality. Clients whose value is outside the feature's "
    "domain (where) or is not an admissible value are excluded and counted."
)


@dataclass(frozen=True, slots=True)
class SignConstraintsResult:
    """The sign checks of the policy, evaluated per client (``sign_constraints``)."""

    __pydantic_config__ = JSON_CONFIG

    checks: tuple[SignCheckResult, ...]
    worst_regions: int
    rule: str = SIGN_RULE


# ---------------------------------------------------------------------------
# Per-client effects: exact finite differences (discrete) and exact slopes (continuous).


@dataclass(frozen=True, slots=True)
class SignData:
    """One data set as the sign checks read it (computation only).

    ``x``: (N, d) rows; ``table``/``sample_regions``: its regions; ``logits``: (N, K).
    """

    x: FloatArray
    table: RegionTable
    sample_regions: Int64Array
    logits: FloatArray


def output_of(logits: FloatArray, link: str, k: int) -> FloatArray:
    """(n,) output ``k`` in report units: probability (sigmoid/softmax) or raw (identity)."""
    z = np.asarray(logits, dtype=np.float64)
    if link == "sigmoid":
        return np.asarray(_sigmoid(z[:, k]), dtype=np.float64)
    if link == "softmax":
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        return np.asarray(e[:, k] / e.sum(axis=1), dtype=np.float64)
    return np.asarray(z[:, k], dtype=np.float64)


def _sigmoid(z: FloatArray) -> FloatArray:
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def slope_effect(
    logits: FloatArray, slopes: FloatArray, link: str, k: int, scale: float
) -> FloatArray:
    """(n,) exact derivative of output ``k`` in report units times ``scale``.

    ``logits``: (n, K); ``slopes``: (n, K) d logit_m / d x_j of each client.
    Sigmoid: p (1 - p) w; softmax: p_k (w_k - sum_m p_m w_m); identity: w_k.
    """
    if link == "sigmoid":
        p = _sigmoid(np.asarray(logits[:, k], dtype=np.float64))
        return np.asarray(p * (1.0 - p) * slopes[:, k] * scale, dtype=np.float64)
    if link == "softmax":
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        mean = (p * slopes).sum(axis=1)
        return np.asarray(p[:, k] * (slopes[:, k] - mean) * scale, dtype=np.float64)
    return np.asarray(slopes[:, k] * scale, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class ClientEffects:
    """Per-client test of one constraint on one data set (computation only).

    ``tested``: (N,) bool, in the domain on an admissible value; ``effect``: (N,) signed
    effect in report units (NaN where not tested); ``lower``/``upper``: the step's ends
    (discrete; NaN otherwise). ``outside``/``off_code``: excluded counts.
    """

    tested: npt.NDArray[np.bool_]
    effect: FloatArray
    lower: FloatArray
    upper: FloatArray
    outside: int
    off_code: int


def step_ends(
    values: FloatArray, admissible: Sequence[float]
) -> tuple[npt.NDArray[np.bool_], FloatArray, FloatArray]:
    """Which values are admissible, and the step each is tested on.

    A client at admissible value a_i (not the largest) is tested on a_i -> a_(i+1); at
    the largest, on a_(m-1) -> a_m (the step into its own value). Returns (on_code,
    lower, upper), NaN where not on an admissible value.
    """
    grid = np.asarray(admissible, dtype=np.float64)
    m = grid.size
    pos = np.searchsorted(grid, values)
    safe = np.minimum(pos, m - 1)
    on_code = (pos < m) & (grid[safe] == values)
    top = safe == m - 1
    lower = np.where(top, grid[np.maximum(safe - 1, 0)], values)
    upper = np.where(top, values, grid[np.minimum(safe + 1, m - 1)])
    lower = np.where(on_code, lower, np.nan)
    upper = np.where(on_code, upper, np.nan)
    return on_code, lower, upper


def client_effects(
    constraint: SignConstraint,
    data: SignData,
    forward: Callable[[FloatArray], FloatArray],
    *,
    link: str,
    output: int,
    scale: float,
    chunk_size: int = 4096,
) -> ClientEffects:
    """The per-client effect of ``constraint``'s feature on ``data`` (streamed in chunks).

    ``forward``: rows (n, d) -> logits (n, K), float64 (the network). Discrete: output at
    the step's upper end minus output at its lower end, both evaluated by ``forward`` on
    the client's row with only the feature changed (exact). Continuous: the exact local
    slope of the client's region through :func:`slope_effect`, times ``scale``.
    """
    j = constraint.index
    column = np.asarray(data.x[:, j], dtype=np.float64)
    inside = in_domain(column, constraint.domain)
    n = column.size
    effect = np.full(n, np.nan)
    lower = np.full(n, np.nan)
    upper = np.full(n, np.nan)
    if constraint.kind == "discrete":
        on_code, lo, hi = step_ends(column, constraint.values)
        tested = inside & on_code
        off_code = int((inside & ~on_code).sum())
        rows = np.flatnonzero(tested)
        for start in range(0, rows.size, max(1, chunk_size)):
            idx = rows[start : start + chunk_size]
            x_lo = np.array(data.x[idx], dtype=np.float64)
            x_hi = x_lo.copy()
            x_lo[:, j] = lo[idx]
            x_hi[:, j] = hi[idx]
            effect[idx] = output_of(forward(x_hi), link, output) - output_of(
                forward(x_lo), link, output
            )
        lower[tested] = lo[tested]
        upper[tested] = hi[tested]
    else:
        tested = inside
        off_code = 0
        rows = np.flatnonzero(tested)
        for start in range(0, rows.size, max(1, chunk_size)):
            idx = rows[start : start + chunk_size]
            slopes = data.table.weights[data.sample_regions[idx], :, j]
            effect[idx] = slope_effect(data.logits[idx], slopes, link, output, scale)
    return ClientEffects(
        tested=tested,
        effect=effect,
        lower=lower,
        upper=upper,
        outside=int((~inside).sum()),
        off_code=off_code,
    )


def wrong_way(effect: FloatArray, sign: str) -> FloatArray:
    """The effect against the expected sign (positive = wrong way): -effect for '+'."""
    return -effect if sign == "+" else effect


def _label(value: float) -> str:
    return _short(float(value))


def _range_label(lo: float, hi: float) -> str:
    return f"{lo:,.6g} – {hi:,.6g}" if lo != hi else f"{lo:,.6g}"


def breakdown(
    constraint: SignConstraint, column: FloatArray, effects: ClientEffects
) -> tuple[SignBin, ...]:
    """Violations by admissible value (discrete, at most :data:`MAX_VALUE_ROWS`) or by
    decile of the clients tested (continuous, or a discrete feature with more values)."""
    tested = effects.tested
    v = column[tested]
    eff = effects.effect[tested]
    bad = wrong_way(eff, constraint.sign)
    bins: list[SignBin] = []
    if v.size == 0:
        return ()
    if constraint.kind == "discrete" and len(constraint.values) <= MAX_VALUE_ROWS:
        lo_all = effects.lower[tested]
        hi_all = effects.upper[tested]
        for value in constraint.values:
            at = v == value
            if not at.any():
                continue
            first = int(np.flatnonzero(at)[0])
            bins.append(
                SignBin(
                    label=_label(value),
                    lo=float(value),
                    hi=float(value),
                    step=f"{_label(lo_all[first])} → {_label(hi_all[first])}",
                    clients=int(at.sum()),
                    wrong_way=int((bad[at] > 0).sum()),
                    material=int((bad[at] > constraint.materiality).sum()),
                    median_effect=float(np.median(eff[at])),
                )
            )
        return tuple(bins)
    edges = np.unique(np.quantile(v, np.linspace(0.0, 1.0, DECILES + 1)))
    which = (
        np.searchsorted(edges[1:-1], v, side="right")
        if edges.size > 2
        else np.zeros(v.size, dtype=np.int64)
    )
    for b in range(max(1, edges.size - 1)):
        at = which == b
        if not at.any():
            continue
        lo, hi = float(v[at].min()), float(v[at].max())
        bins.append(
            SignBin(
                label=_range_label(lo, hi),
                lo=lo,
                hi=hi,
                step="",
                clients=int(at.sum()),
                wrong_way=int((bad[at] > 0).sum()),
                material=int((bad[at] > constraint.materiality).sum()),
                median_effect=float(np.median(eff[at])),
            )
        )
    return tuple(bins)


def _unit(link: str) -> str:
    return "probability" if link in ("sigmoid", "softmax") else "output"


def feature_result(
    constraint: SignConstraint,
    data: SignData,
    region_result: FeatureSignResult,
    effects: ClientEffects,
    link: str,
) -> FeatureSignResult:
    """The region-level result completed with the per-client test and its breakdown."""
    tested = effects.tested
    bad = wrong_way(effects.effect[tested], constraint.sign)
    clients = int(tested.sum())
    n_wrong = int((bad > 0).sum())
    n_material = int((bad > constraint.materiality).sum())
    return replace(
        region_result,
        kind=constraint.kind,
        where=constraint.where,
        values=constraint.values,
        type_source=constraint.source,
        materiality=constraint.materiality,
        unit=_unit(link),
        clients=clients,
        outside_domain=effects.outside,
        off_code=effects.off_code,
        wrong_way=n_wrong,
        material=n_material,
        wrong_way_share=n_wrong / clients if clients else 0.0,
        material_share=n_material / clients if clients else 0.0,
        median_wrong_effect=float(np.median(bad[bad > 0])) if n_wrong else None,
        max_wrong_effect=float(bad.max()) if n_wrong else None,
        breakdown=breakdown(constraint, np.asarray(data.x[:, constraint.index]), effects),
    )


def evaluate_sign_checks(
    plans: Sequence[SignCheckPlan],
    data: Mapping[str, SignData],
    forward: Callable[[FloatArray], FloatArray],
    feature_std: FloatArray | None,
    *,
    link: str,
    chunk_size: int = 4096,
    worst: int = WORST_REGIONS,
) -> SignConstraintsResult:
    """Evaluate the planned checks per client on the data sets given.

    ``data`` maps a data set name (``"train"``, ``"test"``) to its rows and regions; a
    check on a data set that is absent is not evaluated, with the reason.
    ``forward``: the network's float64 logits; ``link``: its output link.
    ``feature_std``: (d,) one standard deviation of each feature (None: 1).
    """
    checks = []
    for plan in plans:
        rows = data.get(plan.dataset)
        if rows is None:
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
        by_region = sign_violations(
            rows.table,
            plan.constraints,
            output=plan.output_index,
            feature_std=feature_std,
            worst=worst,
        )
        features = []
        for constraint, region_result in zip(plan.constraints, by_region, strict=True):
            scale = 1.0 if feature_std is None else float(feature_std[constraint.index])
            effects = client_effects(
                constraint,
                rows,
                forward,
                link=link,
                output=plan.output_index,
                scale=scale,
                chunk_size=chunk_size,
            )
            features.append(feature_result(constraint, rows, region_result, effects, link))
        worst_feature = max(features, key=lambda f: f.material_share)  # first of equals
        value = worst_feature.material_share
        checks.append(
            SignCheckResult(
                check=plan.check_id,
                dataset=plan.dataset,
                output=plan.output_name,
                evaluated=True,
                reason=None,
                value=value,
                worst_feature=worst_feature.feature if value > 0.0 else None,
                features=tuple(features),
                raw_value=max(f.wrong_way_share for f in features),
            )
        )
    return SignConstraintsResult(checks=tuple(checks), worst_regions=worst)


def run(ctx: AnalysisContext, plans: Sequence[SignCheckPlan]) -> SignConstraintsResult:
    """The sign checks on every data set of ``ctx``; one std = ``ctx.feature_scale``."""
    data = {
        d.name: SignData(
            d.dataset.x, d.extraction.table, d.extraction.sample_regions, d.extraction.logits
        )
        for d in ctx.datasets
    }
    return evaluate_sign_checks(
        plans,
        data,
        ctx.network.forward_logits,
        ctx.feature_scale,
        link=ctx.network.output_link,
        chunk_size=ctx.options.chunk_size,
    )


def observed(result: SignConstraintsResult) -> dict[MetricKey, float]:
    """No metric values: a sign check's value depends on its params (see :func:`check_values`)."""
    del result
    return {}


def check_values(result: SignConstraintsResult) -> dict[str, CheckObservation]:
    """The observation of each check, by check id, for ``evaluate_policy(check_values=...)``.

    The per-feature values (for waiver scopes) are the shares with a material violation.
    """
    values: dict[str, CheckObservation] = {}
    for check in result.checks:
        if not check.evaluated or check.value is None:
            values[check.check] = CheckObservation(None, check.reason or "")
            continue
        evaluated = [f for f in check.features if isinstance(f, FeatureSignResult)]
        note = (
            f"worst feature: {check.worst_feature}"
            if check.value > 0.0
            else f"no client has a material violation of any of the {len(evaluated)} constraints"
        )
        values[check.check] = CheckObservation(
            check.value, note, {f.feature: f.material_share for f in evaluated}
        )
    return values


# ---------------------------------------------------------------------------
# The same rules on a set of affine models (the merged models of the simplification).


@dataclass(frozen=True, slots=True)
class AffineSignFeature:
    """One constrained feature over the affine models: how many break it, for how many
    of their clients (a material violation)."""

    __pydantic_config__ = JSON_CONFIG

    feature: str
    sign: Sign
    models_breaking: int
    clients: int
    material: int
    material_share: Float


@dataclass(frozen=True, slots=True)
class AffineSignCheck:
    """One policy sign check on a set of affine models, over the clients assigned to them.

    A model breaks the check when at least one client assigned to it (in a feature's
    domain) has a material violation of a constraint; ``breaking``: those models' ids.
    """

    __pydantic_config__ = JSON_CONFIG

    check: str
    dataset: str
    models: int
    models_breaking: int
    breaking: tuple[int, ...]
    material_share: Float
    features: tuple[AffineSignFeature, ...]


def affine_sign_checks(
    plans: Sequence[SignCheckPlan],
    intercepts: FloatArray,
    coefs: FloatArray,
    x: FloatArray,
    labels: Int64Array,
    *,
    link: str,
    feature_std: FloatArray | None,
    dataset: str = "train",
    chunk_size: int = 4096,
) -> tuple[AffineSignCheck, ...]:
    """The policy's sign rules on affine models ``eta = intercepts[c] + coefs[c] @ x``.

    ``intercepts``: (C,), ``coefs``: (C, d) one logit (or output) per model; ``x``: (N, d)
    the clients and ``labels``: (N,) the model each is assigned to. Pure: the same rules
    as :func:`evaluate_sign_checks` (discrete: exact change over the admissible step;
    continuous: exact derivative times one std), with the model of each client in place
    of the network. Only checks on ``dataset`` are evaluated.
    """
    n_models = int(coefs.shape[0])
    out = []
    for plan in plans:
        if plan.dataset != dataset:
            continue
        broken = np.zeros(n_models, dtype=bool)
        features = []
        any_material = np.zeros(x.shape[0], dtype=bool)
        for constraint in plan.constraints:
            j = constraint.index
            scale = 1.0 if feature_std is None else float(feature_std[j])
            material_rows = np.zeros(x.shape[0], dtype=bool)
            column = np.asarray(x[:, j], dtype=np.float64)
            inside = in_domain(column, constraint.domain)
            if constraint.kind == "discrete":
                on_code, lo, hi = step_ends(column, constraint.values)
                tested = inside & on_code
            else:
                tested = inside
            rows = np.flatnonzero(tested)
            for start in range(0, rows.size, max(1, chunk_size)):
                idx = rows[start : start + chunk_size]
                w = coefs[labels[idx]]
                eta = intercepts[labels[idx]] + np.einsum("nd,nd->n", w, x[idx])
                if constraint.kind == "discrete":
                    base = eta - w[:, j] * column[idx]
                    effect = output_of((base + w[:, j] * hi[idx])[:, None], link, 0) - output_of(
                        (base + w[:, j] * lo[idx])[:, None], link, 0
                    )
                else:
                    effect = slope_effect(eta[:, None], w[:, j : j + 1], link, 0, scale)
                material_rows[idx] = wrong_way(effect, constraint.sign) > constraint.materiality
            models = np.unique(labels[material_rows])
            broken[models] = True
            any_material |= material_rows
            clients = int(tested.sum())
            n_material = int(material_rows.sum())
            features.append(
                AffineSignFeature(
                    feature=constraint.feature,
                    sign=constraint.sign,
                    models_breaking=int(models.size),
                    clients=clients,
                    material=n_material,
                    material_share=n_material / clients if clients else 0.0,
                )
            )
        out.append(
            AffineSignCheck(
                check=plan.check_id,
                dataset=dataset,
                models=n_models,
                models_breaking=int(broken.sum()),
                breaking=tuple(int(c) for c in np.flatnonzero(broken)),
                material_share=float(any_material.mean()) if x.shape[0] else 0.0,
                features=tuple(features),
            )
        )
    return tuple(out)
