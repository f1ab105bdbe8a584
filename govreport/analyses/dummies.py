"""Pure-label ("dummy") regions (ALGORITHMS.md §1.3; Sudjianto et al. 2020).

A region is "dummy" when it holds at least two samples and its response is constant
(response std 0 in every column): its local model fits labels that never vary.
:func:`dummy_census` counts them for the region census
(:class:`govreport.analyses.census.RegionCensus` carries the counts);
:func:`dummy_mask` marks them in the LLM summary table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from govreport.regions import RegionTable

#: A region is "dummy" when its response std is at most this times max(1, |mean|).
DUMMY_TOLERANCE = 1e-12


@dataclass(frozen=True, slots=True)
class DummyCensus:
    """Pure-label ("dummy") regions: n_r >= 2 and every response column has std 0.

    ``dummy_share`` = dummy regions / regions with at least two samples (singletons are
    trivially pure and are left out); ``dummy_share_all_regions`` = dummy regions / all
    regions (Aletheia's ratio, which counts singletons in the denominator);
    ``samples_in_dummy_share`` = samples in dummy regions / all samples.
    """

    multi_sample_regions: int
    dummy_regions: int
    dummy_share: float
    dummy_share_all_regions: float
    samples_in_dummy_share: float


def dummy_mask(table: RegionTable) -> np.ndarray:
    """(R,) bool: region has >= 2 samples and a constant response (all columns)."""
    if table.response_std.shape[1] == 0:
        return np.zeros(table.n_regions, dtype=np.bool_)
    scale = np.maximum(1.0, np.abs(table.response_mean))
    with np.errstate(invalid="ignore"):
        flat = table.response_std <= DUMMY_TOLERANCE * scale  # NaN (singletons) -> False
    return (table.counts >= 2) & flat.all(axis=1)


def dummy_census(table: RegionTable) -> DummyCensus:
    """Dummy-region counts and shares of ``table`` (see :class:`DummyCensus`)."""
    dummy = dummy_mask(table)
    multi = int((table.counts >= 2).sum())
    n_dummy = int(dummy.sum())
    n_samples = int(table.counts.sum())
    return DummyCensus(
        multi_sample_regions=multi,
        dummy_regions=n_dummy,
        dummy_share=n_dummy / multi if multi else math.nan,
        dummy_share_all_regions=n_dummy / table.n_regions if table.n_regions else math.nan,
        samples_in_dummy_share=float(table.counts[dummy].sum() / n_samples)
        if n_samples
        else math.nan,
    )
