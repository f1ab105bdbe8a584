"""Disclosure control: no raw data rows in any output.

A statistic of the inputs computed over a handful of samples is, in effect, a
data row: the mean of a one-sample region *is* that sample, and the range of a
two-sample region gives both values of each feature. Every analysis that
outputs per-region or per-cluster statistics of ``x`` (means, minima, maxima,
distinct values, densities) asks :func:`can_disclose` first and withholds the
statistic (``None`` in results.json, "withheld" in the report) for groups
smaller than the threshold (``RunConfig.disclosure_min_samples``, CLI
``--disclosure-min-samples``, default :data:`DEFAULT_DISCLOSURE_MIN_SAMPLES`).
Statistics of the model (local coefficients, intercepts, counts) are never
withheld: they describe the network, not a person.
"""

from __future__ import annotations

__all__ = ["DEFAULT_DISCLOSURE_MIN_SAMPLES", "WITHHELD_NOTE", "can_disclose"]

#: Default smallest group whose input statistics may appear in an output.
DEFAULT_DISCLOSURE_MIN_SAMPLES = 10

WITHHELD_NOTE = (
    "withheld: fewer samples than the disclosure threshold (--disclosure-min-samples), "
    "so the value would reveal individual rows"
)


def can_disclose(count: int, minimum: int) -> bool:
    """Whether statistics of the inputs of a group of ``count`` samples may be output."""
    return int(count) >= int(minimum)
