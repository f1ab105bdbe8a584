"""The report, section by section: :data:`SECTIONS` is the document in order.

Each entry of :data:`SECTIONS` is ``(key, number, title, builder)``; section 3's
subsections are :data:`MODEL_DATA`, section 4's :data:`SOUNDNESS`. This is the one
place the numbering of the report comes from: headings and the table of contents are made from these
lists, and the builders run in this order, so tables and figures are numbered
in document order (:class:`govreport.render.text.Numbering`). A builder is
``build(results, num) -> (context, [FigureSpec])`` (``render/sections/``): it
returns the mapping it adds to the template context and the specs of the
figures it captioned, which :func:`render_figures` draws.

The input is the typed :class:`~govreport.results.Results` (a run's, or
results.json loaded back: loading validates, so nothing here checks keys).
Builders read attributes; an optional block that is ``None`` (absent from the
file) is said in the report, never silently skipped. A plain results dict
(results.json parsed) is accepted at the entry points and loaded first
(:func:`as_results`: migration and validation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from govreport.render.figures import draw_all
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections import (
    appendix_methods,
    appendix_policy,
    appendix_regions,
    appendix_repro,
    census,
    changes,
    clusters,
    coefficients,
    control,
    data_quality,
    fairness,
    findings,
    glossary,
    importance,
    insens,
    limitations,
    llm,
    model_data,
    monitoring,
    outcomes,
    profiles,
    scope,
    sign,
    simplification,
    stability,
    summary,
)
from govreport.render.text import Numbering
from govreport.results.errors import ResultsError
from govreport.results.io import results_from_jsonable
from govreport.results.schema import Results

__all__ = [
    "MODEL_DATA",
    "SECTIONS",
    "SOUNDNESS",
    "ResultsError",
    "Section",
    "as_results",
    "build_report",
    "build_report_context",
    "render_figures",
]

Builder = Callable[[Results, Numbering], tuple[dict[str, Any], list[FigureSpec]]]


def as_results(results: Results | Mapping[str, Any]) -> Results:
    """``results`` typed: a plain results dict is migrated and validated
    (:class:`ResultsError`, exit 2, if it breaks the schema)."""
    if isinstance(results, Results):
        return results
    if not isinstance(results, Mapping):
        raise ResultsError(
            f"results must be Results or a results.json object, got {type(results).__name__}"
        )
    return results_from_jsonable(dict(results), source="results")


class Section(NamedTuple):
    """One section: its key (heading id ``sec-<key>``), number ('' = not numbered), title,
    and the builder of its context."""

    key: str
    number: str
    title: str
    builder: Builder


def _soundness(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 4: the contexts of its subsections (:data:`SOUNDNESS`), in order."""
    context: dict[str, Any] = {}
    specs: list[FigureSpec] = []
    for sub in SOUNDNESS:
        sub_context, sub_specs = sub.builder(results, num)
        context.update(sub_context)
        specs += sub_specs
    context["reading"] = SOUNDNESS_READING
    return {"soundness": context}, specs


#: Section 4's plain-words box (its subsections each have their own).
SOUNDNESS_READING = {
    "shows": "How the network reaches its outputs: the exact linear model behind every "
    "client's prediction, summarised over all clients: how many such models there are, which "
    "inputs drive them and in which direction, whether the directions respect the business "
    "constraints, and whether protected characteristics play a part.",
    "todo": "Read each subsection's box; the failures they raise are the findings of section "
    "7. Check that the leading inputs and their directions match the business rationale "
    "before relying on the model.",
}


#: Section 4's subsections, in document order.
SOUNDNESS: tuple[Section, ...] = (
    Section("census", "4.1", "Region census", census.build),
    Section("llm-table", "4.2", "Local linear models of the largest regions", llm.build),
    Section("importance", "4.3", "Feature importance", importance.build),
    Section("profiles", "4.4", "Local linear profiles", profiles.build),
    Section(
        "coefficients",
        "4.5",
        "Coefficient distributions across samples",
        coefficients.build,
    ),
    Section("sign", "4.6", "Sign and monotonicity", sign.build),
    Section("clusters", "4.7", "Cluster feature importance", clusters.build),
    Section("insens-summary", "4.8", "What holds decisions stable (Insens)", insens.build_summary),
    Section("fairness", "4.9", "Fairness and protected characteristics", fairness.build),
)

#: Section 3's subsections, after its architecture, data set and performance tables.
MODEL_DATA: tuple[Section, ...] = (
    Section("data-quality", "3.1", "Data quality", data_quality.build),
    Section("stability", "3.2", "Stability", stability.build),
)


def _model_data(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 3: its own context, then those of its subsections (:data:`MODEL_DATA`)."""
    context, specs = model_data.build(results, num)
    for sub in MODEL_DATA:
        sub_context, sub_specs = sub.builder(results, num)
        context.update(sub_context)
        specs += sub_specs
    return context, specs


#: The report in document order: the control page, then the numbered sections.
SECTIONS: tuple[Section, ...] = (
    Section("control", "", "Control page", control.build),
    Section("summary", "1", "Executive summary", summary.build),
    # Issue 14: only with a previous review's results (``run --previous``); unnumbered.
    Section("changes", "", "Changes since the last review", changes.build),
    Section("scope", "2", "Scope and use", scope.build),
    Section("model-data", "3", "Model and data", _model_data),
    Section("soundness", "4", "Conceptual soundness: the network opened up", _soundness),
    Section("outcomes", "5", "Outcomes analysis", outcomes.build),
    Section("simplification", "6", "Simplification", simplification.build),
    Section("findings", "7", "Findings and waivers", findings.build),
    Section("limitations", "8", "Limitations and compensating controls", limitations.build),
    Section("monitoring", "9", "Ongoing-monitoring plan", monitoring.build),
    Section("app-policy", "A", "Policy results", appendix_policy.build),
    Section("app-repro", "B", "Reproducibility", appendix_repro.build),
    Section("app-methods", "C", "Methods", appendix_methods.build),
    # The technical annex keeps the key of the former section 4.8 (links to #sec-insens).
    Section(
        "insens",
        "D",
        "Technical annex: Insens, switched linear projections and attribution robustness",
        insens.build,
    ),
    Section("glossary", "E", "Glossary", glossary.build),
    # Only in the fragmented regime (a builder's "hidden_sections" leaves it out otherwise).
    Section("app-regions", "F", "Region-level views", appendix_regions.build),
)


def _heading(section: Section) -> dict[str, Any]:
    number = section.number
    return {
        "id": f"sec-{section.key}",
        "number": number,
        "title": section.title,
        "heading": f"Appendix {number}. {section.title}"
        if number.isalpha()
        else f"{number} {section.title}",
    }


def _outline(
    sections: Sequence[Section], children: Mapping[str, Sequence[Section]]
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Headings of the numbered sections and of their subsections, and the contents.

    ``children``: section key -> its subsections.
    """
    sec = {s.key: _heading(s) for s in sections if s.number}
    sub = {s.key: _heading(s) for subs in children.values() for s in subs}
    toc = []
    for key, heading in sec.items():
        entry = dict(heading)
        entry["children"] = [sub[s.key] for s in children.get(key, ())]
        toc.append(entry)
    return sec, sub, toc


def build_report(
    results: Results | Mapping[str, Any],
) -> tuple[dict[str, Any], list[FigureSpec]]:
    """The template context of ``results`` and the specs of its figures, in document order.

    The context is a dict of strings, lists and small dicts only; every number the
    report prints is already a string. A results dict is loaded first (:func:`as_results`).
    """
    results = as_results(results)
    num = Numbering({s.key: s.number for s in (*SECTIONS, *MODEL_DATA, *SOUNDNESS)})
    sec, sub, toc = _outline(SECTIONS, {"model-data": MODEL_DATA, "soundness": SOUNDNESS})
    context: dict[str, Any] = {"sections": sec, "subsections": sub, "toc": toc}
    specs: list[FigureSpec] = []
    for section in SECTIONS:
        section_context, section_specs = section.builder(results, num)
        context.update(section_context)
        specs += section_specs
    hidden = set(context.pop("hidden_sections", ()))
    context["toc"] = [entry for entry in toc if entry["id"] not in hidden]
    context["figures"] = num.figure_list
    return context, specs


def build_report_context(results: Results | Mapping[str, Any]) -> dict[str, Any]:
    """The template context of ``results`` (see :func:`build_report`)."""
    return build_report(results)[0]


def render_figures(results: Results | Mapping[str, Any]) -> dict[str, str]:
    """``{figure id: inline SVG}`` of every figure the report captions."""
    return draw_all(build_report(results)[1])
