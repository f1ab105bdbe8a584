"""Template context of the Aletheia diagnostics (issue 3): dummy regions, local versus
global performance, test exposure, coefficient distributions and the parallel, pair and
intercept plots.

Reads only the results dict; every key used here is optional (an older results.json
without them renders, and the report says the results file holds no such data). The
``has_*`` predicates decide whether a figure is captioned; plots_aletheia uses the same
predicates to decide whether it is drawn, so captions and drawings always agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from govreport.render.formatting import (
    DASH,
    Numbering,
    TableCounter,
    fmt_bool,
    fmt_int,
    fmt_metric,
    fmt_num,
    fmt_share,
    is_missing,
    make_table,
)

__all__ = [
    "BOX_FEATURES",
    "COEFFICIENT_TABLE_ROWS",
    "census_rows",
    "coefficients_section",
    "exposure_section",
    "has_box",
    "has_diagperf",
    "has_pair",
    "has_parallel",
    "llm_extras",
    "scaled_order",
]

#: Features in the coefficient box plot (largest scale-aware importance first).
BOX_FEATURES = 12
#: Rows of each coefficient-distribution table (the rest stay in results.json).
COEFFICIENT_TABLE_ROWS = 30


# ---------------------------------------------------------------------------
# predicates shared with plots_aletheia


def _train_summary_rows(results: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    train = (results.get("regions") or {}).get("train") or {}
    return list((train.get("summary_table") or {}).get("rows") or [])


def has_diagperf(results: Mapping[str, Any]) -> bool:
    rows = _train_summary_rows(results)
    return any(
        not is_missing(r.get("local_metric")) or not is_missing(r.get("global_metric"))
        for r in rows
    )


def _coefficient_features(results: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    outputs = (results.get("coefficients") or {}).get("outputs") or []
    return list(outputs[0].get("features") or []) if outputs else []


def has_box(results: Mapping[str, Any]) -> bool:
    return bool(_coefficient_features(results))


def has_parallel(results: Mapping[str, Any]) -> bool:
    parallel = (results.get("aletheia_plots") or {}).get("parallel") or {}
    return bool(parallel.get("lines")) and bool(parallel.get("features"))


def has_pair(results: Mapping[str, Any]) -> bool:
    pair = (results.get("aletheia_plots") or {}).get("pair") or {}
    return bool(pair.get("ranks")) and bool(pair.get("features"))


def scaled_order(results: Mapping[str, Any]) -> list[str]:
    """Feature names by scale-aware importance (output 0), largest first."""
    outputs = (results.get("importance") or {}).get("outputs") or []
    if not outputs:
        return [str(f["name"]) for f in _coefficient_features(results)]
    feats = sorted(outputs[0]["features"], key=lambda f: -float(f.get("scaled_pct") or 0.0))
    return [str(f["name"]) for f in feats]


# ---------------------------------------------------------------------------
# 4.1 census rows and 4.2 extras


def census_rows(census: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Census rows on dummy (pure-label) regions; none if the census predates them."""
    if "dummy_regions" not in census:
        return []
    return [
        (
            "Pure-label ('dummy') regions, ≥ 2 samples with a constant response",
            f"{fmt_int(census['dummy_regions'])} of {fmt_int(census.get('multi_sample_regions'))}"
            f" ({fmt_share(census.get('dummy_share'))})",
        ),
        ("Samples in pure-label regions", fmt_share(census.get("samples_in_dummy_share"))),
    ]


def llm_extras(results: Mapping[str, Any], num: Numbering) -> dict[str, Any]:
    """Dummy-region sentence and the local-versus-global figure of section 4.2."""
    census = (results["regions"]["train"] or {}).get("census") or {}
    out: dict[str, Any] = {"dummy_sentence": "", "figure": None}
    if "dummy_regions" in census:
        out["dummy_sentence"] = (
            f"{fmt_int(census['dummy_regions'])} of the "
            f"{fmt_int(census.get('multi_sample_regions'))} training regions with at least two "
            f"samples ({fmt_share(census.get('dummy_share'))}; "
            f"{fmt_share(census.get('dummy_share_all_regions'))} of all regions) are "
            "pure-label ('dummy') regions: every sample in them has the same response, so the "
            "response standard deviation is 0, the local metric is undefined, and the region's "
            f"linear model cannot be judged on its own samples. They hold "
            f"{fmt_share(census.get('samples_in_dummy_share'))} of the training samples. "
            "Single-sample regions are left out of this count: they are trivially pure."
        )
    if has_diagperf(results):
        summary = results["regions"]["train"]["summary_table"]
        metric = str(summary["local_metric"])
        n = len(summary["rows"])
        out["figure"] = num.figure(
            "diagperf",
            f"Local versus global {metric} of the {fmt_int(n)} largest training regions "
            f"(the rows of the table above; --top-regions caps them). Solid bars: local "
            f"{metric}, the region's linear model on its own samples (missing bar: undefined, "
            f"e.g. a single-class region); hatched bars: global {metric}, the same model on "
            f"all training samples. Dashed line: the network's own {metric} on the training "
            "data, where available.",
            f"Grouped bar chart of local and global {metric} per region",
        )
    return out


def summary_dummy_cell(row: Mapping[str, Any]) -> str:
    """The 'Pure label' cell of a summary-table row (— for results without the flag)."""
    return fmt_bool(row.get("dummy"))


# ---------------------------------------------------------------------------
# 4.5 coefficient distributions and companion plots


def _absent(text: str) -> list[dict[str, str]]:
    return [{"title": "Coefficient distributions across samples", "issue": "", "text": text}]


def _quantile_table(
    counter: TableCounter,
    features: Sequence[Mapping[str, Any]],
    names: Sequence[str],
    kind: str,
    title: str,
    note: str,
) -> dict[str, Any]:
    rows = [[str(f["name"])] + [fmt_num(v) for v in f[kind]["quantiles"]] for f in features]
    head = ["Feature", *[n if n != "median" else "Median" for n in names]]
    return make_table(
        counter, title, head, rows, align="l" + "r" * len(names), note=note, css="coefficients"
    )


def coefficients_section(results: Mapping[str, Any], num: Numbering) -> dict[str, Any]:
    """Section 4.5: distribution tables, box plot, parallel, pair and intercept plots."""
    coefficients = results.get("coefficients")
    features = _coefficient_features(results)
    if not coefficients or not features:
        return {
            "absent": _absent("This results file holds no coefficient distributions."),
            "tables": [],
            "figures": [],
            "note": "",
        }
    output = str(coefficients["outputs"][0].get("output", ""))
    names = [str(n) for n in coefficients.get("names") or []]
    order = {name: i for i, name in enumerate(scaled_order(results))}
    ranked = sorted(features, key=lambda f: order.get(str(f["name"]), len(order)))
    shown = ranked[:COEFFICIENT_TABLE_ROWS]
    which = (
        f"all {fmt_int(len(ranked))} features"
        if len(shown) == len(ranked)
        else f"the {fmt_int(len(shown))} features of highest scale-aware importance of "
        f"{fmt_int(len(ranked))} (the rest are in results.json)"
    )
    samples, regions = coefficients.get("samples"), coefficients.get("regions")
    basis = (
        f"Over all {fmt_int(samples)} training samples ({fmt_int(regions)} regions, each "
        f"weighted by its sample count), exact; output {output}; {which}, by scale-aware "
        "importance."
    )
    tables = [
        _quantile_table(
            num.tables,
            shown,
            names,
            "scaled",
            "Scale-aware local coefficients w·std across samples",
            f"{basis} Scale-aware coefficient: the change of the {output} for a one-standard-"
            "deviation increase of the feature, inside the sample's region. p1…p99: "
            "percentiles of the samples.",
        ),
        _quantile_table(
            num.tables,
            shown,
            names,
            "raw",
            "Raw local coefficients w across samples",
            f"{basis} Raw coefficient: change of the {output} per unit of the feature "
            "(Aletheia's coefficients, the basis of raw importance).",
        ),
        make_table(
            num.tables,
            "Mean and sign of the local coefficients across samples",
            ["Feature", "Mean raw", "Mean scaled", "Positive", "Negative", "Zero"],
            [
                [
                    str(f["name"]),
                    fmt_num(f["raw"]["mean"]),
                    fmt_num(f["scaled"]["mean"]),
                    fmt_share(f["raw"]["positive_share"]),
                    fmt_share(f["raw"]["negative_share"]),
                    fmt_share(f["raw"]["zero_share"]),
                ]
                for f in shown
            ],
            align="lrrrrr",
            note=f"{basis} Positive, negative, zero: share of samples whose local coefficient "
            "has that sign (the same for raw and scaled coefficients). A feature with material "
            "shares of both signs has an effect whose direction depends on where the sample "
            "lies.",
        ),
    ]
    figures = []
    n_box = min(len(ranked), BOX_FEATURES)
    figures.append(
        num.figure(
            "coef-box",
            f"Distribution over all training samples of the scale-aware local coefficient "
            f"(w·std, {output} per standard deviation) of the {fmt_int(n_box)} features of "
            f"highest scale-aware importance (of {fmt_int(len(ranked))}). Box: 25th to 75th "
            "percentile, line: median, diamond: mean, whiskers: 5th to 95th percentile, open "
            "circles: minimum and maximum. Exact, each region weighted by its sample count.",
            "Box plots of local coefficients per feature",
        )
    )
    plots = results.get("aletheia_plots") or {}
    if has_parallel(results):
        parallel = plots["parallel"]
        figures.append(
            num.figure(
                "coef-parallel",
                f"Parallel coordinates of the local linear models: one line per region, the "
                f"{fmt_int(len(parallel['lines']))} largest of "
                f"{fmt_int(parallel.get('regions_total'))} (R1 = largest); x: the "
                f"{fmt_int(len(parallel['features']))} features of highest scale-aware "
                "importance; y: the region's scale-aware coefficient w·std (raw coefficients "
                "are in results.json), so features on different scales are comparable. "
                "Lines that cross zero mark features whose effect changes sign between "
                "regions.",
                "Parallel-coordinate plot of local coefficients",
            )
        )
    if has_pair(results):
        pair = plots["pair"]
        withheld = int(pair.get("withheld") or 0)
        privacy = (
            f"Only regions with at least {fmt_int(pair.get('disclosure_min_samples'))} samples "
            "are drawn, because a region's centre is a mean of its inputs"
            + (
                f" ({fmt_int(withheld)} of the {fmt_int(pair.get('considered'))} largest "
                "regions withheld)."
                if withheld
                else "."
            )
        )
        regions_text = (
            f"the {fmt_int(len(pair['ranks']))} largest regions (--top-regions)"
            if not withheld
            else f"{fmt_int(len(pair['ranks']))} regions (the largest of the "
            f"{fmt_int(pair.get('considered'))} largest, --top-regions, that pass the "
            "disclosure threshold)"
        )
        n_feat = fmt_int(len(pair["features"]))
        figures.append(
            num.figure(
                "coef-pair",
                f"Pair plot of the local linear models over {regions_text}, for the {n_feat} "
                "features of highest scale-aware importance. Diagonal cell j: region centre "
                "μ_j (mean of feature j in the region) against the raw coefficient w_j, with a "
                f"LOWESS curve (span {fmt_num(pair.get('lowess_frac'))}, "
                f"{fmt_int(pair.get('lowess_iterations'))} robustness steps, each region "
                "counted once per sample); a curved or sloped line means the effect of j "
                "depends on the level of j (non-linearity). Off-diagonal cell (row j, column "
                "k): centre μ_k against the residual w_j − LOWESS_j(μ_j); a trend means the "
                "effect of j depends on feature k (interaction). Marker area grows with the "
                f"region's sample count. {privacy}",
                "Pair plot of region centres against local coefficients",
            )
        )
        figures.append(
            num.figure(
                "coef-intercept",
                f"Intercept b of each local linear model against the region centre μ_j, for "
                f"{regions_text} and the same {n_feat} features. Marker area grows with the "
                f"region's sample count. {privacy}",
                "Scatter plots of region centres against intercepts",
            )
        )
    elif plots.get("pair"):
        pair = plots["pair"]
        figures_note = (
            f"No pair or intercept plot: none of the {fmt_int(pair.get('considered'))} largest "
            f"regions holds at least {fmt_int(pair.get('disclosure_min_samples'))} samples, "
            "and a region's centre (a mean of its inputs) is withheld below that count."
        )
        return {"absent": [], "tables": tables, "figures": figures, "note": figures_note}
    return {"absent": [], "tables": tables, "figures": figures, "note": ""}


# ---------------------------------------------------------------------------
# section 5: test exposure


def exposure_section(results: Mapping[str, Any], num: Numbering) -> dict[str, Any] | None:
    """Aletheia's test exposure table, or None when the results hold none."""
    test = (results.get("regions") or {}).get("test") or {}
    exposure = test.get("exposure_table")
    if not exposure:
        return None
    metric = str(exposure["local_metric"])
    rows = [
        [
            fmt_int(r["rank"]),
            fmt_int(r["train_count"]),
            fmt_int(r["test_count"]),
            fmt_share(r["test_share"]),
            fmt_metric(r["response_mean"]),
            fmt_metric(r["response_std"]),
            fmt_metric(r["local_metric"]),
            fmt_metric(r["global_metric"]),
            fmt_bool(r["constant"]),
        ]
        for r in exposure["rows"]
    ]
    shown = int(exposure["shown"])
    empty = int(exposure["shown_without_test"])
    sentence = (
        f"The {fmt_int(shown)} largest training regions receive "
        f"{fmt_int(exposure['test_samples_in_shown'])} of the "
        f"{fmt_int(exposure['test_samples'])} test samples "
        f"({fmt_share(exposure['test_share_in_shown'])}); "
        + (
            "each of them receives at least one."
            if empty == 0
            else f"{fmt_int(empty)} of them {'receives' if empty == 1 else 'receive'} none."
        )
    )
    table = make_table(
        num.tables,
        "Test exposure of the largest training regions",
        [
            "Train region",
            "Train samples",
            "Test samples",
            "Test share",
            "Test response mean",
            "Test response std",
            f"Local {metric}",
            f"Global {metric}",
            "Constant",
        ],
        rows,
        align="rrrrrrrrc",
        note=(
            f"Aletheia's evaluation of the {fmt_int(shown)} largest of "
            f"{fmt_int(exposure['training_regions'])} training regions (--top-regions) on the "
            "test samples whose activation pattern equals the region's. Local "
            f"{metric}: the training region's linear model on those test samples; Global "
            f"{metric}: the same model on all test samples. {DASH} marks an undefined value "
            "(no test sample, a single sample or a single class)."
        ),
    )
    return {"sentence": sentence, "table": table}
