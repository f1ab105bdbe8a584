"""The outputs a section draws: every class of a multiclass model (or the user's
``--classes-shown``), the one output otherwise."""

from __future__ import annotations

from govreport.classes import shown_outputs
from govreport.errors import InputError
from govreport.results.schema import Results

__all__ = ["class_phrase", "is_multiclass", "shown"]


def is_multiclass(results: Results) -> bool:
    """True for a multiclass classifier."""
    return results.model.task == "multiclass"


def shown(results: Results) -> list[tuple[int, str]]:
    """(output index, class name) of each output the report draws, in output order."""
    names = tuple(results.model.output_names) or ("output",)
    requested = results.run.options.classes_shown
    try:
        indices = shown_outputs(names, requested, multiclass=is_multiclass(results))
    except InputError:  # an edited results file: draw every class rather than fail
        indices = tuple(range(len(names))) if is_multiclass(results) else (0,)
    return [(k, names[k]) for k in indices]


def class_phrase(name: str) -> str:
    """``"class mid"`` for a label ``mid``; a default name ``class 0`` stays as it is."""
    return name if name.startswith("class ") else f"class {name}"
