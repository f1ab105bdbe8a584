"""Property tests: every loader loads its input or raises InputError, never anything else.

Bounded (about 50 examples per loader, no deadline); ``benchmarks/fuzz.py`` runs
the same targets for minutes. The inputs are valid documents with random edits
(values replaced, keys deleted or renamed, text inserted) and random text.
"""

from __future__ import annotations

import pytest
from corpus.fuzzing import TARGETS, check
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("loader", sorted(TARGETS))
def test_loader_raises_only_input_errors(loader: str) -> None:
    strategy = TARGETS[loader][1]()

    @SETTINGS
    @given(text=strategy)
    def property_holds(text: str) -> None:
        check(loader, text)

    property_holds()


@SETTINGS
@given(st.data())
def test_the_strategies_produce_text(data: st.DataObject) -> None:
    for loader in sorted(TARGETS):
        assert isinstance(data.draw(TARGETS[loader][1]()), str)
