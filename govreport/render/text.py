"""Formatting primitives shared by every part of the render context.

Numbers become strings (``fmt_*``), tables and figures are numbered in
document order (:class:`Numbering`, :func:`make_table`), statuses become
badges. The section builders (``render/sections/``) use these and nothing
else to print a number, so the report formats every value the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from govreport.render.tables import drop_degenerate_columns

if TYPE_CHECKING:
    from govreport.render.figures.spec import FigureSpec

DASH = "—"
#: Tables with at most this many rows are kept on one page; longer ones break and repeat
#: their header.
KEEP_TOGETHER_ROWS = 18
#: Estimated width of a table's widest row (characters, cell padding included) above which
#: its font is set smaller (``wide``: 7 pt, ``xwide``: 6.2 pt) so it fits the text width of
#: an A4 page (172 mm: about 110 characters at 8.5 pt). See :func:`width_class`.
WIDE_CHARS, XWIDE_CHARS = 100, 128
#: Above this estimate even the small font does not fit a portrait page: the table gets a
#: landscape page of its own (``landscape``).
LANDSCAPE_CHARS = 160

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

_METRIC_LABELS = {
    "auc": "AUC",
    "macro_auc": "Macro AUC (one-vs-rest)",
    "min_class_auc": "Lowest class AUC (one-vs-rest)",
    "accuracy": "Accuracy",
    "log_loss": "Log loss",
    "rmse": "RMSE",
    "r2": "R²",
    "mae": "MAE",
    "mse": "MSE",
}

# ---------------------------------------------------------------------------
# number formatting


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_int(value: Any) -> str:
    """``23873`` -> ``"23,873"``; ``None`` -> ``"—"``."""
    if is_missing(value):
        return DASH
    return f"{int(value):,}"


def fmt_sci(value: Any, digits: int = 2) -> str:
    """Scientific notation with real superscripts: ``2.2e-15`` -> ``"2.2 × 10⁻¹⁵"``.

    Values between 1e-3 and 1e4 in magnitude print plainly (``fmt_num``).
    """
    if is_missing(value):
        return DASH
    v = float(value)
    if v == 0.0:
        return "0"
    if 1e-3 <= abs(v) < 1e4:
        return fmt_num(v)
    mantissa, exponent = f"{v:.{digits - 1}e}".split("e")
    exp = str(int(exponent)).translate(_SUPERSCRIPT)
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa} × 10{exp}"


def fmt_num(value: Any) -> str:
    """General number: integers with thousands separators, else 4 significant digits.

    Very small or very large magnitudes switch to :func:`fmt_sci`.
    """
    if is_missing(value):
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    v = float(value)
    if v == 0.0:
        return "0"
    if abs(v) < 1e-3 or abs(v) >= 1e9:
        return fmt_sci(v)
    if v.is_integer():
        return f"{int(v):,}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    text = f"{v:.4g}"
    return text if "e" not in text else fmt_sci(v)


def fmt_metric(value: Any, digits: int = 3) -> str:
    """A performance metric with a fixed number of decimals: ``0.78123`` -> ``"0.781"``."""
    if is_missing(value):
        return DASH
    return f"{float(value):.{digits}f}"


def fmt_small(value: Any, decimals: int = 3) -> str:
    """A non-negative statistic at fixed decimals, tiny values as a bound: ``0.002676`` ->
    ``"0.003"``, ``1e-6`` -> ``"<0.001"``, ``0`` -> ``"0"``."""
    if is_missing(value):
        return DASH
    v = float(value)
    if v == 0.0:
        return "0"
    floor = 10.0**-decimals
    if 0 < abs(v) < floor:
        return f"<{floor:.{decimals}f}" if v > 0 else f"> −{floor:.{decimals}f}"
    return f"{v:.{decimals}f}"


def fmt_share(value: Any) -> str:
    """A share in [0, 1] as a percentage: ``0.9965`` -> ``"99.7%"``, ``4e-5`` -> ``"0.004%"``.

    Values that would round to 0% or 100% without being exactly that keep
    enough digits to show they are not.
    """
    if is_missing(value):
        return DASH
    p = float(value) * 100.0
    if p == 0.0:
        return "0%"
    if p == 100.0:
        return "100%"
    if 0 < abs(p) < 0.1:
        return f"{p:.2g}%"
    if 99.9 < p < 100.0:
        text = f"{p:.2f}"
        return "> 99.99%" if text == "100.00" else f"{text}%"
    return f"{p:.1f}%"


def fmt_pct(value: Any) -> str:
    """A value already in percent: ``31.2`` -> ``"31.2%"``; a non-zero value that would
    print as 0.0 -> ``"<0.1%"`` (never "0.0%" for something that is not zero)."""
    if is_missing(value):
        return DASH
    v = float(value)
    if 0.0 < abs(v) < 0.05:
        return "<0.1%" if v > 0 else "−<0.1%"
    return f"{v:.1f}%"


def fmt_bool(value: Any) -> str:
    if is_missing(value):
        return DASH
    return "yes" if value else "no"


def short_hash(value: Any, length: int = 12) -> str:
    if is_missing(value) or not value:
        return DASH
    text = str(value)
    return text if len(text) <= length else f"{text[:length]}…"


def fmt_bytes(value: Any) -> str:
    if is_missing(value):
        return DASH
    n = float(value)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{int(n):,} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def fmt_bound(text: Any) -> str:
    """Policy bound text with typographic comparison signs: ``<= 1e-06`` -> ``≤ 1e-06``."""
    if is_missing(text) or text == "":
        return DASH
    return str(text).replace("<=", "≤").replace(">=", "≥").replace("!=", "≠")


def metric_label(key: str) -> str:
    return _METRIC_LABELS.get(key, key.replace("_", " "))


def have(n: int) -> str:
    return f"{fmt_int(n)} {'has' if n == 1 else 'have'}"


def severity_label(value: Any) -> str:
    return DASH if is_missing(value) else str(value)


# ---------------------------------------------------------------------------
# numbering


class TableCounter:
    """Numbers tables and figures in document order."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.n = 0

    def next(self) -> tuple[int, str]:
        self.n += 1
        return self.n, f"{self.prefix} {self.n}"


class Numbering:
    """Table and figure numbers of one report, handed out in document order."""

    def __init__(self, sections: Mapping[str, str] | None = None) -> None:
        #: Section key -> its number (``"4.3"``, ``"B"``), for cross-references in the text.
        self.sections = dict(sections or {})
        self.tables = TableCounter("Table")
        self.figures = TableCounter("Figure")
        self.figure_list: list[dict[str, Any]] = []

    def section(self, key: str) -> str:
        """The number of section ``key`` (from ``govreport.render.report.SECTIONS``)."""
        return self.sections[key]

    def figure(self, spec: FigureSpec) -> dict[str, Any]:
        """The numbered caption entry of ``spec`` (its ``id`` keys its SVG in ``svgs``)."""
        number, label = self.figures.next()
        entry = {
            "id": spec.id,
            "number": number,
            "label": label,
            "caption": spec.caption,
            "alt": spec.alt,
            "anchor": f"figure-{spec.id}",
        }
        self.figure_list.append(entry)
        return entry


def make_table(
    counter: TableCounter,
    title: str,
    head: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    align: str,
    note: str = "",
    css: str = "",
    anchor: str = "",
) -> dict[str, Any]:
    """A numbered table. ``align`` is one letter per column: l(eft), r(ight), c(entre), m(ono)."""
    if len(align) != len(head):
        raise ValueError(f"align {align!r} does not match {len(head)} columns of table {title!r}")
    number, label = counter.next()
    body = [list(r) for r in rows]
    for r in body:
        if len(r) != len(head):
            raise ValueError(f"row {r!r} does not have the {len(head)} columns of table {title!r}")
    # A column that is "—" or "no" in every row says nothing: dropped, and the note says so.
    head, body, align, dropped = drop_degenerate_columns(head, body, align)
    body = [
        [
            breakable(v) if isinstance(v, str) and a in "lc" else v
            for v, a in zip(r, align, strict=True)
        ]
        for r in body
    ]
    if dropped:
        note = f"{note} {dropped}".strip()
    width = width_class(head, body)
    return {
        "number": number,
        "label": label,
        "title": title,
        "head": head,
        "rows": body,
        "align": list(align),
        "note": note,
        "css": f"{css} {width}".strip(),
        "landscape": "landscape" in width,
        "keep": len(body) <= KEEP_TOGETHER_ROWS,
        "anchor": anchor or f"table-{number}",
    }


#: Words at least this long (long feature names, identifiers) get break opportunities.
LONG_WORD = 30
_ZWSP = "\u200b"
_BREAK_AFTER = re.compile(r"([_./\\-])(?=\w)")


def breakable(text: str) -> str:
    """``text`` with zero-width break opportunities inside words of :data:`LONG_WORD` or more
    characters: after ``_ . / -``, and every 20 characters of a run without them. A table
    cell can then wrap a long name instead of widening its column past the page margin."""
    if len(text) < LONG_WORD:
        return text
    words = []
    for word in text.split(" "):
        if len(word) >= LONG_WORD:
            word = _BREAK_AFTER.sub(r"\1" + _ZWSP, word)
            word = _ZWSP.join(
                _ZWSP.join(part[i : i + 20] for i in range(0, len(part), 20))
                for part in word.split(_ZWSP)
            )
        words.append(word)
    return " ".join(words)


def _cell_text(value: Any) -> str:
    return str(value.get("text", "")) if isinstance(value, Mapping) else str(value)


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.replace(_ZWSP, " ").split()), default=0)


def width_class(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """``""``, ``"wide"``, ``"xwide"`` or ``"xwide landscape"``: how much smaller a table's
    font must be to fit, and whether it needs a landscape page.

    Each column needs about its longest number (numbers do not wrap) or, for text, its
    longest word and at most 24 characters (text wraps); headers wrap at spaces. The
    estimate adds 3 characters of padding per column.
    """
    need = 0
    for j, h in enumerate(head):
        cells = [_cell_text(r[j]) for r in rows]
        numeric = [c for c in cells if c and (c[0].isdigit() or c[0] in "−-+<>")]
        widest = max(
            [len(c) for c in numeric] + [min(len(c), 24) for c in cells if c not in numeric] + [0]
        )
        widest = max(widest, max((_longest_word(c) for c in cells), default=0), _longest_word(h))
        need += min(widest, 40) + 3
    if need > LANDSCAPE_CHARS:
        return "xwide landscape"
    if need > XWIDE_CHARS:
        return "xwide"
    if need > WIDE_CHARS:
        return "wide"
    return ""


def badge(text: str, kind: str) -> dict[str, str]:
    """A status cell: the template prints ``text`` inside a ``badge badge-<kind>`` span."""
    return {"text": text, "badge": kind}
