"""Policy files: schema, loading with precise errors, evaluation and waivers.

A policy file (YAML, ``schema_version: 1``) says which metrics to bound, how
severe each failure is, which severity fails the run (the gate) and which
failures a committee has waived, until when. Severity lives in the file, never
in code.

Three steps, each a plain function:

* :func:`load_policy` reads and validates a file into an immutable
  :class:`Policy`. Every problem becomes one :class:`~govreport.errors.PolicyError`
  line ``<file>:<line>: <key path>: <what was expected>``; line numbers come from
  the composed YAML node tree, key paths from pydantic's error locations.
* :func:`evaluate_policy` compares observed metric values with the checks. It is
  pure: the run date is passed in, never read from the clock.
* :func:`format_policy_summary` renders a one-screen text summary for the CLI;
  :meth:`PolicyEvaluation.to_dict` gives the ``"policy"`` block of
  ``results.json``.

Evaluation rules, in short:

* A bound ``min`` fails when ``observed < min``; ``max`` fails when
  ``observed > max``; an observed NaN fails every bound. ``observed == min``
  passes.
* A check written with ``bands`` holds one bound per band, each with its own
  severity; the failed band with the highest severity decides.
* A metric the run did not produce is handled by ``on_missing``: ``fail``
  counts the check as failed at its worst severity, ``warn`` and ``skip`` leave
  it ``not_evaluated`` (``warn`` is meant to be looked at, ``skip`` marks a
  check that does not apply); neither ever gates.
* A waiver caps the severity of a failed check (``min(severity, cap)``) while
  its ``expires`` date is on or after the run date. Waived checks stay visible
  with both severities. An expired waiver is not applied and says so.
* A waiver on a sign check may have a ``scope``: the features (names or
  shell-style patterns) it covers. The cap then applies to those features only;
  the largest share among the features outside the scope is judged against the
  check's bands on its own and keeps its severity (the effective severity is the
  higher of the two). Such a waiver counts as applied only if it lowered the
  severity.
* A failed check gates when its effective severity is at or above
  ``gate.fail_on``. The outcome is ``fail`` if any check gates, else
  ``pass_with_waivers`` if a waiver was applied to a failed check, else
  ``pass``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, NoReturn, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from govreport.errors import EXIT_PASS, EXIT_POLICY_FAILED, PolicyError
from govreport.metrics import DATASETS, METRICS, SIGN_VIOLATION_METRIC, MetricKey

__all__ = [
    "DEFAULT_SEVERITY_LEVELS",
    "SCHEMA_VERSION",
    "Approval",
    "Band",
    "Check",
    "CheckObservation",
    "CheckResult",
    "CheckStatus",
    "Policy",
    "PolicyEvaluation",
    "Waiver",
    "check_status",
    "evaluate_policy",
    "format_policy_summary",
    "load_policy",
    "load_policy_text",
]

SCHEMA_VERSION = 1
"""The only policy ``schema_version`` this module reads."""

DEFAULT_SEVERITY_LEVELS: tuple[str, ...] = ("info", "minor", "major", "critical")
"""Severity levels when a file does not list its own, lowest first."""

OnMissing = Literal["fail", "warn", "skip"]
Status = Literal["pass", "fail", "not_evaluated"]
CheckStatus = Literal["pass", "fail", "waived", "not_evaluated"]
"""A check's status: ``waived`` is a failure whose waiver lowered (capped) its severity."""
Outcome = Literal["pass", "pass_with_waivers", "fail"]

Loc = tuple[str | int, ...]
"""A key path into the policy document, e.g. ``("checks", 1, "metric")``."""

_CHECK_ID = re.compile(r"[a-z][a-z0-9_]*")
_TOP_LEVEL_KEYS = "schema_version, policy, gate, checks"


# ---------------------------------------------------------------------------
# Schema of the file (pydantic): structure and types only. Rules that need
# context (severities, metrics, check ids) are in _semantic_problems().
# ---------------------------------------------------------------------------

_Text = Annotated[str, Field(min_length=1)]
_Bound = Annotated[float | None, Field(default=None, allow_inf_nan=False)]


class _FileModel(BaseModel):
    """Common configuration: unknown keys are errors, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PolicyInfoModel(_FileModel):
    """The ``policy:`` block: identity of the policy document."""

    id: _Text
    version: _Text
    owner: _Text
    effective: dt.date


class GateModel(_FileModel):
    """The ``gate:`` block: the lowest severity that fails the run."""

    fail_on: _Text


class BandModel(_FileModel):
    """One band of a check: a bound with its own severity."""

    min: _Bound = None
    max: _Bound = None
    severity: _Text


class CheckModel(_FileModel):
    """One entry of ``checks:`` as written in the file."""

    id: _Text
    metric: _Text
    dataset: str | None = None
    min: _Bound = None
    max: _Bound = None
    severity: _Text | None = None
    bands: list[BandModel] | None = None
    on_missing: OnMissing = "fail"
    params: dict[str, Any] = Field(default_factory=dict)
    refs: list[_Text] = Field(default_factory=list)
    description: _Text | None = None


class SignParamsModel(_FileModel):
    """``params`` of a ``slopes.sign_violation_share`` check.

    ``expected`` maps a feature name, or a shell-style pattern (``*``, ``?``,
    ``[0-9]``; matched case-sensitively against the whole name), to ``"+"``
    (the local slope must not be negative) or ``"-"`` (must not be positive).
    ``output`` names the output whose slopes are checked (needed only when the
    model has several outputs). Feature names are resolved against the data at
    run time, before any heavy computation.
    """

    expected: dict[_Text, Literal["+", "-"]] = Field(min_length=1)
    output: _Text | None = None


_PARAMS_MODELS: dict[str, type[_FileModel]] = {SIGN_VIOLATION_METRIC: SignParamsModel}


class ApprovalModel(_FileModel):
    """Who approved a waiver, and when."""

    name: _Text
    role: _Text
    date: dt.date


class WaiverModel(_FileModel):
    """One entry of ``waivers:`` as written in the file."""

    check: _Text
    scope: list[_Text] | None = Field(default=None, min_length=1)
    cap_severity: _Text
    justification: _Text
    approved_by: ApprovalModel
    expires: dt.date


class PolicyFileModel(_FileModel):
    """The whole policy file (``schema_version: 1``)."""

    schema_version: Literal[1]
    policy: PolicyInfoModel
    severity_levels: list[_Text] = Field(
        default_factory=lambda: list(DEFAULT_SEVERITY_LEVELS), min_length=1
    )
    gate: GateModel
    checks: list[CheckModel] = Field(min_length=1)
    waivers: list[WaiverModel] = Field(default_factory=list)


# ---------------------------------------------------------------------------
# The validated policy: immutable, normalised (a single bound is one band,
# dataset resolved), independent of pydantic.
# ---------------------------------------------------------------------------


def _num(value: float) -> str:
    """Short text of a number: 6 significant digits (``1e-06``, ``0.75``)."""
    return f"{value:.6g}"


def _num_against(value: float, bound: float) -> str:
    """Text of an observed value, precise enough not to read as equal to ``bound``."""
    text = _num(value)
    if text == _num(bound) and value != bound:
        return repr(float(value))
    return text


@dataclass(frozen=True, slots=True)
class Band:
    """A bound (``min``, ``max`` or both) and the severity of violating it."""

    severity: str
    min: float | None = None
    max: float | None = None

    def violated_by(self, observed: float) -> bool:
        """True if ``observed`` is outside the bound; NaN violates every bound."""
        if math.isnan(observed):
            return True
        if self.min is not None and observed < self.min:
            return True
        return self.max is not None and observed > self.max

    def describe(self) -> str:
        """The bound as it must hold, e.g. ``">= 0.75"``, ``"<= 1e-06"``, ``"in [0, 1]"``."""
        if self.min is not None and self.max is not None:
            return f"in [{_num(self.min)}, {_num(self.max)}]"
        if self.min is not None:
            return f">= {_num(self.min)}"
        assert self.max is not None  # guaranteed by load_policy
        return f"<= {_num(self.max)}"

    def compare(self, observed: float) -> str:
        """How ``observed`` relates to the bound, e.g. ``"0.68 < 0.7"``."""
        if self.min is not None and observed < self.min:
            return f"{_num_against(observed, self.min)} < {_num(self.min)}"
        if self.max is not None and observed > self.max:
            return f"{_num_against(observed, self.max)} > {_num(self.max)}"
        if self.min is not None and self.max is not None:
            return f"{_num(observed)} in [{_num(self.min)}, {_num(self.max)}]"
        if self.min is not None:
            return f"{_num_against(observed, self.min)} >= {_num(self.min)}"
        assert self.max is not None
        return f"{_num_against(observed, self.max)} <= {_num(self.max)}"


@dataclass(frozen=True, slots=True)
class Check:
    """One check: a metric, the data set it is read on, and its bands.

    A check written as ``min``/``max`` + ``severity`` is stored as a single
    band with ``banded=False``; ``bands`` keeps the file's order.
    ``dataset`` is ``"train"``/``"test"`` for per-data-set metrics and ``""``
    for metrics not tied to a data set, so that ``key`` matches the
    pipeline's :data:`~govreport.metrics.MetricKey`. ``loc`` is the check's
    key path in the file (``("checks", 3)``) and ``lines`` the 1-based line of
    every key path under it (``"checks[3].params.expected.PAY_0"`` -> 41), so
    that problems found at run time (a feature the data lacks) still point at
    the file's line and key.
    """

    id: str
    metric: str
    dataset: str
    bands: tuple[Band, ...]
    banded: bool = False
    on_missing: OnMissing = "fail"
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    refs: tuple[str, ...] = ()
    description: str | None = None
    loc: Loc = ()
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def key(self) -> MetricKey:
        """``(metric_id, dataset)``: where the observed value is looked up."""
        return (self.metric, self.dataset)

    @property
    def target(self) -> str:
        """Human text of the metric and data set, e.g. ``performance.auc[test]``."""
        return f"{self.metric}[{self.dataset}]" if self.dataset else self.metric

    def describe_bound(self) -> str:
        """The bound, or every band with its severity, as text."""
        if not self.banded:
            return self.bands[0].describe()
        return "; ".join(f"{band.describe()} else {band.severity}" for band in self.bands)


@dataclass(frozen=True, slots=True)
class Approval:
    """The approver of a waiver."""

    name: str
    role: str
    date: dt.date


@dataclass(frozen=True, slots=True)
class Waiver:
    """A committee's decision to cap the severity of one check's failure until a date."""

    check: str
    cap_severity: str
    justification: str
    approved_by: Approval
    expires: dt.date
    #: Features (names or patterns) of a sign check that the waiver covers; empty: all of it.
    scope: tuple[str, ...] = ()

    def covers(self, feature: str) -> bool:
        """True if ``feature`` is within the scope (always, for a waiver without scope)."""
        return not self.scope or any(fnmatchcase(feature, key) for key in self.scope)

    def is_expired(self, run_date: dt.date) -> bool:
        """True once ``run_date`` is after ``expires`` (the expiry day itself is covered)."""
        return run_date > self.expires


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy; built by :func:`load_policy`."""

    id: str
    version: str
    owner: str
    effective: dt.date
    severity_levels: tuple[str, ...]
    fail_on: str
    checks: tuple[Check, ...]
    waivers: tuple[Waiver, ...] = ()
    source: str = "<policy>"
    #: 1-based line of every key path in the file (formatted, e.g. ``"waivers[0].scope[1]"``).
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def rank(self, severity: str) -> int:
        """Position of ``severity`` in ``severity_levels`` (0 = lowest)."""
        return self.severity_levels.index(severity)

    def worst_severity(self, check: Check) -> str:
        """The highest severity any band of ``check`` can give."""
        return max((band.severity for band in check.bands), key=self.rank)

    def waiver_for(self, check_id: str) -> Waiver | None:
        """The waiver naming ``check_id``, if any (at most one per check)."""
        return next((w for w in self.waivers if w.check == check_id), None)

    def error_at(self, check: Check, sub: Loc, message: str) -> PolicyError:
        """A PolicyError ``<file>:<line>: <key path>: <message>`` for a problem found after loading.

        ``sub`` is the key path below the check (``("params", "expected", "PAY_1")``);
        the line is that of the deepest part of the path present in the file.
        """
        loc: Loc = (*check.loc, *sub)
        line = 1
        for depth in range(len(loc), 0, -1):
            found = check.lines.get(format_loc(loc[:depth]))
            if found is not None:
                line = found
                break
        return PolicyError(f"{self.source}:{line}: {format_loc(loc)}: {message}")

    def error_at_loc(self, loc: Loc, message: str) -> PolicyError:
        """Like :meth:`error_at` for any key path of the file (``("waivers", 0, "scope", 1)``)."""
        line = 1
        for depth in range(len(loc), 0, -1):
            found = self.lines.get(format_loc(loc[:depth]))
            if found is not None:
                line = found
                break
        return PolicyError(f"{self.source}:{line}: {format_loc(loc)}: {message}")


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


class _PolicyLoader(yaml.SafeLoader):
    """SafeLoader that reads ``1e-6`` as a number and reports bad dates at their node.

    PyYAML follows YAML 1.1, where ``1e-6`` (no dot) is text; YAML 1.2 and
    every policy author read it as a number, so we do too.
    """


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


_PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)
_PolicyLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def load_policy(path: Path) -> Policy:
    """Read, parse and validate the policy file at ``path``.

    Raises :class:`~govreport.errors.PolicyError` with one line
    ``<file>:<line>: <key path>: <what was expected>`` (``<file>`` is ``path``
    as given) for an unreadable or non-UTF-8 file, a YAML syntax error, an
    empty file, and any schema or consistency problem. When a file has several
    problems, the first one in file order is reported and the count of the
    others is appended.
    """
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise PolicyError(f"{source}: cannot read policy file: {reason}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PolicyError(
            f"{source}:{line}: top level: the file is not UTF-8 text "
            f"(byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    return load_policy_text(text, source=source)


def load_policy_text(text: str, *, source: str = "<policy>") -> Policy:
    """Parse and validate policy YAML given as text; ``source`` names it in errors.

    Same checks and messages as :func:`load_policy`.
    """
    root, data = _parse_yaml(text, source)
    if not isinstance(data, dict):
        _raise(
            source,
            [
                (
                    _line_of(root, ()),
                    (),
                    f"expected a mapping with keys {_TOP_LEVEL_KEYS}; got {_describe_value(data)}",
                )
            ],
        )
    try:
        model = PolicyFileModel.model_validate(data)
    except ValidationError as exc:
        problems = [
            (_line_of(root, tuple(err["loc"])), tuple(err["loc"]), _explain(err))
            for err in exc.errors()
        ]
        _raise(source, problems)
    semantic = [(_line_of(root, loc), loc, msg) for loc, msg in _semantic_problems(model, root)]
    if semantic:
        _raise(source, semantic)
    return _build_policy(model, root, source)


def _raise(source: str, problems: list[tuple[int, Loc, str]]) -> NoReturn:
    """Raise a PolicyError for the first problem in file order."""
    first = min(enumerate(problems), key=lambda item: (item[1][0], item[0]))[1]
    line, loc, message = first
    more = len(problems) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''} in this file)" if more else ""
    raise PolicyError(f"{source}:{line}: {format_loc(loc)}: {message}{suffix}")


def _parse_yaml(text: str, source: str) -> tuple[Node, Any]:
    """Compose and construct one YAML document; YAML problems become PolicyErrors."""
    root: Node | None = None
    try:
        loader = _PolicyLoader(text)  # the reader rejects control characters here
        try:
            root = loader.get_single_node()
            if root is None:
                raise PolicyError(
                    f"{source}:1: top level: the policy file is empty; expected a mapping with "
                    f"keys {_TOP_LEVEL_KEYS}"
                )
            _check_mapping_keys(root, source)
            data = loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise PolicyError(_yaml_error_line(source, exc)) from None
    except _ScalarError as exc:
        loc = (_loc_of_node(root, exc.node) if root is not None else None) or ()
        line = exc.node.start_mark.line + 1
        raise PolicyError(f"{source}:{line}: {format_loc(loc)}: {exc.message}") from None
    except yaml.reader.ReaderError as exc:  # control characters in the text
        line = text.count("\n", 0, exc.position) + 1
        raise PolicyError(
            f"{source}:{line}: YAML error: character #x{exc.character:04x} not allowed "
            f"({exc.reason})"
        ) from None
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise PolicyError(f"{source}:1: YAML error: {reason}") from None
    return root, data


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


def _walk(node: Node, loc: Loc = ()) -> Iterator[tuple[Node, Loc]]:
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


def _check_mapping_keys(root: Node, source: str) -> None:
    """Mapping keys must be text and unique (PyYAML silently keeps the last duplicate)."""
    for node, loc in _walk(root):
        if not isinstance(node, MappingNode):
            continue
        first_line: dict[str, int] = {}
        for key, _value in node.value:
            line = key.start_mark.line + 1
            if key.tag == _MERGE_TAG:
                continue
            if not (isinstance(key, ScalarNode) and key.tag == _STR_TAG):
                shown = key.value if isinstance(key, ScalarNode) else "a collection"
                raise PolicyError(
                    f"{source}:{line}: {format_loc(loc)}: keys must be text, got {shown!r}; "
                    f"quote it"
                )
            if key.value in first_line:
                raise PolicyError(
                    f"{source}:{line}: {format_loc((*loc, key.value))}: duplicate key "
                    f"(first at line {first_line[key.value]})"
                )
            first_line[key.value] = line


def _loc_of_node(root: Node, target: Node) -> Loc | None:
    return next((loc for node, loc in _walk(root) if node is target), None)


def _line_of(root: Node, loc: Loc) -> int:
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


def _describe_value(value: Any) -> str:
    """How a YAML value reads to its author, for 'got ...' in messages."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, dt.datetime):
        return f"a date and time {value.isoformat(sep=' ')}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The schema model describing the mapping at ``loc``, if there is one."""
    annotation: Any = PolicyFileModel
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


def _did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _explain(err: ErrorDetails) -> str:
    """One pydantic error as 'what was expected, what was found'."""
    kind = err["type"]
    loc = tuple(err["loc"])
    value = err.get("input")
    got = _describe_value(value)
    if kind == "missing":
        return "missing required key"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = _model_at(loc[:-1])
        allowed = list(model.model_fields) if model else []
        hint = _did_you_mean(key, allowed)
        return f"unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}"
    if kind == "string_type":
        if isinstance(value, int | float | dt.date) and not isinstance(value, bool):
            return f"expected text, got {got}; quote it: '{value}'"
        return f"expected text, got {got}"
    if kind in ("string_too_short", "too_short"):
        return "expected at least one check" if loc == ("checks",) else "must not be empty"
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
        if loc == ("schema_version",):
            return (
                f"unsupported schema_version {value!r}; this version of govreport reads "
                f"schema_version {SCHEMA_VERSION}"
            )
        expected = err.get("ctx", {}).get("expected", "")
        return f"expected {expected}; got {got}"
    return f"{err['msg']}; got {got}"


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _semantic_problems(model: PolicyFileModel, root: Node) -> list[tuple[Loc, str]]:
    """Consistency rules the structural schema cannot express, as (key path, message)."""
    problems: list[tuple[Loc, str]] = []
    levels = model.severity_levels
    known_levels = ", ".join(dict.fromkeys(levels))

    seen_levels: set[str] = set()
    for i, level in enumerate(levels):
        if level in seen_levels:
            problems.append((("severity_levels", i), f"duplicate severity {level!r}"))
        seen_levels.add(level)

    def check_severity(loc: Loc, value: str) -> None:
        if value not in seen_levels:
            hint = _did_you_mean(value, levels)
            problems.append(
                (loc, f"unknown severity {value!r}{hint}; severity_levels: {known_levels}")
            )

    check_severity(("gate", "fail_on"), model.gate.fail_on)

    first_index: dict[str, int] = {}
    for i, check in enumerate(model.checks):
        base: Loc = ("checks", i)
        if not _CHECK_ID.fullmatch(check.id):
            problems.append(
                (
                    (*base, "id"),
                    f"check id {check.id!r} is not snake_case; use lowercase letters, digits "
                    f"and underscores, starting with a letter",
                )
            )
        elif check.id in first_index:
            first = _line_of(root, ("checks", first_index[check.id], "id"))
            problems.append(
                ((*base, "id"), f"duplicate check id {check.id!r} (first defined at line {first})")
            )
        else:
            first_index[check.id] = i
        problems.extend(_metric_problems(check, base))
        problems.extend(_params_problems(check, base))
        problems.extend(_bound_problems(check, base, check_severity))

    waived: dict[str, int] = {}
    for i, waiver in enumerate(model.waivers):
        base = ("waivers", i)
        if waiver.check not in first_index:
            hint = _did_you_mean(waiver.check, list(first_index))
            problems.append(
                (
                    (*base, "check"),
                    f"waiver names check {waiver.check!r}{hint}, which is not in checks; "
                    f"checks: {', '.join(first_index)}",
                )
            )
        elif waiver.check in waived:
            first = _line_of(root, ("waivers", waived[waiver.check], "check"))
            problems.append(
                (
                    (*base, "check"),
                    f"check {waiver.check!r} already has a waiver (line {first}); keep one "
                    f"waiver per check",
                )
            )
        else:
            waived[waiver.check] = i
        if waiver.scope and waiver.check in first_index:
            metric = model.checks[first_index[waiver.check]].metric
            if metric != SIGN_VIOLATION_METRIC:
                problems.append(
                    (
                        (*base, "scope"),
                        f"a scope names the features of a sign check ({SIGN_VIOLATION_METRIC}) "
                        f"the waiver covers; check {waiver.check!r} bounds {metric!r}: "
                        f"remove scope",
                    )
                )
        check_severity((*base, "cap_severity"), waiver.cap_severity)
        if waiver.expires < waiver.approved_by.date:
            problems.append(
                (
                    (*base, "expires"),
                    f"expires {waiver.expires.isoformat()} is before the approval date "
                    f"{waiver.approved_by.date.isoformat()}",
                )
            )
    return problems


def _metric_problems(check: CheckModel, base: Loc) -> list[tuple[Loc, str]]:
    spec = METRICS.get(check.metric)
    if spec is None:
        hint = _did_you_mean(check.metric, list(METRICS))
        known = ", ".join(sorted(METRICS))
        return [((*base, "metric"), f"unknown metric {check.metric!r}{hint}; known: {known}")]
    if spec.per_dataset:
        if check.dataset is not None and check.dataset not in DATASETS:
            choices = " or ".join(DATASETS)
            return [
                (
                    (*base, "dataset"),
                    f"unknown dataset {check.dataset!r} for per-data-set metric {check.metric!r}; "
                    f"expected {choices} (default train)",
                )
            ]
    elif check.dataset:
        return [
            (
                (*base, "dataset"),
                f"metric {check.metric!r} is not tied to a data set; omit dataset "
                f"(got {check.dataset!r})",
            )
        ]
    return []


def _params_problems(check: CheckModel, base: Loc) -> list[tuple[Loc, str]]:
    """``params`` must be those the metric takes (none for most metrics), with the right types."""
    spec = METRICS.get(check.metric)
    if spec is None:
        return []  # reported as an unknown metric
    loc: Loc = (*base, "params")
    params_model = _PARAMS_MODELS.get(check.metric)
    if params_model is None:
        if check.params:
            return [(loc, f"metric {check.metric!r} takes no params; remove params")]
        return []
    try:
        params_model.model_validate(check.params)
    except ValidationError as exc:
        problems: list[tuple[Loc, str]] = []
        errors = exc.errors()
        if any(err["type"] == "extra_forbidden" for err in errors):
            # A misspelt key (expect:) also leaves the right one missing: report the spelling.
            errors = [err for err in errors if err["type"] != "missing"]
        for err in errors:
            err_loc: Loc = (*loc, *err["loc"])
            if err["type"] == "extra_forbidden":
                key = str(err["loc"][-1])
                hint = _did_you_mean(key, spec.params)
                message = (
                    f"unknown key {key!r}{hint}; metric {check.metric!r} takes params: "
                    f"{', '.join(spec.params)}"
                )
            elif err["type"] == "literal_error" and err["loc"][:1] == ("expected",):
                message = (
                    f"expected '+' (the local slope must not be negative) or '-' (must not be "
                    f"positive); got {_describe_value(err.get('input'))}"
                )
            elif err["type"] == "missing" and err["loc"] == ("expected",):
                message = (
                    "missing required key: give the expected sign of each feature, "
                    'e.g. expected: {PAY_0: "+", LIMIT_BAL: "-"}'
                )
            else:
                message = _explain(err)
            problems.append((err_loc, message))
        return problems
    return []


def _bound_problems(
    check: CheckModel, base: Loc, check_severity: Callable[[Loc, str], None]
) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    has_bound = check.min is not None or check.max is not None
    if check.bands is not None:
        if has_bound or check.severity is not None:
            problems.append(
                (
                    (*base, "bands"),
                    "give either min/max with severity, or bands (each with its own severity), "
                    "not both",
                )
            )
            return problems
        if not check.bands:
            problems.append(((*base, "bands"), "expected at least one band"))
        for j, band in enumerate(check.bands):
            band_loc: Loc = (*base, "bands", j)
            if band.min is None and band.max is None:
                problems.append((band_loc, "a band needs min or max"))
            elif band.min is not None and band.max is not None and band.min > band.max:
                problems.append(
                    ((*band_loc, "min"), f"min {_num(band.min)} is above max {_num(band.max)}")
                )
            check_severity((*band_loc, "severity"), band.severity)
        return problems
    if not has_bound:
        problems.append((base, "expected a bound: min and/or max with severity, or bands"))
    elif check.severity is None:
        problems.append(((*base, "severity"), "missing required key (min/max needs a severity)"))
    else:
        check_severity((*base, "severity"), check.severity)
        if check.min is not None and check.max is not None and check.min > check.max:
            problems.append(
                ((*base, "min"), f"min {_num(check.min)} is above max {_num(check.max)}")
            )
    return problems


def _all_lines(root: Node) -> dict[str, int]:
    """The 1-based line of every key path in the document (keys: formatted paths)."""
    return {format_loc(loc): _line_of(root, loc) for _node, loc in _walk(root) if loc}


def _check_lines(root: Node) -> list[dict[str, int]]:
    """For each check, the 1-based line of every key path under it (keys: formatted paths)."""
    lines: list[dict[str, int]] = []
    for _node, loc in _walk(root):
        if len(loc) >= 2 and loc[0] == "checks" and isinstance(loc[1], int):
            while len(lines) <= loc[1]:
                lines.append({})
            lines[loc[1]][format_loc(loc)] = _line_of(root, loc)
    return lines


def _build_policy(model: PolicyFileModel, root: Node, source: str) -> Policy:
    """Normalise a validated file model into a :class:`Policy`."""
    checks: list[Check] = []
    lines = _check_lines(root)
    for index, item in enumerate(model.checks):
        if item.bands is not None:
            bands = tuple(Band(b.severity, b.min, b.max) for b in item.bands)
        else:
            assert item.severity is not None
            bands = (Band(item.severity, item.min, item.max),)
        dataset = (item.dataset or "train") if METRICS[item.metric].per_dataset else ""
        checks.append(
            Check(
                id=item.id,
                metric=item.metric,
                dataset=dataset,
                bands=bands,
                banded=item.bands is not None,
                on_missing=item.on_missing,
                params=MappingProxyType(dict(item.params)),
                refs=tuple(item.refs),
                description=item.description,
                loc=("checks", index),
                lines=MappingProxyType(lines[index] if index < len(lines) else {}),
            )
        )
    waivers = tuple(
        Waiver(
            check=w.check,
            cap_severity=w.cap_severity,
            justification=w.justification,
            approved_by=Approval(w.approved_by.name, w.approved_by.role, w.approved_by.date),
            expires=w.expires,
            scope=tuple(w.scope or ()),
        )
        for w in model.waivers
    )
    return Policy(
        id=model.policy.id,
        version=model.policy.version,
        owner=model.policy.owner,
        effective=model.policy.effective,
        severity_levels=tuple(model.severity_levels),
        fail_on=model.gate.fail_on,
        checks=tuple(checks),
        waivers=waivers,
        source=source,
        lines=MappingProxyType(_all_lines(root)),
    )


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckObservation:
    """The observed value of one check, when it depends on the check itself (its ``params``).

    ``value`` is ``None`` when the run could not produce it; ``note`` is a short
    text appended to the check's message (e.g. ``"worst feature: PAY_0"``);
    ``value`` is the largest of ``parts``, when given.
    """

    value: float | None
    note: str = ""
    #: The value's parts, by feature (a sign check's share per feature); judges waiver scopes.
    parts: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check on one run.

    ``severity`` is the severity of the failure before any waiver and
    ``effective_severity`` after the waiver cap (both ``None`` unless the
    check failed). ``waiver`` is the check's waiver whether or not it applied;
    ``waiver_applied`` says it capped a failure, ``waiver_expired`` that it had
    expired on the run date. ``message`` is the full sentence for the report;
    ``detail`` its short core (observed vs bound, or why not evaluated).
    """

    check: Check
    observed: float | None
    status: Status
    severity: str | None
    effective_severity: str | None
    gating: bool
    waiver: Waiver | None
    waiver_applied: bool
    waiver_expired: bool
    message: str
    detail: str

    @property
    def check_status(self) -> CheckStatus:
        """pass, fail, waived or not_evaluated: the one status every output shows."""
        return _check_status(self.status, self.waiver_applied)

    @property
    def description(self) -> str:
        """The check's own description, else the metric's from the registry."""
        return self.check.description or METRICS[self.check.metric].description

    def to_dict(self) -> dict[str, Any]:
        """This result as one entry of the ``"policy"."checks"`` list of results.json."""
        observed = self.observed
        waiver: dict[str, Any] | None = None
        if self.waiver is not None:
            waiver = {
                "justification": self.waiver.justification,
                "approved_by": {
                    "name": self.waiver.approved_by.name,
                    "role": self.waiver.approved_by.role,
                    "date": self.waiver.approved_by.date.isoformat(),
                },
                "expires": self.waiver.expires.isoformat(),
                "expired": self.waiver_expired,
                "cap_severity": self.waiver.cap_severity,
                "scope": list(self.waiver.scope),
            }
        return {
            "id": self.check.id,
            "metric": self.check.metric,
            "dataset": self.check.dataset,
            "description": self.description,
            "observed": observed if observed is not None and math.isfinite(observed) else None,
            "bound": self.check.describe_bound(),
            "status": self.status,
            "severity": self.severity,
            "effective_severity": self.effective_severity,
            "gating": self.gating,
            "waiver": waiver,
            "waiver_applied": self.waiver_applied,
            "params": _plain(self.check.params),
            "refs": list(self.check.refs),
            "message": self.message,
        }


def _check_status(status: Status, waiver_applied: bool) -> CheckStatus:
    if status == "fail" and waiver_applied:
        return "waived"
    return status


def check_status(record: Mapping[str, Any]) -> CheckStatus:
    """The status of one check as its results.json record (``"policy"."checks"[i]``) states it.

    The evaluation decided it: ``status`` and ``waiver_applied`` are read, never judged
    again from the waiver. A record without ``waiver_applied`` was written before
    waivers could have a scope, when a waiver applied exactly when the check failed and
    the waiver had not expired; that is how such a record is read.
    """
    status = record["status"]
    if status not in ("pass", "fail", "not_evaluated"):
        raise ValueError(f"unknown check status {status!r}")
    applied = record.get("waiver_applied")
    if applied is None:
        waiver = record.get("waiver")
        applied = bool(waiver) and not waiver.get("expired")
    return _check_status(status, bool(applied))


def _plain(value: Any) -> Any:
    """A params value as plain JSON (mappings to dicts, dates to ISO text)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True, slots=True)
class PolicyEvaluation:
    """Every check's result on one run, the outcome, and where the policy came from."""

    policy: Policy
    policy_file: str
    policy_sha256: str
    run_date: dt.date
    results: tuple[CheckResult, ...]
    outcome: Outcome

    @property
    def exit_code(self) -> int:
        """1 if a check at or above the gate failed, else 0."""
        return EXIT_POLICY_FAILED if self.outcome == "fail" else EXIT_PASS

    @property
    def counts(self) -> dict[str, int]:
        """Checks by result; the four counts partition the checks.

        ``failed`` are failures without an applied waiver, ``waived`` failures
        whose waiver applied (their capped severity may still gate).
        """
        key: dict[CheckStatus, str] = {
            "pass": "passed",
            "fail": "failed",
            "waived": "waived",
            "not_evaluated": "not_evaluated",
        }
        counts = {"passed": 0, "failed": 0, "waived": 0, "not_evaluated": 0}
        for result in self.results:
            counts[key[result.check_status]] += 1
        return counts

    @property
    def findings(self) -> tuple[CheckResult, ...]:
        """Failed checks, waived or not."""
        return tuple(r for r in self.results if r.status == "fail")

    @property
    def expired_waivers(self) -> tuple[Waiver, ...]:
        """Waivers that had expired on the run date (each is a finding of its own)."""
        return tuple(w for w in self.policy.waivers if w.is_expired(self.run_date))

    def to_dict(self) -> dict[str, Any]:
        """The ``"policy"`` block of results.json (see notes/results_contract.md)."""
        return {
            "id": self.policy.id,
            "version": self.policy.version,
            "owner": self.policy.owner,
            "effective": self.policy.effective.isoformat(),
            "file": self.policy_file,
            "sha256": self.policy_sha256,
            "severity_levels": list(self.policy.severity_levels),
            "gate": self.policy.fail_on,
            "run_date": self.run_date.isoformat(),
            "outcome": self.outcome,
            "counts": self.counts,
            "checks": [result.to_dict() for result in self.results],
        }


def evaluate_policy(
    policy: Policy,
    metrics: Mapping[MetricKey, float | None],
    *,
    run_date: dt.date,
    policy_file: str,
    policy_sha256: str,
    check_values: Mapping[str, CheckObservation] | None = None,
) -> PolicyEvaluation:
    """Evaluate every check of ``policy`` against observed ``metrics``.

    ``metrics`` maps ``(metric_id, dataset)`` to the observed value; a key that
    is absent (or maps to ``None``) is a metric the run did not produce.
    ``check_values`` maps a check id to its own observation, for metrics whose
    value depends on the check's params (sign constraints); it takes precedence
    over ``metrics``. ``run_date`` decides which waivers are in force. Pure: no
    clock, no I/O.
    """
    own = check_values or {}
    results = tuple(
        _evaluate_check(policy, check, metrics, run_date, own.get(check.id))
        for check in policy.checks
    )
    outcome: Outcome
    if any(result.gating for result in results):
        outcome = "fail"
    elif any(result.check_status == "waived" for result in results):
        outcome = "pass_with_waivers"
    else:
        outcome = "pass"
    return PolicyEvaluation(
        policy=policy,
        policy_file=policy_file,
        policy_sha256=policy_sha256,
        run_date=run_date,
        results=results,
        outcome=outcome,
    )


def _evaluate_check(
    policy: Policy,
    check: Check,
    metrics: Mapping[MetricKey, float | None],
    run_date: dt.date,
    own: CheckObservation | None = None,
) -> CheckResult:
    value = own.value if own is not None else metrics.get(check.key)
    observed = None if value is None else float(value)
    note = f" ({own.note})" if own is not None and own.note else ""
    waiver = policy.waiver_for(check.id)
    expired = waiver is not None and waiver.is_expired(run_date)

    status: Status
    severity: str | None = None
    if observed is None:
        detail = f"{check.target} not produced{note} (on_missing: {check.on_missing})"
        message = (
            f"not evaluated: {check.target} was not produced by this run{note} "
            f"(on_missing: {check.on_missing})"
        )
        if check.on_missing == "fail":
            status = "fail"
            severity = policy.worst_severity(check)
            message += "; counted as failed"
        else:
            status = "not_evaluated"
    elif math.isnan(observed):
        status = "fail"
        severity = policy.worst_severity(check)
        detail = "NaN (not a number), counted as failed"
        message = f"observed {detail}"
    else:
        failed = [band for band in check.bands if band.violated_by(observed)]
        if failed:
            status = "fail"
            decisive = max(failed, key=lambda band: policy.rank(band.severity))
            severity = decisive.severity
            detail = decisive.compare(observed)
            if check.banded:
                detail += f" ({decisive.severity} band)"
        else:
            status = "pass"
            if check.banded:
                detail = f"{_num(observed)}, within every band"
            else:
                detail = check.bands[0].compare(observed)
        detail += note
        message = f"observed {detail}"

    effective = severity
    applied = False
    if waiver is not None:
        if expired:
            message += f"; waiver expired on {waiver.expires.isoformat()}, not applied"
        elif severity is not None and not waiver.scope:
            applied = True
            effective = min(severity, waiver.cap_severity, key=policy.rank)
            message += (
                f"; waived: {severity} capped at {waiver.cap_severity} until "
                f"{waiver.expires.isoformat()} (approved by {waiver.approved_by.name}, "
                f"{waiver.approved_by.role})"
            )
        elif severity is not None:
            effective, applied, text = _scoped_waiver(
                policy, check, waiver, severity, own.parts if own is not None else {}
            )
            message += text
    gating = (
        status == "fail"
        and effective is not None
        and policy.rank(effective) >= policy.rank(policy.fail_on)
    )
    return CheckResult(
        check=check,
        observed=observed,
        status=status,
        severity=severity,
        effective_severity=effective,
        gating=gating,
        waiver=waiver,
        waiver_applied=applied,
        waiver_expired=expired,
        message=message,
        detail=detail,
    )


def _band_severity(policy: Policy, check: Check, value: float) -> tuple[str | None, str]:
    """Severity of the worst band ``value`` violates (``None`` if none) and its comparison."""
    failed = [band for band in check.bands if band.violated_by(value)]
    if not failed:
        return None, ""
    decisive = max(failed, key=lambda band: policy.rank(band.severity))
    return decisive.severity, decisive.compare(value)


def _scoped_waiver(
    policy: Policy, check: Check, waiver: Waiver, severity: str, parts: Mapping[str, float]
) -> tuple[str, bool, str]:
    """Apply a waiver that covers only some features of a check.

    The cap applies to the features in scope; the largest part outside the scope is judged
    against the check's bands on its own and keeps its severity. Returns the effective
    severity, whether the waiver lowered it, and the text for the message.
    """
    scope = ", ".join(waiver.scope)
    if not parts:
        return severity, False, f"; waiver (scope: {scope}) not applied: no per-feature values"
    outside = {name: value for name, value in parts.items() if not waiver.covers(name)}
    capped = min(severity, waiver.cap_severity, key=policy.rank)
    residual: str | None = None
    text = (
        f"; waived within scope {scope}: {severity} capped at {waiver.cap_severity} until "
        f"{waiver.expires.isoformat()} (approved by {waiver.approved_by.name}, "
        f"{waiver.approved_by.role})"
    )
    if outside:
        name = max(outside, key=lambda n: outside[n])  # first of equals, in feature order
        residual, comparison = _band_severity(policy, check, outside[name])
        if residual is not None:
            text += f"; outside the scope {comparison} ({name}) still fails at {residual}"
    if residual is None:
        return capped, True, text
    effective = max(capped, residual, key=policy.rank)
    return effective, policy.rank(effective) < policy.rank(severity), text


# ---------------------------------------------------------------------------
# Text summary for the CLI
# ---------------------------------------------------------------------------

_OUTCOME_TEXT = {"pass": "PASS", "pass_with_waivers": "PASS WITH WAIVERS", "fail": "FAIL"}


def _label(result: CheckResult) -> str:
    status = result.check_status
    if status == "not_evaluated":
        return "WARN" if result.check.on_missing == "warn" else "SKIP"
    return status.upper()


def _severity_note(result: CheckResult) -> str:
    waiver = result.waiver
    if result.status != "fail" or result.severity is None:
        if waiver is not None and result.waiver_expired:
            return f"waiver expired {waiver.expires.isoformat()}"
        return ""
    note = result.severity
    if waiver is not None and result.check_status == "waived":
        note += f" -> {result.effective_severity} (waiver until {waiver.expires.isoformat()})"
    elif waiver is not None and result.waiver_expired:
        note += f" (waiver expired {waiver.expires.isoformat()})"
    if result.gating:
        note += ", GATE"
    return note


SUMMARY_CHECK_LINES = 20
"""Most check lines :func:`format_policy_summary` prints (the whole summary fits one screen)."""

_SUMMARY_WIDTH = 120


def _check_line(result: CheckResult, width: int) -> str:
    note = _severity_note(result)
    line = f"  {_label(result):<6}  {result.check.id:<{width}}  {result.detail}"
    return f"{line}  [{note}]" if note else line


def format_policy_summary(evaluation: PolicyEvaluation) -> str:
    """A plain-text summary for the terminal: the outcome, then one line per check.

    Each check line shows the status, the check id, the observed value against
    the bound (or why it was not evaluated), and for failures the severity,
    any waiver cap and whether it gates the run. When there are more than
    :data:`SUMMARY_CHECK_LINES` checks, only failed, waived, not evaluated and
    expired-waiver checks get a line (gating ones first) and the passed checks
    are named on one line, so the summary never needs more than 23 lines.
    """
    policy = evaluation.policy
    counts = evaluation.counts
    lines = [
        f"Policy {policy.id} {policy.version} ({evaluation.policy_file}): "
        f"{_OUTCOME_TEXT[evaluation.outcome]}",
        f"{len(evaluation.results)} checks: {counts['passed']} passed, {counts['failed']} "
        f"failed, {counts['waived']} waived, {counts['not_evaluated']} not evaluated; "
        f"gate: the run fails on {policy.fail_on} or above",
    ]
    results = evaluation.results
    width = max(len(result.check.id) for result in results)
    if len(results) <= SUMMARY_CHECK_LINES:
        lines.extend(_check_line(result, width) for result in results)
        return "\n".join(lines)
    noteworthy = [r for r in results if r.status != "pass" or r.waiver_expired]
    noteworthy.sort(key=lambda r: not r.gating)  # stable: gating first, then file order
    passed = [r.check.id for r in results if r.status == "pass" and not r.waiver_expired]
    room = SUMMARY_CHECK_LINES - (1 if passed else 0)
    if len(noteworthy) > room:
        shown, hidden = noteworthy[: room - 1], len(noteworthy) - (room - 1)
    else:
        shown, hidden = noteworthy, 0
    lines.extend(_check_line(result, width) for result in shown)
    if hidden:
        lines.append(f"  ... and {hidden} more failed or not evaluated checks (see the report)")
    if passed:
        text = f"  PASS    {len(passed)} other checks: {', '.join(passed)}"
        if len(text) > _SUMMARY_WIDTH:
            text = text[: _SUMMARY_WIDTH - 3].rsplit(",", 1)[0] + ", ..."
        lines.append(text)
    return "\n".join(lines)
