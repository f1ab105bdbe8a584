"""govreport: exact validation reports for piecewise-linear (ReLU) networks.

The Python API (the command line calls the same functions)::

    import govreport

    outcome = govreport.run(model="model.pt", data=train_frame, target="default")
    govreport.render(outcome.results, "out/")        # results.json, report.html, report.pdf
    results = govreport.load_results("out/results.json")

- :func:`run`: analyse a model (file or ``torch.nn.Sequential``) on data (file or
  pandas DataFrame) against a policy; returns an :class:`Outcome` (``results``,
  ``evaluation``, ``exit_code``).
- :func:`render`: write the report files of results into a directory.
- :func:`load_results`: read and validate a results.json.
- :data:`DEFAULTS`: the default of every tunable option; :class:`RunConfig`.
- Errors: :class:`GovReportError`; bad input is :class:`InputError` (and its
  subclasses), with the message the CLI prints.

Importing this package is light (no torch, pandas or matplotlib): the stages
load when :func:`run` or :func:`render` is called. The stages live in private
modules: :mod:`govreport.inputs`, :mod:`govreport.regions`,
:mod:`govreport.analyses`, :mod:`govreport.policy`, :mod:`govreport.render`,
joined by :mod:`govreport.pipeline`; :mod:`govreport.cli` is the command line.
"""

from __future__ import annotations

import sys
import types

__version__ = "0.1.0"

from govreport.api import Outcome, load_results, render, run
from govreport.config import DEFAULTS, RunConfig
from govreport.errors import (
    DataError,
    GovReportError,
    InputError,
    ModelError,
    PolicyError,
)

__all__ = [
    "DEFAULTS",
    "DataError",
    "GovReportError",
    "InputError",
    "ModelError",
    "Outcome",
    "PolicyError",
    "RunConfig",
    "__version__",
    "load_results",
    "render",
    "run",
]


class _Package(types.ModuleType):
    """This package, keeping the verb :func:`render` when the subpackage is imported.

    Importing ``govreport.render.html`` (as :func:`render` itself does) makes the
    import system bind the subpackage ``govreport.render`` to this package's name
    ``render``; the public function keeps that name. The subpackage stays
    importable by its full name (``from govreport.render.html import ...``).
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name == "render" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
