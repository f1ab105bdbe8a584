"""Section 4.3, feature importance: raw and scale-aware, as a figure and per output tables."""

from __future__ import annotations

from typing import Any

from govreport.analyses.importance import ImportanceResult
from govreport.render.figures.spec import FigureSpec
from govreport.render.text import Numbering, TableCounter, fmt_int, fmt_pct, make_table
from govreport.results.schema import Results

__all__ = ["IMPORTANCE_FIGURE_BARS", "IMPORTANCE_TABLE_ROWS", "build"]


#: Largest number of rows printed in the feature-importance table (the rest stay in results.json).
IMPORTANCE_TABLE_ROWS = 30


#: Bars drawn in the feature-importance figure (the largest raw importance first).
IMPORTANCE_FIGURE_BARS = 15


def _importance_tables(counter: TableCounter, importance: ImportanceResult) -> list[dict[str, Any]]:
    tables = []
    outputs = importance.outputs
    for out in outputs:
        feats = out.features
        shown = feats[:IMPORTANCE_TABLE_ROWS]
        rows = [
            [fmt_int(i + 1), f.name, fmt_pct(f.raw_pct), fmt_pct(f.scaled_pct)]
            for i, f in enumerate(shown)
        ]
        title = "Feature importance" + (f", output {out.output}" if len(outputs) > 1 else "")
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


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4.3: the importance figure (first output) and one table per output."""
    imp = results.importance
    outputs = imp.outputs
    if not outputs:
        return {
            "importance": {
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
        }, []
    feats = outputs[0].features
    n_bars = min(len(feats), IMPORTANCE_FIGURE_BARS)
    shown = (
        f"all {fmt_int(n_bars)} features"
        if n_bars == len(feats)
        else f"the {fmt_int(n_bars)} features with the largest raw importance of "
        f"{fmt_int(len(feats))}"
    )
    spec = FigureSpec(
        id="importance",
        kind="importance",
        data={"features": feats[:n_bars]},
        caption=f"Feature importance for output {outputs[0].output}: {shown}, sorted by raw "
        "importance. Solid bars: raw importance (sample-weighted squared local slopes); "
        "hatched bars: scaled importance (slopes multiplied by the feature's standard "
        "deviation). Each set sums to 100% over all features.",
        alt="Horizontal bar chart of feature importance",
    )
    figure = num.figure(spec)
    tables = _importance_tables(num.tables, imp)
    return {"importance": {"tables": tables, "figure": figure, "absent": []}}, [spec]
