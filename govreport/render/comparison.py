"""The standalone comparison of two reviews (``govreport diff``): HTML, PDF, JSON, JUnit.

The HTML is the report's "Changes since the last review" section
(:mod:`govreport.render.sections.changes`) on a page of its own; the PDF is laid out by
the report's machinery (:func:`govreport.render.pdf.render_pdf`, PDF/A with the JSON
attached); the JSON is the typed :class:`ReviewComparison`; changes.xml has one JUnit
test case per compared check, failed when the check's status worsened (or a change
check failed now).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from markupsafe import Markup

from govreport import __version__, resources
from govreport.compare.types import ReviewComparison
from govreport.render.html import STYLESHEET, make_environment
from govreport.render.junit import _text
from govreport.render.sections.changes import comparison_context
from govreport.render.text import Numbering
from govreport.results.jsonable import dump_text

__all__ = ["COMPARISON_FILES", "comparison_files", "render_changes_junit", "render_comparison_html"]

#: The files ``govreport diff`` writes.
COMPARISON_FILES = ("comparison.html", "comparison.pdf", "comparison.json", "changes.xml")


def render_comparison_html(comparison: ReviewComparison) -> str:
    """The comparison as one self-contained HTML page."""
    directory = resources.templates_dir()
    ident = comparison.identity
    title = (
        f"Changes since the last review: {ident.previous_report_id} to {ident.current_report_id}"
    )
    context = {
        "meta": {
            "title": title,
            "generator": f"govreport {__version__}",
            "description": f"Comparison of two reviews under policy {ident.policy_id}",
            "created": ident.current_run_date,
        },
        "title": title,
        "subtitle": f"Policy {ident.policy_id}; previous results: {comparison.previous_file}.",
        "changes": comparison_context(comparison, Numbering()),
    }
    css = (directory / STYLESHEET).read_text(encoding="utf-8")
    env = make_environment(directory)
    return env.get_template("comparison.html.j2").render(ctx=context, css=Markup(css), svgs={})


def worsened(comparison: ReviewComparison) -> list[str]:
    """Ids of the checks that fail the comparison (see the module docstring)."""
    return [
        c.id
        for c in comparison.checks
        if c.move == "worsened" or (c.bound.startswith("change since") and c.status_now == "fail")
    ]


def render_changes_junit(comparison: ReviewComparison) -> bytes:
    """changes.xml: one test case per compared check; a failure when it worsened."""
    failing = set(worsened(comparison))
    totals = {
        "tests": str(len(comparison.checks)),
        "failures": str(len(failing)),
        "errors": "0",
        "skipped": "0",
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": "govreport diff", **totals})
    suite = ET.SubElement(
        root, "testsuite", {"name": _text(f"changes {comparison.identity.policy_id}"), **totals}
    )
    for change in comparison.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            {"name": _text(change.id), "classname": "govreport.changes", "time": "0"},
        )
        if change.id in failing:
            failure = ET.SubElement(
                case,
                "failure",
                {"type": change.move, "message": _text(change.note)},
            )
            failure.text = _text(change.note)
        else:
            ET.SubElement(case, "system-out").text = _text(change.note)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def comparison_files(comparison: ReviewComparison, *, pdf: bool = True) -> dict[str, bytes]:
    """Every output of ``govreport diff``, in memory."""
    html = render_comparison_html(comparison)
    json_bytes = dump_text(comparison).encode("utf-8")
    files = {
        "comparison.html": html.encode("utf-8"),
        "comparison.json": json_bytes,
        "changes.xml": render_changes_junit(comparison),
    }
    if pdf:
        from govreport.render.pdf import render_pdf

        files["comparison.pdf"] = render_pdf(html, attachments={"comparison.json": json_bytes})
    return files
