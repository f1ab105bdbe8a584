"""Turn the ``results`` dict (results.json, schema 1) into the template context.

All formatting lives here: numbers become strings, shares become percentages,
tiny errors get scientific notation, sections, tables and figures are numbered,
captions are written, statuses become badges. The templates only loop and print.

The input is the plain JSON-able ``results`` dict described in the results
contract (never arrays or dataclasses), so a report can be rebuilt from
``results.json`` alone. Keys the contract marks as always present are read with
``[]`` and a missing one raises :class:`ResultsError`; keys the contract marks as
optional (``regions.test``, ``inputs.spec``, a ``null`` density...) are read
with ``.get`` and their absence is *said* in the report, never silently skipped.

Pending analyses (``results["pending"]``; schema 1 only, schema 2 has no such key) are
placed by their ``section`` key (see ``_PENDING_SLOTS``): ``coefficient_distributions`` -> 4.5,
``sign_constraints`` -> 4.6, ``cluster_importance`` -> 4.7, ``insens`` -> 4.8,
``simplification`` -> 6, ``outcomes`` -> 5; any other key becomes an extra
subsection of 4 with the entry's own title. A slot with no entry and no data
prints a sentence saying the results file holds nothing for it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from govreport.policy import check_status
from govreport.render import context_aletheia as _aletheia
from govreport.render import context_clusters as _clusters
from govreport.render import context_insens as _insens
from govreport.render import context_review as _review
from govreport.render import context_sign as _sign
from govreport.render import context_simplification as _simplification
from govreport.render.formatting import (
    DASH,
    Numbering,
    TableCounter,
    badge,
    fmt_bool,
    fmt_bound,
    fmt_bytes,
    fmt_int,
    fmt_metric,
    fmt_num,
    fmt_pct,
    fmt_sci,
    fmt_share,
    have,
    is_missing,
    make_table,
    metric_label,
    severity_label,
    short_hash,
)
from govreport.results.errors import ResultsError
from govreport.results.migrate import SUPPORTED_SCHEMA_VERSIONS

__all__ = ["ResultsError", "build_context"]

#: Results dicts this renderer reads: schema 1 (with ``pending``) and schema 2 (without).
SCHEMA_VERSION = SUPPORTED_SCHEMA_VERSIONS[-1]
#: Waivers that expire within this many days of the run date are flagged "expiring soon".
EXPIRY_WARNING_DAYS = 90
#: Largest number of rows printed in the feature-importance table (the rest stay in results.json).
IMPORTANCE_TABLE_ROWS = 30
#: Bars drawn in the feature-importance figure (plots.py uses the same constant).
IMPORTANCE_FIGURE_BARS = 15

_REQUIRED_KEYS = (
    "schema_version",
    "generator",
    "run",
    "inputs",
    "model",
    "features",
    "datasets",
    "performance",
    "regions",
    "importance",
    "profiles",
    "policy",
)


_METRIC_ORDER = ("auc", "accuracy", "log_loss", "rmse", "mae", "mse", "r2")

_STATUS_BADGES = {
    "pass": ("pass", "pass"),
    "fail": ("fail", "fail"),
    "waived": ("waived", "waived"),
    "not_evaluated": ("not evaluated", "pending"),
}
_OUTCOME_BADGES = {
    "pass": ("PASS", "pass"),
    "pass_with_waivers": ("PASS WITH WAIVERS", "waived"),
    "fail": ("FAIL", "fail"),
}
_TASK_WORDS = {
    "binary": "binary classification",
    "multiclass": "multiclass classification",
    "regression": "regression",
}

# Pending-entry section keys (pipeline.PENDING) -> fixed outline slot.
_PENDING_SLOTS = {
    "coefficient_distributions": "coefficients",
    "sign_constraints": "sign",
    "monotonicity": "sign",
    "cluster_importance": "clusters",
    "clusters": "clusters",
    "insens": "insens",
    "simplification": "simplification",
    "outcomes": "outcomes",
    "weak_regions": "outcomes",
}


# ---------------------------------------------------------------------------
# helpers on the results dict


def _require(results: Mapping[str, Any]) -> None:
    if not isinstance(results, Mapping):
        raise ResultsError(
            f"results must be a mapping (results.json object), got {type(results).__name__}"
        )
    missing = [k for k in _REQUIRED_KEYS if k not in results]
    if missing:
        raise ResultsError(
            "results is missing required key(s) "
            + ", ".join(repr(k) for k in missing)
            + f" (results.json schema {SCHEMA_VERSION})"
        )
    version = results["schema_version"]
    if isinstance(version, bool) or version not in SUPPORTED_SCHEMA_VERSIONS:
        raise ResultsError(
            f"results schema_version {version!r} is not supported; this renderer reads schema "
            + ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
        )


def _by_name(items: Iterable[Mapping[str, Any]], key: str = "name") -> dict[str, Mapping[str, Any]]:
    return {str(item[key]): item for item in items}


def _pending(results: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    slots: dict[str, list[dict[str, Any]]] = {}
    for entry in results.get("pending", ()):
        slot = _PENDING_SLOTS.get(str(entry.get("section", "")), "other")
        issue = entry.get("issue")
        slots.setdefault(slot, []).append(
            {
                "title": str(entry.get("title") or entry.get("section") or "Pending analysis"),
                "text": str(entry["text"]),
                "issue": f"tracked as issue #{issue}" if issue is not None else "",
            }
        )
    return slots


def _pending_or_default(
    slots: Mapping[str, list[dict[str, Any]]], slot: str, title: str, default: str
) -> list[dict[str, Any]]:
    """The pending entries for ``slot``, or one default entry so nothing is silently absent."""
    if slots.get(slot):
        return list(slots[slot])
    return [{"title": title, "text": default, "issue": ""}]


def _parse_date(text: Any) -> _dt.date | None:
    """An ISO date (or the date part of an ISO timestamp); ``None`` stays ``None``."""
    if is_missing(text):
        return None
    try:
        return _dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        raise ResultsError(f"results holds {text!r} where an ISO date was expected") from None


# ---------------------------------------------------------------------------
# sections


def _check_status(check: Mapping[str, Any]) -> str:
    """pass | fail | waived | not_evaluated, as the policy evaluation decided it."""
    return check_status(check)


def _check_badge(check: Mapping[str, Any]) -> dict[str, str]:
    status = _check_status(check)
    text, kind = _STATUS_BADGES.get(status, (status.replace("_", " "), "pending"))
    if check.get("gating"):
        text = f"{text} · gating"
    return badge(text, kind)


def _check_dataset(check: Mapping[str, Any]) -> str:
    return str(check.get("dataset") or DASH)


def _waiver_text(waiver: Mapping[str, Any] | None) -> str:
    if not waiver:
        return DASH
    by = waiver.get("approved_by") or {}
    who = ", ".join(str(x) for x in (by.get("name"), by.get("role")) if x)
    parts = [f"cap {waiver.get('cap_severity', DASH)}"]
    if waiver.get("scope"):
        parts[0] += " for " + ", ".join(str(s) for s in waiver["scope"]) + " only"
    if who:
        parts.append(f"approved by {who}" + (f" on {by['date']}" if by.get("date") else ""))
    if waiver.get("expires"):
        parts.append(
            f"expired on {waiver['expires']}, not applied"
            if waiver.get("expired")
            else f"expires {waiver['expires']}"
        )
    return "; ".join(parts)


def _outcome(results: Mapping[str, Any]) -> dict[str, Any]:
    policy = results["policy"]
    text, kind = _OUTCOME_BADGES.get(
        str(policy["outcome"]), (str(policy["outcome"]).upper(), "pending")
    )
    counts = policy["counts"]
    parts = [
        f"{fmt_int(counts.get(key, 0))} {label}"
        for key, label in (
            ("passed", "passed"),
            ("failed", "failed"),
            ("waived", "failed but waived"),
            ("not_evaluated", "not evaluated"),
        )
    ]
    checks = list(policy["checks"])
    gating = [str(c["id"]) for c in checks if c.get("gating")]
    failed = [str(c["id"]) for c in checks if _check_status(c) == "fail" and not c.get("gating")]
    waived = [str(c["id"]) for c in checks if _check_status(c) == "waived"]
    gate = str(policy["gate"])
    if gating:
        sentence = (
            f"{_checks_word(gating)} failed at or above the gate severity ({gate}): "
            f"{', '.join(gating)}."
        )
    elif waived:
        sentence = (
            f"No check fails at or above the gate severity ({gate}) once waivers are applied; "
            f"{_checks_word(waived)} failed but {'is' if len(waived) == 1 else 'are'} waived: "
            f"{', '.join(waived)}."
        )
    else:
        sentence = f"No check failed at or above the gate severity ({gate})."
    if failed:
        sentence += f" {_checks_word(failed)} failed below the gate: {', '.join(failed)}."
    if failed or waived or gating:
        sentence += " Section 7 gives the evidence."
    return {
        "badge": badge(text, kind),
        "counts": " · ".join(parts),
        "gate": f"fail on {gate} or above",
        "sentence": sentence,
    }


def _checks_word(ids: Sequence[str]) -> str:
    return "1 check" if len(ids) == 1 else f"{fmt_int(len(ids))} checks"


def _regime_sentence(census: Mapping[str, Any]) -> str:
    n, r = census["samples"], census["regions"]
    head = f"{fmt_int(r)} regions for {fmt_int(n)} samples"
    regime = str(census.get("regime", ""))
    given: Any = census.get("regions_per_sample")
    ratio = float(given) if not is_missing(given) else (r / n if n else 0.0)
    per_region = n / r if r else 0.0
    if regime == "fragmented":
        if ratio >= 0.9:
            return f"{head}: nearly every sample has its own linear model (fragmented regime)."
        singles: Any = census.get("singleton_share")
        detail = f"on average {per_region:,.1f} samples per region"
        if not is_missing(singles):
            detail += f", and {fmt_share(singles)} of the regions hold a single sample"
        return (
            f"{head}: {detail}, so most local linear models rest on very few observations "
            "(fragmented regime)."
        )
    if regime == "coarse":
        return (
            f"{head}: the data falls into comparatively few regions, on average "
            f"{per_region:,.0f} samples each, so the network acts like a small set of linear "
            f"models (coarse regime)."
        )
    if regime == "intermediate":
        return (
            f"{head}: on average {per_region:,.1f} samples per region; the largest regions "
            f"carry a useful share of the data but a long tail of small regions remains "
            f"(intermediate regime)."
        )
    return f"{head} (regime: {regime or DASH})."


def _top_share(census: Mapping[str, Any], k: int) -> Any:
    for item in census.get("top_coverage") or []:
        if int(item["k"]) == k:
            return item["share"]
    return None


def _census_rows(census: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("Samples", fmt_int(census["samples"])),
        ("Activation regions", fmt_int(census["regions"])),
        ("Regions per sample", fmt_num(round(float(census["regions_per_sample"]), 4))),
        ("Regime", str(census["regime"])),
        (
            "Singleton regions (one sample)",
            f"{fmt_int(census['singleton_regions'])} "
            f"({fmt_share(census['singleton_share'])} of regions)",
        ),
        ("Samples alone in their region", fmt_share(census["samples_in_singletons_share"])),
        (
            f"Regions with ≥ {fmt_int(census['min_samples'])} samples",
            fmt_int(census["regions_with_min_samples"]),
        ),
        (
            f"Samples in regions with ≥ {fmt_int(census['min_samples'])} samples",
            fmt_share(census["min_samples_coverage"]),
        ),
        ("Constant regions (a layer entirely off)", fmt_int(census["constant_regions"])),
    ]
    for item in census.get("top_coverage") or []:
        k = int(item["k"])
        label = (
            "Samples in the largest region" if k == 1 else f"Samples in the {k:,} largest regions"
        )
        rows.append((label, fmt_share(item["share"])))
    rows += _aletheia.census_rows(census)
    rows.append(("Exactness: max |local linear model − network|", fmt_sci(census["max_abs_error"])))
    return rows


def _neuron_table(
    counter: TableCounter,
    neurons: Sequence[Mapping[str, Any]],
    test: Sequence[Mapping[str, Any]] | None,
) -> dict[str, Any]:
    head = ["Hidden layer", "Width", "Dead (train)", "Always on (train)", "Switching (train)"]
    align = "rrrrr"
    test_by_layer = {int(n["layer"]): n for n in test or []}
    if test is not None:
        head += ["Dead (test)", "Always on (test)"]
        align += "rr"
    rows = []
    for n in neurons:
        width, dead, on = int(n["width"]), int(n["dead"]), int(n["always_on"])
        row = [
            fmt_int(n["layer"]),
            fmt_int(width),
            fmt_int(dead),
            fmt_int(on),
            fmt_int(width - dead - on),
        ]
        if test is not None:
            t = test_by_layer.get(int(n["layer"]))
            row += [fmt_int(t["dead"]) if t else DASH, fmt_int(t["always_on"]) if t else DASH]
        rows.append(row)
    return make_table(
        counter,
        "Dead and always-on neurons per hidden layer",
        head,
        rows,
        align=align,
        note="Dead: never active on the data set (the neuron contributes nothing). Always on: "
        "active on every sample (the neuron acts as a plain linear unit). Switching: neither; "
        "only these neurons create region boundaries within the data.",
    )


def _summary_table(
    counter: TableCounter, summary: Mapping[str, Any], dataset: str, title: str
) -> dict[str, Any]:
    metric = str(summary["local_metric"])
    rows = []
    for r in summary["rows"]:
        rows.append(
            [
                fmt_int(r["rank"]),
                fmt_int(r["count"]),
                fmt_share(r["share"]),
                fmt_metric(r["response_mean"]),
                fmt_metric(r["response_std"]),
                fmt_metric(r["local_metric"]),
                fmt_metric(r["global_metric"]),
                fmt_bool(r["constant"]),
                _aletheia.summary_dummy_cell(r),
            ]
        )
    shown, total = int(summary["shown"]), int(summary["total_regions"])
    return make_table(
        counter,
        title,
        [
            "Region",
            "Samples",
            "Share",
            "Response mean",
            "Response std",
            f"Local {metric}",
            f"Global {metric}",
            "Constant",
            "Pure label",
        ],
        rows,
        align="rrrrrrrcc",
        note=(
            f"The {fmt_int(shown)} largest of {fmt_int(total)} regions on the {dataset} data. "
            f"Local {metric}: the region's linear model scored on the region's own samples; "
            f"Global {metric}: the same linear model scored on all {dataset} samples. "
            "Pure label: at least two samples, all with the same response (Aletheia's "
            "'dummy' region). "
            "— marks a value that is undefined (a single-class region, or a single sample)."
        ),
    )


def _importance_tables(
    counter: TableCounter, importance: Mapping[str, Any]
) -> list[dict[str, Any]]:
    tables = []
    outputs = importance["outputs"]
    for out in outputs:
        feats = list(out["features"])
        shown = feats[:IMPORTANCE_TABLE_ROWS]
        rows = [
            [fmt_int(i + 1), str(f["name"]), fmt_pct(f["raw_pct"]), fmt_pct(f["scaled_pct"])]
            for i, f in enumerate(shown)
        ]
        title = "Feature importance" + (f", output {out['output']}" if len(outputs) > 1 else "")
        note = (
            f"All {fmt_int(len(feats))} features."
            if len(shown) == len(feats)
            else f"The {fmt_int(len(shown))} most important of {fmt_int(len(feats))} features; "
            "the rest are in results.json."
        )
        tables.append(
            make_table(
                counter,
                title,
                ["Rank", "Feature", "Raw", "Scaled"],
                rows,
                align="rlrr",
                note=note,
                css="narrow",
            )
        )
    return tables


def _performance_table(counter: TableCounter, results: Mapping[str, Any]) -> dict[str, Any]:
    perf = list(results["performance"])
    keys: list[str] = []
    for p in perf:
        for k in p["metrics"]:
            if k not in keys:
                keys.append(k)
    keys.sort(
        key=lambda k: (_METRIC_ORDER.index(k) if k in _METRIC_ORDER else len(_METRIC_ORDER), k)
    )
    rows = [[str(p["dataset"])] + [fmt_metric(p["metrics"].get(k)) for k in keys] for p in perf]
    return make_table(
        counter,
        "Performance of the network per data set",
        ["Data set"] + [metric_label(k) for k in keys],
        rows,
        align="l" + "r" * len(keys),
    )


def _target_balance(summary: Mapping[str, Any] | None) -> str:
    if not summary:
        return DASH
    kind = summary.get("kind")
    if kind == "binary":
        counts = summary.get("counts") or {}
        total = sum(int(v) for v in counts.values())
        pos = counts.get("1", counts.get(1))
        extra = f" ({fmt_int(pos)} of {fmt_int(total)})" if pos is not None and total else ""
        return f"{fmt_share(summary.get('positive_share'))} positive{extra}"
    if kind == "regression":
        return (
            f"mean {fmt_num(summary.get('mean'))}, std {fmt_num(summary.get('std'))}, "
            f"range {fmt_num(summary.get('min'))} to {fmt_num(summary.get('max'))}"
        )
    counts = summary.get("counts") or {}
    total = sum(int(v) for v in counts.values())
    if total:
        return ", ".join(f"{k}: {fmt_share(int(v) / total)}" for k, v in counts.items())
    return DASH


def _performance_fact(results: Mapping[str, Any]) -> str:
    perf = {str(p["dataset"]): p["metrics"] for p in results["performance"]}
    key = {"binary": "auc", "multiclass": "accuracy"}.get(str(results["model"]["task"]), "rmse")
    label = metric_label(key)
    train, test = perf.get("train"), perf.get("test")
    if test is None:
        text = "no test data was supplied"
        if train is not None:
            text += f"; train {label} {fmt_metric(train.get(key))}"
        return text + "."
    text = f"Test {label} {fmt_metric(test.get(key))}"
    if train is not None:
        text += f" (train {fmt_metric(train.get(key))})"
    if key == "rmse" and "r2" in test:
        text += f"; test R² {fmt_metric(test['r2'])}"
    return text + "."


# ---------------------------------------------------------------------------
# sections, in document order


_SECTIONS = (
    ("summary", "1", "Executive summary"),
    ("scope", "2", "Scope and use"),
    ("model-data", "3", "Model and data"),
    ("soundness", "4", "Conceptual soundness: the network opened up"),
    ("outcomes", "5", "Outcomes analysis"),
    ("simplification", "6", "Simplification"),
    ("findings", "7", "Findings and waivers"),
    ("app-policy", "A", "Policy results"),
    ("app-repro", "B", "Reproducibility"),
    ("app-methods", "C", "Methods"),
)
_SOUNDNESS_SUBSECTIONS = (
    ("census", "4.1", "Region census"),
    ("llm-table", "4.2", "Local linear models of the largest regions"),
    ("importance", "4.3", "Feature importance"),
    ("profiles", "4.4", "Local linear profiles"),
    ("coefficients", "4.5", "Coefficient distributions across samples"),
    ("sign", "4.6", "Sign and monotonicity"),
    ("clusters", "4.7", "Cluster feature importance"),
    ("insens", "4.8", "Insens and switched linear projections"),
)


def _outline(
    extra_pending: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Section and subsection headings, and the table of contents."""
    sec = {
        key: {
            "id": f"sec-{key}",
            "number": num,
            "title": title,
            "heading": f"Appendix {num}. {title}" if num.isalpha() else f"{num} {title}",
        }
        for key, num, title in _SECTIONS
    }
    subs = list(_SOUNDNESS_SUBSECTIONS)
    for i, entry in enumerate(extra_pending):
        subs.append(
            (f"pending-{i + 1}", f"4.{len(_SOUNDNESS_SUBSECTIONS) + 1 + i}", entry["title"])
        )
    sub = {
        key: {"id": f"sec-{key}", "number": num, "title": title, "heading": f"{num} {title}"}
        for key, num, title in subs
    }
    toc = []
    for key, _num, _title in _SECTIONS:
        entry = dict(sec[key])
        entry["children"] = [sub[k] for k, _, _ in subs] if key == "soundness" else []
        toc.append(entry)
    return sec, sub, toc


def _control(results: Mapping[str, Any], outcome: Mapping[str, Any]) -> dict[str, Any]:
    run, inputs, model, policy = (results[k] for k in ("run", "inputs", "model", "policy"))
    task = _TASK_WORDS.get(str(model["task"]), str(model["task"]))
    review = _review.review_context(results)
    return {
        "title": "Model validation report",
        "subtitle": "ReLU network opened exactly: activation regions and local linear models",
        "facts": [
            ("Report id", review["report_id"]),
            *review["facts"],
            ("Model file", str(inputs["model"]["file"])),
            ("Model SHA-256", short_hash(inputs["model"]["sha256"])),
            ("Model format", str(inputs["model"].get("format") or DASH)),
            ("Task", f"{task}, output link {model['output_link']}"),
            ("Policy", f"{policy['id']} version {policy['version']}"),
            ("Policy file", f"{policy['file']} (SHA-256 {short_hash(policy['sha256'])})"),
            ("Policy owner", str(policy.get("owner") or DASH)),
            ("Run time", str(run["run_time"])),
            ("Generated by", f"{results['generator']['name']} {results['generator']['version']}"),
        ],
        "report_id": review["report_id"],
        "model_file": review["model_label"],
        "outcome": outcome,
        "signoff_roles": ["Validator", "Reviewer", "Approver"],
        "signoff": review["signoff"],
        "signoff_note": review["signoff_note"],
        "decisions": "fit / fit with conditions / not fit",
    }


def _findings_by_severity(num: Numbering, policy: Mapping[str, Any]) -> dict[str, Any]:
    checks = list(policy["checks"])
    levels = [str(level) for level in policy["severity_levels"]]
    gate = str(policy["gate"])
    gate_index = levels.index(gate) if gate in levels else len(levels)

    def count(status: str, key: str, level: str) -> int:
        return sum(1 for c in checks if _check_status(c) == status and c.get(key) == level)

    rows = []
    for idx in range(len(levels) - 1, -1, -1):
        level = levels[idx]
        rows.append(
            [
                level + (" (gate)" if idx == gate_index else ""),
                "yes" if idx >= gate_index else "no",
                fmt_int(count("fail", "effective_severity", level)),
                fmt_int(count("waived", "severity", level)),
            ]
        )
    return make_table(
        num.tables,
        "Failed checks by severity",
        ["Severity", "Blocks approval", "Failed", "Failed but waived"],
        rows,
        align="lcrr",
        css="narrow",
        note="Failed checks count at their effective severity; waived failures at their "
        "severity before the waiver.",
    )


def _not_evaluated_sentence(policy: Mapping[str, Any]) -> str:
    ids = [str(c["id"]) for c in policy["checks"] if _check_status(c) == "not_evaluated"]
    if not ids:
        return "Every check of the policy was evaluated."
    verb = "was" if len(ids) == 1 else "were"
    return (
        f"{_checks_word(ids)} {verb} not evaluated because this run did not produce the metric: "
        f"{', '.join(ids)}. A check that is not evaluated never blocks approval, but it is "
        "evidence missing from this review."
    )


def _waiver_state(check: Mapping[str, Any], run_date: _dt.date | None) -> dict[str, str]:
    waiver = check["waiver"]
    expires = _parse_date(waiver.get("expires"))
    if waiver.get("expired") or (expires and run_date and expires < run_date):
        return badge("expired", "fail")
    if expires is not None and run_date is not None:
        days = (expires - run_date).days
        if days <= EXPIRY_WARNING_DAYS:
            return badge(f"expires in {days} day{'' if days == 1 else 's'}", "waived")
    if check["status"] != "fail":
        return badge("not needed: check passed", "pass")
    if _check_status(check) != "waived":
        return badge("not applied", "fail")
    return badge("in force", "pass")


def _waivers_table(
    num: Numbering, policy: Mapping[str, Any], run_date: _dt.date | None
) -> dict[str, Any] | None:
    rows = []
    for c in policy["checks"]:
        w = c.get("waiver")
        if not w:
            continue
        by = w.get("approved_by") or {}
        approver = [str(x) for x in (by.get("name"), by.get("role"), by.get("date")) if x]
        severities = (
            f"{severity_label(c.get('severity'))} → {severity_label(c.get('effective_severity'))}"
        )
        rows.append(
            [
                str(c["id"]),
                severities,
                str(w.get("expires") or DASH),
                _waiver_state(c, run_date),
                ", ".join(approver) or DASH,
                str(w.get("justification") or DASH),
            ]
        )
    if not rows:
        return None
    return make_table(
        num.tables,
        "Waivers",
        ["Check", "Severity → capped", "Expires", "State", "Approved by", "Justification"],
        rows,
        align="lllcll",
        css="waivers",
        note=f"Expiry is judged against the policy run date, {run_date or DASH}; a waiver "
        f"expiring within {EXPIRY_WARNING_DAYS} days is flagged. An expired waiver no longer "
        "caps its check.",
    )


def _summary(
    results: Mapping[str, Any],
    num: Numbering,
    outcome: Mapping[str, Any],
    simplification: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    policy, model = results["policy"], results["model"]
    census = results["regions"]["train"]["census"]
    run_date = _parse_date(policy.get("run_date")) or _parse_date(results["run"].get("run_time"))
    outputs = results["importance"]["outputs"]
    by_scaled = sorted(outputs[0]["features"], key=lambda f: -f["scaled_pct"]) if outputs else []
    top = by_scaled[:3]
    if top:
        drivers = ", ".join(f"{f['name']} ({fmt_pct(f['scaled_pct'])})" for f in top)
        drivers += (
            " of scale-aware importance (coefficient × feature standard deviation); "
            "raw coefficients depend on each feature's unit (section 4.3 shows both)."
        )
    else:
        drivers = "This results file holds no feature importance."
    scale = "output" if model["output_link"] == "identity" else "logit"
    exactness = (
        f"The local linear models reproduce the network to {fmt_sci(census['max_abs_error'])} "
        f"(largest absolute difference of the {scale} over {fmt_int(census['samples'])} "
        "training samples)."
    )
    return {
        "result_sentence": outcome["sentence"],
        "findings_table": _findings_by_severity(num, policy),
        "not_evaluated": _not_evaluated_sentence(policy),
        "waivers_table": _waivers_table(num, policy, run_date),
        "key_facts": [
            ("Regions", _regime_sentence(census)),
            ("Exactness", exactness),
            ("Top drivers", drivers),
            ("Performance", _performance_fact(results)),
            ("Simplification", str(simplification[0]["text"])),
        ],
    }


def _scope(results: Mapping[str, Any], num: Numbering) -> dict[str, Any]:
    files = _by_name(results["inputs"]["datasets"])
    roles = {
        "train": "training data: regions, local models, importance, profiles",
        "test": "held-out data: outcomes analysis, region exposure",
    }
    rows = []
    for d in results["datasets"]:
        name = str(d["name"])
        file = str(files[name]["file"]) if name in files else DASH
        rows.append(
            [
                name,
                file,
                fmt_int(d["rows"]),
                roles.get(name, "additional data"),
                _review.data_window(results, name),
            ]
        )
    trace_head, trace, trace_align = _review.traceability(
        list(results["policy"]["checks"]), _check_dataset
    )
    review = _review.review_context(results)
    return {
        "intended_use": review["intended_use"],
        "datasets_table": make_table(
            num.tables,
            "Data sets used in this review",
            ["Data set", "File", "Rows", "Used for", "Window"],
            rows,
            align="llrll",
            note=review["windows_note"],
        ),
        "trace_table": make_table(
            num.tables,
            "Traceability: policy checks and the requirements they evidence",
            trace_head,
            trace,
            align=trace_align,
            css="trace",
            note="Clauses as cited in each check's refs in the policy file; — marks a "
            "framework the check does not cite.",
        ),
    }


def _model_data(results: Mapping[str, Any], num: Numbering) -> dict[str, Any]:
    model, inputs = results["model"], results["inputs"]
    task = _TASK_WORDS.get(str(model["task"]), str(model["task"]))
    outputs = ", ".join(str(o) for o in model["output_names"])
    model_file = inputs["model"]
    facts = [
        ("Task", f"{task}; output link {model['output_link']}; outputs: {outputs}"),
        ("Inputs", f"{fmt_int(model['input_dim'])} features"),
        ("Hidden widths", ", ".join(fmt_int(w) for w in model["hidden_widths"]) or DASH),
        ("Parameters", fmt_int(model["parameter_count"])),
        ("Activation check", str(model["activation_check"])),
        (
            "File",
            f"{model_file['file']} ({fmt_bytes(model_file.get('bytes'))}, "
            f"format {model_file.get('format') or DASH})",
        ),
        ("SHA-256", str(model_file["sha256"])),
        (
            "Conversion error",
            f"{fmt_sci(model['conversion_max_abs_error'])} (largest absolute difference "
            "between govreport's canonical network and the source model on the training "
            "rows, float64)",
        ),
    ]
    arch_rows = [
        [
            fmt_int(layer["index"]),
            str(layer["kind"]),
            str(layer.get("detail") or DASH),
            str(layer.get("treatment") or DASH),
        ]
        for layer in model["source_layers"]
    ]
    files = _by_name(inputs["datasets"])
    data_rows = []
    for d in results["datasets"]:
        digest = files[str(d["name"])].get("sha256") if str(d["name"]) in files else None
        data_rows.append(
            [
                str(d["name"]),
                short_hash(digest),
                fmt_int(d["rows"]),
                fmt_int(d["features"]),
                str(d.get("target") or DASH),
                _target_balance(d.get("target_summary")),
                fmt_int(d["missing_values"]),
            ]
        )
    arch_table = make_table(
        num.tables,
        "Architecture as read from the model file",
        ["Layer", "Kind", "Detail", "Treatment by govreport"],
        arch_rows,
        align="rlll",
    )
    data_table = make_table(
        num.tables,
        "Data sets",
        ["Data set", "SHA-256", "Rows", "Features", "Target", "Target balance", "Missing values"],
        data_rows,
        align="lmrrlrr",
        note="Full SHA-256 digests are in Appendix B.",
    )
    feature_tables = []
    for d in results["datasets"]:
        stats = d.get("feature_stats") or []
        if not stats:
            continue
        rows = [
            [
                str(s["name"]),
                fmt_num(s["mean"]),
                fmt_num(s["std"]),
                fmt_num(s["min"]),
                fmt_num(s["max"]),
            ]
            for s in stats
        ]
        feature_tables.append(
            make_table(
                num.tables,
                f"Feature statistics, {d['name']} data",
                ["Feature", "Mean", "Std", "Min", "Max"],
                rows,
                align="lrrrr",
            )
        )
    return {
        "facts": facts,
        "arch_table": arch_table,
        "data_table": data_table,
        "feature_tables": feature_tables,
        "performance_table": _performance_table(num.tables, results),
    }


def _census_section(results: Mapping[str, Any], num: Numbering) -> dict[str, Any]:
    train = results["regions"]["train"]
    census = train["census"]
    test = results["regions"].get("test") or None
    figure = None
    curve = census.get("coverage_curve") or {}
    if curve.get("k"):
        caption = (
            "Coverage curve: share of training samples held by the k largest regions, k on a "
            f"log scale from 1 to all {fmt_int(census['regions'])} regions "
            f"({fmt_int(len(curve['k']))} stored points)."
        )
        if test and (test["census"].get("coverage_curve") or {}).get("k"):
            caption += (
                " Dashed: the same curve for the test data "
                f"({fmt_int(test['census']['regions'])} regions), regions ranked on the test "
                "data itself."
            )
        if census.get("regions_with_min_samples"):
            caption += (
                f" Dotted vertical line: the {fmt_int(census['regions_with_min_samples'])} "
                f"regions holding at least {fmt_int(census['min_samples'])} samples."
            )
        figure = num.figure("coverage", caption, "Coverage curve of the activation regions")
    regime = _regime_sentence(census)
    ten = _top_share(census, 10)
    if ten is not None:
        regime += (
            f" The 10 largest regions hold {fmt_share(ten)} of the training samples; "
            f"{fmt_share(census['samples_in_singletons_share'])} of the samples sit alone in a "
            "region of their own."
        )
    table = make_table(
        num.tables,
        "Region census, training data",
        ["Quantity", "Value"],
        _census_rows(census),
        align="lr",
        css="narrow",
    )
    return {
        "table": table,
        "regime": regime,
        "figure": figure,
        "neurons_table": _neuron_table(
            num.tables, train["neurons"], test["neurons"] if test else None
        ),
    }


def _importance_section(results: Mapping[str, Any], num: Numbering) -> dict[str, Any]:
    imp = results["importance"]
    outputs = imp["outputs"]
    if not outputs:
        return {
            "tables": [],
            "figure": None,
            "absent": [
                {
                    "title": "Feature importance",
                    "issue": "",
                    "text": "This results file holds no feature importance.",
                }
            ],
        }
    feats = outputs[0]["features"]
    n_bars = min(len(feats), IMPORTANCE_FIGURE_BARS)
    shown = (
        f"all {fmt_int(n_bars)} features"
        if n_bars == len(feats)
        else f"the {fmt_int(n_bars)} features with the largest raw importance of "
        f"{fmt_int(len(feats))}"
    )
    figure = num.figure(
        "importance",
        f"Feature importance for output {outputs[0]['output']}: {shown}, sorted by raw "
        "importance. Solid bars: raw importance (sample-weighted squared local slopes); "
        "hatched bars: scaled importance (slopes multiplied by the feature's standard "
        "deviation). Each set sums to 100% over all features.",
        "Horizontal bar chart of feature importance",
    )
    return {"tables": _importance_tables(num.tables, imp), "figure": figure, "absent": []}


def _slope_sentence(profile: Mapping[str, Any]) -> str:
    slopes = [float(r["slope"]) for r in profile["regions"] if not is_missing(r.get("slope"))]
    if not slopes:
        return ""
    pos = sum(1 for s in slopes if s > 0)
    neg = sum(1 for s in slopes if s < 0)
    return (
        f"Of the {fmt_int(len(slopes))} regions drawn, {have(pos)} a positive and {have(neg)} "
        f"a negative slope for {profile['feature']} (slopes from {fmt_num(min(slopes))} to "
        f"{fmt_num(max(slopes))})."
    )


def _profiles_section(results: Mapping[str, Any], num: Numbering) -> dict[str, Any]:
    profiles = []
    for i, p in enumerate(results["profiles"]):
        feature = str(p["feature"])
        rug = any(not r.get("density") and r.get("x_min") is not None for r in p["regions"])
        lower = "Lower panel: distribution of the feature within each region (kernel density"
        if rug:
            lower += "; rug ticks at the distinct values of regions with too few for a density"
        caption = (
            f"Local linear profile of {feature} (importance {fmt_pct(p['importance_pct'])} "
            f"raw, {fmt_pct(p['scaled_importance_pct'])} scale-aware). Upper panel: the "
            f"effect w·(x − x̄) of {feature} "
            f"inside each of the {fmt_int(p['regions_drawn'])} largest of "
            f"{fmt_int(p['regions_total'])} regions, one segment per region over the range "
            "the region covers, centred on the region's mean; the slope of a segment is the "
            f"region's local coefficient. {lower}). Colours, line styles and markers identify "
            "regions (R1 = largest)." + _review.withheld_sentence(results, p)
        )
        figure = num.figure(f"profile-{i + 1}", caption, f"Local linear profile of {feature}")
        profiles.append({"feature": feature, "figure": figure, "signs": _slope_sentence(p)})
    absent = (
        []
        if profiles
        else [
            {
                "title": "Local linear profiles",
                "issue": "",
                "text": "This results file holds no local linear profiles.",
            }
        ]
    )
    return {"figures": profiles, "absent": absent}


def _soundness(
    results: Mapping[str, Any],
    num: Numbering,
    pending: Mapping[str, list[dict[str, Any]]],
    sub: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    census = _census_section(results, num)
    llm_table = _summary_table(
        num.tables,
        results["regions"]["train"]["summary_table"],
        "training",
        "Local linear model summary, largest training regions",
    )
    llm_extras = _aletheia.llm_extras(results, num)
    importance = _importance_section(results, num)
    profiles = _profiles_section(results, num)
    coefficients = _aletheia.coefficients_section(results, num)
    sign = _sign.sign_section(results, num)  # 4.6: numbered after 4.5, before 4.7
    # 4.7 (its tables and figure are numbered after those of 4.5 and 4.6).
    clusters = _clusters.clusters_section(
        results, num, _pending_or_default(pending, "clusters", sub["clusters"]["title"], "")
    )  # an empty default: clusters_section supplies the "holds no ..." sentence
    insens = _insens.insens_section(  # 4.8, numbered after 4.7
        results,
        num,
        _pending_or_default(
            pending, "insens", sub["insens"]["title"], "This results file holds no Insens results."
        ),
    )
    defaults = {
        "coefficients": "This results file holds no coefficient distributions.",
        "sign": "This results file holds no sign or monotonicity results.",
        "clusters": "This results file holds no cluster feature importance.",
        "insens": "This results file holds no Insens results.",
    }
    return {
        "census": census,
        "llm_table": llm_table,
        "llm_extras": llm_extras,
        "importance": importance,
        "profiles": profiles,
        "coefficients": coefficients,
        "sign": sign,
        "clusters": clusters,
        "insens": insens,
        "pending": {
            slot: _pending_or_default(pending, slot, sub[slot]["title"], text)
            for slot, text in defaults.items()
        },
        "extra": [
            {"sub": sub[f"pending-{i + 1}"], "entries": [entry]}
            for i, entry in enumerate(pending.get("other", []))
        ],
    }


def _outcomes(
    results: Mapping[str, Any], num: Numbering, pending: Mapping[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    test = results["regions"].get("test") or None
    out: dict[str, Any] = {
        "has_test": test is not None,
        "no_test": "No test data was supplied: the outcomes analysis rests on the training data "
        "alone, and neither holdout performance nor region exposure can be assessed.",
        "performance_table": _performance_table(num.tables, results),
        "pending": pending.get("outcomes", []),
        "exposure": None,
    }
    if test is None:
        return out
    census = test["census"]
    train_rows = dict(_census_rows(results["regions"]["train"]["census"]))
    rows = [[label, train_rows.get(label, DASH), value] for label, value in _census_rows(census)]
    unseen = test.get("unseen_share")
    out["unseen_sentence"] = (
        f"{fmt_share(unseen)} of the {fmt_int(census['samples'])} test samples fall in "
        "activation regions that never occur in the training data. For those samples the "
        "network applies a local linear model that no training sample supports: its behaviour "
        "there is an extrapolation of the fit, not an interpolation."
    )
    out["census_table"] = make_table(
        num.tables,
        "Region census, training versus test data",
        ["Quantity", "Train", "Test"],
        rows,
        align="lrr",
    )
    out["test_llm_table"] = _summary_table(
        num.tables,
        test["summary_table"],
        "test",
        "Local linear model summary, largest test regions",
    )
    out["exposure"] = _aletheia.exposure_section(results, num)
    return out


def _findings(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    policy = results["policy"]
    findings = []
    for c in policy["checks"]:
        waiver = c.get("waiver")
        expired = bool(waiver) and bool(waiver.get("expired"))
        if _check_status(c) == "pass" and not expired:
            continue
        observed = c.get("observed")
        effective = severity_label(c.get("effective_severity"))
        if c.get("gating"):
            effective += " (blocks approval: at or above the gate)"
        metric = str(c["metric"]) + (f" on {c['dataset']} data" if c.get("dataset") else "")
        findings.append(
            {
                "id": str(c["id"]),
                "badge": _check_badge(c),
                "description": str(c.get("description") or DASH),
                "facts": [
                    ("Metric", metric),
                    (
                        "Observed",
                        "not produced by this run" if is_missing(observed) else fmt_num(observed),
                    ),
                    ("Bound", fmt_bound(c.get("bound"))),
                    ("Severity", severity_label(c.get("severity"))),
                    ("Effective severity", effective),
                    ("Message", str(c.get("message") or DASH)),
                    ("Evidences", "; ".join(str(r) for r in c.get("refs") or []) or DASH),
                    ("Owner", str(policy.get("owner") or DASH)),
                ],
                "waiver": None
                if not waiver
                else {
                    "justification": str(waiver.get("justification") or DASH),
                    "detail": _waiver_text(waiver),
                    "expired": expired,
                },
            }
        )
    return findings


def _appendix_a(
    results: Mapping[str, Any], num: Numbering, outcome: Mapping[str, Any]
) -> dict[str, Any]:
    policy = results["policy"]
    rows = [
        [
            str(c["id"]),
            str(c["metric"]),
            _check_dataset(c),
            fmt_num(c.get("observed")),
            fmt_bound(c.get("bound")),
            severity_label(c.get("severity")),
            severity_label(c.get("effective_severity")),
            _check_badge(c),
            _waiver_text(c.get("waiver")),
        ]
        for c in policy["checks"]
    ]
    facts = [
        (
            "Policy",
            f"{policy['id']} version {policy['version']}, effective "
            f"{policy.get('effective') or DASH}",
        ),
        ("Owner", str(policy.get("owner") or DASH)),
        ("File", str(policy["file"])),
        ("SHA-256", str(policy["sha256"])),
        ("Severity levels", " < ".join(str(x) for x in policy["severity_levels"])),
        ("Gate", outcome["gate"]),
        ("Evaluated on", str(policy.get("run_date") or DASH)),
        ("Outcome", f"{outcome['badge']['text']} ({outcome['counts']})"),
    ]
    table = make_table(
        num.tables,
        "Every policy check",
        [
            "Check",
            "Metric",
            "Data set",
            "Observed",
            "Bound",
            "Severity",
            "Effective",
            "Status",
            "Waiver",
        ],
        rows,
        align="lllrlllll",
        css="policy",
    )
    return {"policy_facts": facts, "table": table}


def _hash_row(label: str, entry: Mapping[str, Any] | None) -> list[str]:
    if not entry:
        return [label, "none supplied", DASH, DASH]
    return [label, str(entry["file"]), fmt_bytes(entry.get("bytes")), str(entry["sha256"])]


def _appendix_b(results: Mapping[str, Any], num: Numbering) -> dict[str, Any]:
    run, inputs = results["run"], results["inputs"]
    hash_rows = [
        _hash_row("model", inputs["model"]),
        _hash_row("spec", inputs.get("spec")),
        _hash_row("policy", inputs["policy"]),
    ]
    hash_rows += [_hash_row(f"data: {d['name']}", d) for d in inputs["datasets"]]
    env = run.get("environment") or {}
    packages = env.get("packages") or {}
    options = run.get("options") or {}
    option_rows = [
        [str(k), str(v) if isinstance(v, bool | str) else fmt_num(v)]
        for k, v in sorted(options.items())
    ]
    return {
        "command": str(run["command"]),
        "facts": [
            ("Report id", _review.display_report_id(results)),
            *_review.review_repro_facts(results),
            ("Run time", str(run["run_time"])),
            ("Generator", f"{results['generator']['name']} {results['generator']['version']}"),
            ("Results schema", f"version {results['schema_version']}"),
            ("Seed", str(run.get("seed", DASH))),
            ("Python", str(env.get("python") or DASH)),
            ("Platform", str(env.get("platform") or DASH)),
        ],
        "hash_table": make_table(
            num.tables,
            "Inputs and their SHA-256 digests",
            ["Input", "File", "Size", "SHA-256"],
            hash_rows,
            align="llrm",
            css="hashes",
        ),
        "packages_table": make_table(
            num.tables,
            "Package versions",
            ["Package", "Version"],
            [[str(k), str(packages[k])] for k in sorted(packages)],
            align="ll",
            css="narrow",
        ),
        "options_table": make_table(
            num.tables, "Run options", ["Option", "Value"], option_rows, align="lr", css="narrow"
        ),
    }


def _methods(results: Mapping[str, Any]) -> dict[str, str]:
    """Values the methods text (Appendix C) quotes."""
    options = results["run"].get("options") or {}
    census = results["regions"]["train"]["census"]

    def option(key: str) -> str:
        return fmt_int(options[key]) if key in options else DASH

    return {
        "min_samples": fmt_int(options.get("min_samples", census["min_samples"])),
        "profile_regions": option("profile_regions"),
        "top_regions": option("top_regions"),
    }


# ---------------------------------------------------------------------------
# main entry


def build_context(results: Mapping[str, Any]) -> dict[str, Any]:
    """Format the ``results`` dict for the templates.

    Returns a dict of strings, lists and small dicts only; every number the
    report prints is already a string here. Tables and figures are numbered in
    document order. Raises :class:`ResultsError` when a key the contract
    requires is missing.
    """
    _require(results)
    num = Numbering()
    run, policy = results["run"], results["policy"]
    model_file = str(results["inputs"]["model"]["file"])
    pending = _pending(results)
    sec, sub, toc = _outline(pending.get("other", []))
    outcome = _outcome(results)
    simplification = _pending_or_default(
        pending,
        "simplification",
        "Simplification",
        "This results file holds no simplification results.",
    )
    # Built in document order: the numbering of tables and figures follows it.
    summary = _summary(
        results, num, outcome, _simplification.summary_entries(results, simplification)
    )
    scope = _scope(results, num)
    model_data = _model_data(results, num)
    soundness = _soundness(results, num, pending, sub)
    outcomes = _outcomes(results, num, pending)
    simplification_ctx = _simplification.simplification_section(results, num, simplification)
    findings = _findings(results)
    appendix_a = _appendix_a(results, num, outcome)
    appendix_b = _appendix_b(results, num)
    generator = f"{results['generator']['name']} {results['generator']['version']}"
    return {
        "meta": {
            "title": f"Model validation report {_review.display_report_id(results)}: "
            f"{_review.model_label(results)}",
            "report_id": _review.display_report_id(results),
            "model_file": model_file,
            "created": str(run["run_time"]),
            "generator": generator,
            "description": f"Validation report for {model_file} under policy {policy['id']} "
            f"{policy['version']}",
        },
        "sections": sec,
        "subsections": sub,
        "toc": toc,
        "control": _control(results, outcome),
        "summary": summary,
        "scope": scope,
        "model_data": model_data,
        "soundness": soundness,
        "outcomes": outcomes,
        "simplification": simplification_ctx,
        "findings": findings,
        "findings_none": "No check failed, was waived or could not be evaluated.",
        "appendix_a": appendix_a,
        "appendix_b": appendix_b,
        "methods": _methods(results),
        "figures": num.figure_list,
    }
