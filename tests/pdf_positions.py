"""Where the text of a PDF lies on its pages, from pypdf's layout-mode text operators.

pypdf's layout extraction tracks, for every text-showing group of operators, where the
text starts (``tx``) and where its last glyph ends (``displaced_tx``, from the font's
glyph widths), in page coordinates. The public ``extract_text(extraction_mode="layout")``
shifts every page to its leftmost text, so the groups are collected here directly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf._text_extraction._layout_mode._fixed_width_page import (
    recurse_to_target_op,
    set_font_operation,
)
from pypdf._text_extraction._layout_mode._text_state_manager import TextStateManager
from pypdf.generic import ContentStream

MM = 72.0 / 25.4


@dataclass(frozen=True)
class TextRun:
    page: int  # 1-based
    left: float  # points from the page's left edge
    right: float
    page_width: float
    text: str


def text_runs(pdf: bytes) -> list[TextRun]:
    """Every non-blank text run of ``pdf`` with its horizontal extent."""
    reader = PdfReader(io.BytesIO(pdf))
    runs: list[TextRun] = []
    for number, page in enumerate(reader.pages, start=1):
        width = float(page.mediabox.width)
        left_edge = float(page.mediabox.left)
        fonts = page._layout_mode_fonts()
        contents = page.get_contents()
        if contents is None:
            continue
        ops = iter(ContentStream(contents, reader, "bytes").operations)
        state = TextStateManager()
        for operands, op in ops:
            if op in (b"BT", b"q"):
                end = b"ET" if op == b"BT" else b"Q"
                groups, _ = recurse_to_target_op(ops, state, end, fonts, True)
                for g in groups:
                    if g["text"].strip():
                        runs.append(
                            TextRun(
                                number,
                                float(g["tx"]) - left_edge,
                                float(g["displaced_tx"]) - left_edge,
                                width,
                                g["text"],
                            )
                        )
            elif op == b"Tf":
                set_font_operation(state, fonts, operands)
            else:
                state.set_state_param(op, operands)
    return runs


def outside_margins(
    pdf: bytes, left_mm: float, right_mm: float, tolerance_pt: float = 1.5
) -> list[TextRun]:
    """The text runs that start left of the left margin or end right of the right margin."""
    return [
        r
        for r in text_runs(pdf)
        if r.left < left_mm * MM - tolerance_pt
        or r.right > r.page_width - right_mm * MM + tolerance_pt
    ]
