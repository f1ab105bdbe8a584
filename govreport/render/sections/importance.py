"""Section 4.3, feature importance: the one headline importance (scaled effect), as a figure
and per output tables, in the same order as every other feature ranking of the report."""

from __future__ import annotations

from typing import Any

from govreport.analyses.importance import FeatureImportance, OutputImportance, headline
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.classes import class_phrase, is_multiclass, shown
from govreport.render.text import Numbering, TableCounter, fmt_int, is_missing, make_table
from govreport.results.schema import Results

__all__ = ["IMPORTANCE_FIGURE_BARS", "IMPORTANCE_TABLE_ROWS", "build", "fmt_share_pct"]


#: Largest number of rows printed in the feature-importance table (the rest stay in results.json).
IMPORTANCE_TABLE_ROWS = 30


#: Bars drawn in the feature-importance figure (the table's first rows, in the same order).
IMPORTANCE_FIGURE_BARS = 15


def fmt_share_pct(value: Any) -> str:
    """A share already in per cent at one decimal: ``31.24`` -> ``"31.2%"``; a positive value
    that would print as 0.0 -> ``"<0.1%"`` (never "0.0%" for something that is not zero)."""
    if is_missing(value):
        return "—"
    v = float(value)
    if v == 0.0:
        return "0%"
    if 0.0 < v < 0.05:
        return "<0.1%"
    return f"{v:.1f}%"


def _effect(value: float) -> str:
    if value == 0.0:
        return "0"
    if abs(value) < 0.001:
        return "<0.001"
    return f"{value:.3f}"


def _unit(results: Results) -> str:
    return "output units" if results.model.task == "regression" else "log-odds"


def ordered(features: tuple[FeatureImportance, ...]) -> list[FeatureImportance]:
    """Features by the headline importance, largest first (stable): the report's one order."""
    return sorted(features, key=lambda f: -headline(f))


def _importance_tables(
    counter: TableCounter,
    outputs: list[OutputImportance],
    unit: str,
    labels: list[str] | None,
) -> list[dict[str, Any]]:
    """One table per output; ``labels``: the class of each (multiclass), else None."""
    tables = []
    for i, out in enumerate(outputs):
        feats = ordered(out.features)
        shown = feats[:IMPORTANCE_TABLE_ROWS]
        share = [f.share_pct if f.share_pct is not None else f.scaled_pct for f in shown]
        rows = [
            [fmt_int(i + 1), f.name, _effect(headline(f)), fmt_share_pct(s)]
            for i, (f, s) in enumerate(zip(shown, share, strict=True))
        ]
        title = "Feature importance" + (
            f", {labels[i]}"
            if labels is not None
            else (f", output {out.output}" if len(outputs) > 1 else "")
        )
        note = (
            f"All {fmt_int(len(feats))} features, by importance."
            if len(shown) == len(feats)
            else f"The {fmt_int(len(shown))} most important of {fmt_int(len(feats))} features; "
            "the rest are in results.json."
        )
        tables.append(
            make_table(
                counter,
                title,
                ["Rank", "Feature", f"Mean effect of one SD ({unit})", "Share"],
                rows,
                align="rlrr",
                note=note,
                css="narrow",
            )
        )
    return tables


READING = {
    "shows": "Which inputs move the model's output most. For every training client, the "
    "client's own linear model gives the change in the output when one input moves by one "
    "standard deviation; the importance of an input is the average size of that change over "
    "all clients, and its share of the total. Every ranking of features in this report "
    "(profiles, clusters, summary) uses this one measure.",
    "todo": "Check that the leading inputs are ones the business expects to drive the "
    "outcome and that no input the model must not rely on is among them. An input that ranks "
    "high here but has an unexpected direction in the sign checks needs an explanation from "
    "the developer.",
}


def _figure(
    output: OutputImportance, unit: str, *, key: str, of: str, multiclass: bool
) -> FigureSpec:
    """The importance bar chart of one output (``of``: " for output y" or " of class x")."""
    feats = ordered(output.features)
    n_bars = min(len(feats), IMPORTANCE_FIGURE_BARS)
    which = (
        f"all {fmt_int(n_bars)} features"
        if n_bars == len(feats)
        else f"the {fmt_int(n_bars)} most important of {fmt_int(len(feats))} features"
    )
    return FigureSpec(
        id=f"importance{key}",
        kind="importance",
        data={"features": tuple(feats[:n_bars]), "unit": unit},
        caption=f"Feature importance{of}: {which}, in the order of "
        "the table. Bar length: the average size, over all training clients, of the change in "
        f"the output ({unit}) when the input moves by one standard deviation; the label gives "
        "its share of the total over all features.",
        alt="Horizontal bar chart of feature importance" + (of if multiclass else ""),
    )


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4.3: the importance figure and table of each shown output (every class of a
    multiclass model, or the user's choice; the one output otherwise)."""
    imp = results.importance
    outputs = imp.outputs
    if not outputs:
        return {
            "importance": {
                "reading": READING,
                "tables": [],
                "figures": [],
                "figure": None,
                "absent": [
                    {
                        "title": "Feature importance",
                        "issue": "",
                        "text": "This results file holds no feature importance.",
                    }
                ],
            }
        }, []
    unit = _unit(results)
    specs = []
    if is_multiclass(results):
        chosen = [(k, name) for k, name in shown(results) if k < len(outputs)]
        for k, name in chosen:
            specs.append(
                _figure(
                    outputs[k],
                    f"logit of {name}",
                    key=f"-{k}" if k else "",
                    of=f" of {class_phrase(name)}",
                    multiclass=True,
                )
            )
        tables = _importance_tables(
            num.tables,
            [outputs[k] for k, _ in chosen],
            "logit",
            [class_phrase(name) for _, name in chosen],
        )
    else:
        of = f" for output {outputs[0].output}"
        specs.append(_figure(outputs[0], unit, key="", of=of, multiclass=False))
        tables = _importance_tables(num.tables, list(outputs), unit, None)
    figures = [num.figure(spec) for spec in specs]
    return {
        "importance": {
            "reading": READING,
            "tables": tables,
            "figures": figures,
            "figure": figures[0],  # the first output's: custom templates written before
            "absent": [],
        }
    }, specs
