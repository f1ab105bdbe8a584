"""The classes of a multiclass model that the report draws (``--classes-shown``).

A multiclass network has one output per class; the report draws one table or figure per
shown class. The user names classes by their labels (the output names: text labels, or
``class k`` for integer labels, which may also be named by ``k`` alone). Light module:
the pipeline checks the names before any analysis runs, the render reads the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from govreport.errors import InputError

__all__ = ["shown_outputs"]


def _index(name: str, output_names: Sequence[str]) -> int | None:
    names = list(output_names)
    for candidate in (name, f"class {name}"):
        if candidate in names:
            return names.index(candidate)
    return None


def shown_outputs(
    output_names: Sequence[str], requested: Sequence[str] | None, *, multiclass: bool
) -> tuple[int, ...]:
    """Indices of the outputs to draw, in the model's output order.

    ``requested`` None: every class (multiclass) or the one output. A name that is not a
    class raises :class:`InputError` (exit 2); so does ``requested`` for a model that is not
    multiclass.
    """
    if requested is None:
        return tuple(range(len(output_names))) if multiclass else (0,)
    if not multiclass:
        raise InputError("--classes-shown: applies to multiclass models only; this one is not")
    chosen = set()
    for name in requested:
        index = _index(name, output_names)
        if index is None:
            raise InputError(
                f"--classes-shown: {name!r} is not a class of the model; classes: "
                f"{', '.join(output_names)}"
            )
        chosen.add(index)
    return tuple(sorted(chosen))
