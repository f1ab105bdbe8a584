"""What every analysis stage receives: one :class:`AnalysisContext`.

The pipeline builds it once, after loading and region extraction; each analysis
is then ``run(ctx, ...) -> XResult`` (pure) and ``observed(result)`` (its policy
metrics). Nothing here reads files or renders anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from govreport.config import DEFAULTS
from govreport.inputs.data import Dataset, Task
from govreport.network import FloatArray, Network
from govreport.regions import Int64Array, RegionExtraction

__all__ = ["AnalysisContext", "AnalysisOptions", "DatasetRegions", "feature_scale"]

#: Columns per block of :func:`feature_scale` (at least 2: a one-column block is reduced
#: by pairwise summation, not row by row like the whole array).
_SCALE_COLUMNS = 4


def feature_scale(x: FloatArray) -> FloatArray:
    """The one feature scale (d,): population std (ddof 0) of each column of x (N, d).

    A constant column gets 1.0: it has no spread to measure, so its coefficient is
    reported per unit. Scale-aware importance, profiles, Insens distances and the
    sign checks' effect sizes all use this scale of the training data.
    """
    data = np.asarray(x, dtype=np.float64)
    # A few columns at a time: numpy's std makes a temporary copy of what it reduces, so
    # this holds N x 4 numbers instead of a second x. Each column still sums its rows in
    # the same order as the whole-array std, so the result is the same to the last bit.
    width = data.shape[1]
    blocks = []
    for j in range(0, width, _SCALE_COLUMNS):
        low = max(0, j - 1) if width - j == 1 else j  # a one-column tail: one more column
        blocks.append(data[:, low : j + _SCALE_COLUMNS].std(axis=0)[j - low :])
    sd = np.concatenate(blocks)
    return np.asarray(np.where(sd > 0, sd, 1.0), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """Options of the analyses (defaults: govreport.config)."""

    min_samples: int
    disclosure_min_samples: int
    top_regions: int
    profile_features: int
    profile_regions: int
    chunk_size: int
    seed: int
    explain_rows: tuple[int, ...]
    merge_mode: str
    merge_clusters: tuple[int, ...]
    merge_neighbors: int
    merge_min_samples: int
    #: Share of samples the largest regions must hold for the region-level layout.
    regime_min_coverage: float = DEFAULTS.regime_min_coverage


@dataclass(frozen=True, slots=True)
class DatasetRegions:
    """One data set with its regions.

    ``matches``: for a data set other than training, (R_data,) index of the training
    region with the same activation pattern, or -1 for a pattern unseen in training;
    None for the training set itself.
    """

    dataset: Dataset
    extraction: RegionExtraction
    matches: Int64Array | None = None

    @property
    def name(self) -> str:
        return self.dataset.name


@dataclass(frozen=True, slots=True)
class AnalysisContext:
    """Network, task, names, the one feature scale and the data sets with their regions.

    ``feature_scale``: (d,) :func:`feature_scale` of the training rows. ``oot``: the
    out-of-time data set (``--oot-data``), a third data set after the test set.
    ``outputs_shown``: the outputs the per-class views are made for (every class of a
    multiclass model or the user's ``--classes-shown``; output 0 otherwise).
    """

    network: Network
    task: Task
    feature_names: tuple[str, ...]
    output_names: tuple[str, ...]
    feature_scale: FloatArray
    train: DatasetRegions
    test: DatasetRegions | None
    options: AnalysisOptions
    oot: DatasetRegions | None = None
    outputs_shown: tuple[int, ...] = (0,)

    @property
    def datasets(self) -> tuple[DatasetRegions, ...]:
        """Training first, then the holdout and the out-of-time data when there are."""
        return tuple(d for d in (self.train, self.test, self.oot) if d is not None)
