"""Section 4.6, sign and monotonicity: ``results.sign_constraints`` -> template strings.

Reads the typed block of :mod:`govreport.analyses.sign`, each sign check's status as
the policy evaluation decided it, and the same checks on the merged models of the
simplification (``results.simplification.sign_checks``). The block is optional: a
results file without it (written before sign checks existed) says so.

A feature's breakdown by value or decile (table and figure panel) is shown at the
first check that evaluates it; a later check on the same feature refers back to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from govreport.analyses.sign import (
    FeatureSignResult,
    SignBin,
    SignCheckResult,
)
from govreport.analyses.simplify.stage import SimplificationDone
from govreport.metrics import METRICS, SIGN_VIOLATION_METRIC
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
    is_missing,
    make_table,
)
from govreport.results.schema import Results

__all__ = ["build"]

_EXPECTED = {"+": "+", "-": "−"}
_RULE_WORDS = {
    "+": "must not fall as the feature grows",
    "-": "must not rise as the feature grows",
}
_DATASET_WORDS = {"train": "training", "test": "test", "oot": "out-of-time"}
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


def _share(value: Any) -> str:
    """A share as a percentage at one decimal; ``<0.1%`` for a small non-zero share."""
    if is_missing(value):
        return DASH
    p = float(value) * 100.0
    if p == 0.0:
        return "0%"
    if p == 100.0:
        return "100%"
    if 0.0 < p < 0.1:
        return "<0.1%"
    if 99.9 < p < 100.0:
        return ">99.9%"
    return f"{p:.1f}%"


def _change(value: Any, unit: str) -> str:
    """A change of the output: percentage points of probability, else the output's units."""
    if is_missing(value):
        return DASH
    v = float(value)
    if v == 0.0:
        return "0"
    if unit == "probability":
        text = f"{v * 100:+.2f} pts"
        if text in ("+0.00 pts", "-0.00 pts"):
            text = ("+" if v > 0 else "−" if v < 0 else "") + "<0.01 pts"
        return text.replace("-", "−", 1)
    text = fmt_num(v)
    return text.replace("-", "−", 1) if text.startswith("-") else f"+{text}"


def _size(value: Any, unit: str) -> str:
    """A wrong-way magnitude (no sign)."""
    if is_missing(value):
        return DASH
    if unit == "probability":
        v = float(value) * 100
        return "<0.01 pts" if 0 < v < 0.005 else f"{v:.2f} pts"
    return fmt_num(value)


def _number(value: float) -> str:
    """A feature value for a label: thousands separated, no exponent, at most 4 decimals."""
    v = float(value)
    text = f"{int(v):,}" if v.is_integer() else f"{v:,.4f}".rstrip("0").rstrip(".")
    return text.replace("-", "−", 1)


def _code(value: float) -> str:
    text = str(int(value)) if float(value).is_integer() else f"{value:g}"
    return text.replace("-", "−", 1)


def _where(text: str | None) -> str:
    if not text:
        return ""
    text = text.replace(">=", "≥").replace("<=", "≤").replace("!=", "≠").replace("-", "−")
    # Keep each comparison on one line (no break between the operator and its number).
    for op in ("≥", "≤", "≠", "==", ">", "<"):
        text = text.replace(f"{op} ", f"{op}\u00a0")
    return text


def _tested_on(f: FeatureSignResult) -> str:
    where = _where(f.where)
    if f.kind == "discrete":
        return "next code" + (f" ({where})" if where else "")
    return "1 std (slope)" + (f" ({where})" if where else "")


def _status_badge(check: CheckRecord | None) -> dict[str, str]:
    if check is None:
        return badge("not in policy", "pending")
    status = check_status(check)
    text, kind = _STATUS.get(status, (status, "pending"))
    return badge(text, kind)


def _above_lowest(f: FeatureSignResult) -> tuple[int, int, int]:
    """Clients above the lowest admissible value: (tested, wrong sign, material)."""
    if f.kind != "discrete" or not f.values:
        return 0, 0, 0
    low = min(f.values)
    bins = [b for b in f.breakdown if b.lo > low]
    return (
        sum(b.clients for b in bins),
        sum(b.wrong_way for b in bins),
        sum(b.material for b in bins),
    )


def _above_sentence(f: FeatureSignResult) -> str:
    n, wrong, material = _above_lowest(f)
    if not n:
        return ""
    low = _code(min(f.values))
    return (
        f"Among the {fmt_int(n)} clients above code {low} (the step from {low} excluded), "
        f"{_share(wrong / n)} have the wrong sign and {_share(material / n)} a material one."
    )


def _materiality_words(f: FeatureSignResult) -> str:
    step = "one code step" if f.kind == "discrete" else "one standard deviation"
    if not f.materiality:
        return f"any wrong-way change for {step}"
    return f"a wrong-way change above {_size(f.materiality, f.unit)} for {step}"


def _summary_table(
    num: Numbering, entry: SignCheckResult, features: Sequence[FeatureSignResult], title: str
) -> dict[str, Any]:
    words = _DATASET_WORDS.get(entry.dataset, entry.dataset)
    excluded = any(f.outside_domain or f.off_code for f in features)
    any_wrong = any(f.wrong_way for f in features)
    head = ["Feature", "Sign", "Tested on", "Clients tested"]
    align = "lcll"
    if excluded:
        head.append("Excluded")
        align += "r"
    same = len({f.materiality for f in features}) == 1
    head += ["Wrong sign", "Material"] + ([] if same else ["Material above"])
    align += "rr" if same else "rrr"
    if any_wrong:
        head.append("Median wrong-way change")
        align += "r"
    rows = []
    for f in features:
        row = [f.feature, _EXPECTED.get(f.sign, f.sign), _tested_on(f), fmt_int(f.clients)]
        if excluded:
            row.append(fmt_int(f.outside_domain + f.off_code))
        row += [
            _share(f.wrong_way_share),
            _share(f.material_share),
        ]
        if not same:
            row.append(_size(f.materiality, f.unit))
        if any_wrong:
            row.append(_size(f.median_wrong_effect, f.unit))
        rows.append(row)
    notes = [
        "Sign: + the predicted risk must not fall as the feature grows, − it must not rise.",
        "Tested on: the step to the next admissible code (coded features) or one standard "
        "deviation (std) along the exact local slope (continuous ones), within the domain in "
        "brackets.",
        "Shares are of the clients tested.",
    ]
    if same and features:
        kinds = {f.kind for f in features}
        step = (
            "one code step"
            if kinds == {"discrete"}
            else "one standard deviation"
            if kinds == {"continuous"}
            else "one code step (coded features) or one standard deviation (continuous ones)"
        )
        size = features[0].materiality
        notes.append(
            f"Material: a wrong-way change above {_size(size, features[0].unit)} for {step}."
            if size
            else f"Material: any wrong-way change for {step} (the policy sets no threshold)."
        )
    if excluded:
        notes.append("Excluded: clients outside the feature's domain or not on an admissible code.")
    if features and features[0].unit == "probability":
        notes.append("Changes in percentage points (pts) of predicted probability.")
    return make_table(
        num.tables,
        f"{title} on the {words} data, by feature",
        head,
        rows,
        align=align,
        css="sign",
        note=" ".join(notes),
    )


def _bin_row(f: FeatureSignResult, b: SignBin) -> list[str]:
    first = (
        _code(b.lo)
        if f.kind == "discrete" and b.lo == b.hi
        else f"{_number(b.lo)} – {_number(b.hi)}"
        if b.lo != b.hi
        else _number(b.lo)
    )
    row = [first]
    if f.kind == "discrete":
        row.append(b.step.replace("-", "−"))
    row += [
        fmt_int(b.clients),
        _share(b.wrong_way / b.clients if b.clients else None),
        _share(b.material / b.clients if b.clients else None),
        _change(b.median_effect, f.unit),
    ]
    return row


def _breakdown_table(num: Numbering, f: FeatureSignResult, words: str) -> dict[str, Any]:
    by_value = f.kind == "discrete" and all(b.lo == b.hi for b in f.breakdown)
    head = ["Code" if by_value else "Decile range"]
    align = "l"
    if f.kind == "discrete":
        head.append("Step tested")
        align += "l"
    head += ["Clients", "Wrong sign", "Material", "Median change"]
    align += "rrrr"
    step = "one code step up" if f.kind == "discrete" else "one standard deviation up"
    note = (
        f"Median change: the median over the clients of the row of the change of the "
        f"prediction for {step} (positive: the prediction rises). Material: "
        f"{_materiality_words(f)}."
    )
    return make_table(
        num.tables,
        f"{f.feature} ({_EXPECTED.get(f.sign, f.sign)}): violations by "
        f"{'code' if by_value else 'decile'}, {words} data",
        head,
        [_bin_row(f, b) for b in f.breakdown],
        align=align,
        css="sign-breakdown",
        note=note,
    )


def _panel(f: FeatureSignResult) -> dict[str, Any]:
    by_value = f.kind == "discrete" and all(b.lo == b.hi for b in f.breakdown)
    return {
        "title": f"{f.feature} ({_EXPECTED.get(f.sign, f.sign)})",
        "xlabel": "code" if by_value else "decile",
        "ticks": [_code(b.lo) if by_value else f"D{i + 1}" for i, b in enumerate(f.breakdown)],
        "wrong": [b.wrong_way / b.clients if b.clients else 0.0 for b in f.breakdown],
        "material": [b.material / b.clients if b.clients else 0.0 for b in f.breakdown],
    }


def _check_sentence(entry: SignCheckResult, features: Sequence[FeatureSignResult]) -> str:
    words = _DATASET_WORDS.get(entry.dataset, entry.dataset)
    worst = next((f for f in features if f.feature == entry.worst_feature), None)
    if worst is None:
        if any(f.wrong_way for f in features):
            return (
                f"No {words} client has a material wrong-way effect for any of the "
                f"{len(features)} constrained features; up to "
                f"{_share(entry.raw_value)} of the clients tested show a smaller one."
            )
        return (
            f"No {words} client has a wrong-way effect for any of the {len(features)} "
            "constrained features."
        )
    ranked = sorted(
        (f for f in features if f.material), key=lambda f: (-f.material_share, f.feature)
    )
    clean = [f.feature for f in features if not f.material]
    parts = [
        f"Worst feature: {worst.feature}, with a material wrong-way effect for "
        f"{_share(worst.material_share)} of the {fmt_int(worst.clients)} {words} clients "
        f"tested ({_materiality_words(worst)}; the predicted risk "
        f"{_RULE_WORDS.get(worst.sign, '')}). {_above_sentence(worst)}".rstrip()
    ]
    if len(ranked) > 1:
        parts.append(
            "Material violations by feature: "
            + ", ".join(f"{f.feature} {_share(f.material_share)}" for f in ranked)
            + "."
        )
    if clean:
        parts.append(f"No material violation: {', '.join(clean)}.")
    above = [
        (f, *_above_lowest(f))
        for f in features
        if f is not worst and f.kind == "discrete" and _above_lowest(f)[1]
    ]
    if above:
        parts.append(
            "Among the clients above each coded feature's lowest admissible code (for a "
            "repayment status: the clients already late): "
            + ", ".join(
                f"{f.feature} {_share(wrong / n)} wrong sign ({_share(material / n)} material)"
                for f, n, wrong, material in above
            )
            + "."
        )
    return " ".join(parts)


def _description(entry: SignCheckResult, policy_check: CheckRecord | None) -> str:
    """The check's own description, else plain words (never the metric's definition)."""
    words = _DATASET_WORDS.get(entry.dataset, entry.dataset)
    text = policy_check.description if policy_check else ""
    if not text or text == METRICS[SIGN_VIOLATION_METRIC].description:
        return f"The policy's sign constraints on the {words} data."
    return text


def _check_block(
    num: Numbering,
    entry: SignCheckResult,
    policy_check: CheckRecord | None,
    shown: dict[str, str],
    title: str,
) -> tuple[dict[str, Any], list[FigureSpec]]:
    words = _DATASET_WORDS.get(entry.dataset, entry.dataset)
    bound = fmt_bound(policy_check.bound) if policy_check else DASH
    block: dict[str, Any] = {
        "id": entry.check,
        "heading": f"{title}. {_description(entry, policy_check)}",
        "badge": _status_badge(policy_check),
        "scope": f"On the {words} data. The check's value is the largest share of clients "
        f"tested with a material violation, over its features; bound: {bound}.",
        "table": None,
        "figure": None,
        "breakdowns": [],
        "refer": "",
    }
    if not entry.evaluated:
        names = ", ".join(f"{f.feature} ({_EXPECTED.get(f.sign, f.sign)})" for f in entry.features)
        block["sentence"] = (
            f"Not evaluated: {entry.reason or 'no value was produced'}. "
            f"The check constrains {names or DASH}."
        )
        return block, []
    features = [f for f in entry.features if isinstance(f, FeatureSignResult)]
    block["sentence"] = _check_sentence(entry, features)
    block["table"] = _summary_table(num, entry, features, title)
    new = [f for f in features if f.feature not in shown]
    earlier = sorted({shown[f.feature] for f in features if f.feature in shown})
    if earlier:
        block["refer"] = (
            "The breakdown by value or decile of "
            + ", ".join(f.feature for f in features if f.feature in shown)
            + f" is shown under {', '.join(earlier)} above."
        )
    specs: list[FigureSpec] = []
    drawn = [f for f in new if f.breakdown and f.wrong_way]
    if drawn:
        spec = FigureSpec(
            id=f"sign-breakdown-{entry.check}",
            kind="sign-breakdown",
            data={
                "panels": [_panel(f) for f in drawn],
                "material_label": "material wrong sign",
            },
            caption=f"{title}, {words} data: share of the clients of each code "
            "(coded features) or decile of the feature (continuous ones) whose prediction "
            "moves the wrong way (light) and materially so (dark). Features without any "
            "wrong-way client are not drawn.",
            alt=f"Bars of the share of clients with a wrong-way effect by value, {title}",
        )
        specs.append(spec)
        block["figure"] = num.figure(spec)
    for f in new:
        shown[f.feature] = title
        if not f.wrong_way:
            block["breakdowns"].append(
                {
                    "table": None,
                    "sentence": f"{f.feature}: no {words} client tested has a wrong-way effect.",
                }
            )
            continue
        block["breakdowns"].append({"table": _breakdown_table(num, f, words), "sentence": ""})
    return block, specs


def _merged(results: Results, num: Numbering, titles: dict[str, str]) -> dict[str, Any] | None:
    done = results.simplification
    if not isinstance(done, SimplificationDone) or not done.sign_checks:
        return None
    checks = done.sign_checks
    n_models = checks[0].models
    breaking = sorted({c for check in checks for c in check.breaking})
    section = num.sections.get("simplification", "6")
    rows = []
    for check in checks:
        broken = [
            f"{f.feature} ({fmt_int(f.models_breaking)})"
            for f in check.features
            if f.models_breaking
        ]
        rows.append(
            [
                titles.get(check.check, check.check),
                f"{fmt_int(check.models_breaking)} of {fmt_int(check.models)}",
                _share(check.material_share),
                ", ".join(broken) or "none",
            ]
        )
    sentence = (
        f"The same checks on the {fmt_int(n_models)} merged linear models of section "
        f"{section}, over the training clients assigned to each: {fmt_int(len(breaking))} of "
        f"them break at least one check (a material wrong-way effect for at least one of "
        "their clients). A merged model that breaks the policy the network is held to is "
        "no credible challenger for the features it breaks."
    )
    table = make_table(
        num.tables,
        "Sign checks on the merged models (training clients)",
        ["Check", "Models breaking it", "Clients with a material violation", "Features (models)"],
        rows,
        align="lrrl",
        css="sign",
    )
    return {"sentence": sentence, "table": table}


def _reading(entries: Sequence[SignCheckResult], failed: Sequence[str]) -> dict[str, str]:
    shows = (
        "Whether the network moves the predicted risk in the direction the credit policy "
        "requires when one feature changes (for example, one more month of repayment delay "
        "must not lower it), tested client by client, and how large and how common the "
        "wrong-way moves are, by feature value."
    )
    worst: dict[str, float] = {}
    for entry in entries:
        for f in entry.features:
            if isinstance(f, FeatureSignResult) and f.material:
                worst[f.feature] = max(worst.get(f.feature, 0.0), f.material_share)
    top = sorted(worst.items(), key=lambda kv: (-kv[1], kv[0]))[:4]
    if failed and top:
        named = ", ".join(f"{name} ({_share(share)} of clients)" for name, share in top)
        todo = (
            f"The network contradicts the required direction materially for {named}. Ask the "
            "developer to explain these effects for the codes or value ranges the breakdowns "
            "show, and consider retraining with monotonic constraints or limiting the model's "
            "use for the clients affected until then."
        )
    elif top:
        todo = (
            "The wrong-way effects found stay within the policy's bounds; review the "
            "breakdowns for the features named and monitor them."
        )
    else:
        todo = "Nothing: no client has a material wrong-way effect."
    return {"shows": shows, "todo": todo}


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4.6: one block per sign check; ``available`` false without a sign block."""
    block = results.sign_constraints
    if block is None:
        return {"sign": {"available": False, "absent": [_ABSENT]}}, []
    policy_checks = {c.id: c for c in results.policy.checks}
    entries = block.checks
    intro = (
        "The policy requires some features to move the predicted risk in one direction only. "
        "Each client is tested on its own data. A coded feature, such as a repayment status, "
        "is moved one admissible code up from the client's own code (a client at the highest "
        "code is tested on the step into it) and the network is run again: the exact change "
        "of the predicted probability is the effect. A continuous feature is tested on the "
        "exact slope of the network at the client (the network is linear around each "
        "client), times one standard deviation of the feature. A policy can restrict a "
        "feature to a domain, e.g. repayment codes from 0 up, so that codes whose order says "
        "nothing about risk are not tested; clients outside it are excluded and counted. An "
        "effect of the wrong sign is a violation; it is material when it exceeds the "
        "threshold the policy sets, and a check's value is the share of the clients tested "
        "with a material violation, for its worst feature."
    )
    if not entries:
        return {
            "sign": {
                "available": True,
                "reading": _reading((), ()),
                "intro": intro,
                "none": "The policy sets no sign constraint on any feature.",
                "checks": [],
                "merged": None,
                "limits": "",
            }
        }, []
    shown: dict[str, str] = {}
    checks = []
    specs: list[FigureSpec] = []
    titles = {e.check: f"Sign check {i}" for i, e in enumerate(entries, start=1)}
    for entry in entries:
        check_block, check_specs = _check_block(
            num, entry, policy_checks.get(entry.check), shown, titles[entry.check]
        )
        checks.append(check_block)
        specs += check_specs
    failed = [
        e.check
        for e in entries
        if (record := policy_checks.get(e.check)) is not None and check_status(record) == "fail"
    ]
    sign = {
        "available": True,
        "reading": _reading(entries, failed),
        "intro": intro,
        "none": "",
        "checks": checks,
        "merged": _merged(results, num, titles),
        "limits": "The shares cover the clients supplied, not every possible input: a "
        "feature can still move the prediction the wrong way for values or combinations no "
        "client holds. A coded feature is tested on the one step from each client's own "
        "code, not on every pair of codes.",
    }
    return {"sign": sign}, specs
