"""Shared figure machinery: style, palette and deterministic inline SVG.

Every figure family (``render/figures/<family>.py``) draws on an explicit
:class:`~matplotlib.figure.Figure` made by :func:`new_figure`, inside
:func:`figure_style`, with series told apart by :func:`series_style`
(Okabe–Ito colours that survive colour-blindness, plus line styles and
markers for greyscale print), and serialises it with :func:`figure_to_svg`.

The SVG is deterministic: fixed ``svg.hashsalt``, no date metadata, text kept
as text (``svg.fonttype = 'none'``), and element ids prefixed per figure so that
several figures can share one HTML document. The XML prolog, DOCTYPE, RDF
metadata and namespace declarations are stripped (inline SVG in HTML needs
none of them, and the report must contain no URL of any kind).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: Okabe & Ito (2008) colour-blind-safe palette, yellow last (weak on white paper).
OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
LINESTYLES = ("solid", (0, (5, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
GREY = "#6b6b6b"
LABEL_MAX_CHARS = 32
#: Height of one rug row in the lower panel of a profile plot (regions without a density).
RUG_ROW_INCHES = 0.16

_RC: dict[RcKeyType, Any] = {
    "svg.hashsalt": "govreport",
    "svg.fonttype": "none",
    "text.parse_math": False,  # feature names come from data files: "$" must stay a dollar
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "sans-serif"],
    "font.size": 8.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 8.0,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.4,
    "hatch.linewidth": 0.6,
    "figure.dpi": 72,
    "savefig.dpi": 72,
}


@contextmanager
def figure_style() -> Iterator[None]:
    with matplotlib.rc_context(_RC):
        yield


def short_label(name: str) -> str:
    """Shorten long feature names for axis labels (tables carry the full name)."""
    name = str(name)
    return name if len(name) <= LABEL_MAX_CHARS else name[: LABEL_MAX_CHARS - 1] + "…"


def series_style(i: int) -> dict[str, Any]:
    return {
        "color": OKABE_ITO[i % len(OKABE_ITO)],
        "linestyle": LINESTYLES[i % len(LINESTYLES)],
        "marker": MARKERS[i % len(MARKERS)],
    }


_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_STYLE_ELEMENT = re.compile(r"\s*<defs>\s*<style[^>]*>.*?</style>\s*</defs>", re.S)
_STYLE_ATTR = re.compile(r'\sstyle="([^"]*)"')
#: SVG properties matplotlib writes in ``style=""`` that are also presentation attributes.
_PRESENTATION = frozenset(
    {
        "fill",
        "fill-opacity",
        "stroke",
        "stroke-width",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-opacity",
        "stroke-miterlimit",
        "opacity",
        "font-size",
        "font-family",
        "font-weight",
        "font-style",
        "text-anchor",
        "clip-path",
    }
)
_XMLNS = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_ID = re.compile(r'\bid="([^"]+)"')


def _style_to_attributes(match: re.Match[str]) -> str:
    """``style="fill: #fff; stroke: none"`` -> ``fill="#fff" stroke="none"``."""
    attributes, rest = [], []
    for declaration in match.group(1).split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip(), value.strip()
        if not name:
            continue
        if name in _PRESENTATION:
            attributes.append(f' {name}="{value}"')
        else:
            rest.append(f"{name}: {value}")
    if rest:
        attributes.append(f' style="{"; ".join(rest)}"')
    return "".join(attributes)


def _fit_titles(fig: Figure) -> None:
    """Axis titles that stay inside the figure: words longer than :data:`LABEL_MAX_CHARS`
    (long feature names) are shortened and the title wraps at spaces."""
    for ax in fig.axes:
        titles = [ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None)]
        for title in titles:
            if title is None:
                continue
            text = title.get_text()
            if not text:
                continue
            words = [short_label(w) for w in text.split(" ")]
            title.set_text(" ".join(words))
            title.set_wrap(True)


def figure_to_svg(fig: Figure, fig_id: str) -> str:
    """Serialise ``fig`` to an SVG string fit for inlining in HTML (see module docstring)."""
    _fit_titles(fig)
    buf = io.StringIO()
    FigureCanvasSVG(fig)
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = _PROLOG.sub("", svg, count=1)
    svg = _METADATA.sub("", svg, count=1)
    # Inline SVG shares the HTML page: a <style> element inside it would apply to the whole
    # document, and WeasyPrint's HTML pass warns on every SVG property in a style="" attribute.
    # Presentation attributes say the same thing to any SVG renderer, without either effect.
    svg = _STYLE_ELEMENT.sub("", svg, count=1)
    svg = _STYLE_ATTR.sub(_style_to_attributes, svg)
    svg = _XMLNS.sub("", svg)
    svg = svg.replace("xlink:href=", "href=")
    prefix = f"gr-{fig_id}-"
    ids = set(_ID.findall(svg))
    if ids:
        pattern = re.compile(
            r'(\bid="|href="#|url\(#)(' + "|".join(re.escape(i) for i in ids) + r')(?=["\)])'
        )
        svg = pattern.sub(lambda m: m.group(1) + prefix + m.group(2), svg)
    svg = svg.replace(
        "<svg ",
        f'<svg class="figure-svg" role="img" id="{prefix}svg" '
        'stroke-linejoin="round" stroke-linecap="butt" ',
        1,
    )
    return svg.strip() + "\n"


def new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")
