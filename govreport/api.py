"""The Python API behind ``govreport.run``, ``govreport.render`` and ``govreport.load_results``.

The command line (:mod:`govreport.cli`) calls these same functions. Heavy
modules (torch, pandas, matplotlib, WeasyPrint) are imported inside the
functions, so ``import govreport`` stays light. Every problem with the inputs is
an :class:`~govreport.errors.InputError` whose message is the one the CLI prints
after ``error:``.

In-memory inputs go through the same loaders and checks as files: a pandas
DataFrame is written as Parquet (``data.parquet``, ``test_data.parquet``) and an
``nn.Module`` is converted, then written as ``model.safetensors`` plus a JSON
architecture spec (never pickled), in a temporary directory; the results record
those names and the fingerprints of those bytes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from govreport.config import DEFAULTS, ENGINES, MERGE_MODES, MINIMUMS, RunConfig
from govreport.errors import DataError, InputError, ModelError

if TYPE_CHECKING:
    from govreport.policy import PolicyEvaluation
    from govreport.results.schema import Results

__all__ = ["Outcome", "diff", "load_results", "render", "run", "run_time_now"]

#: What ``command`` records for a run started from Python.
API_COMMAND = "govreport.run (Python API)"

_PATH_OPTIONS = {
    "spec": "spec_path",
    "data_dictionary": "data_dictionary_path",
    "previous": "previous_path",
    "previous_model": "previous_model_path",
    "previous_spec": "previous_spec_path",
}
_NAME_OPTIONS = ("features", "drop", "classes", "classes_shown")
_PASSED_OPTIONS = (
    "allow_pickle",
    "link",
    "explain_rows",
    "run_time",
    "command",
    "engine",
    "scheduler",
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The results of a run and its policy verdict.

    ``results``: the typed results document (what results.json holds; pass it to
    :func:`render`). ``evaluation``: the policy evaluation (checks, gate, counts).
    """

    results: Results
    evaluation: PolicyEvaluation

    @property
    def exit_code(self) -> int:
        """0 all checks pass (or pass with waivers), 1 a check at or above the gate failed."""
        return self.evaluation.exit_code


def run_time_now() -> datetime:
    """The run time: SOURCE_DATE_EPOCH if set (reproducible builds), else the clock, in UTC."""
    from govreport.epoch import source_date_epoch

    epoch = source_date_epoch()
    if epoch is not None:
        return datetime.fromtimestamp(epoch, tz=UTC)
    return datetime.now(tz=UTC).replace(microsecond=0)


def run(
    model: str | os.PathLike[str] | Any,
    data: str | os.PathLike[str] | Any,
    target: str,
    policy: str | os.PathLike[str] | None = None,
    test_data: str | os.PathLike[str] | Any | None = None,
    review: str | os.PathLike[str] | None = None,
    oot_data: str | os.PathLike[str] | Any | None = None,
    **options: Any,
) -> Outcome:
    """Analyse ``model`` on ``data``, evaluate the policy, and return results and verdict.

    ``model``: a model file (TorchScript, state_dict + ``spec=``, ``.safetensors`` +
    ``spec=``) or a ``torch.nn.Sequential``. ``data``, ``test_data``: a ``.csv`` or
    ``.parquet`` file or a pandas DataFrame. ``policy``: a policy YAML (default: the
    shipped default policy). ``review``: review metadata YAML. ``oot_data``: an
    out-of-time data set (file or DataFrame), a third data set next to ``test_data``.
    ``options``: the options of ``govreport run`` by their Python names (``spec``,
    ``data_dictionary`` (a YAML path), ``features``,
    ``drop``, ``link``, ``allow_pickle``, ``min_samples``, ``chunk_size``,
    ``merge_clusters``, ``explain_rows``, ... with the defaults of
    :data:`govreport.config.DEFAULTS`), plus ``run_time`` and ``command`` as recorded.
    Writes no file (see :func:`render`). Raises :class:`InputError` for bad input.
    """
    from govreport.pipeline import run_pipeline
    from govreport.resources import default_policy_path

    with tempfile.TemporaryDirectory(prefix="govreport-") as scratch:
        where = Path(scratch)
        try:
            settings = _config_options(options)
            if _is_instance(model, "torch.nn", "Module"):
                model = _export(model, where, settings)
            url = data if isinstance(data, str) and "://" in data else None
            config = RunConfig(
                model_path=_path(model, "model"),
                data_path=Path(url.split("://", 1)[1]) if url else _data_file(data, where, "data"),
                data_url=url,
                test_data_path=None
                if test_data is None
                else _data_file(test_data, where, "test_data"),
                oot_data_path=None if oot_data is None else _data_file(oot_data, where, "oot_data"),
                target=target,
                policy_path=default_policy_path() if policy is None else _path(policy, "policy"),
                review_path=None if review is None else _path(review, "review"),
                **settings,
            )
            result = run_pipeline(config)
        except InputError as error:  # name in-memory inputs by their file names, not the path
            error.args = tuple(
                arg.replace(f"{where}{os.sep}", "") if isinstance(arg, str) else arg
                for arg in error.args
            )
            raise
    return Outcome(results=result.results, evaluation=result.evaluation)


def render(
    results: Results,
    out_dir: str | os.PathLike[str],
    *,
    pdf: bool = True,
    templates: str | os.PathLike[str] | None = None,
    policy: str | os.PathLike[str] | None = None,
    rerendered_from: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Write results.json, report.html, checks.xml and (if ``pdf``) report.pdf into ``out_dir``.

    ``results``: :attr:`Outcome.results` or what :func:`load_results` returns.
    ``templates``: a directory of template files overriding the default ones.
    ``policy``: attached to the PDF when the results carry no policy text (old files).
    ``rerendered_from``: the results.json ``results`` were loaded from (``govreport
    render``); appendix B then says the report was re-rendered from that file (name
    and SHA-256). Nothing is written unless everything rendered; the set in
    ``out_dir`` is replaced as a whole (:mod:`govreport.outputs`). Returns the written paths.
    """
    from govreport.inputs.files import fingerprint_file
    from govreport.outputs import write_outputs
    from govreport.pipeline import render_outputs
    from govreport.render.sections.appendix_repro import Rerendered

    source = None
    if rerendered_from is not None:
        digest = fingerprint_file(Path(rerendered_from))
        source = Rerendered(file=digest.file, sha256=digest.sha256)
    files = render_outputs(
        results,
        None if policy is None else Path(policy),
        pdf=pdf,
        templates=None if templates is None else Path(templates),
        rerendered=source,
    )
    return write_outputs(files, Path(out_dir))


def diff(
    previous: str | os.PathLike[str],
    current: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    pdf: bool = True,
) -> tuple[list[Path], int]:
    """Compare two results files; write comparison.html/.pdf/.json and changes.xml.

    Both files may be of any supported schema version (migrated on load). Raises
    :class:`InputError` (exit 2) for a file that is not a results.json or two reviews
    under different policies; nothing is written then. Returns the written paths and
    the number of checks that worsened.
    """
    from govreport.compare.review import compare_results
    from govreport.outputs import write_outputs
    from govreport.render.comparison import comparison_files, worsened

    then = load_results(previous)
    now = load_results(current)
    comparison = compare_results(then, now, previous_file=str(previous))
    files = comparison_files(comparison, pdf=pdf)
    return write_outputs(files, Path(out_dir)), len(worsened(comparison))


def load_results(path: str | os.PathLike[str]) -> Results:
    """Read and validate a results.json (raises :class:`InputError` with file and key path).

    Older schema versions are migrated to the current one on the way in.
    """
    from govreport.results.io import load_results as load_typed

    return load_typed(Path(path))


# --------------------------------------------------------------------------- inputs


def _path(value: object, what: str) -> Path:
    if isinstance(value, str | os.PathLike):
        return Path(value)
    expected = {"model": "a model file path or a torch.nn.Sequential"}.get(what, "a file path")
    raise InputError(f"{what}: expected {expected}, got a {type(value).__name__}")


def _is_instance(value: object, module: str, name: str) -> bool:
    """``isinstance(value, module.name)`` without importing ``module`` (loaded if value is one)."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(value, getattr(loaded, name))


def _data_file(value: object, where: Path, what: str) -> Path:
    if not _is_instance(value, "pandas", "DataFrame"):
        try:
            return _path(value, what)
        except InputError:
            raise DataError(
                f"{what}: expected a .csv/.parquet path or a pandas DataFrame, "
                f"got a {type(value).__name__}"
            ) from None
    bad = [column for column in value.columns if not isinstance(column, str)]  # type: ignore[attr-defined]
    if bad:
        raise DataError(f"{what}: column name {bad[0]!r} is not a string; name every column")
    path = where / f"{what}.parquet"
    value.to_parquet(path, index=False)  # type: ignore[attr-defined]
    return path


def _export(module: Any, where: Path, settings: dict[str, Any]) -> Path:
    """Write ``module`` as ``where``/model.safetensors + model.spec.json; the model's path.

    A module that is not a plain Sequential of torch layers is written as a
    TorchScript archive ``where``/model.pt instead (its graph is read op by op).
    """
    from govreport.inputs.model.export import export_module, export_scripted
    from govreport.inputs.model.graph import is_plain_chain

    if settings.get("spec_path") is not None:
        raise ModelError(
            "model: is a torch.nn.Module, which carries its own structure; --spec is only for "
            "state_dict and safetensors files, so drop --spec"
        )
    if not is_plain_chain(module):
        return export_scripted(module, where / "model.pt")
    spec = where / "model.spec.json"
    export_module(module, where / "model.safetensors", spec, link=settings.get("link"))
    settings["spec_path"] = spec
    return where / "model.safetensors"


def _config_options(options: dict[str, Any]) -> dict[str, Any]:
    """``run``'s keyword options as RunConfig fields, checked like the CLI checks them."""
    tunable = {f.name for f in fields(DEFAULTS)}
    known = tunable | set(_PATH_OPTIONS) | set(_NAME_OPTIONS) | set(_PASSED_OPTIONS)
    config: dict[str, Any] = {}
    for name, value in options.items():
        if name not in known:
            raise InputError(f"unknown option {name!r}; options: {', '.join(sorted(known))}")
        if name in _PATH_OPTIONS:
            config[_PATH_OPTIONS[name]] = None if value is None else _path(value, name)
        elif name in _NAME_OPTIONS:
            config[name] = _names(value, name)
        elif name == "merge_clusters":
            config[name] = merge_grid(value)
        elif name == "engine":
            if value not in ENGINES:
                raise InputError(f"engine: {value!r} is not one of {', '.join(ENGINES)}")
            config[name] = value
        elif name == "merge_mode":
            if value not in MERGE_MODES:
                raise InputError(f"merge_mode: {value!r} is not one of {', '.join(MERGE_MODES)}")
            config[name] = value
        elif name in MINIMUMS:
            low = MINIMUMS[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(f"{name}: must be an integer >= {low}, got {value!r}")
            config[name] = value
        elif name == "regime_min_coverage":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise InputError(f"{name}: must be a share between 0 and 1, got {value!r}")
            config[name] = float(value)
        elif name == "explain_rows":
            rows = tuple(value)  # the range is checked against the data by the run
            if any(isinstance(r, bool) or not isinstance(r, int) for r in rows):
                raise InputError(f"explain_rows: give 0-based row numbers, got {value!r}")
            config[name] = rows
        elif name == "link":
            from govreport.network import OutputLink

            if value is not None and value not in get_args(OutputLink):
                raise InputError(f"link: {value!r} is not one of identity, sigmoid, softmax")
            config[name] = value
        else:
            config[name] = value
    for optional in ("features", "classes", "classes_shown"):
        if config.get(optional) is None:
            config.pop(optional, None)
    config["drop"] = config.get("drop") or ()
    config.setdefault("run_time", run_time_now())
    config.setdefault("command", API_COMMAND)
    return config


def _names(value: object, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = (value,) if isinstance(value, str) else value
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{what}: expected a list of column names, got {value!r}")
    if not names and what in ("features", "classes", "classes_shown"):
        raise InputError(f"{what}: give at least one column name")
    return tuple(names)


def merge_grid(values: Sequence[int]) -> tuple[int, ...]:
    """The numbers of merged clusters, sorted and unique: positive integers, at least one."""
    grid = tuple(sorted(set(values)))
    if not grid or any(isinstance(k, bool) or not isinstance(k, int) for k in grid) or grid[0] < 1:
        raise InputError(
            f"merge_clusters: {tuple(values)!r}: give at least one number of clusters, "
            "each at least 1"
        )
    return grid
