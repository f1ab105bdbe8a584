"""The bad-input corpus: one :class:`Case` per bad input (see ``tests/test_corpus.py``).

:mod:`corpus.base` builds the inputs (the tiny simulation model, 200 training and
80 test rows, a valid policy, review and spec); the case modules register the
cases, each a command line with one bad input and the texts its one-line message
must hold.
"""

from __future__ import annotations

import corpus.data_model
import corpus.policy_review
import corpus.results_options  # noqa: F401  (each registers its cases)
from corpus.base import CASES, POLICY, REVIEW, SPEC, Case, Inputs, make_inputs

__all__ = ["CASES", "POLICY", "REVIEW", "SPEC", "Case", "Inputs", "make_inputs"]
