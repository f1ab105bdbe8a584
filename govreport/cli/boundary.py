"""The one place errors become exit codes and one-line messages.

A :class:`~govreport.errors.GovReportError` exits with its own code (2 for bad
input) and prints ``error: <message>``; anything else is an internal error
(exit 3). ``--debug`` adds the traceback. Ctrl-C and ``sys.exit`` pass through.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import NoReturn

import click

from govreport.errors import EXIT_INTERNAL, GovReportError

__all__ = ["fail", "guarded", "one_line"]

#: Longest message printed; the rest is cut (a 1 MB bad value stays out of the terminal).
MAX_MESSAGE = 2000


def one_line(message: str) -> str:
    """``message`` on one line (CR/LF and other control characters escaped), cut at a cap."""
    text = "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in message
    )
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def fail(message: str, code: int) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    click.echo(message, err=True)
    sys.exit(code)


def guarded(debug: bool, action: Callable[[], int]) -> NoReturn:
    """Run ``action`` and exit with its code; map errors to one-line messages and exit codes."""
    try:
        code = action()
    except GovReportError as error:
        if debug:
            traceback.print_exc()
        fail(f"error: {one_line(str(error))}", error.exit_code)
    except click.ClickException as error:  # a usage error found while running (--features ,)
        fail(f"error: {one_line(error.format_message())}", error.exit_code)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # the one place unexpected errors become exit code 3
        if debug:
            traceback.print_exc()
        fail(
            f"internal error: {type(error).__name__}: {one_line(str(error))} "
            "(rerun with --debug for the traceback, and report it)",
            EXIT_INTERNAL,
        )
    sys.exit(code)


def with_progress(action: Callable[[], int], *, quiet: bool, verbose: bool) -> Callable[[], int]:
    """``action`` with stage progress on stderr (:mod:`govreport.progress`): none with
    ``quiet`` or when stderr is not a terminal; per-stage wall times with ``verbose``."""
    from govreport import progress

    def reported() -> int:
        reporter = progress.terminal_reporter(sys.stderr, quiet=quiet, verbose=verbose)
        with progress.reporting(reporter):
            return action()

    return reported
