"""Insens and switched linear projections: ``results.insens`` -> context.

The full analysis is a technical annex (appendix, section key ``insens``: :func:`build`);
the body keeps one plain-words paragraph in section 4 (key ``insens-summary``:
:func:`build_summary`). Reads the typed block of
:mod:`govreport.analyses.insens.stage`. It is optional: a results file without it
says so. All numbers become strings here, and the features the figure draws are chosen
here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govreport.analyses.insens.attribution import AttributionRobustness
from govreport.analyses.insens.insens import InsensSummary
from govreport.analyses.insens.stage import WorkedExample
from govreport.render.figures.spec import FigureSpec
from govreport.render.text import (
    DASH,
    Numbering,
    fmt_int,
    fmt_num,
    fmt_sci,
    fmt_share,
    is_missing,
    make_table,
)
from govreport.results.schema import Results

__all__ = ["INSENS_FIGURE_BARS", "WORKED_FEATURES", "build", "build_summary"]

#: Features drawn in the global |Ω| figure.
INSENS_FIGURE_BARS = 15
#: Features listed per worked example (the largest contributions; the rest are summed).
WORKED_FEATURES = 8
#: Features listed in the global Insens table.
TABLE_FEATURES = 10

_MINUS = "\u2212"
_ABSENT = {
    "title": "Insens and switched linear projections",
    "text": "This results file holds no Insens results.",
    "issue": "",
}


def _signed(value: Any) -> str:
    if is_missing(value):
        return DASH
    v = float(value)
    text = fmt_num(abs(v))
    return ("+" if v > 0 else _MINUS if v < 0 else "") + text


def _layer_table(num: Numbering, summaries: Mapping[str, InsensSummary]) -> dict[str, Any]:
    train = summaries["train"]
    test = summaries.get("test")
    widths = train.hidden_widths
    rows = []
    for i, width in enumerate(widths):
        row = [
            f"hidden layer {i + 1}",
            fmt_int(width),
            fmt_share(train.inactive_share_by_layer[i]),
        ]
        row.append(fmt_share(test.inactive_share_by_layer[i]) if test else DASH)
        row.append(fmt_int(train.skipped_by_layer[i]))
        row.append(fmt_int(test.skipped_by_layer[i]) if test else DASH)
        rows.append(row)
    rows.append(
        [
            "all hidden layers",
            fmt_int(sum(widths)),
            fmt_share(train.inactive_share),
            fmt_share(test.inactive_share) if test else DASH,
            fmt_int(train.skipped_neurons),
            fmt_int(test.skipped_neurons) if test else DASH,
        ]
    )
    return make_table(
        num.tables,
        "Inactive hidden neurons (the set Insens averages over) and skipped neurons, per layer",
        [
            "Layer",
            "Neurons",
            "Inactive, train",
            "Inactive, test",
            "Skipped, train",
            "Skipped, test",
        ],
        rows,
        align="lrrrrr",
        note="Inactive: mean over samples of the share of the layer's neurons with "
        "pre-activation v ≤ 0. Skipped: (sample, neuron) pairs whose switched projection has "
        f"‖ŵ‖ < ε = {fmt_sci(train.min_norm)} (no path from the input reaches the neuron); "
        "they are left out of Insens.",
    )


def _ranked_features(summary: InsensSummary) -> list[tuple[str, float, float]]:
    items = [
        (name, float(a), float(s))
        for name, a, s in zip(
            summary.feature_names, summary.mean_abs, summary.mean_signed, strict=True
        )
        if not is_missing(a)
    ]
    return sorted(items, key=lambda t: (-t[1], t[0]))


def _feature_table(num: Numbering, summary: InsensSummary) -> dict[str, Any]:
    ranked = _ranked_features(summary)
    total = sum(a for _, a, _ in ranked) or 1.0
    rows = [
        [name, fmt_num(a), fmt_share(a / total), _signed(s)]
        for name, a, s in ranked[:TABLE_FEATURES]
    ]
    shown = min(len(ranked), TABLE_FEATURES)
    return make_table(
        num.tables,
        f"Global Insens, training data: the {fmt_int(shown)} features with the largest mean "
        f"|Ω_j| of {fmt_int(len(ranked))}",
        ["Feature", "Mean |Ω_j| (SD)", "Share of Σ mean |Ω|", "Mean Ω_j (SD)"],
        rows,
        align="lrrr",
        note="SD: standard deviations of the feature on the training data. A positive mean "
        "Ω_j: increasing the feature tends to push the inactive neurons further off.",
    )


def _point_sentence(entry: WorkedExample, index: int, output: str) -> str:
    if entry.kind == "row":
        where = f"Training row {fmt_int(entry.row)} (chosen by the user)"
        located = entry.centre_region
        place = (
            f"It lies in training region R{fmt_int(located)}."
            if located is not None
            else "Its activation pattern is its own."
        )
    else:
        where = (
            f"Point P{index}: the centre (mean) of the {fmt_int(entry.count)} training "
            f"samples of region R{fmt_int(entry.region)}, not an individual sample"
        )
        located = entry.centre_region
        if entry.in_own_region:
            place = "The centre lies in that same region, so its model is the region's own."
        elif located is not None:
            place = (
                f"The centre itself lies in another region, R{fmt_int(located)}: the regions "
                "are not convex in the data's sense of 'middle', so the projection below is "
                "computed at the centre, and is that of the region the centre falls in."
            )
        else:
            place = (
                "The centre itself falls in an activation region that no training sample "
                "occupies; the projection below is computed at the centre, in that region."
            )
    distance = entry.distance_to_switch
    dist = (
        f"its distance to the switching hyperplane (v = 0) is {fmt_num(distance)} SD"
        if not is_missing(distance)
        else "the neuron has no path from the input (ŵ = 0), so it has no hyperplane"
    )
    return (
        f"{where}. {place} For {output}, v = ŵ·x + b̂ = {_signed(entry.activity)} with "
        f"b̂ = {_signed(entry.bias)}; {dist}. Insens at this point averages "
        f"{fmt_int(entry.insens_neurons)} inactive hidden neurons."
    )


def _worked_table(num: Numbering, entry: WorkedExample, title: str) -> dict[str, Any]:
    feats = entry.features
    ranked = sorted(feats, key=lambda f: (-abs(float(f.contribution or 0.0)), f.name))
    rows = [
        [
            f.name,
            fmt_num(f.x),
            fmt_num(f.weight),
            fmt_num(f.centre),
            _signed(f.contribution),
            _signed(f.omega),
        ]
        for f in ranked[:WORKED_FEATURES]
    ]
    rest = ranked[WORKED_FEATURES:]
    if rest:
        rest_sum = sum(float(f.contribution or 0.0) for f in rest)
        rows.append([f"other {fmt_int(len(rest))} features", "", "", "", _signed(rest_sum), ""])
    total = sum(float(f.contribution or 0.0) for f in feats)
    rows.append(["total (= v)", "", "", "", _signed(total), ""])
    return make_table(
        num.tables,
        title,
        ["Feature", "x_j", "ŵ_j", "ĉ_j", "(x_j − ĉ_j)·ŵ_j", "Ω_j (SD)"],
        rows,
        align="lrrrrr",
        note="ŵ_j: exact gradient of v per unit of the feature; ĉ: nearest point (in SD units) "
        "where v = 0; the contributions sum to v and all share its sign (each is v times the "
        "feature's share of the squared, SD-scaled gradient).",
    )


def _robustness(num: Numbering, r: AttributionRobustness) -> tuple[dict[str, Any], str]:
    scales = [float(s) for s in r.noise_scales]
    masked = {m.method: m for m in r.masked}
    change_word = "increase" if r.metric == "rmse" else "drop"
    metric = r.metric.upper() if r.metric != "accuracy" else "accuracy"
    rows = []
    for i, method in enumerate(r.methods):
        m = masked.get(method)
        low, high = (m.low_change, m.high_change) if m else (None, None)
        gap = (
            None
            if low is None or high is None or is_missing(low) or is_missing(high)
            else float(high) - float(low)
        )
        rows.append(
            [r.labels[i]]
            + [fmt_num(v) for v in r.stability[i]]
            + [_signed(low), _signed(high), _signed(gap)]
        )
    rows.append(
        ["Random mask (reference)"] + ["" for _ in scales] + [_signed(r.random_change), "", ""]
    )
    head = (
        ["Method"]
        + [f"Cosine, s = {fmt_num(s)}" for s in scales]
        + [
            f"{metric} {change_word}, noise on lowest {fmt_int(r.masked_features)}",
            f"{metric} {change_word}, noise on highest {fmt_int(r.masked_features)}",
            "High − low",
        ]
    )
    data = "test" if r.dataset == "test" else "training"
    capped = (
        f"a seeded subsample of {fmt_int(r.rows)} of the {fmt_int(r.rows_available)} "
        f"{data} rows (cap {fmt_int(r.rows)}, seed {r.seed})"
        if r.rows < r.rows_available
        else f"all {fmt_int(r.rows)} {data} rows (seed {r.seed})"
    )
    changed = ", ".join(
        f"{fmt_share(c)} at s = {fmt_num(s)}"
        for s, c in zip(scales, r.pattern_change_share, strict=True)
    )
    note = (
        f"On {capped}. Cosine: mean cosine similarity between the attribution of a row and of "
        "the row plus Gaussian noise of s standard deviations per feature (1 = unchanged). "
        f"The noise moved the row into another activation region for {changed} of the rows. "
        f"Masked noise: noise of {fmt_num(r.mask_noise_scale)} SD added, per row, to the "
        f"{fmt_int(r.masked_features)} features ({fmt_share(r.mask_share)}) the method "
        f"ranks least (lowest) or most (highest) important by |attribution|; clean {metric} "
        f"{fmt_num(r.clean_score)}. Integrated Gradients: baseline = training mean, "
        f"{fmt_int(r.ig_steps)}-point Gauss–Legendre rule (Captum), mean completeness gap "
        f"{fmt_sci(r.ig_mean_abs_delta)} logit."
    )
    table = make_table(
        num.tables,
        "Attribution robustness: Insens against gradient-based attributions",
        head,
        rows,
        align="l" + "r" * (len(head) - 1),
        note=note,
    )
    return table, _robustness_sentence(r)


def _robustness_sentence(r: AttributionRobustness) -> str:
    methods = list(r.methods)
    labels = list(r.labels)
    scales = [float(s) for s in r.noise_scales]
    at = scales.index(0.05) if 0.05 in scales else 0
    stab = [float(v[at]) for v in r.stability]
    best = max(range(len(methods)), key=lambda i: stab[i])
    parts = [
        f"At noise of {fmt_num(scales[at])} SD, {labels[best]} is the most stable attribution "
        f"(mean cosine {fmt_num(stab[best])})"
    ]
    if "insens" in methods and methods[best] != "insens":
        i = methods.index("insens")
        parts.append(f"Insens reaches {fmt_num(stab[i])}")
    faithful: list[str] = []
    unfaithful: list[str] = []
    for m in r.masked:
        low, high = m.low_change, m.high_change
        if low is None or high is None or is_missing(low) or is_missing(high):
            continue
        label = labels[methods.index(m.method)]
        gap = float(high) - float(low)
        (faithful if gap > 0 else unfaithful).append(f"{label} ({_signed(gap)})")
    text = "; ".join(parts) + "."
    if faithful:
        text += (
            " Noise on the features ranked most important hurts more than noise on those "
            f"ranked least important (high − low in brackets) for: {', '.join(faithful)}."
        )
    if unfaithful:
        text += (
            " The reverse (or no difference) holds for: "
            f"{', '.join(unfaithful)}: their ranking does not single out the features the "
            "model's performance depends on."
        )
    return text


def _figure_items(summary: InsensSummary) -> list[tuple[str, float, float]]:
    """The bars of the global figure: (feature, mean |Ω_j|, mean Ω_j), largest first."""
    return sorted(
        (
            (n, float(a), float(s))
            for n, a, s in zip(
                summary.feature_names, summary.mean_abs, summary.mean_signed, strict=True
            )
            if a is not None and s is not None
        ),
        key=lambda t: (-t[1], t[0]),
    )[:INSENS_FIGURE_BARS]


def _output_name(names: tuple[str, ...], entry: WorkedExample, default: str) -> str:
    """The output a worked example explains (its neuron is an output index), else ``default``."""
    if names and 0 <= entry.neuron < len(names):
        return f"output {names[entry.neuron]}"
    return default


def _sample_words(summary: InsensSummary, data: str) -> str | None:
    """ "a fixed random sample of n of the N training rows", or None when every row was used."""
    if summary.data_rows is None:
        return None
    return (
        f"a fixed random sample of {fmt_int(summary.n_samples)} of the "
        f"{fmt_int(summary.data_rows)} {data} rows"
    )


def _sample_sentence(summaries: Mapping[str, InsensSummary]) -> str:
    """Where a sample stands in for the full data, in plain words ("" when nowhere)."""
    parts = [
        words
        for name, summary in summaries.items()
        if (words := _sample_words(summary, "training" if name == "train" else name))
    ]
    if not parts:
        return ""
    return (
        " These averages come from "
        + " and from ".join(parts)
        + ", not from every row: the rows are drawn with a fixed seed, so every run uses the "
        "same ones, and an average over this many rows is far more precise than the figures "
        "shown. The counts of skipped (sample, neuron) pairs and of samples without an "
        "inactive neuron are counts within the sample."
    )


def build_summary(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """The body's paragraph on Insens: what it tells the reader, what to do (section 4)."""
    doc = results.insens
    annex = num.section("insens")
    if doc is None:
        return {"insens_summary": {"absent": [_ABSENT]}}, []
    train = doc.summaries["train"]
    top = [name for name, _, _ in _ranked_features(train)[:3]]
    shows = (
        "Which inputs keep the network's decisions stable: for every client, the hidden "
        "units that are switched off stay off when these features change, so the decision "
        "holds. The largest such effect belongs to "
        + (", ".join(top) if top else "no feature")
        + ". This is a research method (Szymanski et al. 2019); its tables, worked examples "
        f"and the test of how robust the explanations are to small input noise are in "
        f"Appendix {annex}."
    )
    todo = (
        "Check that none of these features is protected or should play no role in the "
        "decision; if one is, treat it like a high importance of that feature (section "
        f"{num.section('importance')}). Otherwise no action is needed: this analysis is "
        "supporting evidence, not a pass/fail test."
    )
    robust = doc.robustness
    if robust is not None:
        unfaithful = [
            robust.labels[robust.methods.index(m.method)]
            for m in robust.masked
            if m.low_change is not None
            and m.high_change is not None
            and not is_missing(m.low_change)
            and not is_missing(m.high_change)
            and float(m.high_change) <= float(m.low_change)
        ]
        if unfaithful:
            todo += (
                " Do not rely on the feature rankings of "
                + ", ".join(unfaithful)
                + ": noise on the features they rank first hurts the model no more than noise "
                "on those they rank last."
            )
    return {"insens_summary": {"absent": [], "reading": {"shows": shows, "todo": todo}}}, []


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """The technical annex: inactive neurons, global Insens, worked examples, robustness."""
    doc = results.insens
    if doc is None:
        return {"insens": {"absent": [_ABSENT]}}, []
    summaries = doc.summaries
    train = summaries["train"]
    names = results.model.output_names
    n_feat = len(train.feature_names)
    bars = min(n_feat, INSENS_FIGURE_BARS)
    layer_table = _layer_table(num, summaries)
    global_spec = FigureSpec(
        id="insens-global",
        kind="insens-global",
        data={"items": _figure_items(train)},
        caption="Global Insens on the training data: mean |Ω_j| per feature over "
        + (_sample_words(train, "training") or f"all {fmt_int(train.n_samples)} samples")
        + ", in standard deviations of the feature "
        f"({'all' if bars == n_feat else 'the largest'} {fmt_int(bars)} of "
        f"{fmt_int(n_feat)} features). Bars: mean |Ω_j|; diamonds: signed mean Ω_j "
        "(positive = increasing the feature keeps the inactive neurons off).",
        alt="Bar chart of mean absolute Insens per feature",
    )
    global_figure = num.figure(global_spec)
    specs = [global_spec]
    feature_table = _feature_table(num, train)
    rows_used = (
        _sample_words(train, "training") or f"the {fmt_int(train.n_samples)} training samples"
    )
    facts = (
        f"On {rows_used}, "
        f"{fmt_share(train.inactive_share)} of the hidden neurons are inactive on average "
        f"(v ≤ 0), so Insens averages over a mean of {fmt_num(train.mean_neurons_used)} "
        f"neurons per sample. {fmt_int(train.skipped_neurons)} (sample, neuron) pairs were "
        f"skipped for a zero switched projection ({fmt_int(train.samples_with_skipped)} "
        f"samples affected), and {fmt_int(train.empty_samples)} samples had no inactive "
        "neuron at all (Insens set to 0 and flagged)."
    ) + _sample_sentence(summaries)
    ranked = _ranked_features(train)
    if ranked:
        facts += (
            " The largest mean |Ω| belongs to "
            + ", ".join(f"{name} ({fmt_num(a)} SD)" for name, a, _ in ranked[:3])
            + "."
        )

    if results.model.task == "multiclass":
        facts += (
            " Insens concerns only the hidden units, so it is the same for every class; each "
            "worked example below decomposes the logit of the class the network predicts at "
            "that point."
        )
    output = f"output {names[0]}" if names else "the output"
    examples = []
    for i, entry in enumerate(doc.examples):
        out_name = _output_name(names, entry, output)
        examples.append(
            {
                "sentence": _point_sentence(entry, i + 1, out_name),
                "table": _worked_table(
                    num,
                    entry,
                    f"Switched linear projection of {out_name} at point P{i + 1} "
                    f"(centre of region R{fmt_int(entry.region)})",
                ),
            }
        )
    no_examples = (
        ""
        if examples
        else "No training region holds enough samples "
        f"(at least {fmt_int(doc.disclosure_min_samples)}, the disclosure threshold) "
        "for its centre to be shown, so no worked example is given."
    )
    rows = []
    for entry in doc.explained_rows or ():
        out_name = _output_name(names, entry, output)
        rows.append(
            {
                "sentence": _point_sentence(entry, 0, out_name),
                "table": _worked_table(
                    num,
                    entry,
                    f"Switched linear projection of {out_name} at training row "
                    f"{fmt_int(entry.row)} (chosen by the user)",
                ),
            }
        )
    robust = doc.robustness
    robust_table, robust_sentence, robust_figure = None, "", None
    if robust is not None:
        robust_table, robust_sentence = _robustness(num, robust)
        robust_spec = FigureSpec(
            id="insens-robustness",
            kind="insens-robustness",
            data={"r": robust},
            caption=(
                "Attribution robustness. Left: mean cosine similarity between the attribution of a "
                "row and of the row plus Gaussian noise, against the noise level s (standard "
                "deviations per feature). Right: performance lost when noise hits the features a "
                "method ranks least important (solid) or most important (hatched); the dotted "
                "line is a random choice of features. A faithful ranking has the hatched bar "
                "longer."
            ),
            alt="Line chart of attribution stability and bar chart of the masked-noise test",
        )
        robust_figure = num.figure(robust_spec)
        specs.append(robust_spec)
    context = {
        "absent": [],
        "reading": {
            "shows": "For the technical reviewer: how the switched-off hidden units of the "
            "network hold each decision in place (Insens), exact worked examples of the "
            "network's arithmetic at representative points, and how robust several "
            "explanation methods are to small input noise.",
            "todo": "Nothing here is a pass/fail test. Use it to challenge the explanations "
            f"of section {num.section('soundness')}: a feature that holds decisions stable "
            "but has no business rationale, or an explanation method that is not robust, is "
            "a question for the developer.",
        },
        "facts": facts,
        "layer_table": layer_table,
        "global_figure": global_figure,
        "feature_table": feature_table,
        "examples": examples,
        "no_examples": no_examples,
        "rows": rows,
        "rows_note": (
            "The following training rows were explained at the user's request "
            f"(Appendix {num.section('app-repro')} gives the option used): these tables print "
            "the values of individual data rows."
            if rows
            else ""
        ),
        "robustness_table": robust_table,
        "robustness_sentence": robust_sentence,
        "robustness_figure": robust_figure,
    }
    return {"insens": context}, specs
