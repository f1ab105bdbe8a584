"""One YAML module for every file a user writes: policy and review report problems alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from govreport.errors import InputError, PolicyError
from govreport.inputs.review import ReviewError, load_review, load_review_text
from govreport.yamlfile import format_loc, parse_yaml, read_text


def test_a_document_knows_the_line_of_every_key_path() -> None:
    doc = parse_yaml("a:\n  b:\n    - x\n    - {c: 1}\n", source="f.yaml", error=InputError)
    assert doc.data == {"a": {"b": ["x", {"c": 1}]}}
    assert doc.line_of(("a", "b", 1, "c")) == 4
    assert doc.line_of(("a", "missing")) == 1  # the mapping that should hold it
    assert doc.lines()["a.b[1].c"] == 4


def test_an_exponent_without_a_dot_is_a_number() -> None:
    assert parse_yaml("x: 1e-6\n", source="f", error=InputError).data == {"x": 1e-6}


def test_an_empty_document_has_no_root() -> None:
    doc = parse_yaml("# nothing\n", source="f", error=InputError)
    assert doc.root is None and doc.data is None and doc.line_of(("x",)) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\na: 2\n", "f.yaml:2: a: duplicate key (first at line 1)"),
        ("a:\n  1: x\n", "f.yaml:2: a: keys must be text, got '1'; quote it"),
        ("a:\n  d: 2026-13-01\n", "f.yaml:2: a.d: invalid date '2026-13-01'"),
        ("a: [1\n", "f.yaml:2: YAML syntax error:"),
    ],
)
def test_yaml_problems_raise_the_callers_error_with_file_line_and_key_path(
    text: str, message: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_yaml(text, source="f.yaml", error=PolicyError)
    assert str(caught.value).startswith(message)


def test_review_and_policy_share_the_error_format(tmp_path: Path) -> None:
    with pytest.raises(ReviewError) as caught:
        load_review_text("signoff:\n  approver: {date: 2026-02-30}\n", source="review.yaml")
    assert str(caught.value).startswith(
        "review.yaml:2: signoff.approver.date: invalid date '2026-02-30'"
    )
    path = tmp_path / "review.yaml"
    path.write_bytes(b"report_id: \xfc\n")
    with pytest.raises(ReviewError) as caught:
        load_review(path)
    assert str(caught.value) == (
        f"{path}:1: top level: the file is not UTF-8 text (byte 0xfc at offset 11)"
    )
    with pytest.raises(ReviewError, match="cannot read review file"):
        read_text(tmp_path / "absent.yaml", what="review", error=ReviewError)


def test_key_paths_print_as_the_author_would_write_them() -> None:
    assert format_loc(("checks", 1, "params", "expected", "PAY_0")) == (
        "checks[1].params.expected.PAY_0"
    )
    assert format_loc(()) == "top level"
