"""The render layer: typed results in, HTML, PDF and checks.xml out.

Takes the typed :class:`~govreport.results.Results` (as results.json stores them:
a run's results are dumped and loaded back first), so ``govreport render
results.json`` rebuilds a report without recomputation. The entry points also
accept a plain results dict, which they load first (migration and validation).

- :func:`build_context`: the template context (numbers, captions, numbering,
  badges), section by section in the order of :data:`govreport.render.report.SECTIONS`.
- :func:`render_figures`: the figures those sections caption, as inline SVG
  (matplotlib, Agg only).
- :func:`render_html`: one self-contained HTML file.
- :func:`render_pdf`: the same HTML through WeasyPrint, PDF/A-3b with attachments.
"""

from govreport.render.html import render_html
from govreport.render.pdf import render_pdf
from govreport.render.report import build_report_context, render_figures
from govreport.results.errors import ResultsError

#: The template context of the results (:func:`govreport.render.report.build_report_context`).
build_context = build_report_context

__all__ = [
    "ResultsError",
    "build_context",
    "build_report_context",
    "render_figures",
    "render_html",
    "render_pdf",
]
