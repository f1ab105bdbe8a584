"""Bad-input corpus cases: results files (govreport render) and options."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corpus.base import (
    Builder,
    Inputs,
    case,
    env_run,
    fifo,
    run_with,
    write,
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
