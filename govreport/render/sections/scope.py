"""Section 2, scope and use: intended use, data sets, traceability of the checks."""

from __future__ import annotations

from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.sections import sampling
from govreport.render.sections.checks import check_dataset
from govreport.render.sections.conclusion import check_titles
from govreport.render.sections.review import data_window, review_context, traceability
from govreport.render.text import DASH, Numbering, make_table
from govreport.results.schema import Results

__all__ = ["READING", "build"]

#: Section 2's plain-words box.
READING = {
    "shows": "What the model is for, the data sets this validation used, and which regulatory "
    "requirement each policy check provides evidence for.",
    "todo": "Confirm that the intended use matches how the business uses the model and that "
    "the data windows cover the population it scores; a use outside this scope needs its own "
    "validation.",
}


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 2: intended use, the data sets and the traceability of the checks."""
    files = {f.name: f for f in results.inputs.datasets}
    roles = {
        "train": "training data: regions, local models, importance, profiles",
        "test": "held-out data: outcomes analysis, region exposure",
        "oot": "out-of-time data: performance, region census, data quality, stability, fairness",
    }
    rows = []
    for d in results.datasets:
        file = files[d.name].file if d.name in files else DASH
        rows.append(
            [
                d.name,
                file,
                sampling.rows_cell(results, d.name, d.rows),
                roles.get(d.name, "additional data"),
                data_window(results, d.name),
            ]
        )
    trace_head, trace, trace_align = traceability(
        results.policy.checks, check_dataset, check_titles(results)
    )
    review = review_context(results)
    scope = {
        "reading": READING,
        "intended_use": review["intended_use"],
        "datasets_table": make_table(
            num.tables,
            "Data sets used in this review",
            ["Data set", "File", "Rows", "Used for", "Window"],
            rows,
            align="llrll",
            note=" ".join(filter(None, [review["windows_note"], sampling.rows_note(results)])),
        ),
        "sampling": sampling.sample_paragraph(results, num),
        "trace_table": make_table(
            num.tables,
            "Traceability: policy checks and the requirements they evidence",
            trace_head,
            trace,
            align=trace_align,
            css="trace",
            note="Clauses as cited by each check in the policy file (Appendix A lists the "
            "checks with their identifiers and metrics); — marks a framework the check does "
            "not cite.",
        ),
    }
    return {"scope": scope}, []
