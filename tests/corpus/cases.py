"""The bad-input corpus: one :class:`Case` per bad input (see ``tests/test_corpus.py``).

Inputs are built once per test module by :func:`make_inputs`: the tiny simulation
model (10 binary features, TorchScript), 200 training and 80 test rows of its data,
a small valid policy and review, and a safetensors copy of a 10-4-1 network with
its spec. A case's ``build`` writes its bad file under the test's ``tmp`` directory
and returns the command line; ``expect`` are texts the one-line message must hold
(``{tmp}`` and ``{out}`` are filled in).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SIMULATION = REPO / "examples" / "simulation"
HERE = Path(__file__).resolve().parent

POLICY = """\
schema_version: 1
policy: {id: T, version: 1.0.0, owner: tests, effective: 2026-01-01}
severity_levels: [info, minor, major, critical]
gate: {fail_on: major}
checks:
  - id: exactness
    metric: regions.max_abs_error
    max: 1.0e-9
    severity: critical
  - id: auc_train
    metric: performance.auc
    dataset: train
    min: 0.5
    severity: major
"""

REVIEW = """\
schema_version: 1
report_id: MV-TEST-007
model: {id: TOY-PD-01, version: 2.0.1}
review_type: periodic
intended_use: Tests.
"""

SPEC = """\
spec_version: 1
output_link: sigmoid
layers:
  - {type: linear, in: 10, out: 4}
  - {type: relu}
  - {type: linear, in: 4, out: 1}
"""


@dataclass
class Inputs:
    root: Path
    model: Path
    train: Path
    test: Path
    policy: Path
    review: Path
    safetensors: Path
    spec: Path
    pickled: Path
    narrow_model: Path
    previous: Path = field(default_factory=Path)
    results: Path = field(default_factory=Path)

    def run_args(self, out_dir: Path, **replace: Any) -> list[Any]:
        """``govreport run`` on the good inputs; ``replace`` swaps an option's value.

        A value of ``None`` drops the option; ``extra`` appends arguments.
        """
        options: dict[str, Any] = {
            "--model": self.model,
            "--data": self.train,
            "--test-data": self.test,
            "--target": "y",
            "--policy": self.policy,
            "--review": self.review,
            "--out": out_dir,
        }
        extra = replace.pop("extra", [])
        for key, value in replace.items():
            options["--" + key.replace("_", "-")] = value
        args: list[Any] = ["run"]
        for key, value in options.items():
            if value is not None:
                args += [key, value]
        return [*args, "--no-pdf", *extra]


def make_inputs(root: Path) -> Inputs:
    import pandas as pd
    import torch
    from safetensors.torch import save_file
    from torch import nn

    train = root / "train.csv"
    test = root / "test.csv"
    pd.read_csv(SIMULATION / "train.csv", nrows=200).to_csv(train, index=False)
    pd.read_csv(SIMULATION / "test.csv", nrows=80).to_csv(test, index=False)
    (root / "policy.yaml").write_text(POLICY)
    (root / "review.yaml").write_text(REVIEW)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, root / "net.safetensors")
    (root / "net.spec.yaml").write_text(SPEC)
    torch.save(nn.Sequential(nn.Linear(10, 1), nn.Sigmoid()), root / "pickled.pt")
    narrow = torch.jit.script(nn.Sequential(nn.Linear(5, 1), nn.Sigmoid()))
    narrow.save(str(root / "narrow.pt"))
    return Inputs(
        root=root,
        model=SIMULATION / "model.pt",
        train=train,
        test=test,
        policy=root / "policy.yaml",
        review=root / "review.yaml",
        safetensors=root / "net.safetensors",
        spec=root / "net.spec.yaml",
        pickled=root / "pickled.pt",
        narrow_model=root / "narrow.pt",
    )


Builder = Callable[[Inputs, Path, Path], tuple[list[Any], dict[str, str]]]


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    build: Builder
    expect: tuple[str, ...]


CASES: list[Case] = []


def case(name: str, kind: str, build: Builder, *expect: str) -> None:
    CASES.append(Case(name, kind, build, expect))


def write(tmp: Path, name: str, content: str | bytes) -> Path:
    path = tmp / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def fifo(tmp: Path, name: str) -> Path:
    path = tmp / name
    os.mkfifo(path)
    return path


def run_with(**replace: Any) -> Builder:
    """A run whose options are replaced; a callable value is called with (inputs, tmp)."""

    def build(inputs: Inputs, tmp: Path, out: Path) -> tuple[list[Any], dict[str, str]]:
        values = {k: (v(inputs, tmp) if callable(v) else v) for k, v in replace.items()}
        return inputs.run_args(out, **values), {}

    return build


def env_run(**env: str) -> Builder:
    def build(inputs: Inputs, tmp: Path, out: Path) -> tuple[list[Any], dict[str, str]]:
        return inputs.run_args(out), env

    return build


# --------------------------------------------------------------------------- policies

CORPUS_POLICIES = sorted((HERE / "policies").glob("*.yaml"))
for _path in CORPUS_POLICIES:
    _expect = _path.read_text(encoding="utf-8", errors="replace").splitlines()[0]
    _expect = _expect.removeprefix("# expect: ")
    case(
        f"policy-{_path.stem}",
        "policy",
        run_with(policy=lambda _i, _t, p=_path: p),
        f"{_path}",
        *([_expect] if _expect else []),
    )


def _policy_text(text: str | bytes, *expect: str, name: str) -> None:
    case(
        f"policy-{name}",
        "policy",
        run_with(policy=lambda _i, t: write(t, "policy.yaml", text)),
        "{tmp}/policy.yaml",
        *expect,
    )


_policy_text("", "empty", name="empty")
_policy_text("a: [1, 2\n", "YAML syntax error", name="unclosed-flow")
_policy_text(
    POLICY.replace("checks:", "chekcs:"),
    "unknown key 'chekcs' (did you mean 'checks'?)",
    name="misspelt-checks",
)
_policy_text(POLICY.replace("gate:", "gaet:"), "unknown key 'gaet'", name="misspelt-gate")
_policy_text(
    POLICY.replace("max: 1.0e-9", "max: !!int h"),
    ":8: checks[0].max: cannot read 'h'",
    name="bad-int-tag",
)
_policy_text(
    POLICY.replace("max: 1.0e-9", "max: " + "9" * 5000),
    ":8: checks[0].max: cannot read",
    name="int-5000-digits",
)
_policy_text(
    POLICY + "x: " + "[" * 500 + "]" * 500 + "\n", "nesting deeper than 64", name="deep-flow"
)
_policy_text(
    "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 80)),
    "nesting deeper",
    name="deep-block",
)
_policy_text("a: &a [*a]\n", "alias", name="recursive-alias")
_policy_text(
    "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
    "expands to more than",
    name="alias-bomb",
)
_policy_text(POLICY.encode() + b"\xff\xfe\n", "not UTF-8", name="not-utf8")
_policy_text("a: 1\na: 2\n", "duplicate key", name="duplicate-key")
_policy_text("- 1\n- 2\n", "expected a mapping", name="top-level-list")
_policy_text(
    POLICY.replace("schema_version: 1", "schema_version: 99"), "schema_version", name="schema-99"
)
_policy_text(
    POLICY.replace("regions.max_abs_error", "regions.max_abs_eror"),
    "checks[0].metric",
    name="unknown-metric",
)
_policy_text(
    POLICY.replace("severity: critical", "severity: catastrophic"),
    "checks[0].severity",
    name="unknown-severity",
)
_policy_text(POLICY.replace("2026-01-01", "2026-13-01"), "invalid date", name="bad-date")
_policy_text(
    POLICY.replace("max: 1.0e-9", "max: '1e-9'"), "remove the quotes", name="quoted-number"
)
_policy_text(POLICY.replace("max: 1.0e-9", "max: .nan"), "checks[0].max", name="nan-bound")
_policy_text("a: \x07\n", "not allowed", name="control-char")
_policy_text(POLICY.replace("id: exactness", "id: auc_train"), "checks[1].id", name="duplicate-id")
_policy_text(
    POLICY + "x: !!python/object/apply:os.system ['true']\n", "constructor", name="python-tag"
)
_policy_text(
    POLICY.replace("max: 1.0e-9", "max: " + "1" * 400 + ".0"),
    "checks[0].max",
    name="float-overflow",
)
_policy_text(POLICY.replace("    max: 1.0e-9\n", ""), "checks[0]", name="no-bound")
case("policy-dev-zero", "policy", run_with(policy="/dev/zero"), "/dev/zero", "not a regular file")
case("policy-fifo", "policy", run_with(policy=lambda _i, t: fifo(t, "p.yaml")), "not a regular")
case(
    "policy-too-big",
    "policy",
    run_with(policy=lambda _i, t: write(t, "big.yaml", "# " + "x" * (5 << 20) + "\n")),
    "big.yaml",
    "more than",
)
case(
    "check-policy-misspelt",
    "policy",
    lambda i, t, o: (["check-policy", write(t, "p.yaml", POLICY.replace("checks", "chekcs"))], {}),
    "did you mean 'checks'",
)

# --------------------------------------------------------------------------- reviews


def _review_text(text: str | bytes, *expect: str, name: str) -> None:
    case(
        f"review-{name}",
        "review",
        run_with(review=lambda _i, t: write(t, "review.yaml", text)),
        "{tmp}/review.yaml",
        *expect,
    )


_review_text(
    REVIEW.replace("review_type", "reveiw_type"),
    "unknown key 'reveiw_type'",
    "did you mean 'review_type'",
    name="misspelt-key",
)
_review_text(REVIEW.replace("periodic", "sometimes"), "review_type", name="bad-review-type")
_review_text("a: [\n", "YAML syntax error", name="syntax")
_review_text(REVIEW + "x: " + "{a: " * 100 + "1" + "}" * 100 + "\n", "nesting", name="deep")
_review_text(REVIEW.replace("2.0.1", "!!int h"), "cannot read 'h'", name="bad-int-tag")
_review_text(b"report_id: \xc3\x28\n", "not UTF-8", name="not-utf8")
_review_text("- a\n", "expected a mapping", name="list")
_review_text(
    REVIEW.replace("schema_version: 1", "schema_version: 7"), "schema_version", name="schema-7"
)
_review_text(REVIEW + "report_id: again\n", "duplicate key", name="duplicate")
case("review-dev-zero", "review", run_with(review="/dev/zero"), "/dev/zero", "not a regular file")
case("review-fifo", "review", run_with(review=lambda _i, t: fifo(t, "r.yaml")), "not a regular")
case("review-directory", "review", run_with(review=lambda _i, t: t), "is a directory")

# --------------------------------------------------------------------------- data

HEADER = "x1,x2,x3,x4,x5,x6,x7,x8,x9,x10,y\n"
ROW = "1,0,1,0,1,0,1,0,1,0,1\n"


def _data(content: str | bytes, *expect: str, name: str, file: str = "d.csv", **more: Any) -> None:
    case(
        f"data-{name}",
        "data",
        run_with(data=lambda _i, t: write(t, file, content), **more),
        file,
        *expect,
    )


def _parquet(columns: Callable[[], dict[str, Any]], *expect: str, name: str) -> None:
    def make(_i: Inputs, tmp: Path) -> Path:
        import pandas as pd

        path = tmp / "d.parquet"
        pd.DataFrame(columns()).to_parquet(path)
        return path

    case(
        f"data-{name}",
        "data",
        run_with(data=make, features="a", test_data=None),
        "{tmp}/d.parquet",
        *expect,
    )


_data("", "empty", name="empty")
_data(HEADER, "no data rows", name="header-only")
_data(
    HEADER.replace("y\n", "z\n") + ROW.replace("1\n", "0\n"),
    "target column 'y' not found",
    name="no-target",
)
_data(HEADER + ROW.replace("1,0,1", "1,x,1", 1), "'x2' is not numeric", "line 2", name="text-value")
_data(HEADER + ROW.replace("1,0,1", "1,,1", 1), "missing (NaN)", "x2", name="nan")
_data(HEADER + ROW.replace("1,0,1", "1,inf,1", 1), "infinite", "x2", name="inf")
_data(
    HEADER + ROW.replace("1,0,1", "1,1e308,1", 1) + ROW * 3,
    "x2",
    "row 1",
    "1e+308",
    name="huge-value",
)
_data(HEADER + ROW.replace("1,0,1", "1,-1e200,1", 1), "x2", "rescale", name="huge-negative")
_data(HEADER.replace("x1,x2", "x1,x1") + ROW, "duplicate column", name="duplicate-column")
_data(HEADER + ROW.replace("1\n", "2\n"), "must be 0 or 1", name="target-not-binary")
_data(
    HEADER.replace("x10,", "") + ROW.replace("0,1\n", "1\n", 1),
    "takes 10 inputs",
    name="too-few-columns",
)
_data(b"x1,x2\n\xff\xfe,1\n", "cannot read", name="not-utf8")
_data(
    HEADER + ROW.replace("1,0,1", "1," + "x" * 1_000_000 + ",1", 1),
    "x2",
    "characters",
    name="megabyte-value",
)
_data(
    HEADER.replace("x2", '"x\r\n2"') + ROW.replace("1,0,1", "1,q,1", 1),
    "'x\\r\\n2'",
    name="crlf-column-name",
)
_data(HEADER + ROW, "unsupported data file type", name="bad-suffix", file="d.xlsx")
_data(HEADER + ROW, "--drop names column 'nope'", name="drop-unknown", drop="nope")
_data(HEADER + ROW, "feature column 'nope'", name="features-unknown", features="nope")
_data(HEADER + ROW, "--drop names the target", name="drop-target", drop="y")
case("data-dev-zero", "data", run_with(data="/dev/zero"), "/dev/zero")
case("data-fifo", "data", run_with(data=lambda _i, t: fifo(t, "d.csv")), "not a regular file")
case("data-directory", "data", run_with(data=lambda _i, t: t), "Invalid value for '--data'")
case(
    "data-test-missing-feature",
    "data",
    run_with(test_data=lambda _i, t: write(t, "t.csv", "x1,y\n1,0\n")),
    "{tmp}/t.csv",
    "x2",
)
_parquet(
    lambda: {"a": __import__("pandas").to_datetime(["2020-01-01"] * 3), "y": [0, 1, 0]},
    "'a' holds datetime64",
    name="parquet-datetime",
)
_parquet(
    lambda: {"a": __import__("pandas").to_timedelta([1, 2, 3], unit="D"), "y": [0, 1, 0]},
    "'a' holds timedelta64",
    name="parquet-timedelta",
)
_parquet(
    lambda: {
        "a": __import__("pandas").period_range("2020-01", periods=3, freq="M"),
        "y": [0, 1, 0],
    },
    "'a' holds period",
    name="parquet-period",
)
_parquet(
    lambda: {"a": [__import__("datetime").date(2020, 1, d) for d in (1, 2, 3)], "y": [0, 1, 0]},
    "'a' is not numeric",
    "date",
    name="parquet-object-dates",
)
# --------------------------------------------------------------------------- models


def _spec(text: str | bytes, *expect: str, name: str, file: str = "s.yaml") -> None:
    case(
        f"model-spec-{name}",
        "model",
        run_with(model=lambda i, _t: i.safetensors, spec=lambda _i, t: write(t, file, text)),
        file,
        *expect,
    )


case(
    "model-garbage",
    "model",
    run_with(model=lambda _i, t: write(t, "m.pt", b"\x00garbage" * 9)),
    "m.pt",
    "not a pickle of tensors",
)
case("model-empty", "model", run_with(model=lambda _i, t: write(t, "m.pt", b"")), "m.pt")
case("model-text", "model", run_with(model=lambda _i, t: write(t, "m.pt", "print('hi')\n")), "m.pt")
case(
    "model-truncated-zip",
    "model",
    run_with(model=lambda _i, t: write(t, "m.pt", (SIMULATION / "model.pt").read_bytes()[:900])),
    "m.pt",
)
case(
    "model-safetensors-without-spec", "model", run_with(model=lambda i, _t: i.safetensors), "--spec"
)
case("model-pickle-refused", "model", run_with(model=lambda i, _t: i.pickled), "--allow-pickle")
case("model-torchscript-with-spec", "model", run_with(spec=lambda i, _t: i.spec), "spec")
case("model-too-narrow", "model", run_with(model=lambda i, _t: i.narrow_model), "takes 5 inputs")
case("model-directory", "model", run_with(model=lambda _i, t: t), "Invalid value for '--model'")
_spec(
    SPEC.replace("in: 10, out: 4", "in: 100000, out: 100000"),
    "needs (100000, 100000)",
    name="huge-linear",
)
_spec(
    SPEC.replace("out: 4}", "out: 1000000000000000000000}"),
    "positive integer up to",
    name="out-10e21",
)
_spec(SPEC.replace("output_link", "outptu_link"), "unknown key 'outptu_link'", name="unknown-key")
_spec(SPEC.replace("out: 4}", "out: !!int h}"), "cannot read 'h'", name="bad-int-tag")
_spec(SPEC.encode() + b"\xff\n", "not UTF-8", name="not-utf8")
_spec("", "empty", name="empty")
_spec(SPEC.replace("spec_version: 1", "spec_version: 2"), "spec_version", name="version-2")
_spec(SPEC.replace("type: relu", "type: gelu"), "unknown layer type 'gelu'", name="gelu")
_spec(SPEC + "layers: []\n", "duplicate key", name="duplicate")
_spec(
    json.dumps({"spec_version": 1, "layers": [[[[[[[[[[]]]]]]]]]] * 1, "x": "[" * 0}).replace(
        "[[[[[[[[[[]]]]]]]]]]", "[" * 100 + "]" * 100
    ),
    "nested too deeply",
    name="deep-json",
    file="s.json",
)
_spec('{"spec_version": 1, "layers": [', "invalid JSON", name="broken-json", file="s.json")
_spec(SPEC.replace("in: 4, out: 1", "in: 4, out: 2"), "shape", name="shape-mismatch")
case(
    "model-spec-dev-zero",
    "model",
    run_with(model=lambda i, _t: i.safetensors, spec="/dev/zero"),
    "/dev/zero",
)

# --------------------------------------------------------------------------- results files


def _results(edit: Callable[[dict[str, Any]], Any], *expect: str, name: str) -> None:
    def build(inputs: Inputs, tmp: Path, out: Path) -> tuple[list[Any], dict[str, str]]:
        document = json.loads(inputs.results.read_text())
        edit(document)
        path = write(tmp, "results.json", json.dumps(document))
        return ["render", path, "--out", out, "--no-pdf"], {}

    case(f"results-{name}", "results", build, "{tmp}/results.json", *expect)


def _results_text(text: str | bytes, *expect: str, name: str) -> None:
    def build(inputs: Inputs, tmp: Path, out: Path) -> tuple[list[Any], dict[str, str]]:
        path = write(tmp, "results.json", text)
        return ["render", path, "--out", out, "--no-pdf"], {}

    case(f"results-{name}", "results", build, "{tmp}/results.json", *expect)


def _first_check(doc: dict[str, Any], status: str) -> dict[str, Any]:
    return next(c for c in doc["policy"]["checks"] if c["status"] == status)


_results(
    lambda d: d["performance"][0]["metrics"].update(auc=7.5),
    "performance[0].metrics.auc: 7.5 is outside [0, 1]",
    name="auc-7.5",
)
_results(
    lambda d: d["performance"][0]["metrics"].update(accuracy=-0.1),
    "outside [0, 1]",
    name="accuracy-negative",
)
_results(
    lambda d: d["regions"]["train"]["census"].update(samples=-1),
    "census.samples",
    "negative",
    name="negative-count",
)
_results(
    lambda d: d["policy"].update(outcome="pass" if d["policy"]["outcome"] != "pass" else "fail"),
    "policy.outcome",
    name="outcome-flipped",
)
_results(
    lambda d: _first_check(d, "pass").update(status="fail"),
    "recorded 'fail', recomputed",
    name="status-flipped",
)
_results(lambda d: d["policy"]["counts"].update(passed=99), "policy.counts.passed", name="counts")
_results(
    lambda d: d["policy"]["checks"][1].update(observed=0.1),
    "policy.checks[1].observed",
    name="observed-forged",
)
_results(
    lambda d: d["inputs"]["policy"].update(text=d["inputs"]["policy"]["text"] + "\n"),
    "inputs.policy.sha256",
    name="policy-text-edited",
)
_results(lambda d: d.update(schema_version=99), "schema_version", name="schema-99")
_results(lambda d: d.pop("policy"), "policy: missing", name="no-policy")
_results(lambda d: d.update(clusters=[]), "clusters", name="clusters-list")
_results(lambda d: d.update(insens="x"), "insens", name="insens-string")
_results(lambda d: d.update(sign_constraints=7), "sign_constraints", name="sign-number")
_results(lambda d: d["profiles"].append({"feature": "x1"}), "profiles", name="profile-short")
_results(lambda d: d.update(extra_key=1), "extra_key", name="unknown-key")
for _block in (
    "clusters",
    "insens",
    "sign_constraints",
    "simplification",
    "aletheia_plots",
    "coefficients",
):
    _results(lambda d, b=_block: d.update({b: {"x": 1}}), f"{_block}.", name=f"{_block}-shape")
_results(lambda d: d["clusters"].update(grouping=7), "clusters.grouping", name="clusters-grouping")
_results(
    lambda d: d["profiles"][0].update(regions=[{"rank": 1}]),
    "profiles[0].regions[0]",
    name="profile-regions",
)
_results(
    lambda d: d["regions"]["train"]["census"].update(samples="300"),
    "census.samples",
    name="count-as-text",
)
_results_text("", "invalid JSON", name="empty")
_results_text("[1, 2]", "", name="top-level-list")
_results_text('{"a": NaN}', "NaN is not a JSON number", name="nan-literal")
_results_text('{"a": Infinity}', "Infinity", name="infinity-literal")
_results_text('{"a": 1e999}', "beyond the largest float", name="1e999")
_results_text('{"a": 1' + "0" * 400 + "}", "beyond a 64-bit integer", name="10e400")
_results_text("[" * 100000 + "]" * 100000, "nested too deeply", name="deep-array")
_results_text('{"a": ' * 80 + "1" + "}" * 80, "nested deeper than 64", name="deep-object")
_results_text(b'{"a": "\xff"}', "not UTF-8", name="not-utf8")
_results_text('{"a": 1, }', "invalid JSON", name="trailing-comma")
case(
    "results-dev-zero",
    "results",
    lambda _i, _t, o: (["render", "/dev/zero", "--out", o, "--no-pdf"], {}),
    "/dev/zero",
)
case(
    "results-fifo",
    "results",
    lambda _i, t, o: (["render", fifo(t, "r.json"), "--out", o, "--no-pdf"], {}),
    "not a regular file",
)

# --------------------------------------------------------------------------- options

for _value in ("yesterday", "1700000000.5", "99999999999999999999", "-1", " 12", "1_000", ""):
    case(
        f"options-epoch-{_value.strip() or 'empty'}-{len(_value)}",
        "options",
        env_run(SOURCE_DATE_EPOCH=_value),
        "SOURCE_DATE_EPOCH",
    )
case("options-min-samples-0", "options", run_with(min_samples=0), "--min-samples")
case("options-merge-clusters-text", "options", run_with(merge_clusters="abc"), "--merge-clusters")
case("options-merge-clusters-0", "options", run_with(merge_clusters="0"), "--merge-clusters")
case("options-link", "options", run_with(link="tanh"), "--link")
case("options-merge-mode", "options", run_with(merge_mode="fast"), "--merge-mode")
case("options-features-empty", "options", run_with(features=","), "--features")
case("options-explain-rows-range", "options", run_with(explain_rows="99999"), "--explain-rows")
case("options-explain-rows-text", "options", run_with(explain_rows="x"), "--explain-rows: 'x'")
case("options-unknown", "options", run_with(extra=["--frobnicate"]), "--frobnicate")
case("options-no-target", "options", run_with(target=None), "--target")
case("options-model-missing", "options", run_with(model="/nonexistent/m.pt"), "--model")
case("options-templates-missing", "options", run_with(templates="/nonexistent"), "--templates")
case(
    "options-out-under-file",
    "options",
    run_with(out=lambda _i, t: write(t, "f", "x") / "out"),
    "--out {tmp}/f/out",
    "ENOTDIR",
)
case("options-out-is-file", "options", run_with(out=lambda _i, t: write(t, "f", "x")), "--out")
case(
    "options-out-foreign-files",
    "options",
    run_with(out=lambda _i, t: (t / "o").mkdir() or write(t, "o/mine.txt", "x").parent),
    "holds files govreport did not write",
)
case("options-chunk-size-text", "options", run_with(chunk_size="lots"), "--chunk-size")


def _explain(*extra: Any, out_file: Callable[[Path], Path] | None = None) -> Builder:
    def build(inputs: Inputs, tmp: Path, out: Path) -> tuple[list[Any], dict[str, str]]:
        target = out_file(tmp) if out_file is not None else tmp / "rows.json"
        args = ["explain", "--model", inputs.model, "--data", inputs.train, "--target", "y"]
        return [*args, "--out", target, *extra], {}

    return build


case(
    "options-explain-out-directory",
    "options",
    _explain("--rows", "0", out_file=lambda t: (t / "d").mkdir() or t / "d"),
    "--out",
)
case(
    "options-explain-out-missing-dir",
    "options",
    _explain("--rows", "0", out_file=lambda t: t / "no" / "rows.json"),
    "cannot write it",
)
case("options-explain-rows-bad", "options", _explain("--rows", "0,zz"), "--rows: 'zz'")
case(
    "options-explain-neuron-bad", "options", _explain("--rows", "0", "--neuron", "9:9"), "--neuron"
)
