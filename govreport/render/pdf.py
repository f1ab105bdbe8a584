"""Render the report HTML to PDF with WeasyPrint: PDF/A-3b carrying its evidence.

PDF/A-3 is the archival PDF profile that allows arbitrary embedded files, so the
archived report can carry ``results.json`` (every number it prints) and other
evidence as attachments. WeasyPrint 70 takes ``pdf_variant="pdf/a-3b"``, which
embeds the fonts, adds the sRGB output intent and the XMP identification, and
marks each attachment in the catalogue's ``/AF`` array; attachments are
:class:`weasyprint.Attachment` objects (``string=`` bytes, ``name=``).

Determinism: WeasyPrint derives the file identifier from an MD5 of the content,
takes the document dates from ``<meta name="dcterms.created">`` (the recorded
run time, which honours ``SOURCE_DATE_EPOCH``), and we give each attachment the
same fixed date, so identical HTML and attachments give identical bytes.

Accessibility: ``pdf_tags=True`` (WeasyPrint >= 68) writes a tagged PDF (``/MarkInfo
/Marked true`` and a structure tree of headings, paragraphs, tables and figures, with the
document language), so screen readers follow the reading order. Tagging is compatible
with PDF/A-3b: the identification and output intent are kept.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType

__all__ = ["PDF_VARIANT", "render_pdf"]

logger = logging.getLogger(__name__)

PDF_VARIANT = "pdf/a-3b"
_NO_ATTACHMENTS: Mapping[str, bytes] = MappingProxyType({})
_CREATED_META = re.compile(r'<meta\s+name="dcterms\.created"\s+content="([^"]+)"')
_DESCRIPTIONS = {
    ".json": "Every number, table and check result of this report (govreport results.json)",
    ".xml": "Policy check results in JUnit XML",
    ".yaml": "The policy file the checks were evaluated against",
    ".yml": "The policy file the checks were evaluated against",
}


def _describe(name: str) -> str | None:
    """The attachment's /Desc entry, by file type (PDF/A-3 recommends one)."""
    return _DESCRIPTIONS.get(os.path.splitext(name)[1].lower())


def _document_time(html: str) -> _dt.datetime:
    """The fixed timestamp stamped on attachments.

    The report's recorded run time (``dcterms.created``), else
    ``SOURCE_DATE_EPOCH``, else the Unix epoch: never the wall clock, so two
    renders of the same report are byte-identical.
    """
    match = _CREATED_META.search(html)
    if match:
        try:
            parsed = _dt.datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed.astimezone(_dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=_dt.UTC)
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    seconds = int(epoch) if epoch.isdigit() else 0
    return _dt.datetime.fromtimestamp(seconds, tz=_dt.UTC)


@contextlib.contextmanager
def _font_timestamps(stamp: _dt.datetime) -> Iterator[None]:
    """Embedded font subsets dated ``stamp``, not the wall clock.

    fontTools stamps each subset's ``head.modified`` with ``SOURCE_DATE_EPOCH``
    when set and with the current second otherwise, so two renders a second
    apart differed. The variable is set for the write only and restored after.
    """
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(stamp.timestamp()))
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def render_pdf(
    html: str,
    *,
    attachments: Mapping[str, bytes] = _NO_ATTACHMENTS,
    base_url: str | None = None,
) -> bytes:
    """Lay out ``html`` (from :func:`render_html`) as an A4 PDF/A-3b document.

    ``attachments`` maps file names (``"results.json"``) to their bytes; each is
    embedded as an associated file. ``base_url`` resolves relative references
    (the report has none by default). Only ``file:`` and ``data:`` URLs may be
    fetched: the report must never reach the network.
    """
    import weasyprint  # heavy import (pango, fonts): only when a PDF is asked for

    stamp = _document_time(html)
    files = [
        weasyprint.Attachment(
            string=bytes(data),
            name=name,
            description=_describe(name),
            created=stamp,
            modified=stamp,
            relationship="Supplement",
        )
        for name, data in sorted(attachments.items())
    ]
    fetcher = weasyprint.URLFetcher(allowed_protocols={"file", "data"})
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).render()
    # PDF/A-3b works with everything the report contains (text, inline SVG with
    # transparency, which PDF/A-1 would forbid but PDF/A-2/3 allow, and
    # attachments of any type, which only PDF/A-3 allows). There is therefore no
    # fallback to a plain PDF here: a failure is a bug to see, not to hide.
    with _font_timestamps(stamp):
        pdf = document.write_pdf(pdf_variant=PDF_VARIANT, pdf_tags=True, attachments=files)
    if not isinstance(pdf, bytes):  # write_pdf returns bytes when no target is given
        raise TypeError(f"WeasyPrint returned {type(pdf).__name__}, expected bytes")
    return pdf
