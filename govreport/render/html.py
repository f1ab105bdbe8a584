"""Render the report as one self-contained HTML file.

The HTML carries its CSS inline (``<style>``), its figures as inline SVG, no
``<script>`` and no external URL, so it opens offline and prints as it is.
Templates get the preformatted context of
:func:`govreport.render.report.build_report` and only loop
and print; the Jinja environment uses ``StrictUndefined`` (a misspelt or
missing field is an error, never a blank) and autoescaping (feature and file
names come from user data).
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from govreport import __version__, resources
from govreport.errors import InputError
from govreport.render.figures import draw_all
from govreport.render.report import build_report
from govreport.render.sections.appendix_repro import Rerendered, mark_rerendered
from govreport.results.schema import Results

__all__ = ["TemplateError", "make_environment", "render_html"]

REPORT_TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"


class TemplateError(InputError):
    """A custom template (``--templates DIR``) fails to parse or asks for a missing field."""


def make_environment(templates_dir: Path, overrides: Path | None = None) -> jinja2.Environment:
    """The Jinja environment of the report: strict, autoescaping, whitespace-trimmed.

    With ``overrides``, a template file there replaces the same-named file of
    ``templates_dir`` (``sections/02_scope.html.j2``...); the rest come from
    ``templates_dir``.
    """
    loaders = [jinja2.FileSystemLoader(str(templates_dir))]
    if overrides is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(overrides)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _template_error(error: jinja2.TemplateError, overrides: Path) -> TemplateError:
    """A one-line error naming the template file and line where Jinja failed."""
    filename, line = getattr(error, "filename", None), getattr(error, "lineno", None)
    if filename is None:  # runtime errors: the innermost template frame of the traceback
        for frame, frame_line in traceback.walk_tb(error.__traceback__):
            name = frame.f_code.co_filename
            if name.endswith((".j2", ".html", ".jinja")):
                filename, line = name, frame_line
    where = f"{filename}:{line}" if filename else str(overrides)
    message = " ".join(str(error.message or error).split())
    return TemplateError(
        f"{where}: template error: {message} (templates from --templates {overrides} receive "
        "the variables listed in docs/templates.md)"
    )


def render_html(
    results: Results | Mapping[str, Any],
    *,
    templates_dir: Path | None = None,
    overrides: Path | None = None,
    rerendered: Rerendered | None = None,
) -> str:
    """Render ``results`` (typed, or a results.json dict: loaded first) to one HTML string.

    ``templates_dir`` defaults to the packaged templates
    (:func:`govreport.resources.templates_dir`); ``overrides`` is a directory
    whose files replace same-named files of that set (``--templates DIR``;
    ``report.css`` included). ``rerendered``: the results file a re-rendered
    report came from (named in appendix B). Raises
    :class:`govreport.results.ResultsError` for a results dict that
    breaks the schema and :class:`jinja2.UndefinedError` for a template that
    asks for a field the context lacks (:class:`TemplateError`, exit 2, when
    ``overrides`` is given: the user's template is then the likely culprit).
    """
    directory = Path(templates_dir) if templates_dir is not None else resources.templates_dir()
    context, specs = build_report(results)
    if rerendered is not None:  # `govreport render`: appendix B says so, and from what
        mark_rerendered(context, rerendered, __version__)
    svgs = draw_all(specs)
    css_file = directory / STYLESHEET
    if overrides is not None and (Path(overrides) / STYLESHEET).is_file():
        css_file = Path(overrides) / STYLESHEET
    css = css_file.read_text(encoding="utf-8")
    env = make_environment(directory, Path(overrides) if overrides is not None else None)
    try:
        template = env.get_template(REPORT_TEMPLATE)
        return template.render(
            ctx=context,
            # Trusted markup: our own (or the user's) stylesheet, and SVG from matplotlib,
            # which escapes every text it draws (see figures.style.figure_to_svg).
            css=Markup(css),
            svgs={fig_id: Markup(svg) for fig_id, svg in svgs.items()},
        )
    except jinja2.TemplateError as error:
        if overrides is None:
            raise
        raise _template_error(error, Path(overrides)) from None
