"""Section 4.6, sign and monotonicity: ``results.sign_constraints`` -> template strings.

Reads the typed block of :mod:`govreport.analyses.sign` and each sign check's
status as the policy evaluation decided it. The block is optional: a results
file without it (written before sign checks existed) says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from govreport.analyses.sign import FeatureSignResult, SignCheckResult, ViolatingRegion
from govreport.policy import check_status
from govreport.policy.record import CheckRecord
from govreport.render.figures.spec import FigureSpec
from govreport.render.text import (
    DASH,
    Numbering,
    badge,
    fmt_bound,
    fmt_int,
    fmt_num,
    fmt_share,
    is_missing,
    make_table,
)
from govreport.results.schema import Results

__all__ = ["build"]

#: Violating regions named in one table cell (results.json keeps the full list).
REGIONS_IN_CELL = 3

_EXPECTED = {"+": "+", "-": "−"}
_WRONG = {"+": "negative", "-": "positive"}
_DATASET_WORDS = {"train": "training", "test": "test"}
_ABSENT = {
    "title": "Sign and monotonicity",
    "text": "This results file holds no sign or monotonicity results.",
    "issue": "",
}
_STATUS = {
    "pass": ("pass", "pass"),
    "fail": ("fail", "fail"),
    "waived": ("waived", "waived"),
    "not_evaluated": ("not evaluated", "pending"),
}


def _signed(value: Any) -> str:
    """A slope with a typographic minus sign."""
    text = fmt_num(value)
    return text.replace("-", "−", 1) if text.startswith("-") else text


def _effect(region: ViolatingRegion) -> str:
    """The region's effect of one standard deviation, else its raw slope."""
    effect = region.effect_per_std
    return _signed(region.slope if is_missing(effect) else effect)


def _regions_cell(regions: Sequence[ViolatingRegion]) -> str:
    if not regions:
        return DASH
    parts = [
        f"#{fmt_int(r.rank)} ({fmt_int(r.count)}): {_effect(r)}" for r in regions[:REGIONS_IN_CELL]
    ]
    return "; ".join(parts)


def _largest_cell(region: ViolatingRegion | None) -> str:
    if region is None:
        return DASH
    return f"#{fmt_int(region.rank)}: {_effect(region)}"


def _status_badge(check: CheckRecord | None) -> dict[str, str]:
    if check is None:
        return badge("not in policy", "pending")
    status = check_status(check)
    text, kind = _STATUS.get(status, (status, "pending"))
    return badge(text, kind)


def _check_block(
    num: Numbering, entry: SignCheckResult, policy_check: CheckRecord | None
) -> dict[str, Any]:
    check_id = entry.check
    dataset = entry.dataset
    words = _DATASET_WORDS.get(dataset, dataset)
    bound = fmt_bound(policy_check.bound) if policy_check else DASH
    block: dict[str, Any] = {
        "id": check_id,
        "badge": _status_badge(policy_check),
        "scope": f"On the {words} data, output {entry.output or DASH}; bound on the "
        f"worst feature's share of samples: {bound}.",
    }
    if not entry.evaluated:
        names = ", ".join(f"{f.feature} ({f.sign})" for f in entry.features)
        block["sentence"] = (
            f"Not evaluated: {entry.reason or 'no value was produced'}. "
            f"The check constrains {names or DASH}."
        )
        block["table"] = None
        return block
    features = [f for f in entry.features if isinstance(f, FeatureSignResult)]
    worst = next((f for f in features if f.feature == entry.worst_feature), None)
    if worst is None:
        block["sentence"] = (
            f"No {words} sample has a local slope of the wrong sign for any of the "
            f"{len(features)} constrained features."
        )
    else:
        block["sentence"] = (
            f"Worst feature: {worst.feature}. {fmt_share(worst.sample_share)} of the "
            f"{fmt_int(worst.samples)} {words} samples ({fmt_share(worst.region_share)} of "
            f"the {fmt_int(worst.regions)} regions) have a {_WRONG[worst.sign]} local "
            f"slope, although its expected sign is {_EXPECTED.get(worst.sign, worst.sign)}."
        )
    rows = [
        [
            f.feature,
            _EXPECTED.get(f.sign, f.sign),
            fmt_share(f.sample_share),
            fmt_int(f.violating_samples),
            fmt_share(f.region_share),
            fmt_int(f.violating_regions),
            _regions_cell(f.worst_regions),
            _largest_cell(f.largest_violation),
        ]
        for f in features
    ]
    zero = [f for f in features if f.zero_slope_samples]
    scaled = any(
        not is_missing(r.effect_per_std)
        for f in features
        for r in (*f.worst_regions, f.largest_violation)
        if r is not None
    )
    unit = "effect of one std" if scaled else "slope"
    notes = ["#k (n): region k (by size) holding n samples."]
    if zero:
        notes.append(
            "Samples with a slope of exactly 0 (allowed by either sign): "
            + ", ".join(f"{f.feature} {fmt_int(f.zero_slope_samples)}" for f in zero)
            + "."
        )
    block["table"] = make_table(
        num.tables,
        f"Sign constraints of check {check_id} on the {words} data",
        [
            "Feature",
            "Sign",
            "Samples violating",
            "Count",
            "Regions violating",
            "Count",
            f"Largest violating regions: #k (n): {unit}",
            f"Steepest violation: {unit}",
        ],
        rows,
        align="lcrrrrll",
        css="sign",
        note=" ".join(notes),
    )
    return block


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4.6: one block per sign check; ``available`` false without a sign block."""
    block = results.sign_constraints
    if block is None:
        return {"sign": {"available": False, "absent": [_ABSENT]}}, []
    policy_checks = {c.id: c for c in results.policy.checks}
    entries = block.checks
    intro = (
        "A ReLU network is exactly linear inside each activation region, so the slope of "
        "its output with respect to a feature is, for every sample of the region, the "
        "region's local coefficient: an exact gradient, not a perturbation estimate. Each "
        "check below names features whose effect the policy constrains: '+' means the output "
        "(the logit, for a classifier) must not decrease as the feature grows, so a negative "
        "slope violates it; '−' means it must not increase. A slope of exactly 0 satisfies "
        "both. The check's value is the largest share of samples violating a constraint, "
        "over the features it names. In the tables, regions are numbered by size (#1 holds "
        "the most samples, as in the local linear model summary); the violating regions "
        "holding the most samples are listed first, with the effect on the output of one "
        "training standard deviation of the feature (slope × std), which makes the size of a "
        "violation comparable across features; results.json keeps the raw slopes and more "
        "regions."
    )
    if not entries:
        return {
            "sign": {
                "available": True,
                "intro": intro,
                "none": "The policy constrains the sign of no feature: it has no check on the "
                "metric slopes.sign_violation_share.",
                "checks": [],
                "limits": "",
            }
        }, []
    checks = [_check_block(num, e, policy_checks.get(e.check)) for e in entries]
    sign = {
        "available": True,
        "intro": intro,
        "none": "",
        "checks": checks,
        "limits": "The shares cover the samples supplied, not the whole input space. The "
        "network is continuous, so it is monotone in a feature along a line exactly when every "
        "region the line crosses has a slope of the right sign; regions that hold no sample are "
        "not checked, so correct signs on every sample do not prove monotonicity.",
    }
    return {"sign": sign}, []
