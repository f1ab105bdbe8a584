"""The command line: a thin layer over the Python API (:mod:`govreport.api`).

- :mod:`~govreport.cli.options`: every shared option, declared once, with the
  defaults of :data:`govreport.config.DEFAULTS`;
- :mod:`~govreport.cli.boundary`: the one place errors become exit codes;
- :mod:`~govreport.cli.commands`: ``run``, ``render``, ``diff``, ``explain``,
  ``check-policy``, ``metrics``: parse, call, echo.

Exit codes: 0 all checks pass (or pass with waivers), 1 a check at or above the
policy gate failed (the report is still written), 2 bad input (model, data,
policy, options), 3 internal error (rerun with ``--debug`` for the traceback).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from govreport import __version__
from govreport.cli.boundary import fail, one_line
from govreport.cli.commands import check_policy, diff, explain, list_metrics, render, run
from govreport.epoch import source_date_epoch
from govreport.errors import EXIT_BAD_INPUT, InputError

__all__ = ["cli", "main"]


class OneLineGroup(click.Group):
    """A click group whose usage errors are one line (``error: …``, exit 2), as ours are."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:  # bare `govreport`: the help
            error.show()
            sys.exit(error.exit_code)
        except click.ClickException as error:
            where = (
                error.ctx.command_path if isinstance(error, click.UsageError) and error.ctx else ""
            )
            hint = f" (see '{where} --help')" if where else ""
            fail(f"error: {one_line(error.format_message())}{hint}", error.exit_code)
        except click.Abort:
            fail("Aborted!", 1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="govreport")
def cli() -> None:
    """Open a ReLU network exactly, check it against a policy, write its validation report."""
    try:  # before any command imports what reads it (matplotlib, fontTools)
        source_date_epoch()
    except InputError as error:
        fail(f"error: {error}", EXIT_BAD_INPUT)


for _command in (run, render, diff, explain, check_policy, list_metrics):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="govreport")
