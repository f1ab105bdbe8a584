"""The commands, each thin: parse the options, call the API, echo what happened.

Exit codes: 0 all checks pass (or pass with waivers), 1 a check at or above the
policy gate failed (the report is still written), 2 bad input (model, data,
policy, options), 3 internal error (rerun with ``--debug`` for the traceback);
:mod:`govreport.cli.boundary` maps errors to them.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from govreport.cli.boundary import guarded, with_progress
from govreport.cli.options import (
    ALLOW_PICKLE_OPTION,
    ANALYSIS_ROWS_OPTION,
    CHUNK_SIZE_OPTION,
    CLASSES_OPTION,
    CLASSES_SHOWN_OPTION,
    DATA_DICTIONARY_OPTION,
    DEBUG_OPTION,
    DISCLOSURE_MIN_SAMPLES_OPTION,
    DROP_OPTION,
    EXISTING_FILE,
    FEATURES_OPTION,
    LINK_OPTION,
    MERGE_CLUSTERS_OPTION,
    MERGE_MIN_SAMPLES_OPTION,
    MERGE_MODE_OPTION,
    MERGE_NEIGHBORS_OPTION,
    MIN_SAMPLES_OPTION,
    MODEL_OPTION,
    NO_PDF_OPTION,
    OOT_DATA_OPTION,
    OUT_DIR_OPTION,
    PROFILE_FEATURES_OPTION,
    PROFILE_REGIONS_OPTION,
    QUIET_OPTION,
    SPEC_OPTION,
    TARGET_OPTION,
    TEMPLATES_OPTION,
    TOP_REGIONS_OPTION,
    VERBOSE_OPTION,
    split_names,
)

__all__ = ["check_policy", "diff", "explain", "list_metrics", "render", "run"]


@click.command()
@MODEL_OPTION
@SPEC_OPTION
@click.option(
    "--data",
    "data_path",
    required=True,
    help="Training (development) data: a .csv or .parquet file, or a Parquet dataset (a "
    "directory of .parquet files or a glob such as 'data/part-*.parquet'; rows file after "
    "file in name order); with --engine dask also an fsspec URL (s3://bucket/train/).",
)
@click.option(
    "--test-data",
    "test_data_path",
    type=EXISTING_FILE,
    help="Holdout data with the same columns: .csv or .parquet.",
)
@OOT_DATA_OPTION
@TARGET_OPTION
@FEATURES_OPTION
@DROP_OPTION
@click.option(
    "--policy",
    "policy_path",
    type=EXISTING_FILE,
    help="Policy YAML (default: the shipped policies/default.yaml).",
)
@DATA_DICTIONARY_OPTION
@OUT_DIR_OPTION
@LINK_OPTION
@CLASSES_OPTION
@CLASSES_SHOWN_OPTION
@MIN_SAMPLES_OPTION
@DISCLOSURE_MIN_SAMPLES_OPTION
@TOP_REGIONS_OPTION
@PROFILE_FEATURES_OPTION
@PROFILE_REGIONS_OPTION
@CHUNK_SIZE_OPTION
@ANALYSIS_ROWS_OPTION
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where the training data is read, checked and its regions counted: this process, "
    "or a Dask cluster (pip install 'govreport[dask]'; --data a Parquet file or directory).",
)
@click.option(
    "--scheduler",
    help="Address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786) for --engine dask "
    "(default: a local cluster of this machine's cores).",
)
@MERGE_MODE_OPTION
@MERGE_CLUSTERS_OPTION
@MERGE_NEIGHBORS_OPTION
@MERGE_MIN_SAMPLES_OPTION
@ALLOW_PICKLE_OPTION
@click.option(
    "--explain-rows",
    help="Comma-separated 0-based training rows to show as worked switched-projection "
    "examples of the technical annex on Insens (opt-in: the report then shows these rows' values).",
)
@click.option(
    "--review",
    "review_path",
    type=EXISTING_FILE,
    help="Review metadata YAML: report id, model id/version, review type, intended use, "
    "sign-off (missing fields print as blank lines).",
)
@click.option(
    "--previous",
    "previous_path",
    type=EXISTING_FILE,
    help="The previous review's results.json: adds 'Changes since the last review' and "
    "evaluates the policy's change checks.",
)
@click.option(
    "--previous-model",
    "previous_model_path",
    type=EXISTING_FILE,
    help="The previous review's model file (its SHA-256 must be the one that review "
    "recorded), to compare the two networks' decisions on this review's data; only with "
    "--previous. Same formats and --allow-pickle as --model.",
)
@click.option(
    "--previous-spec",
    "previous_spec_path",
    type=EXISTING_FILE,
    help="Architecture spec of --previous-model when it is a state_dict or .safetensors file.",
)
@TEMPLATES_OPTION
@NO_PDF_OPTION
@QUIET_OPTION
@VERBOSE_OPTION
@DEBUG_OPTION
def run(
    model_path: Path,
    spec_path: Path | None,
    data_path: str,
    test_data_path: Path | None,
    oot_data_path: Path | None,
    target: str,
    features: str | None,
    drop: str | None,
    policy_path: Path | None,
    data_dictionary_path: Path | None,
    out_dir: Path,
    link: str | None,
    classes: str | None,
    classes_shown: str | None,
    min_samples: int,
    disclosure_min_samples: int,
    top_regions: int,
    profile_features: int,
    profile_regions: int,
    chunk_size: int,
    analysis_rows: int,
    engine: str,
    scheduler: str | None,
    merge_mode: str,
    merge_clusters: tuple[int, ...],
    merge_neighbors: int,
    merge_min_samples: int,
    allow_pickle: bool,
    explain_rows: str | None,
    review_path: Path | None,
    previous_path: Path | None,
    previous_model_path: Path | None,
    previous_spec_path: Path | None,
    templates_dir: Path | None,
    no_pdf: bool,
    quiet: bool,
    verbose: bool,
    debug: bool,
) -> None:
    """Analyse a model on data and write report.html, report.pdf and results.json to --out."""
    from govreport import api
    from govreport.explain import parse_rows
    from govreport.outputs import probe_out_dir
    from govreport.policy import format_policy_summary
    from govreport.resources import default_policy_path

    if previous_model_path is not None and previous_path is None:
        raise click.UsageError(
            "--previous-model needs --previous (the review it was validated in)",
            click.get_current_context(),
        )
    if scheduler is not None and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask", click.get_current_context())
    if previous_spec_path is not None and previous_model_path is None:
        raise click.UsageError(
            "--previous-spec needs --previous-model", click.get_current_context()
        )

    def action() -> int:
        probe_out_dir(out_dir)  # before anything is loaded: a bad --out fails fast
        outcome = api.run(
            model=model_path,
            data=data_path,
            target=target,
            policy=policy_path,
            test_data=test_data_path,
            review=review_path,
            oot_data=oot_data_path,
            data_dictionary=data_dictionary_path,
            spec=spec_path,
            features=split_names(features, "--features"),
            drop=split_names(drop, "--drop") or (),
            link=link,
            classes=split_names(classes, "--classes"),
            classes_shown=split_names(classes_shown, "--classes-shown"),
            min_samples=min_samples,
            disclosure_min_samples=disclosure_min_samples,
            top_regions=top_regions,
            profile_features=profile_features,
            profile_regions=profile_regions,
            chunk_size=chunk_size,
            analysis_rows=analysis_rows,
            engine=engine,
            scheduler=scheduler,
            merge_mode=merge_mode,
            merge_clusters=merge_clusters,
            merge_neighbors=merge_neighbors,
            merge_min_samples=merge_min_samples,
            allow_pickle=allow_pickle,
            explain_rows=(
                parse_rows(explain_rows, "--explain-rows") if explain_rows is not None else ()
            ),
            previous=previous_path,
            previous_model=previous_model_path,
            previous_spec=previous_spec_path,
            run_time=api.run_time_now(),
            command=shlex.join(["govreport", *sys.argv[1:]]),
        )
        written = api.render(
            outcome.results,
            out_dir,
            pdf=not no_pdf,
            templates=templates_dir,
            policy=policy_path or default_policy_path(),
        )
        for path in written:
            click.echo(f"wrote {path}")
        click.echo(format_policy_summary(outcome.evaluation))
        return outcome.exit_code

    guarded(debug, with_progress(action, quiet=quiet, verbose=verbose))


@click.command()
@click.argument("results_path", metavar="RESULTS_JSON", type=EXISTING_FILE)
@OUT_DIR_OPTION
@TEMPLATES_OPTION
@NO_PDF_OPTION
@QUIET_OPTION
@VERBOSE_OPTION
@DEBUG_OPTION
def render(
    results_path: Path,
    out_dir: Path,
    templates_dir: Path | None,
    no_pdf: bool,
    quiet: bool,
    verbose: bool,
    debug: bool,
) -> None:
    """Rebuild report.html and report.pdf from a results.json alone, without recomputation."""
    from govreport import api
    from govreport.outputs import probe_out_dir

    def action() -> int:
        probe_out_dir(out_dir)  # before anything is loaded: a bad --out fails fast
        results = api.load_results(results_path)
        written = api.render(
            results, out_dir, pdf=not no_pdf, templates=templates_dir, rerendered_from=results_path
        )
        for path in written:
            click.echo(f"wrote {path}")
        return 0

    guarded(debug, with_progress(action, quiet=quiet, verbose=verbose))


@click.command()
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
    from govreport.outputs import write_file

    def action() -> int:
        document = explain_document(
            model_path,
            data_path,
            target,
            parse_rows(rows),
            neuron=neuron,
            spec_path=spec_path,
            features=split_names(features, "--features"),
            drop=split_names(drop, "--drop") or (),
            link=link,  # type: ignore[arg-type]
            allow_pickle=allow_pickle,
        )
        text = json.dumps(document, indent=2, allow_nan=False) + "\n"
        write_file(out_path, text.encode("utf-8"))
        click.echo(f"wrote {out_path}")
        return 0

    guarded(debug, action)


@click.command("check-policy")
@click.argument("policy_path", type=EXISTING_FILE)
@DEBUG_OPTION
def check_policy(policy_path: Path, debug: bool) -> None:
    """Validate a policy file alone (exit 0 if valid, 2 with the fault's line and key if not)."""
    from govreport.policy import load_policy

    def action() -> int:
        policy = load_policy(policy_path)
        click.echo(f"{policy_path}: valid policy with {len(policy.checks)} check(s)")
        return 0

    guarded(debug, action)


@click.command("metrics")
def list_metrics() -> None:
    """List the metric ids a policy check may reference."""
    from govreport.metrics import METRICS

    for spec in METRICS.values():
        scope = "per data set" if spec.per_dataset else "model"
        click.echo(f"{spec.metric_id:34} [{spec.unit}; {spec.better} is better; {scope}]")
        click.echo(f"    {spec.description}")
        if spec.params:
            click.echo(f"    params: {', '.join(spec.params)}")


@click.command()
@click.argument("previous_path", metavar="OLD_RESULTS_JSON", type=EXISTING_FILE)
@click.argument("current_path", metavar="NEW_RESULTS_JSON", type=EXISTING_FILE)
@OUT_DIR_OPTION
@NO_PDF_OPTION
@DEBUG_OPTION
def diff(previous_path: Path, current_path: Path, out_dir: Path, no_pdf: bool, debug: bool) -> None:
    """Compare two reviews: comparison.html/.pdf/.json and changes.xml (JUnit) in --out."""
    from govreport import api
    from govreport.outputs import probe_out_dir

    def action() -> int:
        probe_out_dir(out_dir)
        written, worsened = api.diff(previous_path, current_path, out_dir, pdf=not no_pdf)
        for path in written:
            click.echo(f"wrote {path}")
        click.echo(f"{worsened} check(s) worsened since the last review")
        return 1 if worsened else 0

    guarded(debug, action)
