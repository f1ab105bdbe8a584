"""The command line: parse options, call the pipeline, map errors to exit codes.

Exit codes: 0 all checks pass (or pass with waivers), 1 a check at or above the
policy gate failed (the report is still written), 2 bad input (model, data,
policy, options), 3 internal error (rerun with ``--debug`` for the traceback).
"""

from __future__ import annotations

import os
import shlex
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click

from govreport import __version__
from govreport.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, GovReportError
from govreport.resources import default_policy_path

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
TEMPLATES_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _guarded(debug: bool, action: Callable[[], int]) -> NoReturn:
    """Run ``action`` and exit with its code; map errors to one-line messages and exit codes."""
    try:
        code = action()
    except GovReportError as error:
        if debug:
            traceback.print_exc()
        _fail(f"error: {error}", error.exit_code)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # the one place unexpected errors become exit code 3
        if debug:
            traceback.print_exc()
        _fail(
            f"internal error: {type(error).__name__}: {error} "
            "(rerun with --debug for the traceback, and report it)",
            EXIT_INTERNAL,
        )
    sys.exit(code)


def run_time_now() -> datetime:
    """The run time: SOURCE_DATE_EPOCH if set (reproducible builds), else the clock, in UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC)
        except ValueError:
            _fail(f"error: SOURCE_DATE_EPOCH={epoch!r} is not an integer", EXIT_BAD_INPUT)
    return datetime.now(tz=UTC).replace(microsecond=0)


def _split_names(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise click.BadParameter("give at least one column name")
    return names


def _merge_grid(value: str) -> tuple[int, ...]:
    """``"2,4,8"`` -> ``(2, 4, 8)``: positive integers, at least one."""
    try:
        grid = tuple(sorted({int(part) for part in value.split(",") if part.strip()}))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a comma-separated list of integers, e.g. 2,4,8",
            param_hint="--merge-clusters",
        ) from None
    if not grid or grid[0] < 1:
        raise click.BadParameter(
            f"{value!r}: give at least one number of clusters, each at least 1",
            param_hint="--merge-clusters",
        )
    return grid


# Options shared by several commands, declared once.
MODEL_OPTION = click.option(
    "--model",
    "model_path",
    type=EXISTING_FILE,
    required=True,
    help="Network file: TorchScript (.pt), state_dict (.pt) or .safetensors.",
)
SPEC_OPTION = click.option(
    "--spec",
    "spec_path",
    type=EXISTING_FILE,
    help="Architecture spec (YAML/JSON) for a state_dict or .safetensors model.",
)
TARGET_OPTION = click.option("--target", required=True, help="Name of the target column.")
FEATURES_OPTION = click.option(
    "--features",
    help="Comma-separated feature columns, in model input order "
    "(default: every column but the target and --drop).",
)
DROP_OPTION = click.option(
    "--drop", help="Comma-separated columns that are not features (e.g. an id)."
)
LINK_OPTION = click.option(
    "--link",
    type=click.Choice(["identity", "sigmoid", "softmax"]),
    help="Output link when the model file has none (e.g. it outputs a logit).",
)
ALLOW_PICKLE_OPTION = click.option(
    "--allow-pickle",
    is_flag=True,
    help="Allow loading a pickled nn.Module (runs code from the file: trusted files only).",
)
OUT_DIR_OPTION = click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Output directory.",
)
TEMPLATES_OPTION = click.option(
    "--templates",
    "templates_dir",
    type=TEMPLATES_DIR,
    help="Directory of template files overriding the default ones of the same name "
    "(see docs/templates.md).",
)
NO_PDF_OPTION = click.option("--no-pdf", is_flag=True, help="Skip the PDF (HTML and JSON only).")
DEBUG_OPTION = click.option("--debug", is_flag=True, help="Show tracebacks.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="govreport")
def cli() -> None:
    """Open a ReLU network exactly, check it against a policy, write its validation report."""


@cli.command()
@MODEL_OPTION
@SPEC_OPTION
@click.option(
    "--data",
    "data_path",
    type=EXISTING_FILE,
    required=True,
    help="Training (development) data: .csv or .parquet.",
)
@click.option(
    "--test-data",
    "test_data_path",
    type=EXISTING_FILE,
    help="Holdout data with the same columns: .csv or .parquet.",
)
@TARGET_OPTION
@FEATURES_OPTION
@DROP_OPTION
@click.option(
    "--policy",
    "policy_path",
    type=EXISTING_FILE,
    help="Policy YAML (default: the shipped policies/default.yaml).",
)
@OUT_DIR_OPTION
@LINK_OPTION
@click.option(
    "--min-samples",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Samples a region needs to count as large.",
)
@click.option(
    "--disclosure-min-samples",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Samples a region or cluster needs before any statistic of its inputs is shown.",
)
@click.option(
    "--top-regions",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Regions shown in the LLM summary table.",
)
@click.option(
    "--profile-features",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Features with a local linear profile plot.",
)
@click.option(
    "--profile-regions",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Regions drawn in each profile plot.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=65_536,
    show_default=True,
    help="Rows processed at a time (memory bound).",
)
@click.option(
    "--merge-mode",
    type=click.Choice(["auto", "aletheia", "scalable"]),
    default="auto",
    show_default=True,
    help="Region merging: 'aletheia' (Ward over all regions, as the reference code), "
    "'scalable' (through micro-clusters), 'auto' (scalable above 20,000 regions).",
)
@click.option(
    "--merge-clusters",
    default="2,4,6,8,10,15,20",
    show_default=True,
    callback=lambda _ctx, _param, value: _merge_grid(value),
    help="Comma-separated numbers of merged clusters K to choose from on held-out data.",
)
@click.option(
    "--merge-neighbors",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Neighbours of each region centre in the merging connectivity graph.",
)
@click.option(
    "--merge-min-samples",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Merged clusters with at most this many samples are absorbed by the nearest larger one.",
)
@ALLOW_PICKLE_OPTION
@click.option(
    "--explain-rows",
    help="Comma-separated 0-based training rows to show as worked switched-projection "
    "examples in section 4.8 (opt-in: the report then shows these rows' values).",
)
@click.option(
    "--review",
    "review_path",
    type=EXISTING_FILE,
    help="Review metadata YAML: report id, model id/version, review type, intended use, "
    "sign-off (missing fields print as blank lines).",
)
@TEMPLATES_OPTION
@NO_PDF_OPTION
@DEBUG_OPTION
def run(
    model_path: Path,
    spec_path: Path | None,
    data_path: Path,
    test_data_path: Path | None,
    target: str,
    features: str | None,
    drop: str | None,
    policy_path: Path | None,
    out_dir: Path,
    link: str | None,
    min_samples: int,
    disclosure_min_samples: int,
    top_regions: int,
    profile_features: int,
    profile_regions: int,
    chunk_size: int,
    merge_mode: str,
    merge_clusters: tuple[int, ...],
    merge_neighbors: int,
    merge_min_samples: int,
    allow_pickle: bool,
    explain_rows: str | None,
    review_path: Path | None,
    templates_dir: Path | None,
    no_pdf: bool,
    debug: bool,
) -> None:
    """Analyse a model on data and write report.html, report.pdf and results.json to --out."""
    from govreport.explain import parse_rows
    from govreport.pipeline import RunConfig, render_outputs, run_pipeline, write_outputs
    from govreport.policy import format_policy_summary

    def action() -> int:
        policy_file = policy_path or default_policy_path()
        config = RunConfig(
            model_path=model_path,
            spec_path=spec_path,
            data_path=data_path,
            test_data_path=test_data_path,
            target=target,
            features=_split_names(features),
            drop=_split_names(drop) or (),
            policy_path=policy_file,
            link=link,  # type: ignore[arg-type]
            min_samples=min_samples,
            disclosure_min_samples=disclosure_min_samples,
            top_regions=top_regions,
            profile_features=profile_features,
            profile_regions=profile_regions,
            chunk_size=chunk_size,
            merge_mode=merge_mode,
            merge_clusters=merge_clusters,
            merge_neighbors=merge_neighbors,
            merge_min_samples=merge_min_samples,
            allow_pickle=allow_pickle,
            review_path=review_path,
            explain_rows=parse_rows(explain_rows) if explain_rows is not None else (),
            run_time=run_time_now(),
            command=shlex.join(["govreport", *sys.argv[1:]]),
        )
        result = run_pipeline(config)
        files = render_outputs(result.results, policy_file, pdf=not no_pdf, templates=templates_dir)
        for path in write_outputs(files, out_dir):
            click.echo(f"wrote {path}")
        click.echo(format_policy_summary(result.evaluation))
        return result.evaluation.exit_code

    _guarded(debug, action)


@cli.command()
@click.argument("results_path", metavar="RESULTS_JSON", type=EXISTING_FILE)
@OUT_DIR_OPTION
@TEMPLATES_OPTION
@NO_PDF_OPTION
@DEBUG_OPTION
def render(
    results_path: Path, out_dir: Path, templates_dir: Path | None, no_pdf: bool, debug: bool
) -> None:
    """Rebuild report.html and report.pdf from a results.json alone, without recomputation."""
    from govreport.pipeline import render_outputs, write_outputs
    from govreport.results import load_results

    def action() -> int:
        results = load_results(results_path)
        files = render_outputs(results, pdf=not no_pdf, templates=templates_dir)
        for path in write_outputs(files, out_dir):
            click.echo(f"wrote {path}")
        return 0

    _guarded(debug, action)


@cli.command()
@MODEL_OPTION
@SPEC_OPTION
@click.option("--data", "data_path", type=EXISTING_FILE, required=True, help="Data: .csv/.parquet.")
@TARGET_OPTION
@FEATURES_OPTION
@DROP_OPTION
@LINK_OPTION
@click.option("--rows", required=True, help="Comma-separated 0-based data rows, e.g. 0,5,17.")
@click.option(
    "--neuron",
    default="output",
    show_default=True,
    help="'output', 'output:K' or 'LAYER:INDEX' (hidden layers 1..L).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="JSON file to write.",
)
@ALLOW_PICKLE_OPTION
@DEBUG_OPTION
def explain(
    model_path: Path,
    spec_path: Path | None,
    data_path: Path,
    target: str,
    features: str | None,
    drop: str | None,
    link: str | None,
    rows: str,
    neuron: str,
    out_path: Path,
    allow_pickle: bool,
    debug: bool,
) -> None:
    """Explain chosen rows by a neuron's exact switched linear projection (JSON)."""
    import json

    from govreport.explain import explain_document, parse_rows

    def action() -> int:
        document = explain_document(
            model_path,
            data_path,
            target,
            parse_rows(rows),
            neuron=neuron,
            spec_path=spec_path,
            features=_split_names(features),
            drop=_split_names(drop) or (),
            link=link,  # type: ignore[arg-type]
            allow_pickle=allow_pickle,
        )
        out_path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
        click.echo(f"wrote {out_path}")
        return 0

    _guarded(debug, action)


@cli.command("check-policy")
@click.argument("policy_path", type=EXISTING_FILE)
@DEBUG_OPTION
def check_policy(policy_path: Path, debug: bool) -> None:
    """Validate a policy file alone (exit 0 if valid, 2 with the fault's line and key if not)."""
    from govreport.policy import load_policy

    def action() -> int:
        policy = load_policy(policy_path)
        click.echo(f"{policy_path}: valid policy with {len(policy.checks)} check(s)")
        return 0

    _guarded(debug, action)


@cli.command("metrics")
def list_metrics() -> None:
    """List the metric ids a policy check may reference."""
    from govreport.metrics import METRICS

    for spec in METRICS.values():
        scope = "per data set" if spec.per_dataset else "model"
        click.echo(f"{spec.metric_id:34} [{spec.unit}; {spec.better} is better; {scope}]")
        click.echo(f"    {spec.description}")
        if spec.params:
            click.echo(f"    params: {', '.join(spec.params)}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="govreport")
