"""The Insens stage: ``run(ctx) -> InsensResult`` (``results["insens"]``) and ``observed``.

It ties together :mod:`.insens` (data-set summaries of Ω), :mod:`.projections`
(worked examples of the switched linear projection) and :mod:`.attribution`
(robustness table), and lists the observed metric values for the policy.

Privacy: the worked examples use *region centres* (means of at least
``disclosure_min_samples`` training samples), never individual rows, unless the
user names rows explicitly (``--explain-rows``), which the report then says.
A centre is a point of input space in its own right: it may fall in a
different activation region than the samples it averages, so its projection
is computed at the centre itself and the region it lies in is stated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from govreport import progress
from govreport.analyses.context import AnalysisContext, feature_scale
from govreport.analyses.insens.attribution import AttributionRobustness, attribution_robustness
from govreport.analyses.insens.insens import (
    DEFAULT_MIN_NORM,
    InsensSummary,
    insens,
    summarize_insens,
)
from govreport.analyses.insens.projections import DEFAULT_PROJECTION_CHUNK, project_points
from govreport.disclosure import can_disclose
from govreport.errors import InputError
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray, Network
from govreport.regions import RegionTable

__all__ = [
    "ExampleFeature",
    "ExplainRowsError",
    "InsensResult",
    "WorkedExample",
    "check_rows",
    "insens_stage",
    "observed",
    "run",
]

#: Region centres used as worked examples.
EXAMPLE_POINTS = 3
#: Rows of the seeded subsample of the robustness table.
ROBUSTNESS_ROWS = 2000
#: Largest number of rows per data set the Insens summaries are computed on: above it, a
#: seeded sample of this many rows (the summaries are means and shares; at this size their
#: sampling error is far below the precision the report prints).
SUMMARY_MAX_ROWS = 100_000
#: The JSON writes a key with this metadata only when its value is not None.


class ExplainRowsError(InputError):
    """A row index given to explain is not a row of the data."""


@dataclass(frozen=True, slots=True)
class ExampleFeature:
    """One feature of a worked example: the projection's values and Ω_j at the point."""

    __pydantic_config__ = JSON_CONFIG

    name: str
    x: Float
    weight: Float
    centre: Number
    contribution: Number
    omega: Float


@dataclass(frozen=True, slots=True)
class WorkedExample:
    """The switched projection of the output neuron and Insens at one point.

    ``kind``: a training region's centre (``region``: its rank, ``count``: its samples,
    ``in_own_region``: whether the centre lies in that region) or a row the user named
    (``row``). ``centre_region``: rank of the training region the point lies in (None: a
    pattern no training sample has).
    """

    __pydantic_config__ = JSON_CONFIG

    layer: int
    neuron: int
    is_output: bool
    activity: Float
    active: bool
    bias: Float
    gradient_norm: Float
    distance_to_switch: Number
    features: tuple[ExampleFeature, ...]
    insens_empty: bool
    insens_neurons: int
    kind: Literal["region_centre", "row"]
    centre_region: int | None
    region: int | None = field(default=None, metadata=OMIT_IF_NONE)
    count: int | None = field(default=None, metadata=OMIT_IF_NONE)
    in_own_region: bool | None = field(default=None, metadata=OMIT_IF_NONE)
    row: int | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class InsensResult:
    """Insens of the run: summaries per data set, worked examples, robustness table.

    ``space``: Ω is measured in standard deviations of the training data;
    ``explained_rows``: the rows named with ``--explain-rows`` (None: none named).
    """

    __pydantic_config__ = JSON_CONFIG

    space: Literal["standardised"]
    min_norm: Float
    summaries: dict[str, InsensSummary]
    examples: tuple[WorkedExample, ...]
    explained_rows: tuple[WorkedExample, ...] | None
    robustness: AttributionRobustness
    disclosure_min_samples: int


def check_rows(rows: Sequence[int], n_rows: int, where: str) -> None:
    """Raise :class:`ExplainRowsError` unless every row index is in 0..n_rows − 1."""
    for row in rows:
        if not 0 <= int(row) < n_rows:
            raise ExplainRowsError(
                f"{where}: row {row} does not exist; rows are numbered 0..{n_rows - 1} "
                "(data rows after the header, first row = 0)"
            )


def _locate(table: RegionTable, packed: np.ndarray) -> int | None:
    """Index of the training region with this packed pattern, or None."""
    if table.patterns.shape[1] != packed.shape[0]:
        return None
    hits = np.flatnonzero(np.all(table.patterns == packed[None, :], axis=1))
    return int(hits[0]) if hits.size else None


def _example(
    network: Network,
    table: RegionTable,
    point: FloatArray,
    names: Sequence[str],
    scale: FloatArray,
    multiclass: bool,
    *,
    region: int | None = None,
    count: int | None = None,
    row: int | None = None,
) -> WorkedExample:
    """The worked example at ``point``: a region centre (``region``, ``count``) or a ``row``."""
    output = int(network.forward_logits(point[None, :])[0].argmax()) if multiclass else 0
    (projection,) = project_points(network, point[None, :], names, neuron=output, scale=scale)
    omega = insens(network, point[None, :], scale=scale)
    located = _locate(table, np.packbits(network.activation_patterns(point[None, :]), axis=1)[0])
    return WorkedExample(
        layer=projection.layer,
        neuron=projection.neuron,
        is_output=projection.is_output,
        activity=projection.activity,
        active=projection.active,
        bias=projection.bias,
        gradient_norm=projection.gradient_norm,
        distance_to_switch=projection.distance_to_switch,
        features=tuple(
            ExampleFeature(
                name=f.name,
                x=f.x,
                weight=f.weight,
                centre=f.centre,
                contribution=f.contribution,
                omega=float(omega.omega[0, j]),
            )
            for j, f in enumerate(projection.features)
        ),
        insens_empty=bool(omega.empty[0]),
        insens_neurons=int(omega.inactive[0].sum()),
        kind="row" if row is not None else "region_centre",
        centre_region=None if located is None else located + 1,
        region=None if region is None else region + 1,
        count=count,
        in_own_region=None if region is None else located == region,
        row=row,
    )


def insens_stage(
    network: Network,
    task: str,
    names: Sequence[str],
    train_x: FloatArray,
    train_y: FloatArray,
    train_table: RegionTable,
    *,
    test_x: FloatArray | None = None,
    test_y: FloatArray | None = None,
    disclosure_min_samples: int,
    seed: int,
    explain_rows: Sequence[int] = (),
    chunk_size: int = DEFAULT_PROJECTION_CHUNK,
    robustness_rows: int = ROBUSTNESS_ROWS,
    scale: FloatArray | None = None,
    summary_max_rows: int | None = SUMMARY_MAX_ROWS,
) -> InsensResult:
    """Compute the Insens result (see the module docstring).

    Ω is computed in standard deviations of the training data (``scale``, default
    :func:`~govreport.analyses.context.feature_scale` of ``train_x``). The robustness
    table uses the test data when given, else the training data. Above
    ``summary_max_rows`` rows (None: no limit) a data set's summaries come from a seeded
    sample of that many rows (``seed``; see :func:`~.insens.summarize_insens`).
    """
    mean = np.asarray(train_x, dtype=np.float64).mean(axis=0)
    scale = feature_scale(train_x) if scale is None else scale
    chunk = max(1, min(chunk_size, DEFAULT_PROJECTION_CHUNK))
    check_rows(explain_rows, train_x.shape[0], "--explain-rows")

    def summary_rows(n: int) -> int:
        return n if summary_max_rows is None else min(n, summary_max_rows)

    def summary(x: FloatArray) -> InsensSummary:
        return summarize_insens(
            network, x, names, scale=scale, chunk_size=chunk, max_rows=summary_max_rows, seed=seed
        )

    progress.part("training data", summary_rows(train_x.shape[0]))
    summaries = {"train": summary(train_x)}
    if test_x is not None:
        progress.part("test data", summary_rows(test_x.shape[0]))
        summaries["test"] = summary(test_x)

    multiclass = task == "multiclass"
    examples: list[WorkedExample] = []
    for region in range(train_table.n_regions):
        if len(examples) >= EXAMPLE_POINTS:
            break
        count = int(train_table.counts[region])
        if not can_disclose(count, disclosure_min_samples):
            break  # regions are sorted by count: no later region qualifies
        centre = np.asarray(train_table.centers[region], dtype=np.float64)
        examples.append(
            _example(
                network, train_table, centre, names, scale, multiclass, region=region, count=count
            )
        )
    rows = tuple(
        _example(
            network,
            train_table,
            np.asarray(train_x[int(row)], dtype=np.float64),
            names,
            scale,
            multiclass,
            row=int(row),
        )
        for row in explain_rows
    )

    use_test = test_x is not None and test_y is not None
    progress.part("robustness of the attribution methods")
    robust = attribution_robustness(
        network,
        test_x if use_test else train_x,  # type: ignore[arg-type]
        test_y if use_test else train_y,  # type: ignore[arg-type]
        task=task,
        mean=mean,
        scale=scale,
        seed=seed,
        dataset="test" if use_test else "train",
        max_rows=robustness_rows,
    )
    return InsensResult(
        space="standardised",
        min_norm=DEFAULT_MIN_NORM,
        summaries=summaries,
        examples=tuple(examples),
        explained_rows=rows if explain_rows else None,
        robustness=robust,
        disclosure_min_samples=int(disclosure_min_samples),
    )


def run(ctx: AnalysisContext) -> InsensResult:
    """Insens of the data sets of ``ctx``, in units of ``ctx.feature_scale``."""
    train, test = ctx.train.dataset, None if ctx.test is None else ctx.test.dataset
    options = ctx.options
    return insens_stage(
        ctx.network,
        ctx.task,
        ctx.feature_names,
        train.x,
        train.y,
        ctx.train.extraction.table,
        test_x=None if test is None else test.x,
        test_y=None if test is None else test.y,
        disclosure_min_samples=options.disclosure_min_samples,
        seed=options.seed,
        explain_rows=options.explain_rows,
        chunk_size=options.chunk_size,
        scale=ctx.feature_scale,
    )


def observed(result: InsensResult) -> dict[MetricKey, float]:
    """Policy metric values, keyed ``(metric id, data set)``."""
    values: dict[MetricKey, float] = {}
    for name, summary in result.summaries.items():
        values[("insens.inactive_share", name)] = summary.inactive_share
        values[("insens.skipped_neurons", name)] = float(summary.skipped_neurons)
        values[("insens.empty_share", name)] = summary.empty_samples / max(summary.n_samples, 1)
    robust = result.robustness
    at = robust.noise_scales.index(0.05) if 0.05 in robust.noise_scales else 0
    for m, method in enumerate(robust.methods):
        values[(f"attribution.stability_cosine_{method}", "")] = robust.stability[m][at]
    insens_mask = robust.masked[robust.methods.index("insens")]
    if insens_mask.low_change is not None and insens_mask.high_change is not None:
        values[("attribution.masked_noise_gap_insens", "")] = (
            insens_mask.high_change - insens_mask.low_change
        )
    return values
