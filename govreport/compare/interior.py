"""The comparison of two reviews, part 2: the network's interior (coefficient distributions,
importance ranks, sign shares, regime, simplified model) and the data (population
stability of the binned features and score). See :mod:`govreport.compare.review`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from govreport.compare.types import (
    DataShift,
    FeatureMove,
    Identity,
    InteriorChange,
    ShareChange,
)
from govreport.compare.words import (
    _WORDS,
    _delta,
    _finite,
    _fmt,
    _signed,
    check_label,
)
from govreport.results.schema import Results

#: Population stability index levels (the usual rule of thumb): below 0.1 stable,
#: 0.1 to 0.25 a moderate shift, above 0.25 a major shift.
PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
#: Share floor of an empty bin in the PSI (an empty bin would make it infinite).
PSI_FLOOR = 1e-4
#: Features listed in the comparison (largest distance first).
TOP_FEATURES = 10


# ---------------------------------------------------------------------------
# Distances
# ---------------------------------------------------------------------------


def psi(then: Sequence[float], now: Sequence[float], floor: float = PSI_FLOOR) -> float:
    """Population stability index of two histograms on the same bins.

    ``sum((q - p) * ln(q / p))`` over bins, with ``p``, ``q`` the shares of ``then`` and
    ``now`` and every share floored at ``floor`` (then renormalised).
    """
    if len(then) != len(now):
        raise ValueError("the two histograms have different bins")
    total_then, total_now = float(sum(then)), float(sum(now))
    if total_then <= 0 or total_now <= 0:
        return math.nan
    p = [max(c / total_then, floor) for c in then]
    q = [max(c / total_now, floor) for c in now]
    sp, sq = sum(p), sum(q)
    shares = [(a / sp, b / sq) for a, b in zip(p, q, strict=True)]
    return float(sum((b - a) * math.log(b / a) for a, b in shares))


def quantile_distance(
    levels: Sequence[float], then: Sequence[float], now: Sequence[float]
) -> float:
    """Wasserstein-1 distance of two distributions from their quantiles at the same levels.

    ``W1 = integral over u in [0, 1] of |Q_then(u) - Q_now(u)|``, by the trapezoid rule
    on the stored levels, exact when both quantile functions are linear between levels
    (an interval where the two cross is split at the crossing).
    """
    diffs = [a - b for a, b in zip(then, now, strict=True)]
    total = 0.0
    for i in range(1, len(levels)):
        width, left, right = levels[i] - levels[i - 1], diffs[i - 1], diffs[i]
        if left * right >= 0:
            total += width * (abs(left) + abs(right)) / 2.0
        else:  # the difference crosses zero inside the interval: two triangles
            total += width * (left * left + right * right) / (2.0 * (abs(left) + abs(right)))
    return total


# ---------------------------------------------------------------------------
# Interior
# ---------------------------------------------------------------------------


def _importance_ranks(results: Results) -> dict[tuple[str, str], tuple[int, float]]:
    out: dict[tuple[str, str], tuple[int, float]] = {}
    for block in results.importance.outputs:
        ranked = sorted(block.features, key=lambda f: -f.scaled_pct)
        for rank, feature in enumerate(ranked, start=1):
            out[(block.output, feature.name)] = (rank, float(feature.scaled_pct))
    return out


def _feature_moves(then: Results, now: Results) -> tuple[FeatureMove, ...]:
    if then.coefficients is None or now.coefficients is None:
        return ()
    levels_then, levels_now = then.coefficients.levels, now.coefficients.levels
    if tuple(levels_then) != tuple(levels_now):
        return ()
    ranks_then, ranks_now = _importance_ranks(then), _importance_ranks(now)
    old = {(block.output, f.name): f for block in then.coefficients.outputs for f in block.features}
    moves: list[FeatureMove] = []
    for block in now.coefficients.outputs:
        for feature in block.features:
            before = old.get((block.output, feature.name))
            if before is None:
                continue
            q_then, q_now = before.scaled.quantiles, feature.scaled.quantiles
            if len(q_then) != len(levels_now) or len(q_now) != len(levels_now):
                continue
            distance = quantile_distance(levels_now, q_then, q_now)
            middle = _median_index(levels_now)
            rank_then = ranks_then.get((block.output, feature.name))
            rank_now = ranks_now.get((block.output, feature.name))
            moves.append(
                FeatureMove(
                    feature=feature.name,
                    output=block.output,
                    distance=distance,
                    median_then=float(q_then[middle]),
                    median_now=float(q_now[middle]),
                    rank_then=rank_then[0] if rank_then else None,
                    rank_now=rank_now[0] if rank_now else None,
                    importance_then=rank_then[1] if rank_then else None,
                    importance_now=rank_now[1] if rank_now else None,
                )
            )
    moves.sort(key=lambda m: (-m.distance, m.output, m.feature))
    return tuple(moves[:TOP_FEATURES])


def _median_index(levels: Sequence[float]) -> int:
    return min(range(len(levels)), key=lambda i: abs(levels[i] - 0.5))


def _share(name: str, then: float | None, now: float | None, unit: str = "") -> ShareChange:
    delta = _delta(then, now)
    if delta is None:
        note = "Not available in both reviews."
    elif delta == 0:
        note = "Unchanged."
    else:
        note = f"{_fmt(then)}{unit} then, {_fmt(now)}{unit} now ({_signed(delta)})."
    return ShareChange(name=name, then=_finite(then), now=_finite(now), note=note)


def _sign(then: Results, now: Results) -> tuple[ShareChange, ...]:
    if then.sign_constraints is None or now.sign_constraints is None:
        return ()
    old = {check.check: check for check in then.sign_constraints.checks}
    out = []
    for check in now.sign_constraints.checks:
        before = old.get(check.check)
        if before is None:
            continue
        item = _share(
            f"Share of samples against the expected sign: {check_label(check.check)}",
            before.value,
            check.value,
        )
        if item.then is not None and item.now is not None and item.now > item.then:
            item = ShareChange(
                item.name,
                item.then,
                item.now,
                f"More samples break the expected sign: {_pct(item.then)} then, "
                f"{_pct(item.now)} now.",
            )
        out.append(item)
    return tuple(out)


def _pct(share: float | None) -> str:
    if share is None:
        return "—"
    if 0 < share < 0.001:
        return "<0.1%"
    return f"{100 * share:.1f}%"


def _regime(then: Results, now: Results) -> tuple[ShareChange, ...]:
    out = []
    for name, block in now.regions.items():
        before = then.regions.get(name)
        if before is None:
            continue
        a, b = before.census, block.census
        words = _WORDS.get(name, name)
        out.append(
            _share(f"Regions per sample ({words})", a.regions_per_sample, b.regions_per_sample)
        )
        out.append(
            _share(
                f"Share of samples in well-populated regions ({words})",
                a.min_samples_coverage,
                b.min_samples_coverage,
            )
        )
    return tuple(out)


_FIDELITY = {
    "logit_corr": "correlation with the network's logit",
    "logit_rmse": "root mean square gap to the network's logit",
    "agreement": "share of equal decisions",
    "auc": "AUC",
}


def _simplification(then: Results, now: Results) -> tuple[ShareChange, ...]:
    a, b = then.simplification, now.simplification
    if a is None or b is None or a.status != "done" or b.status != "done":
        return ()
    out = [_share("Simplified model: number of local models", a.n_models, b.n_models)]
    for ev_b in b.evaluation:
        ev_a = next((e for e in a.evaluation if e.dataset == ev_b.dataset), None)
        if ev_a is None:
            continue
        for key, value in ev_b.fidelity.items():
            if key in ev_a.fidelity:
                out.append(
                    _share(
                        f"Simplified model fidelity: {_FIDELITY.get(key, key.replace('_', ' '))} "
                        f"({_WORDS.get(ev_b.dataset, ev_b.dataset)})",
                        ev_a.fidelity[key],
                        value,
                    )
                )
    return tuple(out)


def _interior(then: Results, now: Results, identity: Identity) -> InteriorChange:
    if not identity.model_unchanged:
        return InteriorChange(
            compared=False,
            reason=("The model changed: its interior is not compared with the previous network's."),
        )
    return InteriorChange(
        compared=True,
        reason="The model is unchanged: its interior is compared on each review's data.",
        features=_feature_moves(then, now),
        sign=_sign(then, now),
        regime=_regime(then, now),
        simplification=_simplification(then, now),
    )


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def _level(value: float) -> str:
    return "major" if value > PSI_MAJOR else "moderate" if value > PSI_MODERATE else "stable"


def _data(then: Results, now: Results) -> tuple[tuple[DataShift, ...], str]:
    if then.distributions is None or now.distributions is None:
        which = "the previous review's" if then.distributions is None else "this review's"
        return (), (
            f"Not compared: {which} results carry no binned distributions (written by an "
            "older version of govreport)."
        )
    old = {block.dataset: block for block in then.distributions.datasets}
    shifts: list[DataShift] = []
    skipped: list[str] = []
    for block in now.distributions.datasets:
        before = old.get(block.dataset)
        if before is None:
            continue
        pairs: list[tuple[Any, Any]] = []
        old_features = {h.name: h for h in before.features}
        pairs += [(old_features.get(h.name), h) for h in block.features]
        if block.score is not None:
            pairs.append((before.score, block.score))
        for a, b in pairs:
            if a is None:
                continue
            if tuple(a.edges) != tuple(b.edges):
                skipped.append(f"{b.name} ({block.dataset})")
                continue
            value = psi(a.counts, b.counts)
            if math.isfinite(value):
                shifts.append(DataShift(block.dataset, b.name, value, _level(value)))  # type: ignore[arg-type]
    shifts.sort(key=lambda s: (-s.psi, s.dataset, s.variable))
    note = "Population stability index of each variable, on the bins of the previous review."
    if skipped:
        note += (
            f" {len(skipped)} variable(s) were binned differently in the two reviews and are "
            "not compared (run the new review with the previous results given, so it reuses "
            "their bins)."
        )
    return tuple(shifts), note
