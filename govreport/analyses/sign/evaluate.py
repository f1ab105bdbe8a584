"""Sign checks, part 2: each client's exact effect (finite difference or slope times SD),
the material violations, the bounded breakdowns, and the stage (``run``, ``observed``,
``check_values``). See :mod:`govreport.analyses.sign`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from govreport import progress
from govreport.analyses.context import AnalysisContext
from govreport.analyses.sign.rules import (
    DECILES,
    MAX_VALUE_ROWS,
    WORST_REGIONS,
    FeatureSignResult,
    Sign,
    SignBin,
    SignCheckPlan,
    SignConstraint,
    in_domain,
    short_number,
    sign_violations,
)
from govreport.jsontypes import JSON_CONFIG, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray
from govreport.policy import CheckObservation
from govreport.regions import Int64Array, RegionTable


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
            progress.advance(idx.size)
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
            progress.advance(idx.size)
    progress.advance(n - rows.size)  # rows outside the check's domain: nothing to evaluate
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
    return short_number(float(value))


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
            progress.part(f"{constraint.feature} on the {plan.dataset} data", rows.x.shape[0])
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
