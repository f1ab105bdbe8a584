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

Pending analyses (``results["pending"]``) are placed by their ``section`` key:
``monotonicity`` / ``sign`` / ``slopes`` -> 4.5, ``clusters`` -> 4.6,
``insens`` / ``projections`` -> 4.7, ``simplification`` / ``merging`` -> 6,
``outcomes`` / ``weak_regions`` -> 5; any other key becomes an extra
subsection of 4 with the entry's own title.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from govreport.errors import InputError

__all__ = ["ResultsError", "build_context"]

SCHEMA_VERSION = 1
DASH = "—"
#: Waivers that expire within this many days of the run date are flagged "expiring soon".
EXPIRY_WARNING_DAYS = 90
#: Largest number of rows printed in the feature-importance table (the rest stay in results.json).
IMPORTANCE_TABLE_ROWS = 30
#: Bars drawn in the feature-importance figure (plots.py uses the same constant).
IMPORTANCE_FIGURE_BARS = 15

_REQUIRED_KEYS = (
    "schema_version", "generator", "run", "inputs", "model", "features", "datasets",
    "performance", "regions", "importance", "profiles", "policy", "pending",
)

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

_METRIC_LABELS = {
    "auc": "AUC", "accuracy": "Accuracy", "log_loss": "Log loss", "rmse": "RMSE",
    "r2": "R²", "mae": "MAE", "mse": "MSE",
}
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

# Pending-entry section keys -> fixed outline slot.
_PENDING_SLOTS = {
    "monotonicity": "sign", "sign": "sign", "slopes": "sign", "sign_monotonicity": "sign",
    "clusters": "clusters", "cluster_importance": "clusters", "cluster": "clusters",
    "insens": "insens", "projections": "insens", "switched_projections": "insens",
    "simplification": "simplification", "merging": "simplification",
    "outcomes": "outcomes", "weak_regions": "outcomes",
}


class ResultsError(InputError):
    """The results dict does not follow the results.json contract (schema 1)."""


# ---------------------------------------------------------------------------
# number formatting


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_int(value: Any) -> str:
    """``23873`` -> ``"23,873"``; ``None`` -> ``"—"``."""
    if _is_missing(value):
        return DASH
    return f"{int(value):,}"


def fmt_sci(value: Any, digits: int = 2) -> str:
    """Scientific notation with real superscripts: ``2.2e-15`` -> ``"2.2 × 10⁻¹⁵"``.

    Values between 1e-3 and 1e4 in magnitude print plainly (``fmt_num``).
    """
    if _is_missing(value):
        return DASH
    v = float(value)
    if v == 0.0:
        return "0"
    if 1e-3 <= abs(v) < 1e4:
        return fmt_num(v)
    mantissa, exponent = f"{v:.{digits - 1}e}".split("e")
    exp = str(int(exponent)).translate(_SUPERSCRIPT)
    if mantissa.rstrip("0").rstrip(".") in ("1", "-1"):
        sign = "-" if v < 0 else ""
        return f"{sign}10{exp}"
    return f"{mantissa} × 10{exp}"


def fmt_num(value: Any) -> str:
    """General number: integers with thousands separators, else 4 significant digits.

    Very small or very large magnitudes switch to :func:`fmt_sci`.
    """
    if _is_missing(value):
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    v = float(value)
    if v == 0.0:
        return "0"
    if abs(v) < 1e-3 or abs(v) >= 1e9:
        return fmt_sci(v)
    if v.is_integer():
        return f"{int(v):,}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    text = f"{v:.4g}"
    return text if "e" not in text else fmt_sci(v)


def fmt_metric(value: Any, digits: int = 3) -> str:
    """A performance metric with a fixed number of decimals: ``0.78123`` -> ``"0.781"``."""
    if _is_missing(value):
        return DASH
    return f"{float(value):.{digits}f}"


def fmt_share(value: Any) -> str:
    """A share in [0, 1] as a percentage: ``0.9965`` -> ``"99.7%"``, ``4e-5`` -> ``"0.004%"``.

    Values that would round to 0% or 100% without being exactly that keep
    enough digits to show they are not.
    """
    if _is_missing(value):
        return DASH
    p = float(value) * 100.0
    if p == 0.0:
        return "0%"
    if p == 100.0:
        return "100%"
    if 0 < abs(p) < 0.1:
        return f"{p:.2g}%"
    if 99.9 < p < 100.0:
        text = f"{p:.2f}"
        return "> 99.99%" if text == "100.00" else f"{text}%"
    return f"{p:.1f}%"


def fmt_pct(value: Any) -> str:
    """A value already in percent: ``31.2`` -> ``"31.2%"``."""
    if _is_missing(value):
        return DASH
    return f"{float(value):.1f}%"


def fmt_bool(value: Any) -> str:
    if _is_missing(value):
        return DASH
    return "yes" if value else "no"


def short_hash(value: Any, length: int = 12) -> str:
    if _is_missing(value) or not value:
        return DASH
    text = str(value)
    return text if len(text) <= length else f"{text[:length]}…"


def fmt_bytes(value: Any) -> str:
    if _is_missing(value):
        return DASH
    n = float(value)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{int(n):,} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def fmt_bound(text: Any) -> str:
    """Policy bound text with typographic comparison signs: ``<= 1e-06`` -> ``≤ 1e-06``."""
    if _is_missing(text) or text == "":
        return DASH
    return str(text).replace("<=", "≤").replace(">=", "≥").replace("!=", "≠")


def metric_label(key: str) -> str:
    return _METRIC_LABELS.get(key, key.replace("_", " "))


def _severity_label(value: Any) -> str:
    return DASH if _is_missing(value) else str(value)


# ---------------------------------------------------------------------------
# numbering


class _Counter:
    """Numbers tables and figures in document order."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.n = 0

    def next(self) -> tuple[int, str]:
        self.n += 1
        return self.n, f"{self.prefix} {self.n}"


def _table(
    counter: _Counter,
    title: str,
    head: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    align: str,
    note: str = "",
    css: str = "",
    anchor: str = "",
) -> dict[str, Any]:
    """A numbered table. ``align`` is one letter per column: l(eft), r(ight), c(entre), m(ono)."""
    if len(align) != len(head):
        raise ValueError(f"align {align!r} does not match {len(head)} columns of table {title!r}")
    number, label = counter.next()
    body = [list(r) for r in rows]
    for r in body:
        if len(r) != len(head):
            raise ValueError(f"row {r!r} does not have the {len(head)} columns of table {title!r}")
    return {
        "number": number, "label": label, "title": title, "head": list(head),
        "rows": body, "align": list(align), "note": note, "css": css,
        "anchor": anchor or f"table-{number}",
    }


def _badge(text: str, kind: str) -> dict[str, str]:
    """A status cell: the template prints ``text`` inside a ``badge badge-<kind>`` span."""
    return {"text": text, "badge": kind}


# ---------------------------------------------------------------------------
# helpers on the results dict


def _require(results: Mapping[str, Any]) -> None:
    if not isinstance(results, Mapping):
        raise ResultsError(f"results must be a mapping (results.json object), got {type(results).__name__}")
    missing = [k for k in _REQUIRED_KEYS if k not in results]
    if missing:
        raise ResultsError(
            "results is missing required key(s) " + ", ".join(repr(k) for k in missing)
            + f" (results.json schema {SCHEMA_VERSION})"
        )
    if results["schema_version"] != SCHEMA_VERSION:
        raise ResultsError(
            f"results schema_version {results['schema_version']!r} is not supported; "
            f"this renderer reads schema {SCHEMA_VERSION}"
        )


def _by_name(items: Iterable[Mapping[str, Any]], key: str = "name") -> dict[str, Mapping[str, Any]]:
    return {str(item[key]): item for item in items}


def _dataset_names(results: Mapping[str, Any]) -> list[str]:
    return [str(d["name"]) for d in results["datasets"]]


def _test_name(results: Mapping[str, Any]) -> str | None:
    """The held-out data set: ``test`` when region results exist for it."""
    return "test" if results["regions"].get("test") else None


def _pending(results: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    slots: dict[str, list[dict[str, Any]]] = {}
    for entry in results["pending"]:
        slot = _PENDING_SLOTS.get(str(entry.get("section", "")), "other")
        issue = entry.get("issue")
        slots.setdefault(slot, []).append({
            "title": str(entry.get("title") or entry.get("section") or "Pending analysis"),
            "text": str(entry["text"]),
            "issue": f"tracked as issue #{issue}" if issue is not None else "",
        })
    return slots


def _pending_or_default(
    slots: Mapping[str, list[dict[str, Any]]], slot: str, title: str, default: str
) -> list[dict[str, Any]]:
    """The pending entries for ``slot``, or one default entry so nothing is silently absent."""
    if slots.get(slot):
        return list(slots[slot])
    return [{"title": title, "text": default, "issue": ""}]


def _parse_date(text: Any) -> _dt.date | None:
    if _is_missing(text):
        return None
    try:
        return _dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# sections


def _policy_checks(results: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(results["policy"]["checks"])


def _check_status(check: Mapping[str, Any]) -> str:
    """pass | fail | waived | not_evaluated (waived = failed with a waiver that caps it)."""
    status = str(check["status"])
    if status == "fail" and check.get("waiver"):
        return "waived"
    return status


def _check_badge(check: Mapping[str, Any]) -> dict[str, str]:
    status = _check_status(check)
    text, kind = _STATUS_BADGES.get(status, (status.replace("_", " "), "pending"))
    if check.get("gating"):
        text = f"{text} · gating"
    return _badge(text, kind)


def _check_dataset(check: Mapping[str, Any]) -> str:
    return str(check.get("dataset") or DASH)


def _waiver_text(waiver: Mapping[str, Any] | None) -> str:
    if not waiver:
        return DASH
    by = waiver.get("approved_by") or {}
    who = ", ".join(str(x) for x in (by.get("name"), by.get("role")) if x)
    parts = [f"cap {waiver.get('cap_severity', DASH)}"]
    if who:
        parts.append(f"approved by {who}" + (f" on {by['date']}" if by.get("date") else ""))
    if waiver.get("expires"):
        parts.append(("EXPIRED " if waiver.get("expired") else "expires ") + str(waiver["expires"]))
    return "; ".join(parts)


def _outcome(results: Mapping[str, Any]) -> dict[str, Any]:
    policy = results["policy"]
    text, kind = _OUTCOME_BADGES.get(str(policy["outcome"]), (str(policy["outcome"]).upper(), "pending"))
    counts = policy["counts"]
    parts = [f"{fmt_int(counts.get('passed', 0))} passed", f"{fmt_int(counts.get('failed', 0))} failed"]
    if counts.get("waived"):
        parts.append(f"{fmt_int(counts['waived'])} waived")
    parts.append(f"{fmt_int(counts.get('not_evaluated', 0))} not evaluated")
    gate_words = {
        "pass": "No check at or above the gate severity failed.",
        "pass_with_waivers": "Checks failed, but waivers cap every one of them below the gate "
        "severity; the waivers are listed in section 7.",
        "fail": "At least one check failed at or above the gate severity.",
    }
    return {
        "badge": _badge(text, kind),
        "counts": " · ".join(parts),
        "gate": f"fail on {policy['gate']} or above",
        "sentence": gate_words.get(str(policy["outcome"]), ""),
    }


def _regime_sentence(census: Mapping[str, Any]) -> str:
    n, r = census["samples"], census["regions"]
    head = f"{fmt_int(r)} regions for {fmt_int(n)} samples"
    regime = str(census.get("regime", ""))
    ratio = census.get("regions_per_sample")
    if _is_missing(ratio):
        ratio = r / n if n else 0.0
    per_region = n / r if r else 0.0
    if regime == "fragmented":
        if ratio >= 0.9:
            return f"{head}: nearly every sample has its own linear model (fragmented regime)."
        return (f"{head}: most regions hold one or two samples, so most local linear models rest "
                f"on very few observations (fragmented regime).")
    if regime == "coarse":
        return (f"{head}: the data falls into comparatively few regions, on average "
                f"{per_region:,.0f} samples each, so the network acts like a small set of linear "
                f"models (coarse regime).")
    if regime == "intermediate":
        return (f"{head}: on average {per_region:,.1f} samples per region; the largest regions "
                f"carry a useful share of the data but a long tail of small regions remains "
                f"(intermediate regime).")
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
        ("Singleton regions (one sample)",
         f"{fmt_int(census['singleton_regions'])} ({fmt_share(census['singleton_share'])} of regions)"),
        ("Samples alone in their region", fmt_share(census["samples_in_singletons_share"])),
        (f"Regions with ≥ {fmt_int(census['min_samples'])} samples",
         fmt_int(census["regions_with_min_samples"])),
        (f"Samples in regions with ≥ {fmt_int(census['min_samples'])} samples",
         fmt_share(census["min_samples_coverage"])),
        ("Constant regions (a layer entirely off)", fmt_int(census["constant_regions"])),
    ]
    for item in census.get("top_coverage") or []:
        k = int(item["k"])
        label = "Samples in the largest region" if k == 1 else f"Samples in the {k:,} largest regions"
        rows.append((label, fmt_share(item["share"])))
    rows.append(("Exactness: max |local linear model − network|", fmt_sci(census["max_abs_error"])))
    return rows


def _neuron_table(
    counter: _Counter, neurons: Sequence[Mapping[str, Any]], test: Sequence[Mapping[str, Any]] | None
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
        row = [fmt_int(n["layer"]), fmt_int(width), fmt_int(dead), fmt_int(on),
               fmt_int(width - dead - on)]
        if test is not None:
            t = test_by_layer.get(int(n["layer"]))
            row += [fmt_int(t["dead"]) if t else DASH, fmt_int(t["always_on"]) if t else DASH]
        rows.append(row)
    return _table(
        counter, "Dead and always-on neurons per hidden layer", head, rows, align=align,
        note="Dead: never active on the data set (the neuron contributes nothing). Always on: "
        "active on every sample (the neuron acts as a plain linear unit). Switching: neither; "
        "only these neurons create region boundaries within the data.",
    )


def _summary_table(
    counter: _Counter, summary: Mapping[str, Any], dataset: str, title: str
) -> dict[str, Any]:
    metric = str(summary["local_metric"])
    rows = []
    for r in summary["rows"]:
        rows.append([
            fmt_int(r["rank"]), fmt_int(r["count"]), fmt_share(r["share"]),
            fmt_metric(r["response_mean"]), fmt_metric(r["response_std"]),
            fmt_metric(r["local_metric"]), fmt_metric(r["global_metric"]),
            fmt_bool(r["constant"]),
        ])
    shown, total = int(summary["shown"]), int(summary["total_regions"])
    return _table(
        counter, title,
        ["Region", "Samples", "Share", "Response mean", "Response std", f"Local {metric}",
         f"Global {metric}", "Constant"],
        rows, align="rrrrrrrc",
        note=(f"The {fmt_int(shown)} largest of {fmt_int(total)} regions on the {dataset} data. "
              f"Local {metric}: the region's linear model scored on the region's own samples; "
              f"Global {metric}: the same linear model scored on all {dataset} samples. "
              "— marks a value that is undefined (a single-class region, or a single sample)."),
    )


def _importance_tables(counter: _Counter, importance: Mapping[str, Any]) -> list[dict[str, Any]]:
    tables = []
    outputs = importance["outputs"]
    for out in outputs:
        feats = list(out["features"])
        shown = feats[:IMPORTANCE_TABLE_ROWS]
        rows = [[fmt_int(i + 1), str(f["name"]), fmt_pct(f["raw_pct"]), fmt_pct(f["scaled_pct"])]
                for i, f in enumerate(shown)]
        title = "Feature importance" + (f", output {out['output']}" if len(outputs) > 1 else "")
        note = (f"All {fmt_int(len(feats))} features." if len(shown) == len(feats)
                else f"The {fmt_int(len(shown))} most important of {fmt_int(len(feats))} features; "
                "the rest are in results.json.")
        tables.append(_table(counter, title, ["Rank", "Feature", "Raw", "Scaled"], rows,
                             align="rlrr", note=note))
    return tables


def _performance_table(counter: _Counter, results: Mapping[str, Any]) -> dict[str, Any]:
    perf = list(results["performance"])
    keys: list[str] = []
    for p in perf:
        for k in p["metrics"]:
            if k not in keys:
                keys.append(k)
    keys.sort(key=lambda k: (_METRIC_ORDER.index(k) if k in _METRIC_ORDER else len(_METRIC_ORDER), k))
    rows = [[str(p["dataset"])] + [fmt_metric(p["metrics"].get(k)) for k in keys] for p in perf]
    return _table(counter, "Performance of the network per data set",
                  ["Data set"] + [metric_label(k) for k in keys], rows, align="l" + "r" * len(keys))


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
        return (f"mean {fmt_num(summary.get('mean'))}, std {fmt_num(summary.get('std'))}, "
                f"range {fmt_num(summary.get('min'))} to {fmt_num(summary.get('max'))}")
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
# main entry


def build_context(results: Mapping[str, Any]) -> dict[str, Any]:
    """Format the ``results`` dict for the templates.

    Returns a dict of strings, lists and small dicts only; every number the
    report prints is already a string here. Raises :class:`ResultsError` when a
    key the contract requires is missing.
    """
    _require(results)
    tables = _Counter("Table")
    figures = _Counter("Figure")
    run, inputs, model, policy = results["run"], results["inputs"], results["model"], results["policy"]
    regions = results["regions"]
    train_regions = regions["train"]
    train_census = train_regions["census"]
    test_regions = regions.get("test") or None
    has_test = test_regions is not None
    pending = _pending(results)
    checks = _policy_checks(results)
    run_date = _parse_date(policy.get("run_date")) or _parse_date(run.get("run_time"))
    datasets = list(results["datasets"])
    input_sets = _by_name(inputs["datasets"])
    model_file = str(inputs["model"]["file"])

    # ---- sections (numbering and the table of contents) -------------------
    sections = [
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
    ]
    sec = {
        key: {"id": f"sec-{key}", "number": num,
              "title": title, "heading": (f"Appendix {num}. {title}" if num.isalpha()
                                          else f"{num} {title}")}
        for key, num, title in sections
    }
    soundness_subs = [
        ("census", "4.1", "Region census"),
        ("llm-table", "4.2", "Local linear models of the largest regions"),
        ("importance", "4.3", "Feature importance"),
        ("profiles", "4.4", "Local linear profiles"),
        ("sign", "4.5", "Sign and monotonicity"),
        ("clusters", "4.6", "Cluster feature importance"),
        ("insens", "4.7", "Insens and switched linear projections"),
    ]
    extra_pending = pending.get("other", [])
    for i, entry in enumerate(extra_pending):
        soundness_subs.append((f"pending-{i + 1}", f"4.{8 + i}", entry["title"]))
    sub = {key: {"id": f"sec-{key}", "number": num, "title": title, "heading": f"{num} {title}"}
           for key, num, title in soundness_subs}
    toc = []
    for key, _num, _title in sections:
        entry = dict(sec[key])
        entry["children"] = [sub[k] for k, _, _ in soundness_subs] if key == "soundness" else []
        toc.append(entry)

    # ---- control page ------------------------------------------------------
    outcome = _outcome(results)
    control = {
        "title": "Model validation report",
        "subtitle": "ReLU network opened exactly: activation regions and local linear models",
        "facts": [
            ("Report id", str(run["report_id"])),
            ("Model file", model_file),
            ("Model SHA-256", short_hash(inputs["model"]["sha256"])),
            ("Model format", str(inputs["model"].get("format") or DASH)),
            ("Task", f"{_TASK_WORDS.get(str(model['task']), str(model['task']))}, "
                     f"output link {model['output_link']}"),
            ("Policy", f"{policy['id']} version {policy['version']}"),
            ("Policy file", f"{policy['file']} (SHA-256 {short_hash(policy['sha256'])})"),
            ("Policy owner", str(policy.get("owner") or DASH)),
            ("Run time", str(run["run_time"])),
            ("Generated by", f"{results['generator']['name']} {results['generator']['version']}"),
        ],
        "report_id": str(run["report_id"]),
        "model_file": model_file,
        "outcome": outcome,
        "signoff_roles": ["Validator", "Reviewer", "Approver"],
        "decisions": "fit / fit with conditions / not fit",
    }

    # ---- executive summary -------------------------------------------------
    levels = list(policy["severity_levels"])
    gate = str(policy["gate"])
    gate_index = levels.index(gate) if gate in levels else len(levels)
    sev_rows = []
    for idx in range(len(levels) - 1, -1, -1):
        level = levels[idx]
        open_n = sum(1 for c in checks if _check_status(c) == "fail"
                     and c.get("effective_severity") == level)
        waived_n = sum(1 for c in checks if _check_status(c) == "waived" and c.get("severity") == level)
        pend_n = sum(1 for c in checks if _check_status(c) == "not_evaluated"
                     and c.get("severity") == level)
        sev_rows.append([level + (" (gate)" if idx == gate_index else ""),
                         "yes" if idx >= gate_index else "no",
                         fmt_int(open_n), fmt_int(waived_n), fmt_int(pend_n)])
    pend_unsev = sum(1 for c in checks if _check_status(c) == "not_evaluated"
                     and c.get("severity") not in levels)
    if pend_unsev:
        sev_rows.append(["no severity", "no", "0", "0", fmt_int(pend_unsev)])
    findings_table = _table(
        tables, "Findings by severity",
        ["Severity", "Blocks approval", "Failed, open", "Failed, waived", "Not evaluated"],
        sev_rows, align="lcrrr",
        note="Open failures count at their effective severity; waived failures at their severity "
        "before the waiver. A check that could not be evaluated is a finding in its own right.",
    )

    waivers = []
    for c in checks:
        w = c.get("waiver")
        if not w:
            continue
        expires = _parse_date(w.get("expires"))
        state = "in force"
        if w.get("expired"):
            state = "EXPIRED"
        elif expires is not None and run_date is not None:
            days = (expires - run_date).days
            if days < 0:
                state = "EXPIRED"
            elif days <= EXPIRY_WARNING_DAYS:
                state = f"expires in {days} days"
        by = w.get("approved_by") or {}
        waivers.append({
            "check": str(c["id"]),
            "state": state,
            "state_badge": _badge(state, "fail" if state == "EXPIRED" else
                                  "waived" if state.startswith("expires") else "pass"),
            "expires": str(w.get("expires") or DASH),
            "severities": f"{_severity_label(c.get('severity'))} → "
                          f"{_severity_label(c.get('effective_severity'))}",
            "justification": str(w.get("justification") or DASH),
            "approved_by": ", ".join(str(x) for x in (by.get("name"), by.get("role"), by.get("date"))
                                     if x) or DASH,
        })

    imp_outputs = results["importance"]["outputs"]
    top = list(imp_outputs[0]["features"][:3]) if imp_outputs else []
    drivers = ", ".join(f"{f['name']} ({fmt_pct(f['raw_pct'])})" for f in top) if top else \
        "no feature importance in this results file"
    slots_simpl = _pending_or_default(
        pending, "simplification", "Simplification",
        "This results file holds no simplification results.")
    key_facts = [
        ("Regions", _regime_sentence(train_census)),
        ("Exactness", f"The local linear models reproduce the network to "
                      f"{fmt_sci(train_census['max_abs_error'])} (largest absolute difference of "
                      f"the {'logit' if model['output_link'] != 'identity' else 'output'} over "
                      f"{fmt_int(train_census['samples'])} training samples)."),
        ("Top drivers", (f"{drivers} of raw importance." if top else drivers + ".")),
        ("Performance", _performance_fact(results)),
        ("Simplification", slots_simpl[0]["text"]),
    ]
    summary = {
        "result_sentence": outcome["sentence"],
        "findings_table": findings_table,
        "waivers": waivers,
        "key_facts": key_facts,
    }

    # ---- scope and use ----------------------------------------------------
    ds_rows = []
    for d in datasets:
        name = str(d["name"])
        inp = input_sets.get(name, {})
        role = {"train": "training data: regions, local models, importance, profiles",
                "test": "held-out data: outcomes analysis, region exposure"}.get(name, "additional data")
        ds_rows.append([name, str(inp.get("file", DASH)), fmt_int(d["rows"]), role, DASH])
    scope = {
        "datasets_table": _table(
            tables, "Data sets used in this review", ["Data set", "File", "Rows", "Used for", "Window"],
            ds_rows, align="llrll",
            note="govreport does not record data windows; the validator states them here."),
        "trace_table": _table(
            tables, "Traceability: policy checks and the requirements they evidence",
            ["Check", "Metric", "Data set", "Evidences"],
            [[str(c["id"]), str(c["metric"]), _check_dataset(c),
              "; ".join(str(r) for r in c.get("refs") or []) or DASH] for c in checks],
            align="llll",
        ),
    }

    # ---- model and data ----------------------------------------------------
    arch_rows = [[fmt_int(layer["index"]), str(layer["kind"]), str(layer.get("detail") or DASH),
                  str(layer.get("treatment") or DASH)] for layer in model["source_layers"]]
    model_facts = [
        ("Task", f"{_TASK_WORDS.get(str(model['task']), str(model['task']))}; output link "
                 f"{model['output_link']}; outputs: {', '.join(str(o) for o in model['output_names'])}"),
        ("Inputs", f"{fmt_int(model['input_dim'])} features"),
        ("Hidden widths", ", ".join(fmt_int(w) for w in model["hidden_widths"]) or DASH),
        ("Parameters", fmt_int(model["parameter_count"])),
        ("Activation check", str(model["activation_check"])),
        ("File", f"{model_file} ({fmt_bytes(inputs['model'].get('bytes'))}, "
                 f"format {inputs['model'].get('format') or DASH})"),
        ("SHA-256", str(inputs["model"]["sha256"])),
        ("Conversion error", f"{fmt_sci(model['conversion_max_abs_error'])} (largest absolute "
                             "difference between govreport's canonical network and the source model "
                             "on the training rows, float64)"),
    ]
    data_rows = []
    for d in datasets:
        inp = input_sets.get(str(d["name"]), {})
        data_rows.append([str(d["name"]), short_hash(inp.get("sha256")), fmt_int(d["rows"]),
                          fmt_int(d["features"]), str(d.get("target") or DASH),
                          _target_balance(d.get("target_summary")), fmt_int(d["missing_values"])])
    model_data: dict[str, Any] = {
        "facts": model_facts,
        "arch_table": _table(tables, "Architecture as read from the model file",
                             ["Layer", "Kind", "Detail", "Treatment by govreport"], arch_rows,
                             align="rlll"),
        "data_table": _table(
            tables, "Data sets", ["Data set", "SHA-256", "Rows", "Features", "Target",
                                  "Target balance", "Missing values"],
            data_rows, align="lmrrlrr", note="Full SHA-256 digests are in Appendix B."),
        "feature_tables": [],
        "performance_table": _performance_table(tables, results),
    }
    for d in datasets:
        stats = d.get("feature_stats") or []
        if not stats:
            continue
        model_data["feature_tables"].append(_table(
            tables, f"Feature statistics, {d['name']} data", ["Feature", "Mean", "Std", "Min", "Max"],
            [[str(s["name"]), fmt_num(s["mean"]), fmt_num(s["std"]), fmt_num(s["min"]),
              fmt_num(s["max"])] for s in stats],
            align="lrrrr"))

    # ---- conceptual soundness ------------------------------------------------
    fig_list: list[dict[str, Any]] = []

    def add_figure(fig_id: str, caption: str, alt: str) -> dict[str, Any]:
        number, label = figures.next()
        entry = {"id": fig_id, "number": number, "label": label, "caption": caption, "alt": alt,
                 "anchor": f"figure-{fig_id}"}
        fig_list.append(entry)
        return entry

    curve = train_census.get("coverage_curve") or {}
    coverage_fig = None
    if curve.get("k"):
        test_curve = (test_regions or {}).get("census", {}).get("coverage_curve") or {}
        cap = (f"Coverage curve: share of training samples held by the k largest regions, k on a "
               f"log scale from 1 to all {fmt_int(train_census['regions'])} regions "
               f"({fmt_int(len(curve['k']))} stored points).")
        if test_curve.get("k"):
            cap += (f" Dashed: the same curve for the test data "
                    f"({fmt_int(test_regions['census']['regions'])} regions), regions ranked "
                    f"on the test data itself.")
        cap += (f" The dotted line marks the {fmt_int(train_census['min_samples'])}-sample "
                f"threshold: regions left of where it meets the curve hold at least that many samples.")
        coverage_fig = add_figure("coverage", cap, "Coverage curve of the activation regions")
    ten = _top_share(train_census, 10)
    regime = _regime_sentence(train_census)
    if ten is not None:
        regime += (f" The 10 largest regions hold {fmt_share(ten)} of the training samples; "
                   f"{fmt_share(train_census['samples_in_singletons_share'])} of the samples sit "
                   f"alone in a region of their own.")
    census = {
        "table": _table(tables, "Region census, training data", ["Quantity", "Value"],
                        _census_rows(train_census), align="lr", css="narrow"),
        "regime": regime,
        "figure": coverage_fig,
        "neurons_table": _neuron_table(
            tables, train_regions["neurons"], test_regions["neurons"] if test_regions else None),
    }
    llm_table = _summary_table(tables, train_regions["summary_table"], "training",
                               "Local linear model summary, largest training regions")

    imp = results["importance"]
    importance: dict[str, Any] = {"tables": [], "figure": None, "note": str(imp.get("note") or ""),
                                  "absent": []}
    if imp_outputs:
        importance["tables"] = _importance_tables(tables, imp)
        feats0 = imp_outputs[0]["features"]
        n_bars = min(len(feats0), IMPORTANCE_FIGURE_BARS)
        shown = (f"all {fmt_int(n_bars)} features" if n_bars == len(feats0)
                 else f"the {fmt_int(n_bars)} features with the largest raw importance of "
                      f"{fmt_int(len(feats0))}")
        importance["figure"] = add_figure(
            "importance",
            f"Feature importance for output {imp_outputs[0]['output']}: {shown}, sorted by raw "
            f"importance. Solid bars: raw importance (sample-weighted squared local slopes); "
            f"hatched bars: scaled importance (slopes multiplied by the feature's standard "
            f"deviation). Each set sums to 100% over all features.",
            "Horizontal bar chart of feature importance")
    else:
        importance["absent"] = [{"title": "Feature importance", "issue": "",
                                 "text": "This results file holds no feature importance."}]

    profiles = []
    for i, p in enumerate(results["profiles"]):
        drawn, total = int(p["regions_drawn"]), int(p["regions_total"])
        rug = sum(1 for r in p["regions"] if not r.get("density"))
        lower = ("lower panel: distribution of the feature within each region (kernel density"
                 + ("; rug ticks at the distinct values for regions with too few distinct "
                    "values for a density" if rug else "") + ")")
        fig = add_figure(
            f"profile-{i + 1}",
            f"Local linear profile of {p['feature']} (raw importance {fmt_pct(p['importance_pct'])}). "
            f"Upper panel: the effect w·(x − x̄) of {p['feature']} inside each of the "
            f"{fmt_int(drawn)} largest of {fmt_int(total)} regions, one segment per region over "
            f"the range the region covers, centred on the region's mean; the slope of a segment "
            f"is the region's local coefficient. {lower[0].upper()}{lower[1:]}. Colours, line "
            f"styles and markers identify regions (R1 = largest).",
            f"Local linear profile of {p['feature']}")
        slopes = [r["slope"] for r in p["regions"] if not _is_missing(r.get("slope"))]
        signs = ""
        if slopes:
            pos = sum(1 for s in slopes if s > 0)
            neg = sum(1 for s in slopes if s < 0)
            signs = (f"Of the {fmt_int(len(slopes))} regions drawn, {fmt_int(pos)} have a positive "
                     f"and {fmt_int(neg)} a negative slope for {p['feature']} (range "
                     f"{fmt_num(min(slopes))} to {fmt_num(max(slopes))}).")
        profiles.append({"feature": str(p["feature"]), "figure": fig, "signs": signs})

    soundness = {
        "census": census,
        "llm_table": llm_table,
        "importance": importance,
        "profiles": profiles,
        "profiles_absent": [] if profiles else [{
            "title": "Local linear profiles", "issue": "",
            "text": "This results file holds no local linear profiles."}],
        "min_samples": fmt_int(train_census["min_samples"]),
        "pending": {
            "sign": _pending_or_default(pending, "sign", sub["sign"]["title"],
                                        "This results file holds no sign or monotonicity results."),
            "clusters": _pending_or_default(pending, "clusters", sub["clusters"]["title"],
                                            "This results file holds no cluster feature importance."),
            "insens": _pending_or_default(pending, "insens", sub["insens"]["title"],
                                          "This results file holds no Insens results."),
        },
        "extra": [{"sub": sub[f"pending-{i + 1}"], "entries": [e]}
                  for i, e in enumerate(extra_pending)],
    }

    # ---- outcomes ------------------------------------------------------------
    outcomes: dict[str, Any] = {
        "has_test": has_test,
        "no_test": "No test data was supplied: the outcomes analysis rests on the training data "
                   "alone, and neither holdout performance nor region exposure can be assessed.",
        "performance_table": _performance_table(tables, results),
        "pending": pending.get("outcomes", []),
    }
    if test_regions is not None:
        tc = test_regions["census"]
        rows = []
        train_rows = dict(_census_rows(train_census))
        for label, value in _census_rows(tc):
            rows.append([label, train_rows.get(label, DASH), value])
        unseen = test_regions.get("unseen_share")
        outcomes.update({
            "unseen": fmt_share(unseen),
            "unseen_sentence": (
                f"{fmt_share(unseen)} of the {fmt_int(tc['samples'])} test samples fall in "
                f"activation regions that never occur in the training data. For those samples "
                f"the network applies a local linear model that no training sample supports: "
                f"its behaviour there is an extrapolation of the fit, not an interpolation."),
            "census_table": _table(tables, "Region census, training versus test data",
                                   ["Quantity", "Train", "Test"], rows, align="lrr"),
            "test_llm_table": _summary_table(tables, test_regions["summary_table"], "test",
                                             "Local linear model summary, largest test regions"),
        })

    # ---- simplification ------------------------------------------------------
    simplification = {"pending": slots_simpl}

    # ---- findings and appendix A -------------------------------------------
    findings = []
    for c in checks:
        status = _check_status(c)
        if status == "pass" and not c.get("waiver"):
            continue
        findings.append({
            "id": str(c["id"]),
            "badge": _check_badge(c),
            "description": str(c.get("description") or DASH),
            "facts": [
                ("Metric", f"{c['metric']}" + (f" on {c['dataset']} data" if c.get("dataset") else "")),
                ("Observed", fmt_num(c.get("observed")) if not _is_missing(c.get("observed"))
                 else "not evaluated"),
                ("Bound", fmt_bound(c.get("bound"))),
                ("Severity", _severity_label(c.get("severity"))),
                ("Effective severity", _severity_label(c.get("effective_severity"))
                 + (" (blocks approval: at or above the gate)" if c.get("gating") else "")),
                ("Message", str(c.get("message") or DASH)),
                ("Evidences", "; ".join(str(r) for r in c.get("refs") or []) or DASH),
                ("Owner", str(policy.get("owner") or DASH)),
            ],
            "waiver": None if not c.get("waiver") else {
                "justification": str(c["waiver"].get("justification") or DASH),
                "detail": _waiver_text(c["waiver"]),
            },
        })
    policy_rows = []
    for c in checks:
        policy_rows.append([
            str(c["id"]), str(c["metric"]), _check_dataset(c), fmt_num(c.get("observed")),
            fmt_bound(c.get("bound")), _severity_label(c.get("severity")),
            _severity_label(c.get("effective_severity")), _check_badge(c),
            _waiver_text(c.get("waiver")),
        ])
    appendix_a = {
        "policy_facts": [
            ("Policy", f"{policy['id']} version {policy['version']}, effective "
                       f"{policy.get('effective') or DASH}"),
            ("Owner", str(policy.get("owner") or DASH)),
            ("File", f"{policy['file']}"),
            ("SHA-256", str(policy["sha256"])),
            ("Severity levels", " < ".join(levels)),
            ("Gate", outcome["gate"]),
            ("Evaluated on", str(policy.get("run_date") or DASH)),
            ("Outcome", outcome["badge"]["text"] + " (" + outcome["counts"] + ")"),
        ],
        "table": _table(
            tables, "Every policy check",
            ["Check", "Metric", "Data set", "Observed", "Bound", "Severity", "Effective",
             "Status", "Waiver"],
            policy_rows, align="lllrlllll", css="policy"),
    }

    # ---- appendix B ------------------------------------------------------------
    hash_rows = [["model", str(inputs["model"]["file"]), fmt_bytes(inputs["model"].get("bytes")),
                  str(inputs["model"]["sha256"])]]
    spec = inputs.get("spec")
    hash_rows.append(["spec", str(spec["file"]), fmt_bytes(spec.get("bytes")), str(spec["sha256"])]
                     if spec else ["spec", "none supplied", DASH, DASH])
    hash_rows.append(["policy", str(inputs["policy"]["file"]),
                      fmt_bytes(inputs["policy"].get("bytes")), str(inputs["policy"]["sha256"])])
    for d in inputs["datasets"]:
        hash_rows.append([f"data: {d['name']}", str(d["file"]), fmt_bytes(d.get("bytes")),
                          str(d["sha256"])])
    env = run.get("environment") or {}
    packages = env.get("packages") or {}
    options = run.get("options") or {}
    appendix_b = {
        "command": str(run["command"]),
        "facts": [
            ("Report id", str(run["report_id"])),
            ("Run time", str(run["run_time"])),
            ("Generator", f"{results['generator']['name']} {results['generator']['version']}"),
            ("Results schema", f"version {results['schema_version']}"),
            ("Seed", str(run.get("seed", DASH))),
            ("Python", str(env.get("python") or DASH)),
            ("Platform", str(env.get("platform") or DASH)),
        ],
        "hash_table": _table(tables, "Inputs and their SHA-256 digests",
                             ["Input", "File", "Size", "SHA-256"], hash_rows, align="llrm",
                             css="hashes"),
        "packages_table": _table(tables, "Package versions",
                                 ["Package", "Version"],
                                 [[str(k), str(packages[k])] for k in sorted(packages)],
                                 align="ll", css="narrow"),
        "options_table": _table(tables, "Run options", ["Option", "Value"],
                                [[str(k), fmt_num(v) if isinstance(v, int | float)
                                  and not isinstance(v, bool) else str(v)]
                                 for k, v in sorted(options.items())],
                                align="lr", css="narrow"),
    }

    # ---- appendix C: values the methods text quotes -------------------------
    methods = {
        "min_samples": fmt_int(options.get("min_samples", train_census["min_samples"])),
        "profile_regions": fmt_int(options.get("profile_regions")) if "profile_regions" in options
        else DASH,
        "top_regions": fmt_int(options.get("top_regions")) if "top_regions" in options else DASH,
    }

    return {
        "meta": {
            "title": f"Model validation report {run['report_id']}: {model_file}",
            "report_id": str(run["report_id"]),
            "model_file": model_file,
            "created": str(run["run_time"]),
            "generator": f"{results['generator']['name']} {results['generator']['version']}",
            "description": f"Validation report for {model_file} under policy {policy['id']} "
                           f"{policy['version']}",
        },
        "sections": sec,
        "subsections": sub,
        "toc": toc,
        "control": control,
        "summary": summary,
        "scope": scope,
        "model_data": model_data,
        "soundness": soundness,
        "outcomes": outcomes,
        "simplification": simplification,
        "findings": findings,
        "findings_none": "No check failed, was waived or could not be evaluated.",
        "appendix_a": appendix_a,
        "appendix_b": appendix_b,
        "methods": methods,
        "figures": fig_list,
    }
