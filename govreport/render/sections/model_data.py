"""Section 3, model and data: what was reviewed, as read from the files."""

from __future__ import annotations

from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.sections import sampling
from govreport.render.text import (
    DASH,
    Numbering,
    TableCounter,
    fmt_bytes,
    fmt_int,
    fmt_metric,
    fmt_num,
    fmt_sci,
    fmt_share,
    make_table,
    metric_label,
    short_hash,
)
from govreport.results.provenance_types import TargetSummary
from govreport.results.schema import Results

__all__ = ["TASK_WORDS", "build", "layer_roles", "performance_table"]


_METRIC_ORDER = (
    "auc",
    "macro_auc",
    "min_class_auc",
    "accuracy",
    "log_loss",
    "rmse",
    "mae",
    "mse",
    "r2",
)


TASK_WORDS = {
    "binary": "binary classification",
    "multiclass": "multiclass classification",
    "regression": "regression",
}


def performance_table(counter: TableCounter, results: Results) -> dict[str, Any]:
    """The performance of the network per data set (sections 3 and 5)."""
    perf = results.performance
    keys: list[str] = []
    for p in perf:
        for k in p.metrics:
            if k not in keys:
                keys.append(k)
    keys.sort(
        key=lambda k: (_METRIC_ORDER.index(k) if k in _METRIC_ORDER else len(_METRIC_ORDER), k)
    )
    rows = [[p.dataset] + [fmt_metric(p.metrics.get(k)) for k in keys] for p in perf]
    return make_table(
        counter,
        "Performance of the network per data set",
        ["Data set"] + [metric_label(k) for k in keys],
        rows,
        align="l" + "r" * len(keys),
    )


def _target_balance(summary: TargetSummary) -> str:
    kind = summary.kind
    counts = summary.counts or {}
    if kind == "binary":
        total = sum(counts.values())
        pos = counts.get("1")
        extra = f" ({fmt_int(pos)} of {fmt_int(total)})" if pos is not None and total else ""
        return f"{fmt_share(summary.positive_share)} positive{extra}"
    if kind == "regression":
        return (
            f"mean {fmt_num(summary.mean)}, std {fmt_num(summary.std)}, "
            f"range {fmt_num(summary.min)} to {fmt_num(summary.max)}"
        )
    total = sum(counts.values())
    if total:
        return ", ".join(f"{k}: {fmt_share(v / total)}" for k, v in counts.items())
    return DASH


_LINEAR = ("linear", "gemm", "matmul", "dense", "conv")
_ACTIVATION = ("relu",)
_LINKS = {
    "sigmoid": "a probability",
    "softmax": "class probabilities",
    "logsoftmax": "class log-probabilities",
}


def layer_roles(kinds: list[str]) -> list[str]:
    """The plain role of each layer of the source network, from the sequence of kinds.

    A linear layer followed by a ReLU is a hidden layer (it creates the regions); one
    followed directly by another linear layer is an input rescaling with no ReLU after it
    (a standardiser, folded into the next map); the last linear layer gives η; a sigmoid or
    softmax after it is the output link. Anything else keeps no role (—).
    """
    low = [k.lower() for k in kinds]
    linear = [any(t in k for t in _LINEAR) for k in low]
    last_linear = max((i for i, is_lin in enumerate(linear) if is_lin), default=-1)
    roles: list[str] = []
    hidden = 0
    for i, k in enumerate(low):
        nxt = next(
            (
                low[j]
                for j in range(i + 1, len(low))
                if low[j] not in ("dropout", "identity", "flatten")
            ),
            "",
        )
        if linear[i] and i == last_linear:
            roles.append("output layer: gives η, the output before the link function (the logit)")
        elif linear[i] and any(t in nxt for t in _ACTIVATION):
            hidden += 1
            roles.append(f"hidden layer {hidden}: linear map feeding ReLU units")
        elif linear[i] and any(t in nxt for t in _LINEAR):
            roles.append(
                "input rescaling (e.g. a frozen standardiser): an affine map with no ReLU "
                "after it, folded into the next layer"
            )
        elif any(t in k for t in _ACTIVATION):
            roles.append(f"ReLU units of hidden layer {hidden}: on/off states define regions")
        elif k in _LINKS and i > last_linear:
            roles.append(f"output link: turns η into {_LINKS[k]}")
        else:
            roles.append(DASH)
    return roles


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 3: model facts, architecture, data sets, feature statistics, performance."""
    model, inputs, datasets = results.model, results.inputs, results.datasets
    task = TASK_WORDS.get(model.task, model.task)
    outputs = ", ".join(model.output_names)
    model_file = inputs.model
    facts = [
        ("Task", f"{task}; output link {model.output_link}; outputs: {outputs}"),
        ("Inputs", f"{fmt_int(model.input_dim)} features"),
        ("Hidden widths", ", ".join(fmt_int(w) for w in model.hidden_widths) or DASH),
        ("Parameters", fmt_int(model.parameter_count)),
        ("Activation check", model.activation_check),
        (
            "File",
            f"{model_file.file} ({fmt_bytes(model_file.bytes)}, "
            f"format {model_file.format or DASH})",
        ),
        ("SHA-256", model_file.sha256),
        (
            "Conversion error",
            f"{fmt_sci(model.conversion_max_abs_error)} (largest absolute difference "
            "between govreport's canonical network and the source model on the training "
            "rows, float64)",
        ),
    ]
    labels = model.class_labels
    if labels:  # text labels of the target, in class-index order
        mapping = ", ".join(f"{i} = {label}" for i, label in enumerate(labels))
        roles = " (0 negative, 1 positive)" if model.task == "binary" else ""
        facts.insert(1, ("Classes", f"{mapping}{roles}"))
    if model.source_check:
        facts.append(("Source check", model.source_check))
    layer_role = layer_roles([layer.kind for layer in model.source_layers])
    arch_rows = [
        [
            fmt_int(layer.index),
            layer.kind,
            (layer.detail or DASH).replace(" -> ", "\u00a0→\u00a0"),
            role,
            layer.treatment or DASH,
        ]
        for layer, role in zip(model.source_layers, layer_role, strict=True)
    ]
    files = {f.name: f for f in inputs.datasets}
    data_rows = []
    for d in datasets:
        digest = files[d.name].sha256 if d.name in files else None
        data_rows.append(
            [
                d.name,
                short_hash(digest),
                sampling.rows_cell(results, d.name, d.rows),
                fmt_int(d.features),
                d.target or DASH,
                _target_balance(d.target_summary),
                fmt_int(d.missing_values),
            ]
        )
    arch_table = make_table(
        num.tables,
        "Architecture as read from the model file",
        ["Layer", "Kind", "Detail", "Role", "Treatment by govreport"],
        arch_rows,
        align="rllll",
        note="Role: what the layer does in the validated network (Appendix "
        f"{num.section('glossary')}, 'Layer roles'). Detail: inputs → outputs of a linear "
        "map.",
    )
    data_table = make_table(
        num.tables,
        "Data sets",
        ["Data set", "SHA-256", "Rows", "Features", "Target", "Target balance", "Missing values"],
        data_rows,
        align="lmrrlrr",
        note=" ".join(
            filter(
                None,
                [
                    f"Full SHA-256 digests are in Appendix {num.section('app-repro')}.",
                    sampling.rows_note(results),
                ],
            )
        ),
    )
    # Coded features (data dictionary: ordinal, categorical) have no meaningful mean or std;
    # section 3.1 gives their code frequencies.
    quality = results.data_quality
    coded = {
        f.name
        for f in (quality.datasets[0].features if quality and quality.datasets else ())
        if f.type in ("ordinal", "categorical")
    }
    feature_tables = []
    for d in datasets:
        if not d.feature_stats:
            continue
        rows = [
            [
                s.name,
                "coded" if s.name in coded else fmt_num(s.mean),
                DASH if s.name in coded else fmt_num(s.std),
                fmt_num(s.min),
                fmt_num(s.max),
            ]
            for s in d.feature_stats
        ]
        feature_tables.append(
            make_table(
                num.tables,
                f"Feature statistics, {d.name} data",
                ["Feature", "Mean", "Std", "Min", "Max"],
                rows,
                align="lrrrr",
                note="coded: an ordinal or categorical feature of the data dictionary, whose "
                f"mean means nothing; its code frequencies are in section "
                f"{num.section('data-quality')}."
                if coded
                else "",
            )
        )
    exact = model.conversion_max_abs_error is not None and model.conversion_max_abs_error < 1e-6
    model_data = {
        "reading": {
            "shows": "What was validated: the network as read from its file (layers and what "
            "each does), the data sets with their digests, and the distribution of every "
            "feature.",
            "todo": "Check that the file, its digest and the data sets are the ones the model "
            "owner submitted for validation. "
            + (
                "The network was read exactly (conversion error at rounding level), so the "
                "rest of the report describes the submitted model itself."
                if exact
                else "The conversion error is not at rounding level: resolve it with the "
                "developer before relying on any other result."
            ),
        },
        "facts": facts,
        "arch_table": arch_table,
        "data_table": data_table,
        "sampling": sampling.sample_paragraph(results, num),
        "feature_tables": feature_tables,
        # The performance table is printed once, in section 5 (outcomes analysis).
        "performance_note": "The network's performance on each data set, with sampling "
        f"intervals, is in section {num.section('outcomes')}.",
    }
    return {"model_data": model_data}, []
