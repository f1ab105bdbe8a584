"""The bad-input corpus: every case exits 2 with one line naming the culprit, and --out untouched.

Each case is a command line (``run`` on the tiny simulation model and 200 rows of its
data, or ``render`` of a results.json, or ``check-policy``) with one bad input: a
model, data file, policy, review, results file or option. The CLI runs in-process
(click's CliRunner). Every case must:

* exit with code 2;
* print exactly one line on stderr, ``error: …``, naming the file, option or key
  (the case's ``expect`` text) and no traceback;
* leave ``--out``, pre-populated with a complete earlier set, byte for byte as it was.

The bad files themselves are built by :mod:`tests.corpus.cases` (text cases are
kept as files under ``tests/corpus/``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus.cases import CASES, Case, Inputs, make_inputs

from govreport.cli import cli

EPOCH = "1767225600"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inputs]:
    root = tmp_path_factory.mktemp("corpus")
    made = make_inputs(root)
    previous = root / "previous"
    result = CliRunner().invoke(
        cli,
        [*made.run_args(previous), "--no-pdf"],
        env={"SOURCE_DATE_EPOCH": EPOCH},
        catch_exceptions=False,
    )
    assert result.exit_code in (0, 1), result.output
    made.previous = previous
    made.results = previous / "results.json"
    yield made


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_the_corpus_has_at_least_100_cases_across_every_input() -> None:
    assert len(CASES) >= 100
    kinds = {case.kind for case in CASES}
    assert kinds == {"model", "data", "policy", "review", "results", "options"}
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_exits_2_with_one_line_and_leaves_out_untouched(
    case: Case, inputs: Inputs, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(inputs.previous, out)
    before = snapshot(out)
    args, env = case.build(inputs, tmp_path, out)
    environment = {"SOURCE_DATE_EPOCH": EPOCH, **env}
    result = CliRunner().invoke(cli, [str(a) for a in args], env=environment)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    stderr = result.stderr
    assert result.exit_code == 2, f"exit {result.exit_code}: {result.output}"
    assert "Traceback" not in result.output
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    for expected in case.expect:
        assert expected.format(tmp=tmp_path, out=out) in lines[0], lines[0]
    assert len(lines[0]) <= 2000
    assert "weights_only=False" not in lines[0]  # no dependency's advice to weaken a check
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.govreport")) == []


def test_the_previous_set_is_a_complete_run(inputs: Inputs) -> None:
    names = {p.name for p in inputs.previous.iterdir()}
    assert names == {"results.json", "report.html", "checks.xml"}
    assert json.loads(inputs.results.read_text())["schema_version"] == 3
