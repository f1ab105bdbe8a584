"""Section 3.1, data quality: the ``data_quality`` block -> template strings.

Reads ``results.data_quality`` (:class:`govreport.analyses.data_quality.DataQualityResult`).
A results file without the block (written before this analysis existed) says so.
"""

from __future__ import annotations

from typing import Any

from govreport.analyses.data_quality import DataQualityResult, DatasetQuality, FeatureQuality
from govreport.inputs.dictionary import format_code
from govreport.render.figures.spec import FigureSpec
from govreport.render.text import DASH, Numbering, fmt_int, fmt_num, fmt_share, make_table
from govreport.results.schema import Results

__all__ = ["DATASET_WORDS", "build"]

DATASET_WORDS = {"train": "training", "test": "test", "oot": "out-of-time"}

_ABSENT = {
    "title": "Data quality",
    "text": "This results file holds no data-quality results.",
    "issue": "",
}


def _words(name: str) -> str:
    return DATASET_WORDS.get(name, name)


def _overview(num: Numbering, result: DataQualityResult) -> dict[str, Any]:
    rows = []
    for d in result.datasets:
        missing = max((f.missing_share for f in d.features), default=0.0)
        rows.append(
            [
                _words(d.dataset),
                fmt_int(d.rows),
                f"{fmt_int(d.duplicate_rows)} ({fmt_share(d.duplicate_share)})",
                f"{fmt_int(d.conflicting_groups)} / {fmt_int(d.conflicting_rows)} "
                f"({fmt_share(d.conflicting_share)})",
                fmt_share(missing),
            ]
        )
    return make_table(
        num.tables,
        "Rows, duplicates and conflicting labels per data set",
        [
            "Data set",
            "Rows",
            "Duplicate rows",
            "Identical inputs, different labels: groups / rows",
            "Missing values (worst feature)",
        ],
        rows,
        align="lrrrr",
        note="A duplicate row repeats an earlier row in every feature and the target. The "
        "data loader rejects missing values, so the missing share is 0 unless a future loader "
        "admits them.",
    )


def _outside_table(num: Numbering, result: DataQualityResult) -> dict[str, Any] | None:
    rows = []
    for d in result.datasets:
        for f in d.features:
            if f.outside_count:
                examples = ", ".join(format_code(v) for v in f.outside_examples) or "out of range"
                rows.append(
                    [
                        f.name,
                        f.type,
                        _words(d.dataset),
                        fmt_int(f.outside_count),
                        fmt_share(f.outside_share),
                        examples,
                    ]
                )
    if not rows:
        return None
    return make_table(
        num.tables,
        "Values outside the data dictionary",
        ["Feature", "Type", "Data set", "Values", "Share", "Codes found (up to 5)"],
        rows,
        align="llrrrl",
        note="Codes the dictionary does not list, or values outside its range. Only the codes "
        "are shown, never the rows that hold them.",
    )


def _outlier_table(num: Numbering, data: DatasetQuality, limit: float) -> dict[str, Any] | None:
    rows = [
        [
            f.name,
            f"{fmt_int(f.outlier_count)} ({fmt_share(f.outlier_share)})",
            fmt_num(f.max_abs_robust_z),
            fmt_num(f.max_sd_from_mean),
            fmt_int(f.negative_count),
            fmt_share(f.top_value_share),
        ]
        for f in data.features
        if f.outlier_count is not None
    ]
    if not rows:
        return None
    return make_table(
        num.tables,
        f"Outliers of the continuous features, {_words(data.dataset)} data",
        [
            "Feature",
            f"Outliers (|robust z| > {fmt_num(limit)})",
            "Largest |robust z|",
            "Largest distance from the mean (SD)",
            "Negative values",
            "Most frequent value's share",
        ],
        rows,
        align="lrrrrr",
        note="Robust z = 0.6745 (x − median) / MAD (Iglewicz and Hoaglin); heavy-tailed amounts "
        "such as payments produce many outliers by construction. A value tens of standard "
        "deviations from the mean can dominate scale-aware importance and the local slopes "
        "fitted around it.",
    )


def _frequency_cell(feature: FeatureQuality | None) -> str:
    if feature is None or not feature.frequencies:
        return DASH
    parts = []
    for c in feature.frequencies:
        label = format_code(c.code)
        if c.label != label:
            label += f" {c.label}"
        mark = "" if c.documented else " †"
        parts.append(f"{label}{mark}: {fmt_int(c.count)} ({fmt_share(c.share)})")
    return "; ".join(parts)


def _frequency_table(num: Numbering, result: DataQualityResult) -> dict[str, Any] | None:
    coded = [f.name for f in result.datasets[0].features if f.frequencies]
    if not coded:
        return None
    by_data = [{f.name: f for f in d.features} for d in result.datasets]
    rows = [
        [name, next(f.type for f in result.datasets[0].features if f.name == name)]
        + [_frequency_cell(d.get(name)) for d in by_data]
        for name in coded
    ]
    return make_table(
        num.tables,
        "Coded features: frequency of each code",
        ["Feature", "Type"] + [f"{_words(d.dataset).capitalize()} data" for d in result.datasets],
        rows,
        align="ll" + "l" * len(result.datasets),
        note="Coded (ordinal or categorical) features are summarised by the frequency of each "
        "code, not by a mean: the mean of a code has no meaning. † a code the data dictionary "
        "does not document.",
    )


def _findings(result: DataQualityResult) -> list[str]:
    train = result.datasets[0]
    out: list[str] = []
    outside = [f for f in train.features if f.outside_count]
    if outside:
        out.append(
            "Undocumented values in the training data: "
            + "; ".join(
                f"{f.name} {fmt_int(f.outside_count)} rows"
                + (
                    f" (codes {', '.join(format_code(v) for v in f.outside_examples)})"
                    if f.outside_examples
                    else ""
                )
                for f in outside
            )
            + ". Ask the data owner what these codes mean, then map or exclude them."
        )
    extreme = sorted(
        (f for f in train.features if f.max_sd_from_mean is not None and f.max_sd_from_mean > 10),
        key=lambda f: -(f.max_sd_from_mean or 0.0),
    )
    if extreme:
        out.append(
            "Extreme values: "
            + ", ".join(f"{f.name} {fmt_num(f.max_sd_from_mean)} SD" for f in extreme[:5])
            + " from the mean. Check whether they are errors; if real, consider capping or a "
            "log transform, and read their importance with care."
        )
    negative = [
        f for f in train.features if f.negative_count and f.type in ("continuous", "undocumented")
    ]
    if negative:
        out.append(
            "Negative values in "
            + ", ".join(f"{f.name} ({fmt_int(f.negative_count)})" for f in negative[:8])
            + (" and others" if len(negative) > 8 else "")
            + ": confirm that the feature may be negative (the dictionary's min says so)."
        )
    constant = [f.name for f in train.features if f.near_constant]
    if constant:
        out.append(
            f"Constant or near-constant (one value in ≥ {fmt_share(result.near_constant_share)} "
            f"of rows): {', '.join(constant)}. Such a feature carries almost no information."
        )
    if train.duplicate_rows or train.conflicting_groups:
        out.append(
            f"{fmt_int(train.duplicate_rows)} duplicate training rows and "
            f"{fmt_int(train.conflicting_groups)} groups of identical inputs with different "
            f"labels ({fmt_int(train.conflicting_rows)} rows): conflicting labels bound the "
            "accuracy any model can reach; duplicates over-weight their rows."
        )
    return out


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 3.1: overview, values outside the dictionary, outliers, code frequencies."""
    result = results.data_quality
    if result is None:
        return {"data_quality": {"available": False, "absent": [_ABSENT]}}, []
    if result.dictionary is None:
        dictionary = (
            "No data dictionary was given, so values are not checked "
            "against documented codes or ranges, every feature is treated as continuous, and "
            "coded features cannot be told apart from measured ones."
        )
    else:
        dictionary = (
            f"Checked against the data dictionary {result.dictionary} (SHA-256 "
            f"{(result.dictionary_sha256 or '')[:12]}…)."
        )
        if result.undocumented_features:
            dictionary += (
                " Features the dictionary does not describe: "
                + ", ".join(result.undocumented_features)
                + "."
            )
    train = result.datasets[0]
    findings = _findings(result)
    context = {
        "available": True,
        "reading": {
            "shows": "Whether the data the network learnt from and is tested on means what it "
            "is assumed to mean: undocumented codes, missing and extreme values, constant "
            "features, duplicates and conflicting labels. "
            + (
                f"{fmt_int(len(findings))} kind{'s' if len(findings) != 1 else ''} of problem "
                "found (listed below)."
                if findings
                else "No problem was found."
            ),
            "todo": "Resolve each listed problem with the data owner (document, correct or "
            "exclude the values) before relying on results that use these features."
            if findings
            else "No action: the data agrees with its documentation.",
        },
        "dictionary": dictionary,
        "findings": findings,
        "overview": _overview(num, result),
        "outside": _outside_table(num, result),
        "outliers": _outlier_table(num, train, result.robust_z_limit),
        "frequencies": _frequency_table(num, result),
    }
    return {"data_quality": context}, []
