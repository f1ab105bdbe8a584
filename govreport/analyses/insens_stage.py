"""The Insens stage of the pipeline: one call that returns the ``results["insens"]`` fragment.

It ties together :mod:`govreport.analyses.insens` (data-set summaries of Ω),
:mod:`govreport.analyses.projections` (worked examples of the switched linear
projection) and :mod:`govreport.analyses.attribution` (robustness table), and
lists the observed metric values for the policy.

Privacy: the worked examples use *region centres* (means of at least
``disclosure_min_samples`` training samples), never individual rows, unless the
user names rows explicitly (``--explain-rows``), which the report then says.
A centre is a point of input space in its own right: it may fall in a
different activation region than the samples it averages, so its projection
is computed at the centre itself and the region it lies in is stated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from govreport.analyses.attribution import attribution_robustness
from govreport.analyses.insens import DEFAULT_MIN_NORM, insens, summarize_insens
from govreport.analyses.projections import DEFAULT_PROJECTION_CHUNK, explain_samples
from govreport.disclosure import can_disclose
from govreport.errors import InputError
from govreport.metrics import MetricKey
from govreport.network import FloatArray, PiecewiseLinearNetwork
from govreport.regions import RegionTable
from govreport.results import to_jsonable

__all__ = ["ExplainRowsError", "InsensStage", "check_rows", "feature_scale", "insens_stage"]

#: Region centres used as worked examples.
EXAMPLE_POINTS = 3
#: Rows of the seeded subsample of the robustness table.
ROBUSTNESS_ROWS = 2000


class ExplainRowsError(InputError):
    """A row index given to explain is not a row of the data."""


@dataclass(frozen=True, slots=True)
class InsensStage:
    """``document``: the JSON-able ``results["insens"]``; ``observed``: policy metric values."""

    document: dict[str, Any]
    observed: dict[MetricKey, float]


def feature_scale(x: FloatArray) -> FloatArray:
    """Per-feature standard deviation of x (N, d), with 1.0 for constant features."""
    sd = np.asarray(x, dtype=np.float64).std(axis=0)
    return np.where(sd > 0, sd, 1.0)


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


def _explanation(
    network: PiecewiseLinearNetwork,
    point: FloatArray,
    names: Sequence[str],
    scale: FloatArray,
    output: int,
) -> dict[str, Any]:
    entry = explain_samples(network, point[None, :], list(names), neuron=output, scale=scale)[0]
    omega = insens(network, point[None, :], scale=scale)
    for j, feature in enumerate(entry["features"]):
        feature["omega"] = float(omega.omega[0, j])
    entry["insens_empty"] = bool(omega.empty[0])
    entry["insens_neurons"] = int(omega.inactive[0].sum())
    return entry


def insens_stage(
    network: PiecewiseLinearNetwork,
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
) -> InsensStage:
    """Compute the Insens fragment of the results (see the module docstring).

    Ω is computed in standard deviations of the training data (``feature_scale``).
    The robustness table uses the test data when given, else the training data.
    """
    mean = np.asarray(train_x, dtype=np.float64).mean(axis=0)
    scale = feature_scale(train_x)
    chunk = max(1, min(chunk_size, DEFAULT_PROJECTION_CHUNK))
    check_rows(explain_rows, train_x.shape[0], "--explain-rows")
    summaries = {"train": summarize_insens(network, train_x, names, scale=scale, chunk_size=chunk)}
    if test_x is not None:
        summaries["test"] = summarize_insens(network, test_x, names, scale=scale, chunk_size=chunk)

    multiclass = task == "multiclass"
    examples: list[dict[str, Any]] = []
    for region in range(train_table.n_regions):
        if len(examples) >= EXAMPLE_POINTS:
            break
        count = int(train_table.counts[region])
        if not can_disclose(count, disclosure_min_samples):
            break  # regions are sorted by count: no later region qualifies
        centre = np.asarray(train_table.centers[region], dtype=np.float64)
        output = int(network.forward_logits(centre[None, :])[0].argmax()) if multiclass else 0
        entry = _explanation(network, centre, names, scale, output)
        located = _locate(
            train_table, np.packbits(network.activation_patterns(centre[None, :]), axis=1)[0]
        )
        entry.update(
            {
                "kind": "region_centre",
                "region": region + 1,
                "count": count,
                "centre_region": None if located is None else located + 1,
                "in_own_region": located == region,
            }
        )
        examples.append(entry)

    rows_doc = []
    for row in explain_rows:
        point = np.asarray(train_x[int(row)], dtype=np.float64)
        output = int(network.forward_logits(point[None, :])[0].argmax()) if multiclass else 0
        entry = _explanation(network, point, names, scale, output)
        located = _locate(
            train_table, np.packbits(network.activation_patterns(point[None, :]), axis=1)[0]
        )
        entry.update(
            {
                "kind": "row",
                "row": int(row),
                "centre_region": None if located is None else located + 1,
            }
        )
        rows_doc.append(entry)

    use_test = test_x is not None and test_y is not None
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
    document: dict[str, Any] = {
        "space": "standardised",
        "min_norm": DEFAULT_MIN_NORM,
        "summaries": {name: to_jsonable(s) for name, s in summaries.items()},
        "examples": to_jsonable(examples),
        "explained_rows": to_jsonable(rows_doc) if explain_rows else None,
        "robustness": to_jsonable(robust),
        "disclosure_min_samples": int(disclosure_min_samples),
    }
    observed: dict[MetricKey, float] = {}
    for name, summary in summaries.items():
        observed[("insens.inactive_share", name)] = summary.inactive_share
        observed[("insens.skipped_neurons", name)] = float(summary.skipped_neurons)
        observed[("insens.empty_share", name)] = summary.empty_samples / max(summary.n_samples, 1)
    at = robust.noise_scales.index(0.05) if 0.05 in robust.noise_scales else 0
    for m, method in enumerate(robust.methods):
        observed[(f"attribution.stability_cosine_{method}", "")] = robust.stability[m][at]
    insens_mask = robust.masked[robust.methods.index("insens")]
    if insens_mask.low_change is not None and insens_mask.high_change is not None:
        observed[("attribution.masked_noise_gap_insens", "")] = (
            insens_mask.high_change - insens_mask.low_change
        )
    return InsensStage(document=document, observed=observed)
