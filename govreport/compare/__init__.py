"""Periodic reviews: what changed since the last validation (issue 14).

:func:`~govreport.compare.review.compare_results` compares two results (any schema
version, migrated on load) into the typed :class:`~govreport.compare.types.ReviewComparison`.
"""

from __future__ import annotations

from govreport.compare.types import ReviewComparison

__all__ = ["ReviewComparison"]
