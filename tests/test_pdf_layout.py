"""The PDF's layout: no text beyond the page margins, a tagged PDF that is still PDF/A.

Positions come from the PDF itself (``pdf_positions``: pypdf's text operators and glyph
widths). Two documents are laid out: the golden small report, and the same report with a
long unbreakable feature name and an extra wide table (14 columns of numbers in
scientific notation under long headers), the shapes that overran the margin in the
Taiwan report.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pdf_positions import MM, outside_margins, text_runs
from pypdf import PdfReader

from govreport import resources
from govreport.render import render_pdf
from govreport.render.html import make_environment
from govreport.render.text import TableCounter, breakable, make_table

GOLDEN = Path(__file__).parent / "golden" / "report_small.html"
LONG_NAME = "monthly_income_of_the_primary_applicant_in_local_currency_before_tax_and_fees"
#: The page margins of report.css (@page margin: 22mm 18mm 20mm 20mm).
LEFT_MM, RIGHT_MM = 20.0, 18.0


def wide_table_html() -> str:
    counter = TableCounter("Table")
    head = ["Feature"] + [f"Quantile {q} of the local slope" for q in range(13)]
    rows = [[f"{LONG_NAME}_{i}"] + [f"−{k + 1}.{i} × 10⁻⁶" for k in range(13)] for i in range(6)]
    table = make_table(
        counter, "A wide table", head, rows, align="l" + "r" * 13, anchor="table-wide"
    )
    env = make_environment(resources.templates_dir())
    macro = env.from_string('{% import "macros.html.j2" as m %}{{ m.data_table(t) }}')
    return macro.render(t=table)


@pytest.fixture(scope="module")
def golden_pdf() -> bytes:
    return render_pdf(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def wide_pdf() -> bytes:
    # The feature name as the table builders print it (break opportunities included).
    # Figures draw the name through short_label: the SVG is left as it is.
    parts = re.split(r"(<svg.*?</svg>)", GOLDEN.read_text(encoding="utf-8"), flags=re.S)
    html = "".join(
        p if p.startswith("<svg") else p.replace("income", breakable(LONG_NAME)) for p in parts
    )
    html = html.replace("</main>", f'<section class="major">{wide_table_html()}</section></main>')
    return render_pdf(html)


def test_the_position_reader_sees_text_that_overruns_the_margin() -> None:
    """The oracle can fail: a paragraph pushed 40 mm right of the page is reported."""
    html = GOLDEN.read_text(encoding="utf-8").replace(
        "</main>",
        '<section class="major"><p style="margin-left: 150mm; white-space: nowrap">'
        "overrunning text far beyond the right margin</p></section></main>",
    )
    bad = outside_margins(render_pdf(html), LEFT_MM, RIGHT_MM)
    assert any("overrunning text" in r.text for r in bad)


def test_golden_report_text_stays_inside_the_margins(golden_pdf: bytes) -> None:
    runs = text_runs(golden_pdf)
    assert len(runs) > 200  # the reader found the text
    assert all(r.left >= 0 for r in runs)
    bad = outside_margins(golden_pdf, LEFT_MM, RIGHT_MM)
    assert not bad, [(r.page, round(r.right / MM), r.text[:50]) for r in bad[:10]]


def test_wide_tables_and_long_names_stay_inside_the_margins(wide_pdf: bytes) -> None:
    text = " ".join(r.text for r in text_runs(wide_pdf))
    assert "Quantile" in text and "primary_" in text
    bad = outside_margins(wide_pdf, LEFT_MM, RIGHT_MM)
    assert not bad, [(r.page, round(r.right / MM), r.text[:50]) for r in bad[:10]]


def test_pdf_is_tagged_and_still_pdf_a(golden_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(golden_pdf))
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] is True or root["/MarkInfo"]["/Marked"] == True  # noqa: E712
    assert "/StructTreeRoot" in root
    assert str(root.get("/Lang")) == "en"
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r'pdfaid:part(?:>|=")3', xmp)
    assert re.search(r'pdfaid:conformance(?:>|=")B', xmp)
    assert "/OutputIntents" in root
