"""Simplification: a few refitted linear models in place of the network (ALGORITHMS.md §1.6).

- :mod:`.merging`: merging the training regions into clusters (Aletheia's merger);
- :mod:`.refit`: one linear model per cluster, prediction, fidelity to the network;
- :mod:`.search`: choosing the number of clusters on held-out training rows;
- :mod:`.stage`: the stage (``run(ctx) -> SimplificationResult``, ``observed``) and its
  result types.
"""

from govreport.analyses.simplify.search import DEFAULT_GRID

__all__ = ["DEFAULT_GRID"]
