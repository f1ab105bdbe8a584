"""Tests of the render layer: results.json dict -> HTML and PDF.

The fixture ``results_small.json`` is written by hand to the results contract
(schema 1): a binary task with five features, one of them named
``<script>alert(1)</script>`` and one ``a&b``, train and test data, a policy
with a failed-but-waived check and a not-evaluated check, two profiles and
(schema 1) pending entries, which the renderer never reads.
"""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import pytest
from markupsafe import escape

from govreport.render import ResultsError, build_context, render_figures, render_html, render_pdf
from govreport.render import html as html_module
from govreport.render.text import fmt_num, fmt_sci, fmt_share

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
EVIL = "<script>alert(1)</script>"

OUTLINE_HEADINGS = [
    "Model validation report",
    "Document control",
    "Sign-off",
    "Contents",
    "1 Executive summary",
    "2 Scope and use",
    "3 Model and data",
    "4 Conceptual soundness: the network opened up",
    "4.1 Region census",
    "4.2 Local linear models of the largest regions",
    "4.3 Feature importance",
    "4.4 Local linear profiles",
    "4.5 Coefficient distributions across samples",
    "4.6 Sign and monotonicity",
    "4.7 Cluster feature importance",
    "4.8 What holds decisions stable (Insens)",
    "5 Outcomes analysis",
    "6 Simplification",
    "7 Findings and waivers",
    "Appendix A. Policy results",
    "Appendix B. Reproducibility",
    "Appendix C. Methods",
    "Appendix D. Technical annex: Insens, switched linear projections and attribution robustness",
    "Appendix E. Glossary",
]


def load_results() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def without_test_data(results: dict[str, Any]) -> dict[str, Any]:
    r = copy.deepcopy(results)
    del r["regions"]["test"]
    r["datasets"] = [d for d in r["datasets"] if d["name"] != "test"]
    r["performance"] = [p for p in r["performance"] if p["dataset"] != "test"]
    r["inputs"]["datasets"] = [d for d in r["inputs"]["datasets"] if d["name"] != "test"]
    return r


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return load_results()


@pytest.fixture(scope="module")
def html(results: dict[str, Any]) -> str:
    return render_html(results)


@pytest.fixture(scope="module")
def pdf(html: str, results: dict[str, Any]) -> bytes:
    return render_pdf(html, attachments={"results.json": json.dumps(results).encode("utf-8")})


def visible_text(html: str) -> str:
    """The HTML with tags removed and whitespace collapsed (entities kept)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ---------------------------------------------------------------------------
# HTML


def test_every_outline_heading_appears_in_the_html(html: str) -> None:
    headings = visible_text(" ".join(re.findall(r"<h[123][^>]*>.*?</h[123]>", html, re.S)))
    for heading in OUTLINE_HEADINGS:
        assert heading in headings, heading


def test_malicious_feature_name_is_escaped_and_never_raw(html: str) -> None:
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&amp;b" in html
    assert not re.search(r"a&b[^a-z#]", html), "an unescaped ampersand from data leaked"


def test_html_has_no_script_and_no_url(html: str) -> None:
    assert "<script" not in html.lower()
    assert not re.search(r"https?://", html)
    assert not re.search(r"\b(?:src|href)=\"(?!#)", html), "only in-document links are allowed"
    assert "@import" not in html and "url(" not in html.replace("url(#", "")


def test_html_is_self_contained_with_inline_css(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert "<style>" in html and "@page" in html
    assert "<link" not in html


def test_figures_are_inline_svg(html: str, results: dict[str, Any]) -> None:
    # coverage, diagperf (local vs global, from the summary table), importance, one per profile
    n_figures = 3 + len(results["profiles"])
    assert html.count("<svg") == n_figures
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    assert "<metadata>" not in html
    for n in range(1, n_figures + 1):
        assert f"Figure {n}." in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids must be unique across inline figures"


def test_figures_are_deterministic_svg(results: dict[str, Any]) -> None:
    first, second = render_figures(results), render_figures(results)
    assert first == second
    assert set(first) == {"coverage", "diagperf", "importance", "profile-1", "profile-2"}
    assert all(svg.startswith("<svg ") for svg in first.values())


def test_two_html_renders_are_identical(results: dict[str, Any], html: str) -> None:
    assert render_html(results) == html


def test_results_without_model_is_an_error(results: dict[str, Any]) -> None:
    broken = copy.deepcopy(results)
    del broken["model"]
    with pytest.raises(ResultsError, match="model: missing required key"):
        render_html(broken)


def test_unknown_schema_version_is_an_error(results: dict[str, Any]) -> None:
    broken = copy.deepcopy(results)
    broken["schema_version"] = 99
    with pytest.raises(ResultsError, match="schema_version: 99 is not supported"):
        build_context(broken)


def test_strict_undefined_catches_a_field_the_context_lacks(
    results: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = html_module.build_report

    def lacking_summary(r: Any) -> tuple[dict[str, Any], list[Any]]:
        ctx, specs = real(r)
        del ctx["summary"]["key_facts"]
        return ctx, specs

    monkeypatch.setattr(html_module, "build_report", lacking_summary)
    with pytest.raises(jinja2.UndefinedError, match="key_facts"):
        render_html(results)


def test_without_test_data_the_report_says_so(results: dict[str, Any]) -> None:
    html = render_html(without_test_data(results))
    assert "no test data was supplied" in html.lower()
    assert "5 Outcomes analysis" in visible_text(html)
    assert "Region census, training versus test data" not in html


def test_the_pending_entries_of_a_results_file_are_not_read(
    html: str, results: dict[str, Any]
) -> None:
    for entry in results["pending"]:
        assert str(escape(entry["text"])) not in html
    r = copy.deepcopy(results)
    del r["pending"]
    assert render_html(r) == html


def test_an_analysis_the_results_file_lacks_is_said_in_its_section(html: str) -> None:
    for text in (
        "This results file holds no coefficient distributions.",
        "This results file holds no sign or monotonicity results.",
        "This results file holds no cluster feature importance.",
        "This results file holds no Insens results.",
        "This results file holds no simplification results.",
        "This results file holds no data-quality results.",
        "This results file holds no stability results.",
    ):
        assert text in html
    # Insens is said absent twice: in its body paragraph (4.8) and in its technical annex.
    assert html.count("This results file holds no Insens results.") == 2
    assert html.count("Not available in this version.") == 8


def test_a_failed_check_whose_waiver_the_policy_did_not_apply_is_a_plain_failure(
    results: dict[str, Any],
) -> None:
    """The status comes from the policy evaluation: a waiver it did not apply (scoped to other
    features, not lowering the severity) never makes the report say "waived"."""
    r = copy.deepcopy(results)
    policy = r["policy"]
    policy.update(
        outcome="pass", counts={"passed": 4, "failed": 2, "waived": 0, "not_evaluated": 1}
    )
    check = next(c for c in policy["checks"] if c["id"] == "auc_holdout")
    check["waiver"]["scope"] = ["LIMIT_BAL"]
    check.update(waiver_applied=False, effective_severity="minor")
    text = visible_text(render_html(r))
    assert "F-AUC-HOLDOUT" in text and "F-MIN-SAMPLES-COVERAGE" in text  # two findings
    assert "0 failed but waived" in text
    assert "1 failed but waived" not in text and "is waived" not in text
    context = build_context(r)
    assert [row[3] for row in context["summary"]["findings_table"]["rows"]] == ["0"] * 4
    badges = {row[0]: row[7]["text"] for row in context["appendix_a"]["table"]["rows"]}
    assert badges["auc_holdout"] == "fail"
    finding = next(f for f in context["findings"]["entries"] if f["id"] == "F-AUC-HOLDOUT")
    assert finding["badge"]["text"] == "open"


def test_waived_check_keeps_both_severities_and_its_waiver(html: str) -> None:
    text = visible_text(html)
    assert "minor → info" in text
    assert "Thin segment; overlay applied (committee minute 2026-03)." in text
    assert "PASS WITH WAIVERS" in text
    assert "not evaluated" in text.lower()


def test_an_expired_waiver_is_a_finding_and_caps_nothing(html: str) -> None:
    text = visible_text(html)
    assert "Expired waiver, not applied." in text
    assert "expired on 2026-06-30, not applied" in text
    start = text.rindex("7 Findings and waivers")  # the heading, not the contents line
    findings = text[start : text.rindex("8 Limitations and compensating controls")]
    assert "F-MIN-SAMPLES-COVERAGE" in findings
    assert "EXACTNESS" not in findings, "a passed check without waiver is not a finding"


def test_not_evaluated_checks_are_named_in_the_summary(html: str) -> None:
    assert "1 check was not evaluated because this run did not produce the metric" in html
    assert "could not be evaluated because this run did not produce their metric" in html


def test_key_facts_describe_regions_in_words(html: str) -> None:
    text = visible_text(html)
    assert "1,412 regions for 2,000 samples" in text
    # Top drivers are ranked and quoted by the headline (scale-aware) importance, not raw.
    assert "PAY_0 (46.9%), LIMIT_BAL (24.6%)" in text
    assert "of the total importance" in text
    assert "Test AUC 0.712 (train 0.790)" in text


def test_a_regression_results_dict_renders(results: dict[str, Any]) -> None:
    r = copy.deepcopy(results)
    r["model"].update(task="regression", output_link="identity", output_names=["prediction"])
    for d in r["datasets"]:
        d["target_summary"] = {
            "kind": "regression",
            "mean": 3.2,
            "std": 1.1,
            "min": 0.0,
            "max": 9.5,
        }
    for p in r["performance"]:
        p["metrics"] = {"rmse": 0.81, "r2": 0.43, "mae": 0.6}
    for key in ("train", "test"):
        r["regions"][key]["summary_table"]["local_metric"] = "MSE"
    html = render_html(r)
    text = visible_text(html)
    assert "Test RMSE 0.810 (train 0.810); test R² 0.430." in text
    assert "Local MSE" in text and "mean 3.2, std 1.1" in text


def test_a_multiclass_results_dict_renders(results: dict[str, Any]) -> None:
    r = copy.deepcopy(results)
    names = ["class 0", "class 1", "class 2"]
    r["model"].update(task="multiclass", output_link="softmax", output_dim=3, output_names=names)
    for d in r["datasets"]:
        d["target_summary"] = {"kind": "multiclass", "counts": {"0": 50, "1": 30, "2": 20}}
    for p in r["performance"]:
        p["metrics"] = {"accuracy": 0.7, "log_loss": 0.8}
    first = r["importance"]["outputs"][0]
    r["importance"]["outputs"] = [dict(first, output=name) for name in names]
    text = visible_text(render_html(r))
    assert "Feature importance, class 2" in text and "Feature importance of class 2" in text
    assert "0: 50.0%, 1: 30.0%, 2: 20.0%" in text
    assert "Test Accuracy 0.700 (train 0.700)." in text


def test_a_results_dict_without_optional_analyses_still_has_every_section(
    results: dict[str, Any],
) -> None:
    r = without_test_data(results)
    r["profiles"] = []
    r["importance"]["outputs"] = []
    del r["pending"]
    r["regions"]["train"]["census"]["coverage_curve"] = {"k": [], "share": []}  # no curve
    r["regions"]["train"]["summary_table"]["rows"] = []  # no local-vs-global figure
    r["policy"]["checks"] = []
    html = render_html(r)
    text = visible_text(html)
    for heading in OUTLINE_HEADINGS:
        assert heading in text, heading
    assert "<svg" not in html
    assert "This results file holds no feature importance." in text
    assert "This results file holds no local linear profiles." in text
    assert "This results file holds no simplification results." in text
    assert "No check failed or was waived (section 7 would list them)." in text


# ---------------------------------------------------------------------------
# formatting


def test_numbers_are_formatted_for_readers() -> None:
    assert fmt_sci(2.2e-15) == "2.2 × 10⁻¹⁵"
    assert fmt_sci(1e-4) == "1 × 10⁻⁴"
    assert fmt_sci(None) == "—"
    assert fmt_share(0.9965) == "99.7%"
    assert fmt_share(0.99996) == "> 99.99%"
    assert fmt_share(4e-5) == "0.004%"
    assert fmt_share(0.0) == "0%"
    assert fmt_num(23873) == "23,873"
    assert fmt_num(0.71234) == "0.7123"
    assert fmt_num(float("nan")) == "—"


def test_tables_and_figures_are_numbered_in_document_order(results: dict[str, Any]) -> None:
    ctx = build_context(results)
    assert [f["number"] for f in ctx["figures"]] == list(range(1, len(ctx["figures"]) + 1))
    assert [f["id"] for f in ctx["figures"]] == [
        "coverage",
        "diagperf",
        "importance",
        "profile-1",
        "profile-2",
    ]
    assert ctx["summary"]["findings_table"]["label"] == "Table 1"


# ---------------------------------------------------------------------------
# PDF


def test_pdf_has_several_pages_and_the_results_attachment(
    pdf: bytes, results: dict[str, Any]
) -> None:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 3
    attachments = reader.attachments
    assert "results.json" in attachments
    assert json.loads(attachments["results.json"][0]) == results


def test_pdf_declares_pdf_a_3b(pdf: bytes) -> None:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r'pdfaid:part(?:>|=")3', xmp)
    assert re.search(r'pdfaid:conformance(?:>|=")B', xmp)
    assert "/OutputIntents" in reader.trailer["/Root"]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdf_text_contains_the_section_headings(pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    text = re.sub(r"\s+", " ", text)
    for heading in OUTLINE_HEADINGS:
        assert heading in text, heading
    assert "page 2 of" in text
    assert EVIL in text, "the feature name must print literally in the PDF"


def test_two_pdf_renders_are_byte_identical(html: str, pdf: bytes, results: dict[str, Any]) -> None:
    again = render_pdf(html, attachments={"results.json": json.dumps(results).encode("utf-8")})
    assert again == pdf
