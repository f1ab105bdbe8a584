"""Issue 12, item 9: the readable report (degenerate columns, duplicate tables, layer roles,
the technical annex, the glossary and the plain-words boxes)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from govreport.render.report import SECTIONS, SOUNDNESS
from govreport.render.sections.glossary import TERMS
from govreport.render.sections.model_data import layer_roles
from govreport.render.tables import drop_degenerate_columns
from govreport.render.text import TableCounter, fmt_small, make_table

GOLDEN = Path(__file__).parent / "golden" / "report_small.html"


def golden() -> str:
    return GOLDEN.read_text(encoding="utf-8")


def test_degenerate_columns_are_dropped_and_named_in_the_note() -> None:
    head = ["Region", "Samples", "Constant", "Local AUC", "Pure"]
    rows = [["1", "30", "no", "—", "no"], ["2", "20", "no", "0.71", "yes"]]
    kept_head, kept_rows, align, note = drop_degenerate_columns(head, rows, "lrcrc")
    assert kept_head == ["Region", "Samples", "Local AUC", "Pure"]
    assert kept_rows == [["1", "30", "—", "no"], ["2", "20", "0.71", "yes"]]
    assert align == "lrrc"
    assert "Constant (no in every row)" in note and "Local AUC" not in note


def test_a_column_of_dashes_is_dropped_but_the_label_column_and_one_row_tables_stay() -> None:
    head, rows, align, note = drop_degenerate_columns(
        ["Name", "Note"], [["—", "—"], ["—", "—"]], "ll"
    )
    assert head == ["Name"] and rows == [["—"], ["—"]] and align == "l"
    assert "Note (undefined in every row)" in note
    one = drop_degenerate_columns(["Name", "Note"], [["a", "—"]], "ll")
    assert one[0] == ["Name", "Note"] and one[3] == ""


def test_make_table_drops_degenerate_columns_and_keeps_informative_ones() -> None:
    badge = {"text": "no", "badge": "pending"}
    t = make_table(
        TableCounter("Table"),
        "t",
        ["A", "B", "C"],
        [["x", badge, "1"], ["y", badge, "2"]],
        align="lcr",
        note="Base note.",
    )
    assert t["head"] == ["A", "C"] and t["align"] == ["l", "r"]
    assert t["note"].startswith("Base note. Not shown")


def test_wide_tables_get_a_smaller_font_class() -> None:
    narrow = make_table(TableCounter("T"), "n", ["A", "B"], [["x", "1"]], align="lr")
    wide = make_table(
        TableCounter("T"),
        "w",
        ["Feature"] + [f"p{i}" for i in range(10)],
        [["PAY_AMT2"] + ["−4.7 × 10⁻⁵"] * 10],
        align="l" + "r" * 10,
    )
    assert "wide" not in narrow["css"]
    assert "wide" in wide["css"]


def test_no_table_appears_twice_in_the_golden_report() -> None:
    """The same title with the same rows twice is a duplicate table (issue 12: 8 = 28)."""
    html = golden()
    tables = re.findall(r"<table class=\"data[^>]*>(.*?)</table>", html, re.S)
    bodies = []
    for t in tables:
        caption = re.sub(r"<span class=\"label\">[^<]*</span>", "", t.split("</caption>")[0])
        body = t.split("</caption>")[1]
        bodies.append((caption.strip(), body))
    assert len(bodies) > 10
    duplicates = [k for k, n in Counter(bodies).items() if n > 1]
    assert not duplicates, [c for c, _ in duplicates]
    titles = Counter(c for c, _ in bodies)
    assert titles["<caption> Performance of the network per data set"] <= 1


def test_layer_roles_label_the_standardiser_hidden_layers_and_the_link() -> None:
    roles = layer_roles(["Linear", "Linear", "ReLU", "Linear", "ReLU", "Linear", "Sigmoid"])
    assert roles[0].startswith("input rescaling")
    assert roles[1].startswith("hidden layer 1") and roles[3].startswith("hidden layer 2")
    assert roles[2].startswith("ReLU units of hidden layer 1")
    assert roles[5].startswith("output layer") and roles[6].startswith("output link")
    assert layer_roles(["Linear", "ReLU", "Linear"])[0].startswith("hidden layer 1")
    assert layer_roles(["Linear", "Dropout", "ReLU", "Linear"])[0].startswith("hidden layer 1")


def test_insens_is_a_technical_annex_with_its_key_and_a_summary_in_the_body() -> None:
    keys = {s.key: s.number for s in SECTIONS}
    assert keys["insens"].isalpha()  # an appendix, same key (links to #sec-insens)
    assert "insens" not in {s.key for s in SOUNDNESS}
    assert "insens-summary" in {s.key for s in SOUNDNESS}
    html = golden()
    body = html[html.index('id="sec-insens-summary"') : html.index('id="sec-fairness"')]
    assert "What this shows." in body and "What to do." in body
    assert "<table" not in body and "<svg" not in body
    assert 'id="sec-insens"' in html and html.index('id="sec-insens"') > html.index(
        'id="sec-app-methods"'
    )


def test_the_glossary_defines_the_symbols_and_abbreviations_of_the_body() -> None:
    terms = " ".join(t for t, _ in TERMS)
    for needed in ("η", "PD", "AUC", "PSI", "κ", "Logit", "Activation region", "Local linear"):
        assert needed in terms, needed
    html = golden()
    assert 'id="sec-glossary"' in html
    # η is defined in the body where it is first used, not only in the appendix
    first = html.index("η")
    assert "before the link function" in html[first : first + 300]


def test_owned_sections_open_with_a_reading_box_and_have_no_cli_flags() -> None:
    html = golden()
    for key in ("model-data", "data-quality", "stability", "app-policy", "app-repro"):
        start = html.index(f'id="sec-{key}"')
        assert '<aside class="reading">' in html[start : start + 3000], key
    html = re.sub(r"<(svg|style|pre).*?</\1>", "", html, flags=re.S)
    # the sections of this helper: 3 to 3.2, 4.8 (summary) to 4.9, 5
    spans = [("sec-model-data", "sec-soundness"), ("sec-insens-summary", "sec-outcomes")]
    for start, end in spans:
        part = re.sub(
            r"<[^>]+>", " ", html[html.index(f'id="{start}"') : html.index(f'id="{end}"')]
        )
        assert not re.findall(r"--[a-z][a-z-]+", part), (start, re.findall(r"--[a-z-]+", part))
        assert not re.findall(r"\b[a-z]+\.[a-z]+_[a-z_]+\b", part), start  # metric ids


def test_fmt_small_shows_a_bound_instead_of_zero() -> None:
    assert fmt_small(0.002676) == "0.003"
    assert fmt_small(1e-6) == "<0.001"
    assert fmt_small(0.0) == "0"
    assert fmt_small(None) == "—"


def test_long_names_get_break_opportunities_and_short_ones_do_not() -> None:
    from govreport.render.text import breakable

    name = "monthly_income_of_the_primary_applicant_in_local_currency"
    out = breakable(name)
    assert out.replace("\u200b", "") == name
    assert all(len(p) <= 20 for p in out.split("\u200b"))
    assert breakable("PAY_AMT2") == "PAY_AMT2"
    assert breakable("x" * 45).count("\u200b") == 2


def test_every_section_opens_with_what_it_shows_and_what_to_do() -> None:
    """Each numbered section and appendix of the golden report carries the plain-words box
    (what it shows, what to do) before its next heading of the same or a higher level."""
    import re

    html = golden()
    parts = re.split(r'(<h[23] id="sec-[^"]+">)', html)
    missing = []
    for head, body in zip(parts[1::2], parts[2::2], strict=True):
        own = re.split(r'<h[23] id="sec-', body, maxsplit=1)[0]
        if "sec-control" in head or "sec-toc" in head:
            continue
        if 'class="reading"' not in own:
            missing.append(head)
    assert missing == []
    assert html.count("What this shows.") >= 20
