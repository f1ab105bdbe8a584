"""The report as a document: review metadata, re-rendering, templates, privacy, PDF, browser.

One small run (a hand-built network with a known singleton region) is made once per
module through the CLI, with the PDF; the tests read its files. The network is

    h1 = relu(a - 1.05), h2 = relu(a - 1.15), h3 = relu(b)   (b > 0: h3 always on)

so the data (``a`` on whole numbers, plus one row with a = 1.0987654321) falls into
three regions, the middle one holding that single row.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result
from pypdf import PdfReader

from govreport.cli import cli
from govreport.inputs.review import ReviewError, load_review, load_review_text
from govreport.render import build_context
from govreport.results import dump, results_from_jsonable

REPO = Path(__file__).resolve().parent.parent
EPOCH = "1767225600"  # 2026-01-01T00:00:00Z
#: The singleton row's values: neither is a minimum or maximum of its column.
SECRET_A = "1.0987654321"
SECRET_B = "1.2345678912"

REVIEW_YAML = """\
schema_version: 1
report_id: MV-TEST-007
model:
  id: TOY-PD-01
  version: 2.0.1
review_type: periodic
intended_use: Ranks toy accounts for a test of the report machinery.
data_windows: {train: January to March 2026}
signoff:
  validator: {name: Ada Validator, role: Model validation}
  approver: {name: Carl Approver, role: Model risk committee}
"""

OUTLINE = [
    "1 Executive summary",
    "2 Scope and use",
    "3 Model and data",
    "4 Conceptual soundness",
    "5 Outcomes analysis",
    "6 Simplification",
    "7 Findings and waivers",
    "Appendix A. Policy results",
    "Appendix B. Reproducibility",
    "Appendix C. Methods",
]


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def make_inputs(root: Path) -> dict[str, Path]:
    """model.pt, data.csv (180 rows + the singleton row), policy.yaml and review.yaml."""
    hidden = torch.nn.Linear(2, 3)
    out = torch.nn.Linear(3, 1)
    with torch.no_grad():
        hidden.weight.copy_(torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
        hidden.bias.copy_(torch.tensor([-1.05, -1.15, 0.0]))
        out.weight.copy_(torch.tensor([[0.8, -0.5, 0.3]]))
        out.bias.copy_(torch.tensor([-0.4]))
    model = torch.nn.Sequential(hidden, torch.nn.ReLU(), out, torch.nn.Sigmoid()).eval()
    torch.jit.save(torch.jit.script(model), str(root / "model.pt"))
    rng = np.random.default_rng(3)
    a = rng.integers(-3, 4, size=180).astype(float)
    b = np.round(rng.uniform(0.5, 3.0, size=180), 2)
    y = (a + rng.normal(size=180) > 0.5).astype(int)
    lines = ["id,a,b,y"] + [f"{i},{a[i]:g},{b[i]:g},{y[i]}" for i in range(180)]
    lines.insert(60, f"180,{SECRET_A},{SECRET_B},1")
    (root / "data.csv").write_text("\n".join(lines) + "\n")
    (root / "policy.yaml").write_text(
        "schema_version: 1\n"
        "policy: {id: TEST, version: 1.0.0, owner: tests, effective: 2026-01-01}\n"
        "gate: {fail_on: major}\n"
        "checks:\n"
        "  - id: exactness\n"
        "    metric: regions.max_abs_error\n"
        "    max: 1.0e-9\n"
        "    severity: critical\n"
        '    refs: ["SR 11-7: conceptual soundness", "PRA SS1/23 P4", "EU AI Act Art. 15",'
        ' "Internal standard MRM-7"]\n'
    )
    (root / "review.yaml").write_text(REVIEW_YAML)
    return {name: root / f"{name}.{ext}" for name, ext in _FILES}


_FILES = (("model", "pt"), ("data", "csv"), ("policy", "yaml"), ("review", "yaml"))


def run_args(inputs: dict[str, Path], out: Path, *extra: str | Path) -> list[str | Path]:
    return [
        "run",
        "--model",
        inputs["model"],
        "--data",
        inputs["data"],
        "--target",
        "y",
        "--drop",
        "id",
        "--policy",
        inputs["policy"],
        "--profile-regions",
        "10",
        "--out",
        out,
        *extra,
    ]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def first(inputs: dict[str, Path]) -> Path:
    """Outputs (with PDF) of a run with the review file."""
    out = inputs["model"].parent / "first"
    result = invoke(
        *run_args(inputs, out, "--review", inputs["review"]), env={"SOURCE_DATE_EPOCH": EPOCH}
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def results(first: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((first / "results.json").read_text())
    return data


@pytest.fixture(scope="module")
def html(first: Path) -> str:
    return (first / "report.html").read_text()


@pytest.fixture(scope="module")
def pdf_text(first: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(first / "report.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout


# ---------------------------------------------------------------------------
# review metadata


def test_review_fields_reach_the_control_page_and_scope(results: dict[str, Any], html: str) -> None:
    review = results["review"]
    assert review["report_id"] == "MV-TEST-007"
    assert review["signoff"]["reviewer"] == {
        "name": None,
        "role": None,
        "decision": None,
        "date": None,
    }
    control = html[html.index('id="control"') : html.index('class="toc"')]
    for text in ("MV-TEST-007", "TOY-PD-01", "2.0.1", "periodic", "Ada Validator", "Carl Approver"):
        assert text in control, text
    # the reviewer was not named: its row prints blank cells to fill in, not an error
    assert re.search(
        r"<th scope=\"row\">Reviewer</th><td></td><td></td><td></td><td></td>", control
    )
    assert "Ranks toy accounts for a test of the report machinery." in html
    assert "January to March 2026" in html
    # the run's own fingerprint id stays in Appendix B
    assert results["run"]["report_id"] in html


def test_traceability_table_has_one_column_per_framework(results: dict[str, Any]) -> None:
    table = build_context(results)["scope"]["trace_table"]
    assert table["head"] == [
        "Check",
        "Data set",
        "SR 11-7 element",
        "PRA SS1/23 principle",
        "EU AI Act article",
        "Other",
    ]
    # a check without a title or description in the policy reads by its id
    assert table["rows"] == [
        [
            "exactness",
            "train",
            "conceptual soundness",
            "P4",
            "Art. 15",
            "Internal standard MRM-7",
        ]
    ]


def test_render_of_an_older_results_file_without_the_policy_text_still_works(
    results: dict[str, Any], first: Path
) -> None:
    from govreport.pipeline import render_outputs

    older = json.loads(json.dumps(results))
    del older["inputs"]["policy"]["text"]
    del older["review"]
    files = render_outputs(results_from_jsonable(older), pdf=False)
    assert b"MV-TEST-007" not in files["report.html"]  # no review block: the run's id instead
    assert results["run"]["report_id"].encode() in files["report.html"]


def test_without_a_review_file_every_review_field_is_a_blank_line(results: dict[str, Any]) -> None:
    bare = {k: v for k, v in results.items() if k != "review"}
    ctx = build_context(bare)
    facts = dict(ctx["control"]["facts"])
    assert facts["Report id"] == results["run"]["report_id"]
    assert facts["Review type"] == {"fill": True, "hint": "initial / periodic / change"}
    assert facts["Model id"]["fill"] is True
    assert all(row["name"] == "" for row in ctx["control"]["signoff"])
    assert ctx["scope"]["intended_use"] is None


def test_an_empty_review_file_is_all_blanks_not_an_error() -> None:
    review = load_review_text("")
    assert review.review_type is None and review.signoff.approver.name is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "report_id: X\nmodle: {id: A}\n",
            "review.yaml:2: modle: unknown key 'modle' (did you mean 'model'?)",
        ),
        (
            "review_type: yearly\n",
            "review.yaml:1: review_type: expected one of initial, periodic, change",
        ),
        (
            "signoff:\n  approver: {name: A, rank: 3}\n",
            "review.yaml:2: signoff.approver.rank: unknown key",
        ),
        ("report_id: 17\n", "review.yaml:1: report_id: expected text, got the number 17"),
        ("- a\n- b\n", "review.yaml:1: top level: expected a mapping"),
    ],
)
def test_a_bad_review_file_is_an_error_naming_file_line_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "review.yaml"
    path.write_text(text)
    with pytest.raises(ReviewError) as caught:
        load_review(path)
    assert str(caught.value).startswith(
        str(tmp_path / message.split(":", 1)[0]) + ":" + message.split(":", 1)[1]
    )


def test_a_bad_review_file_exits_2_before_any_output(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "review.yaml"
    bad.write_text("review_typ: initial\n")
    result = invoke(*run_args(inputs, tmp_path / "out", "--review", bad, "--no-pdf"))
    assert result.exit_code == 2
    assert "review.yaml:1: review_typ: unknown key" in result.output
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------
# reproducibility and re-rendering


def test_two_runs_and_a_render_give_byte_identical_files(
    inputs: dict[str, Path], first: Path, tmp_path: Path
) -> None:
    second = tmp_path / "second"
    result = invoke(
        *run_args(inputs, second, "--review", inputs["review"]), env={"SOURCE_DATE_EPOCH": EPOCH}
    )
    assert result.exit_code == 0, result.output
    rendered = tmp_path / "rendered"
    result = invoke("render", first / "results.json", "--out", rendered)
    assert result.exit_code == 0, result.output
    for name in ("results.json", "report.html", "report.pdf"):
        original = (first / name).read_bytes()
        assert (second / name).read_bytes() == original, f"second run: {name} differs"
    assert (rendered / "results.json").read_bytes() == (first / "results.json").read_bytes()
    # The re-rendered report is the run's, plus one note in appendix B naming its source.
    html = (rendered / "report.html").read_text()
    digest = hashlib.sha256((first / "results.json").read_bytes()).hexdigest()
    note = re.search(r'\n  <p class="rerendered">.*?</p>\n  ', html, flags=re.S)
    assert note is not None and digest in note.group() and "results.json" in note.group()
    assert html.replace(note.group(), "\n  ", 1) == (first / "report.html").read_text()
    assert "Re-rendered" not in (first / "report.html").read_text()


def test_render_with_no_pdf_writes_html_and_json_only(first: Path, tmp_path: Path) -> None:
    result = invoke("render", first / "results.json", "--out", tmp_path / "r", "--no-pdf")
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"report.html", "results.json"} <= names and "report.pdf" not in names


def test_render_of_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text('{\n  "schema_version": 1,\n  "run": {oops}\n}\n')
    result = invoke("render", path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert f"{path}:3:11: invalid JSON" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r.update(schema_version=99), "schema_version: 99 is not supported"),
        (
            lambda r: r["regions"]["train"]["census"].pop("samples"),
            "regions.train.census.samples: missing required key",
        ),
        (
            lambda r: r["model"].update(input_dim="two"),
            "model.input_dim: expected a valid integer, got a string",
        ),
        (
            lambda r: r["policy"]["checks"][0].update(id=None),
            "policy.checks[0].id: expected a valid string, got null",
        ),
        (
            lambda r: r.update(pending=[]),
            "pending: unknown key; results.json schema 3 has no such key",
        ),
    ],
)
def test_render_of_a_broken_results_file_exits_2_naming_the_key(
    results: dict[str, Any], tmp_path: Path, edit: Any, message: str
) -> None:
    broken = json.loads(json.dumps(results))
    edit(broken)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(broken))
    result = invoke("render", path, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert f"{path}: {message}" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_results_of_this_run_validate_and_carry_the_policy_text(
    results: dict[str, Any], inputs: dict[str, Path]
) -> None:
    assert json.loads(dump(results_from_jsonable(results))) == results
    assert results["inputs"]["policy"]["text"] == inputs["policy"].read_text()


# ---------------------------------------------------------------------------
# custom templates


def test_a_template_directory_overrides_same_named_files_only(
    first: Path, tmp_path: Path, html: str
) -> None:
    custom = tmp_path / "custom"
    (custom / "sections").mkdir(parents=True)
    default = REPO / "templates" / "sections" / "02_scope.html.j2"
    (custom / "sections" / "02_scope.html.j2").write_text(
        default.read_text().replace(
            "{{ m.heading(ctx.sections.scope) }}",
            '{{ m.heading(ctx.sections.scope) }}\n  <p class="bank">'
            "ACME Bank &amp; Co. scope note</p>",
        )
    )
    (custom / "report.css").write_text("body { color: #123456; }\n")
    result = invoke(
        "render",
        first / "results.json",
        "--out",
        tmp_path / "out",
        "--no-pdf",
        "--templates",
        custom,
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "report.html").read_text()
    assert '<p class="bank">ACME Bank &amp; Co. scope note</p>' in page
    assert "body { color: #123456; }" in page and "--accent" not in page
    # every other section still comes from the default set
    for heading in OUTLINE:
        assert heading in page


def test_a_template_asking_for_a_missing_variable_exits_2_naming_file_and_line(
    first: Path, tmp_path: Path
) -> None:
    custom = tmp_path / "custom" / "sections"
    custom.mkdir(parents=True)
    (custom / "07_findings.html.j2").write_text("<section>\n{{ ctx.findngs }}\n</section>\n")
    result = invoke(
        "render",
        first / "results.json",
        "--out",
        tmp_path / "out",
        "--no-pdf",
        "--templates",
        custom.parent,
    )
    assert result.exit_code == 2, result.output
    assert "07_findings.html.j2:2: template error:" in result.output
    assert "findngs" in result.output


def test_docs_list_every_context_key_and_every_default_template(results: dict[str, Any]) -> None:
    doc = (REPO / "docs" / "templates.md").read_text()
    for key in build_context(results):
        assert f"`ctx.{key}`" in doc, f"docs/templates.md does not document ctx.{key}"
    templates = REPO / "templates"
    for path in sorted(templates.rglob("*")):
        if path.is_file():
            name = path.relative_to(templates).as_posix()
            assert f"`{name}`" in doc, f"docs/templates.md does not list {name}"


# ---------------------------------------------------------------------------
# privacy and size


def test_no_output_reveals_the_singleton_rows_values(first: Path, results: dict[str, Any]) -> None:
    census = results["regions"]["train"]["census"]
    assert census["regions"] == 3 and census["singleton_regions"] == 1
    for name in ("results.json", "report.html"):
        text = (first / name).read_text()
        for secret in (SECRET_A, SECRET_B, SECRET_A[:6], SECRET_B[:6]):
            assert secret not in text, f"{name} reveals {secret}"
    pdf = subprocess.run(
        ["pdftotext", str(first / "report.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert SECRET_A[:6] not in pdf and SECRET_B[:6] not in pdf


def test_profiles_withhold_input_statistics_of_small_regions_and_say_so(
    results: dict[str, Any], html: str
) -> None:
    for profile in results["profiles"]:
        small = [r for r in profile["regions"] if r["count"] < 10]
        assert [r["count"] for r in small] == [1]
        for region in small:
            assert region["withheld"] is True
            assert region["x_min"] is None and region["x_max"] is None and region["density"] is None
            assert region["values"] == [] and region["slope"] is not None  # model statistic kept
        big = [r for r in profile["regions"] if r["count"] >= 10]
        assert big and all(r["x_min"] is not None for r in big)
    assert html.count("Not drawn: R") == len(results["profiles"])
    assert "withheld (disclosure control" in html


def test_data_derived_names_are_escaped(results: dict[str, Any]) -> None:
    from govreport.render import render_html

    evil = json.loads(json.dumps(results))
    evil["features"] = ["<b>a</b>", "b&c"]
    evil["importance"]["outputs"][0]["features"][0]["name"] = "<b>a</b>"
    page = render_html(evil)
    assert "<b>a</b>" not in page and "&lt;b&gt;a&lt;/b&gt;" in page


# ---------------------------------------------------------------------------
# PDF


def _bookmarks(reader: PdfReader) -> list[tuple[str, int]]:
    """(title, 1-based page) of every bookmark, depth first, in document order."""
    found: list[tuple[str, int]] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                page = reader.get_destination_page_number(item)
                assert page is not None, f"bookmark {item.title!r} points nowhere"
                found.append((str(item.title), page + 1))

    walk(reader.outline)
    return found


def test_pdf_bookmarks_and_text_follow_the_outline_in_reading_order(first: Path) -> None:
    reader = PdfReader(first / "report.pdf")
    marks = _bookmarks(reader)
    # every outline heading is a bookmark (titles may go on: "4 Conceptual soundness: ..."),
    # in outline order, on non-decreasing pages
    order = [i for i, (title, _) in enumerate(marks) if title.startswith(tuple(OUTLINE))]
    titles = [marks[i][0] for i in order]
    assert len(titles) == len(OUTLINE)
    assert all(t.startswith(h) for t, h in zip(titles, OUTLINE, strict=True)), titles
    pages = {h: marks[i][1] for h, i in zip(OUTLINE, order, strict=True)}
    assert [pages[h] for h in OUTLINE] == sorted(pages[h] for h in OUTLINE)
    # The text from the first section on (past the contents) has every heading, in order.
    body = subprocess.run(
        ["pdftotext", "-f", str(pages[OUTLINE[0]]), str(first / "report.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    text = re.sub(r"\s+", " ", body)
    start = 0
    for heading in OUTLINE:
        found = text.find(heading, start)
        assert found >= 0, f"{heading!r} missing or out of order in the extracted text"
        start = found + len(heading)


def test_pdf_control_page_and_contents_fit_their_pages(pdf_text: str) -> None:
    pages = pdf_text.split("\f")
    control = pages[0]  # page 1: the validator's conclusion and the sign-off
    assert "Sign-off" in control and "Approver" in control and "Carl Approver" in control
    assert "Recommended rating" in control
    contents = next(p for p in pages[1:3] if "Contents" in p)  # after the document control
    assert "Executive summary" in contents


def test_pdf_has_running_headers_and_page_numbers(first: Path) -> None:
    reader = PdfReader(first / "report.pdf")
    pages = len(reader.pages)
    assert pages >= 8
    third = reader.pages[2].extract_text()
    assert "MV-TEST-007" in third and "TOY-PD-01 version 2.0.1" in third
    assert f"page 3 of {pages}" in third
    first_page = reader.pages[0].extract_text()
    assert "page 1 of" in first_page


def test_pdf_is_pdf_a_3b_with_results_and_policy_attached(
    first: Path, inputs: dict[str, Path]
) -> None:
    reader = PdfReader(first / "report.pdf")
    attachments = reader.attachments
    assert sorted(attachments) == ["policy.yaml", "results.json"]
    assert attachments["results.json"][0] == (first / "results.json").read_bytes()
    assert attachments["policy.yaml"][0] == inputs["policy"].read_bytes()
    root: Any = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r'pdfaid:part(?:>|=")3', xmp) and re.search(
        r'pdfaid:conformance(?:>|=")B', xmp
    )
    info = reader.metadata
    assert info is not None and "MV-TEST-007" in str(info.title)
    assert str(info.get("/CreationDate", "")).startswith("D:20260101")


# ---------------------------------------------------------------------------
# headless Chromium: the HTML renders offline, requesting nothing


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome-headless-shell"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _Recorder:
    """A TCP server that records every connection (a stand-in proxy that serves nothing)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.5)
                try:
                    self.requests.append(conn.recv(4096) or b"<connect>")
                except OSError:
                    self.requests.append(b"<connect>")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    server = _Recorder()
    yield server
    server.close()


#: Hosts Chromium itself contacts (component updates, sign-in, network time) whatever page it
#: shows, even with background networking disabled; none of them is a page resource.
CHROMIUM_SERVICE_HOSTS = (
    "update.googleapis.com",
    "accounts.google.com",
    "clients2.google.com",
    "clientservices.googleapis.com",
    "optimizationguide-pa.googleapis.com",
    "redirector.gvt1.com",
    "edgedl.me.gvt1.com",
    "safebrowsingohttpgateway.googleapis.com",
)
_REQUEST_HOST = re.compile(rb"^(?:CONNECT (?P<c>[^:\s]+)|[A-Z]+ https?://(?P<h>[^/:\s]+))")


def _page_requests(requests: list[bytes]) -> list[bytes]:
    """The recorded requests that are not Chromium's own service traffic."""
    kept = []
    for request in requests:
        match = _REQUEST_HOST.match(request)
        host = (match.group("c") or match.group("h")).decode() if match else ""
        if host not in CHROMIUM_SERVICE_HOSTS:
            kept.append(request)
    return kept


def _chromium_run(
    browser: str, page: Path, port: int, profile: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
            f"--user-data-dir={profile}",
            f"--proxy-server=127.0.0.1:{port}",
            "--proxy-bypass-list=<-loopback>",
            "--window-size=1200,3000",
            *extra,
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(profile.parent)},
    )


def test_html_renders_in_headless_chromium_without_requesting_any_url(
    first: Path, tmp_path: Path, recorder: _Recorder
) -> None:
    browser = _chromium()
    if browser is None:
        # .ci/run installs chromium; a local run without it is reported, never passed silently.
        pytest.fail(
            "chromium is not installed (apt-get install chromium): the browser test cannot run"
        )
    # Control: a page with a remote image does reach the recording proxy, so silence below
    # means the report asked for nothing, not that the proxy was bypassed.
    canary = tmp_path / "canary.html"
    canary.write_text('<!DOCTYPE html><img src="http://canary.invalid/pixel.png">')
    _chromium_run(browser, canary, recorder.port, tmp_path / "u0", "--dump-dom")
    assert any(b"canary.invalid" in r for r in recorder.requests), recorder.requests
    recorder.requests.clear()

    page = tmp_path / "report.html"
    shutil.copy(first / "report.html", page)
    shot = tmp_path / "shot.png"
    _chromium_run(browser, page, recorder.port, tmp_path / "u1", f"--screenshot={shot}")
    dom = _chromium_run(browser, page, recorder.port, tmp_path / "u2", "--dump-dom").stdout
    assert _page_requests(recorder.requests) == [], "the report requested a URL"
    for heading in OUTLINE:
        assert heading in " ".join(dom.split())
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(shot.read_bytes()))
    assert pixels.shape[:2] == (3000, 1200)
    grey = pixels[..., :3].mean(axis=2)
    assert (grey < 0.5).mean() > 0.005, "the screenshot is blank: no dark text drawn"
    assert len(np.unique(np.round(grey, 2))) > 20
