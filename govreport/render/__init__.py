"""The render layer: the results.json dict in, HTML and PDF out.

Takes only the plain JSON-able ``results`` dict of the results contract, so
``govreport render results.json`` can rebuild a report without recomputation.

- :func:`build_context`: all formatting (numbers, captions, numbering, badges).
- :func:`render_figures`: figures as inline SVG (matplotlib, Agg only).
- :func:`render_html`: one self-contained HTML file.
- :func:`render_pdf`: the same HTML through WeasyPrint, PDF/A-3b with attachments.
"""

from govreport.render.context import ResultsError, build_context
from govreport.render.html import render_html
from govreport.render.pdf import render_pdf
from govreport.render.plots import render_figures

__all__ = ["ResultsError", "build_context", "render_figures", "render_html", "render_pdf"]
