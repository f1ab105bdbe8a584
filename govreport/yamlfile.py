"""YAML input files: line numbers, unique keys, and ``file:line: key.path: expected …`` errors.

One module for every YAML file a user writes (policy, review, model spec). Reading
is three calls, each raising the caller's own error class (a
:class:`~govreport.errors.GovReportError` subclass, so the exit code follows):

* :func:`read_text` reads a file as UTF-8 (``<file>: cannot read <what> file: …``,
  ``<file>:<line>: top level: the file is not UTF-8 text …``);
* :func:`parse_yaml` composes and constructs one document with a safe loader that
  reads ``1e-6`` as a number (YAML 1.2, as authors expect), rejects duplicate and
  non-text keys, and turns a scalar YAML recognised but could not build (the date
  ``2026-13-01``) into an input error at its line and key path; it returns a
  :class:`YamlDocument` whose :meth:`~YamlDocument.line_of` maps a key path to a
  line;
* :func:`first_problem` picks, of several ``(line, key path, message)`` problems,
  the first in file order and says how many more there are.

Validation itself is left to the caller (pydantic models); :func:`explain` words
one pydantic error as "what was expected, what was found" in the author's terms
(``expected text, got the number 17; quote it: '17'``), with a did-you-mean for
misspelt keys. Key paths print as ``checks[1].params.expected.PAY_0``
(:func:`format_loc`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from govreport.errors import GovReportError, shown
from govreport.limits import MAX_DEPTH, read_bounded

__all__ = [
    "Loc",
    "YamlDocument",
    "describe_value",
    "did_you_mean",
    "explain",
    "first_problem",
    "format_loc",
    "line_of",
    "load_yaml",
    "model_at",
    "parse_yaml",
    "read_bounded",
    "read_text",
    "walk",
]

#: How many further problems of a file an error message lists (by line and key path).
MAX_LISTED = 5
#: Largest YAML file read (policy, review, spec): far above any real one.
MAX_YAML_BYTES = 4 << 20
#: Most values a YAML document may expand to (aliases count at every use).
MAX_NODES = 200_000

Loc = tuple[str | int, ...]
"""A key path into a document, e.g. ``("checks", 1, "metric")``."""

Problem = tuple[int, Loc, str]
"""One problem found in a file: 1-based line, key path, message."""

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads ``1e-6`` as a number and reports bad dates at their node.

    PyYAML follows YAML 1.1, where ``1e-6`` (no dot) is text; YAML 1.2 and
    every author read it as a number, so we do too.
    """

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """A value YAML cannot build (``!!int h``, a 5,000-digit number) is an error at its node."""
        try:
            return super().construct_object(node, deep)
        except (_ScalarError, yaml.YAMLError):
            raise
        except (RecursionError, MemoryError):
            raise
        except Exception as exc:  # the constructor's own failure (int(""), base64, …)
            tag = node.tag.removeprefix("tag:yaml.org,2002:")
            value = node.value if isinstance(node, ScalarNode) else "a collection"
            reason = " ".join(str(exc).split())
            if len(reason) > 120:
                reason = reason[:119] + "…"
            raise _ScalarError(node, f"cannot read {shown(value)} as {tag} ({reason})") from None


class _ScalarError(Exception):
    """A scalar that YAML recognised but could not construct (e.g. ``2026-13-01``)."""

    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def _construct_timestamp(loader: yaml.SafeLoader, node: Node) -> Any:
    assert isinstance(node, ScalarNode)
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as exc:
        raise _ScalarError(node, f"invalid date {node.value!r} ({exc})") from None


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """One parsed YAML document: its node tree (for lines) and its plain Python value.

    ``root`` is ``None`` (and ``data`` ``None``) for an empty document.
    """

    source: str
    root: Node | None
    data: Any

    def line_of(self, loc: Loc) -> int:
        """1-based line of the key path ``loc`` (see :func:`line_of`); 1 for an empty document."""
        return 1 if self.root is None else line_of(self.root, loc)

    def lines(self) -> dict[str, int]:
        """The 1-based line of every key path in the document (keys: formatted paths)."""
        if self.root is None:
            return {}
        return {format_loc(loc): line_of(self.root, loc) for _node, loc in walk(self.root) if loc}


def read_text(path: Path, *, what: str, error: type[GovReportError]) -> tuple[str, bytes]:
    """The text (UTF-8) and raw bytes of the file at ``path``; ``what`` names it in errors.

    ``<file>`` in messages is ``path`` as given.
    """
    source = str(path)
    raw = read_bounded(Path(path), what=what, error=error, limit=MAX_YAML_BYTES)
    try:
        return raw.decode("utf-8"), raw
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise error(
            f"{source}:{line}: top level: the file is not UTF-8 text "
            f"(byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None


def _check_structure(text: str, source: str, error: type[GovReportError]) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH`, from the tokens (no recursion)."""
    depth = 0
    opening = (
        yaml.tokens.BlockMappingStartToken,
        yaml.tokens.BlockSequenceStartToken,
        yaml.tokens.FlowMappingStartToken,
        yaml.tokens.FlowSequenceStartToken,
    )
    closing = (
        yaml.tokens.BlockEndToken,
        yaml.tokens.FlowMappingEndToken,
        yaml.tokens.FlowSequenceEndToken,
    )
    for token in yaml.scan(text, Loader=_Loader):
        if isinstance(token, opening):
            depth += 1
            if depth > MAX_DEPTH:
                line = token.start_mark.line + 1
                raise error(f"{source}:{line}: YAML error: nesting deeper than {MAX_DEPTH} levels")
        elif isinstance(token, closing):
            depth -= 1


def _check_expansion(root: Node, source: str, error: type[GovReportError]) -> None:
    """Refuse documents whose aliases expand past :data:`MAX_NODES` values or loop."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise error(
                f"{source}:{node.start_mark.line + 1}: YAML error: an alias refers to a "
                "collection that contains it"
            )
        busy.add(key)
        total = 1
        if isinstance(node, MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, SequenceNode):
            total += sum(size(item) for item in node.value)
        busy.discard(key)
        if total > MAX_NODES:
            raise error(
                f"{source}:{node.start_mark.line + 1}: YAML error: the document expands to "
                f"more than {MAX_NODES} values (aliases count at every use)"
            )
        sizes[key] = total
        return total

    try:
        size(root)
    except RecursionError:
        raise error(f"{source}:1: YAML error: nesting too deep") from None


def load_yaml(path: Path, *, what: str, error: type[GovReportError]) -> YamlDocument:
    """:func:`read_text` then :func:`parse_yaml`, with ``path`` as given as the source."""
    text, _raw = read_text(path, what=what, error=error)
    return parse_yaml(text, source=str(path), error=error)


def parse_yaml(text: str, *, source: str, error: type[GovReportError]) -> YamlDocument:
    """Compose and construct one YAML document; every YAML problem raises ``error``.

    The message is ``<source>:<line>: YAML syntax error: …`` for a syntax error,
    ``<source>:<line>: <key path>: …`` for a duplicate or non-text key and for a
    scalar that cannot be built (an invalid date).
    """
    root: Node | None = None
    try:
        _check_structure(text, source, error)
        loader = _Loader(text)  # the reader rejects control characters here
        try:
            root = loader.get_single_node()
            if root is None:
                return YamlDocument(source, None, None)
            _check_expansion(root, source, error)
            _check_mapping_keys(root, source, error)
            data = loader.construct_document(root)
        finally:
            loader.dispose()
    except RecursionError:
        raise error(f"{source}:1: YAML error: nesting too deep") from None
    except yaml.MarkedYAMLError as exc:
        raise error(_yaml_error_line(source, exc)) from None
    except _ScalarError as exc:
        loc = (_loc_of_node(root, exc.node) if root is not None else None) or ()
        line = exc.node.start_mark.line + 1
        raise error(f"{source}:{line}: {format_loc(loc)}: {exc.message}") from None
    except yaml.reader.ReaderError as exc:  # control characters in the text
        line = text.count("\n", 0, exc.position) + 1
        raise error(
            f"{source}:{line}: YAML error: character #x{exc.character:04x} not allowed "
            f"({exc.reason})"
        ) from None
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise error(f"{source}:1: YAML error: {reason}") from None
    return YamlDocument(source, root, data)


def _yaml_error_line(source: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    problem = exc.problem or "invalid YAML"
    problem = problem.removeprefix("but ")
    if problem == "sequence entries are not allowed here":
        problem += ' (a lone "-" is a list item in YAML: quote it, e.g. LIMIT_BAL: "-")'
    if exc.context:
        where = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
        problem = f"{problem} ({exc.context}{where})"
    kind = (
        "YAML error" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
    )
    return f"{source}:{line}: {kind}: {problem}"


def walk(node: Node, loc: Loc = ()) -> Iterator[tuple[Node, Loc]]:
    """Yield every node with its key path (each node once; aliases are not re-entered)."""
    seen: set[int] = set()
    stack: list[tuple[Node, Loc]] = [(node, loc)]
    while stack:
        current, path = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current, path
        if isinstance(current, MappingNode):
            for key, value in reversed(current.value):
                if isinstance(key, ScalarNode) and key.tag == _STR_TAG:
                    stack.append((value, (*path, key.value)))
        elif isinstance(current, SequenceNode):
            stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(current.value))))


def _check_mapping_keys(root: Node, source: str, error: type[GovReportError]) -> None:
    """Mapping keys must be text and unique (PyYAML silently keeps the last duplicate)."""
    for node, loc in walk(root):
        if not isinstance(node, MappingNode):
            continue
        first_line: dict[str, int] = {}
        for key, _value in node.value:
            line = key.start_mark.line + 1
            if key.tag == _MERGE_TAG:
                continue
            if not (isinstance(key, ScalarNode) and key.tag == _STR_TAG):
                shown = key.value if isinstance(key, ScalarNode) else "a collection"
                raise error(
                    f"{source}:{line}: {format_loc(loc)}: keys must be text, got {shown!r}; "
                    f"quote it"
                )
            if key.value in first_line:
                raise error(
                    f"{source}:{line}: {format_loc((*loc, key.value))}: duplicate key "
                    f"(first at line {first_line[key.value]})"
                )
            first_line[key.value] = line


def _loc_of_node(root: Node, target: Node) -> Loc | None:
    return next((loc for node, loc in walk(root) if node is target), None)


def line_of(root: Node, loc: Loc) -> int:
    """1-based line of the node at ``loc``; as deep as the document goes.

    A path ending at a mapping key points at the key's line (not the value's,
    which for a block value is the next line). A path to a key that is
    missing points at the mapping that should hold it.
    """
    node = root
    line = root.start_mark.line
    for step in loc:
        if isinstance(node, MappingNode):
            pair = next(
                (
                    (key, value)
                    for key, value in node.value
                    if isinstance(key, ScalarNode) and key.value == str(step)
                ),
                None,
            )
            if pair is None:
                break
            line = pair[0].start_mark.line
            node = pair[1]
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line
        else:
            break
    return line + 1


def format_loc(loc: Loc) -> str:
    """``("checks", 1, "metric")`` -> ``checks[1].metric``; ``()`` -> ``top level``."""
    text = ""
    for step in loc:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text or "top level"


def first_problem(
    source: str, problems: Sequence[Problem], error: type[GovReportError]
) -> GovReportError:
    """The error for the first problem in file order, counting the others.

    Unknown keys come first (a misspelt key also makes its right spelling
    missing: ``unknown key 'chekcs' (did you mean 'checks'?)`` is the useful
    message), missing keys last.

    ``<source>:<line>: <key path>: <message> (and 2 more problems in this file:
    line 9 gate.fail_on, line 12 checks[1].metric)``: the others by line and key
    path, up to :data:`MAX_LISTED`. Problems on the same line keep their given order.
    """
    ordered = sorted(enumerate(problems), key=lambda item: (_rank(item[1][2]), item[1][0], item[0]))
    line, loc, message = ordered[0][1]
    more = len(problems) - 1
    suffix = ""
    if more:
        where = [f"line {other[0]} {format_loc(other[1])}" for _i, other in ordered[1:]]
        listed = ", ".join(where[:MAX_LISTED]) + (", …" if len(where) > MAX_LISTED else "")
        suffix = f" (and {more} more problem{'s' if more > 1 else ''} in this file: {listed})"
    return error(f"{source}:{line}: {format_loc(loc)}: {message}{suffix}")


def _rank(message: str) -> int:
    if message.startswith("unknown key"):
        return 0
    return 2 if message.startswith("missing required key") else 1


def describe_value(value: Any) -> str:
    """How a YAML value reads to its author, for 'got ...' in messages."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {shown(value)}"
    if isinstance(value, str):
        return f"text {shown(value)}"
    if isinstance(value, dt.datetime):
        return f"a date and time {value.isoformat(sep=' ')}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'model'?)`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model describing the mapping at ``loc`` under ``root``, if there is one."""
    annotation: Any = root
    for step in loc:
        if isinstance(step, str):
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return None
            info = annotation.model_fields.get(step)
            if info is None:
                return None
            annotation = info.annotation
        else:
            if get_origin(annotation) is not list:
                return None
            annotation = get_args(annotation)[0]
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if get_origin(annotation) is not list and len(args) == 1:  # X | None -> X
            annotation = args[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def explain(
    err: ErrorDetails,
    root: type[BaseModel],
    special: Callable[[ErrorDetails], str | None] | None = None,
) -> str:
    """One pydantic error (validating against ``root``) as 'what was expected, what was found'.

    ``special`` may word an error itself (return the message) or leave it to the
    general rules (return ``None``).
    """
    if special is not None:
        own = special(err)
        if own is not None:
            return own
    kind = err["type"]
    loc = tuple(err["loc"])
    value = err.get("input")
    got = describe_value(value)
    if kind == "missing":
        return "missing required key"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = model_at(root, loc[:-1])
        allowed = list(model.model_fields) if model else []
        hint = did_you_mean(key, allowed)
        return f"unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}"
    if kind == "string_type":
        if isinstance(value, int | float | dt.date) and not isinstance(value, bool):
            return f"expected text, got {got}; quote it: '{value}'"
        return f"expected text, got {got}"
    if kind in ("string_too_short", "too_short"):
        return "must not be empty"
    if kind in ("float_type", "float_parsing"):
        if isinstance(value, str) and _looks_numeric(value):
            return f"expected a number, got {got}; remove the quotes"
        return f"expected a number, got {got}"
    if kind == "finite_number":
        return f"expected a finite number, got {value!r}"
    if kind.startswith("date"):
        if isinstance(value, str):
            return f"expected a date (YYYY-MM-DD, unquoted), got {got}"
        return f"expected a date (YYYY-MM-DD), got {got}"
    if kind == "list_type":
        return f"expected a list, got {got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping, got {got}"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        if loc == ("schema_version",):
            return (
                f"unsupported schema_version {value!r}; this version of govreport reads "
                f"schema_version {expected}"
            )
        return f"expected {expected}; got {got}"
    return f"{err['msg']}; got {got}"


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
