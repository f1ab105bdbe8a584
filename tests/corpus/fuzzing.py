"""Fuzz targets and hypothesis strategies for the loaders (policy, review, spec, data, results).

Shared by ``tests/test_fuzz.py`` (bounded, in the normal suite) and
``benchmarks/fuzz.py`` (N minutes per loader). A target takes one generated
input and must either load it or raise govreport's :class:`InputError`; any
other exception is a finding.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from corpus.cases import POLICY, REVIEW, SPEC
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
RESULTS_FIXTURE = REPO / "tests" / "fixtures" / "results_small.json"

# --------------------------------------------------------------------------- strategies

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["2026-01-01", "1e-6", "major", "train", "pass", "fail", "!!int h", "~"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """``base`` (plain JSON) with a few random edits: replace, delete or rename at a path."""
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(document)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "rename", "nest"]))
        if action == "replace":
            parent[last] = draw(values)
        elif action == "delete":
            del parent[last]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = parent.pop(last)
        elif action == "nest":
            parent[last] = [parent[last]] if draw(st.booleans()) else {"x": parent[last]}
    return document


@st.composite
def text_edits(draw: st.DrawFn, base: str) -> str:
    """``base`` with random characters inserted, deleted or replaced."""
    text = base
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        cut = draw(st.integers(min_value=0, max_value=8))
        insert = draw(
            st.text(max_size=8)
            | st.sampled_from(["[", "{", "&a ", "*a", "!!int ", ":", "\n  - ", "\t", "'", "#"])
        )
        text = text[:at] + insert + text[at + cut :]
    return text


def yaml_documents(base_text: str) -> st.SearchStrategy[str]:
    base = yaml.safe_load(base_text)
    return (
        text_edits(base_text)
        | mutated(base).map(lambda d: yaml.safe_dump(d, allow_unicode=True))
        | st.text(max_size=200)
    )


def results_texts() -> st.SearchStrategy[str]:
    base = json.loads(RESULTS_FIXTURE.read_text())
    return (
        mutated(base).map(json.dumps)
        | text_edits(json.dumps(base, indent=1)[:3000])
        | st.text(max_size=100)
    )


def csv_texts() -> st.SearchStrategy[str]:
    base = "x1,x2,y\n1,0.5,1\n0,2,0\n3,1e3,1\n"
    cell = st.sampled_from(
        [
            "1",
            "0",
            "",
            "nan",
            "inf",
            "-inf",
            "1e308",
            "1e400",
            "x",
            '"a,b"',
            "2020-01-01",
            "  ",
            "1_0",
            "0x10",
            "True",
        ]
    )
    rows = st.lists(st.lists(cell, min_size=1, max_size=4).map(",".join), min_size=0, max_size=6)
    header = st.sampled_from(["x1,x2,y", "x1,y,y", "y", "x1,x2", "a\rb,y", ""])
    generated = st.tuples(header, rows).map(lambda hr: "\n".join([hr[0], *hr[1]]) + "\n")
    return generated | text_edits(base)


# --------------------------------------------------------------------------- targets


def load_policy_target(text: str) -> None:
    from govreport.policy import load_policy_text

    load_policy_text(text, source="fuzz-policy.yaml")


def load_review_target(text: str) -> None:
    from govreport.inputs.review import load_review_text

    load_review_text(text, source="fuzz-review.yaml")


_STATE: dict[str, Any] = {}


def load_spec_target(text: str) -> None:
    import torch

    from govreport.inputs.model.spec import module_from_spec_file

    if not _STATE:
        torch.manual_seed(0)
        _STATE.update(
            {
                "0.weight": torch.randn(4, 10, dtype=torch.float64),
                "0.bias": torch.randn(4, dtype=torch.float64),
                "2.weight": torch.randn(1, 4, dtype=torch.float64),
                "2.bias": torch.randn(1, dtype=torch.float64),
            }
        )
    with tempfile.TemporaryDirectory() as scratch:
        for suffix in (".yaml", ".json"):
            path = Path(scratch) / f"spec{suffix}"
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            try:
                module_from_spec_file(path, _STATE, "fuzz.safetensors", None)
            except _input_error():
                pass


def load_data_target(text: str) -> None:
    from govreport.inputs.data import load_dataset

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "data.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        load_dataset(path, name="train", target="y")


def load_results_target(text: str) -> None:
    from govreport.results.io import results_from_json
    from govreport.results.verify import verify_results

    verify_results(results_from_json(text, "fuzz-results.json"), "fuzz-results.json")


def _input_error() -> type[Exception]:
    from govreport.errors import InputError

    return InputError


def spec_texts() -> st.SearchStrategy[str]:
    as_json = json.dumps(yaml.safe_load(SPEC))
    return (
        yaml_documents(SPEC) | text_edits(as_json) | mutated(yaml.safe_load(SPEC)).map(json.dumps)
    )


#: loader name -> (target, strategy of its inputs)
TARGETS: dict[str, tuple[Callable[[str], None], Callable[[], st.SearchStrategy[str]]]] = {
    "policy": (load_policy_target, lambda: yaml_documents(POLICY)),
    "review": (load_review_target, lambda: yaml_documents(REVIEW)),
    "spec": (load_spec_target, spec_texts),
    "data": (load_data_target, csv_texts),
    "results": (load_results_target, results_texts),
}


def check(name: str, text: str) -> None:
    """Run loader ``name`` on ``text``: loading or an InputError are both fine."""
    target = TARGETS[name][0]
    try:
        target(text)
    except _input_error():
        pass
