"""Section 4.7, cluster feature importance: ``results.clusters`` -> template context.

Reads the typed block of :mod:`govreport.analyses.clusters`. It is optional: a
results file without it says so. All numbers
become strings here, and the clusters and features the figure draws are chosen
here; the template only prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from govreport.analyses.clusters import ClusterAnalysis, ClusterSummary, FeatureFI
from govreport.analyses.clusters.patterns import PatternLabel
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.classes import class_phrase, is_multiclass, shown
from govreport.render.text import (
    DASH,
    Numbering,
    fmt_int,
    fmt_num,
    fmt_share,
    is_missing,
    make_table,
)
from govreport.results.schema import Results

__all__ = [
    "FIGURE_CLUSTERS",
    "FIGURE_FEATURES",
    "TABLE_CLUSTERS",
    "build",
    "signed",
]

#: Main clusters drawn in the FI figure (one panel each).
FIGURE_CLUSTERS = 6
#: Features per panel of the FI figure, the largest |FI| first.
FIGURE_FEATURES = 8
#: Main clusters listed in the table (the rest are counted in the "other" row).
TABLE_CLUSTERS = 10
#: Features in the average-instance table.
INSTANCE_FEATURES = 10
#: Tables of at most this many rows are kept on one page (rows here are tall).
KEEP_ROWS = 5
#: Features named per cluster in the table.
TABLE_FEATURES = 3
#: Longest pattern printed as bits in the table; longer ones show a digest.
TABLE_PATTERN_BITS = 24

_MINUS = "\u2212"
#: Printed when results hold no clusters.
ABSENT_TEXT = "This results file holds no cluster feature importance."


def signed(value: Any) -> str:
    """``+0.42`` / ``−1.3`` (typographic minus); missing -> dash."""
    if is_missing(value):
        return DASH
    v = float(value)
    text = fmt_num(abs(v))
    if v > 0:
        return "+" + text
    if v < 0:
        return _MINUS + text
    return text


def _prediction_head(kind: str) -> str:
    return {
        "positive_share": "Predicted positive",
        "mean_prediction": "Mean prediction",
        "class_shares": "Most predicted class",
    }.get(kind, "Prediction")


def _prediction_text(kind: str, values: Sequence[Any] | None, outputs: Sequence[str]) -> str:
    if not values:
        return DASH
    if kind == "positive_share":
        return fmt_share(values[0])
    if kind == "mean_prediction":
        return fmt_num(values[0])
    best = max(range(len(values)), key=lambda k: (float(values[k]), -k))
    name = outputs[best] if best < len(outputs) else f"class {best}"
    return f"{name} ({fmt_share(values[best])})"


def _pattern_text(pattern: PatternLabel | None) -> str:
    if pattern is None:
        return DASH
    bits = pattern.bits
    if bits and pattern.n_bits <= TABLE_PATTERN_BITS:
        return bits
    return f"#{pattern.digest[:8]}"


def _clusters_word(n: int) -> str:
    return f"{fmt_int(n)} {'cluster' if n == 1 else 'clusters'}"


def _pooled_prediction(parts: Sequence[tuple[int, Any]]) -> list[float] | None:
    """Count-weighted mean of prediction vectors (all summaries are means over samples)."""
    kept = [(n, [float(v) for v in p]) for n, p in parts if n and p]
    total = sum(n for n, _ in kept)
    if not total:
        return None
    width = len(kept[0][1])
    return [sum(n * p[k] for n, p in kept) / total for k in range(width)]


def _by_effect(features: Sequence[FeatureFI]) -> list[FeatureFI]:
    """Features by |w × std| (the report's one importance scale), ties by input order."""
    ranked = sorted(enumerate(features), key=lambda item: (-abs(float(item[1].scaled)), item[0]))
    return [f for _, f in ranked]


def _scaled_spread(f: FeatureFI) -> float:
    if f.scaled_std is not None:
        return float(f.scaled_std)
    fi = float(f.fi)
    return float(f.std) * abs(float(f.scaled) / fi) if fi else 0.0


def _effect(value: float) -> str:
    """A signed effect at two decimals (``+0.49``, ``−0.36``); ``<0.01`` in size below that."""
    v = float(value)
    if v == 0.0:
        return "0"
    if abs(v) < 0.005:
        return ("+" if v > 0 else _MINUS) + "<0.01"
    return ("+" if v > 0 else _MINUS) + f"{abs(v):.2f}"


def _top_features(features: Sequence[FeatureFI]) -> str:
    return ", ".join(f"{f.name} {_effect(f.scaled)}" for f in _by_effect(features)[:TABLE_FEATURES])


def _first_output(cluster: ClusterSummary, output: int = 0) -> tuple[FeatureFI, ...]:
    """The features of the cluster's output ``output`` (the first unless a class is named)."""
    return cluster.outputs[output].features if len(cluster.outputs) > output else ()


def _grouping_sentence(c: ClusterAnalysis, census_section: str) -> str:
    n = fmt_int(c.samples)
    s_min = fmt_int(c.s_min)
    rule = (
        f"s_min = max({fmt_int(c.min_samples)}, {fmt_share(c.s_min_share)} of "
        f"the samples) = {s_min}"
    )
    threshold = fmt_share(c.coverage_threshold)
    identical = (
        f"Of the {fmt_int(c.identical_clusters)} identical-pattern clusters, "
        f"{fmt_int(c.identical_main_count)} hold at least {rule} samples and cover "
        f"{fmt_share(c.identical_main_coverage)} of the {n} training samples"
    )
    grouping = c.grouping
    if grouping == "identical":
        return (
            "Clusters are identical activation patterns, as in the paper: they are the regions "
            f"of section {census_section} (cluster C1 is region R1). {identical}, at least the "
            f"{threshold} needed to describe the network cluster by cluster. Within a cluster "
            "the network is one affine map, so each FI value is an exact local coefficient."
        )
    average = (
        " A group spans many activation regions, so its FI is the sample-weighted mean of "
        "the local coefficients of its samples, with their spread (standard deviation over "
        "the group's samples): an average, not an exact affine map."
    )
    too_few = (
        f"{identical}: less than the {threshold} needed to interpret the network cluster by "
        "cluster."
    )
    if grouping == "merged":
        return (
            f"{too_few} This section therefore uses the coarser groups of the merging analysis "
            f"({c.merged_source or 'merged clusters'}): {fmt_int(c.clusters)} groups, "
            f"of which the {fmt_int(c.main_count)} with at least {s_min} samples cover "
            f"{fmt_share(c.main_coverage)} of the samples." + average
        )
    fb = c.fallback
    kept = len(fb.neurons) if fb else 0
    width, layer = (fb.layer_width, fb.layer) if fb else (None, None)
    return (
        f"{too_few} This section therefore uses a coarser grouping (a govreport fallback, not "
        "the paper's method): samples are grouped by the on/off states of the "
        f"{fmt_int(kept)} most balanced of the {fmt_int(width)} neurons of "
        f"hidden layer {fmt_int(layer)}, the last one, keeping as many neurons as "
        f"still leaves groups of at least {s_min} samples covering {threshold} of the data. "
        f"This gives {fmt_int(c.clusters)} groups; the {fmt_int(c.main_count)} with at "
        f"least {s_min} samples cover {fmt_share(c.main_coverage)} of the samples." + average
    )


def _table(num: Numbering, c: ClusterAnalysis, per_class: bool = False) -> dict[str, Any]:
    """The main clusters; ``per_class`` (multiclass): without the top features, which the
    per-class tables give."""
    kind = c.prediction_kind
    outputs = c.output_names
    exact = c.exact
    label = "Cluster" if exact else "Group"
    pattern_head = "Pattern" if c.grouping != "merged" else "Merged cluster"
    head = [
        label,
        "Samples",
        "Support",
        _prediction_head(kind),
        pattern_head,
        "Top features (effect of one SD)",
    ]
    rows: list[list[str]] = []
    main = c.main
    for cluster in main[:TABLE_CLUSTERS]:
        features = _first_output(cluster)
        pattern = _pattern_text(cluster.pattern) if c.grouping != "merged" else f"M{cluster.rank}"
        rows.append(
            [
                f"{'C' if exact else 'G'}{cluster.rank}",
                fmt_int(cluster.count),
                fmt_share(cluster.support),
                _prediction_text(kind, cluster.prediction, outputs),
                pattern,
                _top_features(features),
            ]
        )
    other = c.other
    listed_out = max(0, len(main) - TABLE_CLUSTERS)
    other_clusters = other.clusters + listed_out
    if other_clusters:
        unlisted = main[TABLE_CLUSTERS:]
        samples = other.count + sum(m.count for m in unlisted)
        prediction = _pooled_prediction(
            [(other.count, other.prediction)] + [(m.count, m.prediction) for m in unlisted]
        )
        rows.append(
            [
                f"other ({_clusters_word(other_clusters)})",
                fmt_int(samples),
                fmt_share(samples / c.samples) if c.samples else DASH,
                _prediction_text(kind, prediction, outputs),
                DASH,
                DASH,
            ]
        )
    note_parts = [
        f"{'Clusters' if exact else 'Groups'} with at least s_min = {fmt_int(c.s_min)} "
        "samples, largest first; support = share of the training samples."
    ]
    if c.grouping == "identical":
        note_parts.append(
            "Pattern: on (1) / off (0) state of every hidden neuron, layers separated by |"
            f" (a # digest above {TABLE_PATTERN_BITS} neurons; results.json keeps the lossless "
            "hex form)."
        )
    elif c.grouping == "fallback":
        note_parts.append(
            "Pattern: on (1) / off (0) state of the kept last-layer neurons, most balanced first."
        )
    if kind == "positive_share":
        note_parts.append("Predicted positive: share of the cluster's samples with σ(η) > 0.5.")
    if per_class:
        note_parts.append("The tables and figures below give the top features per class.")
    elif len(outputs) > 1:
        note_parts.append(f"FI shown for output {outputs[0]}; results.json holds every output.")
    note_parts.append(
        "Top features: the change in the "
        + ("logit" if kind != "mean_prediction" else "output")
        + " for a one-standard-deviation move of the feature under the cluster's "
        + ("linear model" if exact else "mean linear model")
        + ", signed, largest in size first: the same scale as the feature importance of "
        "section 4.3. The coefficients per unit of each feature are in results.json."
    )
    if other_clusters:
        below = other.below_s_min
        unlisted_main = other_clusters - below
        note_parts.append(
            f"The other row pools the {_clusters_word(below)} below s_min"
            + (f" and {_clusters_word(unlisted_main)} above it not listed" if unlisted_main else "")
            + "; the supports sum to 100% with it."
        )
    withheld = sum(1 for m in main if m.average_instance is None)
    note_parts.append(
        "Average instances (mean x of each cluster) are in results.json"
        + (
            f"; withheld for {fmt_int(withheld)} clusters below the disclosure threshold."
            if withheld
            else "."
        )
    )
    title = (
        "Main clusters (identical activation patterns), training data"
        if exact
        else "Main groups of the coarser grouping, training data"
    )
    align = "lrrrml"
    if per_class:  # the top features move to one table per class
        head, rows, align = head[:-1], [row[:-1] for row in rows], align[:-1]
        note_parts = [p for p in note_parts if not p.startswith("Top features:")]
    table = make_table(num.tables, title, head, rows, align=align, note=" ".join(note_parts))
    # Rows wrap to three lines: a table kept on one page would leave most of a page blank.
    table["keep"] = len(rows) <= KEEP_ROWS
    return table


def _class_table(num: Numbering, c: ClusterAnalysis, output: int, name: str) -> dict[str, Any]:
    """Top features of each listed cluster for one class of a multiclass model."""
    exact = c.exact
    rows = [
        [
            f"{'C' if exact else 'G'}{cluster.rank}",
            fmt_int(cluster.count),
            _top_features(_first_output(cluster, output)),
        ]
        for cluster in c.main[:TABLE_CLUSTERS]
    ]
    label = "Cluster" if exact else "Group"
    return make_table(
        num.tables,
        f"Top features of the main {'clusters' if exact else 'groups'}, {class_phrase(name)}",
        [label, "Samples", f"Top features (effect of one SD on the logit of {name})"],
        rows,
        align="lrl",
        note=f"Top features: the change in the logit of {class_phrase(name)} "
        "for a one-standard-deviation move of the feature under the "
        + ("cluster's linear model" if exact else "group's mean linear model")
        + ", signed, largest in size first: the same scale as the feature importance of "
        "section 4.3. The coefficients per unit of each feature are in results.json.",
    )


def _instances_table(num: Numbering, c: ClusterAnalysis, results: Results) -> dict[str, Any] | None:
    """Average instance (mean x) of the drawn clusters, for their most important features."""
    main = c.main[:FIGURE_CLUSTERS]
    if not main:
        return None
    prefix = "C" if c.exact else "G"
    # Features in order of their largest |w × std| over the drawn clusters (ties: input order).
    largest: dict[str, float] = {}
    order: list[str] = []
    for cluster in main:
        for f in _first_output(cluster):
            name = f.name
            if name not in largest:
                order.append(name)
                largest[name] = 0.0
            largest[name] = max(largest[name], abs(float(f.scaled)))
    names = list(c.feature_names or order)
    position = {n: i for i, n in enumerate(names)}
    ranked = sorted(largest, key=lambda n: (-largest[n], position.get(n, len(names))))
    shown = ranked[:INSTANCE_FEATURES]
    stats: dict[str, float | int | None] = {}
    for dataset in results.datasets:
        if dataset.name == "train":
            stats = {f.name: f.mean for f in dataset.feature_stats}
    rows = []
    for name in shown:
        j = position.get(name)
        cells = [name, fmt_num(stats.get(name))]
        for cluster in main:
            values = cluster.average_instance
            cells.append("withheld" if values is None or j is None else fmt_num(values[j]))
        rows.append(cells)
    withheld = [f"{prefix}{m.rank}" for m in main if m.average_instance is None]
    note = (
        f"Mean of each feature over the samples of the cluster, for the {fmt_int(len(shown))} "
        "features with the largest effect in the clusters drawn in the figure; the second column "
        "is the mean over all training samples. results.json holds every feature."
    )
    if withheld:
        note += (
            f" Withheld for {', '.join(withheld)}: fewer samples than the disclosure threshold "
            f"({fmt_int(c.disclosure_min_samples)}), so the mean would reveal "
            "individual rows."
        )
    return make_table(
        num.tables,
        "Average instance of the largest " + ("clusters" if c.exact else "groups"),
        ["Feature", "All samples", *[f"{prefix}{m.rank}" for m in main]],
        rows,
        align="l" + "r" * (len(main) + 1),
        note=note,
    )


def _figure_data(c: ClusterAnalysis, output: int = 0) -> dict[str, Any]:
    """What the FI figure draws: the largest main clusters, each its features with the largest
    effect of one standard deviation (|w × std|, the report's one importance scale)."""
    exact = c.exact
    label = "C" if exact else "G"
    panels = []
    for cluster in c.main[:FIGURE_CLUSTERS]:
        features = _first_output(cluster, output)
        ranked = _by_effect(features)[:FIGURE_FEATURES]
        panels.append(
            {
                "title": f"{label}{cluster.rank}: n = {fmt_int(cluster.count)} "
                f"({fmt_share(cluster.support)})",
                "names": [f.name for f in ranked],
                "values": [float(f.scaled) for f in ranked],
                "spreads": [_scaled_spread(f) for f in ranked],
            }
        )
    return {
        "panels": panels,
        "exact": exact,
        "scale": "output" if c.prediction_kind == "mean_prediction" else "logit",
        "panel_features": FIGURE_FEATURES,
    }


READING = {
    "shows": "Groups of clients the network treats alike, how large each group is, how often "
    "the model predicts the positive class in it, and which inputs drive the model inside "
    "each group, measured on the same scale as the feature importance (the change in output "
    "for a one-standard-deviation move).",
    "todo": "Check that the drivers of each large group make business sense and agree in "
    "direction with the sign expectations. A coded input (sex, education, marital status) "
    "leading a group deserves a question to the developer; differences between groups show "
    "where the model behaves differently for different kinds of clients.",
}


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4.7: the grouping sentence, the main clusters, average instances, the figure."""
    c = results.clusters
    if c is None:
        entries = [{"title": "Cluster feature importance", "text": ABSENT_TEXT, "issue": ""}]
        return {
            "clusters": {
                "absent": entries,
                "sentence": "",
                "table": None,
                "instances": None,
                "figure": None,
            }
        }, []
    main = c.main
    figure = None
    specs = []
    per_class = is_multiclass(results) and len(c.output_names) > 1
    drawn = min(len(main), FIGURE_CLUSTERS)
    if drawn:
        exact = c.exact
        outputs = c.output_names
        value = (
            "the change in the output for a one-standard-deviation move of the feature under "
            "the cluster's exact linear model"
            if exact
            else "the mean, over the group's clients, of the change in the output for a "
            "one-standard-deviation move under each client's own linear model, with whiskers "
            "of ± one standard deviation over the group's clients"
        )
        caption = (
            f"Feature effects in the {fmt_int(drawn)} largest of "
            f"{fmt_int(c.main_count)} main {'clusters' if exact else 'groups'}, one panel "
            f"each, showing the up to {FIGURE_FEATURES} features with the largest effect, "
            f"largest at the top. Bars: {value} (the scale of the feature importance "
            "section). Solid bars are positive, hatched bars negative."
            + (f" Output {outputs[0]}." if len(outputs) > 1 and not per_class else "")
        )
        if not per_class:
            spec = FigureSpec(
                id="clusters-fi",
                kind="clusters-fi",
                caption=caption,
                alt="Bar charts of cluster feature importance",
                data=_figure_data(c),
            )
            figure = num.figure(spec)
            specs.append(spec)
    table = _table(num, c, per_class)
    classes: list[dict[str, Any]] = []
    if per_class:
        for index, name in shown(results):
            class_table = _class_table(num, c, index, name)
            class_figure = None
            if drawn:
                spec = FigureSpec(
                    id=f"clusters-fi-{index}",
                    kind="clusters-fi",
                    caption=caption + f" Logit of {class_phrase(name)}.",
                    alt=f"Bar charts of cluster feature importance, {class_phrase(name)}",
                    data=_figure_data(c, index),
                )
                class_figure = num.figure(spec)
                specs.append(spec)
            classes.append({"table": class_table, "figure": class_figure})
    context: dict[str, Any] = {
        "absent": [],
        "reading": READING,
        "sentence": _grouping_sentence(c, num.section("census")),
        "table": table,
        "classes": classes,
        "instances": _instances_table(num, c, results),
        "figure": figure,
    }
    return {"clusters": context}, specs
