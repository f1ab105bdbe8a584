"""Every option shared by several commands, declared once; defaults from ``config.DEFAULTS``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from govreport.config import DEFAULTS, MERGE_MODES, MINIMUMS

F = TypeVar("F", bound=Callable[..., Any])

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
TEMPLATES_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


def split_names(value: str | None, option: str | None = None) -> tuple[str, ...] | None:
    """``"a, b"`` -> ``("a", "b")``; None stays None; an empty list is a usage error."""
    if value is None:
        return None
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise click.BadParameter(f"{value!r}: give at least one column name", param_hint=option)
    return names


def merge_grid(value: str) -> tuple[int, ...]:
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


def tunable(name: str, help: str) -> Callable[[F], F]:
    """``--<name>``: an integer option whose default and bound come from the config tables."""
    return click.option(
        f"--{name.replace('_', '-')}",
        type=click.IntRange(min=MINIMUMS[name]),
        default=getattr(DEFAULTS, name),
        show_default=True,
        help=help,
    )


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
CLASSES_OPTION = click.option(
    "--classes",
    help="Comma-separated text labels of the target in the model's output order "
    "(default: sorted); the report names the classes by them.",
)
CLASSES_SHOWN_OPTION = click.option(
    "--classes-shown",
    help="Comma-separated classes of a multiclass model that the report draws one table or "
    "figure for (default: every class).",
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
DATA_DICTIONARY_OPTION = click.option(
    "--data-dictionary",
    "data_dictionary_path",
    type=EXISTING_FILE,
    help="Data dictionary YAML: per feature its type (continuous, ordinal, categorical), "
    "allowed codes or range, unit, description and whether it is protected (data quality, "
    "fairness).",
)
OOT_DATA_OPTION = click.option(
    "--oot-data",
    "oot_data_path",
    type=EXISTING_FILE,
    help="Out-of-time data with the training features: .csv or .parquet (a third data set: "
    "performance, region census, data quality, stability, fairness).",
)
NO_PDF_OPTION = click.option("--no-pdf", is_flag=True, help="Skip the PDF (HTML and JSON only).")
DEBUG_OPTION = click.option("--debug", is_flag=True, help="Show tracebacks.")
QUIET_OPTION = click.option(
    "-q", "--quiet", is_flag=True, help="No progress lines on stderr (errors are still shown)."
)
VERBOSE_OPTION = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Print each stage's wall time on stderr (also in a terminal-less log) and record "
    "the stage times in results.json's run provenance.",
)

# The tunable options of `govreport run`, in --help order.
MIN_SAMPLES_OPTION = tunable("min_samples", "Samples a region needs to count as large.")
DISCLOSURE_MIN_SAMPLES_OPTION = tunable(
    "disclosure_min_samples",
    "Samples a region or cluster needs before any statistic of its inputs is shown.",
)
TOP_REGIONS_OPTION = tunable("top_regions", "Regions shown in the LLM summary table.")
PROFILE_FEATURES_OPTION = tunable("profile_features", "Features with a local linear profile plot.")
PROFILE_REGIONS_OPTION = tunable("profile_regions", "Regions drawn in each profile plot.")
ANALYSIS_ROWS_OPTION = tunable(
    "analysis_rows",
    "Rows a data set may have before the analyses use a seeded sample of this many rows "
    "(every row is still read and checked; the region census counts all training rows; "
    "the report says so).",
)
CHUNK_SIZE_OPTION = tunable(
    "chunk_size",
    "Rows per block where the network is evaluated on the data (region extraction and the "
    "conversion check); bounds the memory of those steps, not of the whole run.",
)
MERGE_MODE_OPTION = click.option(
    "--merge-mode",
    type=click.Choice(list(MERGE_MODES)),
    default=DEFAULTS.merge_mode,
    show_default=True,
    help="Region merging: 'aletheia' (Ward over all regions, as the reference code), "
    "'scalable' (through micro-clusters), 'auto' (scalable above 20,000 regions).",
)
MERGE_CLUSTERS_OPTION = click.option(
    "--merge-clusters",
    default=",".join(str(k) for k in DEFAULTS.merge_clusters),
    show_default=True,
    callback=lambda _ctx, _param, value: merge_grid(value),
    help="Comma-separated numbers of merged clusters K to choose from on held-out data.",
)
MERGE_NEIGHBORS_OPTION = tunable(
    "merge_neighbors", "Neighbours of each region centre in the merging connectivity graph."
)
MERGE_MIN_SAMPLES_OPTION = tunable(
    "merge_min_samples",
    "Merged clusters with at most this many samples are absorbed by the nearest larger one.",
)
