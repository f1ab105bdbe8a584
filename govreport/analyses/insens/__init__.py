"""Insens and the switched linear projection (ALGORITHMS.md §3).

- :mod:`.projections`: the switched linear projection of one neuron (worked examples);
- :mod:`.insens`: Ω, the mean sensitivity of the inactive hidden neurons, and its summaries;
- :mod:`.attribution`: robustness of Insens against the standard attribution methods;
- :mod:`.stage`: the stage (``run(ctx) -> InsensResult``, ``observed``) and its result types.
"""
