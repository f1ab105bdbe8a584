"""Render the report as one self-contained HTML file.

The HTML carries its CSS inline (``<style>``), its figures as inline SVG, no
``<script>`` and no external URL, so it opens offline and prints as it is.
Templates get the preformatted context of :func:`build_context` and only loop
and print; the Jinja environment uses ``StrictUndefined`` (a misspelt or
missing field is an error, never a blank) and autoescaping (feature and file
names come from user data).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from govreport import resources
from govreport.render.context import build_context
from govreport.render.plots import render_figures

__all__ = ["make_environment", "render_html"]

REPORT_TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"


def make_environment(templates_dir: Path) -> jinja2.Environment:
    """The Jinja environment of the report: strict, autoescaping, whitespace-trimmed."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(results: Mapping[str, Any], *, templates_dir: Path | None = None) -> str:
    """Render ``results`` (the results.json dict) to a self-contained HTML string.

    ``templates_dir`` defaults to the packaged templates
    (:func:`govreport.resources.templates_dir`). Raises
    :class:`govreport.render.context.ResultsError` for a results dict that
    breaks the contract and :class:`jinja2.UndefinedError` for a template that
    asks for a field the context lacks.
    """
    directory = Path(templates_dir) if templates_dir is not None else resources.templates_dir()
    context = build_context(results)
    svgs = render_figures(results)
    wanted = [fig["id"] for fig in context["figures"]]
    missing = [fig_id for fig_id in wanted if fig_id not in svgs]
    if missing:
        raise RuntimeError(f"figures {missing} are captioned but were not drawn")
    css = (directory / STYLESHEET).read_text(encoding="utf-8")
    env = make_environment(directory)
    template = env.get_template(REPORT_TEMPLATE)
    return template.render(
        ctx=context,
        # Trusted markup: our own stylesheet, and SVG from matplotlib, which escapes
        # every text it draws (see plots._to_svg).
        css=Markup(css),
        svgs={fig_id: Markup(svg) for fig_id, svg in svgs.items()},
    )
