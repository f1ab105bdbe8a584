"""Bad-input corpus cases: policies and reviews."""

from __future__ import annotations

from corpus.base import (
    HERE,
    POLICY,
    REVIEW,
    case,
    fifo,
    run_with,
    write,
)

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
