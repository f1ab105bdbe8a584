"""The command line: a thin layer over the Python API (:mod:`govreport.api`).

- :mod:`~govreport.cli.options`: every shared option, declared once, with the
  defaults of :data:`govreport.config.DEFAULTS`;
- :mod:`~govreport.cli.boundary`: the one place errors become exit codes;
- :mod:`~govreport.cli.commands`: ``run``, ``render``, ``explain``,
  ``check-policy``, ``metrics``: parse, call, echo.

Exit codes: 0 all checks pass (or pass with waivers), 1 a check at or above the
policy gate failed (the report is still written), 2 bad input (model, data,
policy, options), 3 internal error (rerun with ``--debug`` for the traceback).
"""

from __future__ import annotations

import click

from govreport import __version__
from govreport.cli.commands import check_policy, explain, list_metrics, render, run

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="govreport")
def cli() -> None:
    """Open a ReLU network exactly, check it against a policy, write its validation report."""


for _command in (run, render, explain, check_policy, list_metrics):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="govreport")
