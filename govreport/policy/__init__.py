"""Policy files: schema, loading with precise errors, evaluation and waivers.

A policy file (YAML, ``schema_version: 1``) says which metrics to bound, how
severe each failure is, which severity fails the run (the gate) and which
failures a committee has waived, until when. Severity lives in the file, never
in code.

Three steps, each a plain function, one module each (``schema.py`` holds the
file's pydantic models and the immutable :class:`Policy` types):

* :func:`load_policy` (``load.py``) reads and validates a file into an immutable
  :class:`Policy`. Every problem becomes one :class:`~govreport.errors.PolicyError`
  line ``<file>:<line>: <key path>: <what was expected>``; line numbers come from
  the composed YAML node tree (:mod:`govreport.yamlfile`), key paths from
  pydantic's error locations.
* :func:`evaluate_policy` (``evaluate.py``) compares observed metric values with
  the checks. It is pure: the run date is passed in, never read from the clock.
  It is the only place a check's status (pass, fail, waived, not_evaluated) is
  decided; :meth:`PolicyEvaluation.record` gives the ``"policy"`` block of
  ``results.json`` as typed values (``record.py``), and :func:`check_status`
  reads a check's status back from that block for the report and checks.xml.
* :func:`format_policy_summary` (``summary.py``) renders a one-screen text
  summary for the CLI.

Evaluation rules, in short:

* A bound ``min`` fails when ``observed < min``; ``max`` fails when
  ``observed > max``; an observed NaN fails every bound. ``observed == min``
  passes.
* A check written with ``bands`` holds one bound per band, each with its own
  severity; the failed band with the highest severity decides.
* A metric the run did not produce is handled by ``on_missing``: ``fail``
  counts the check as failed at its worst severity, ``warn`` and ``skip`` leave
  it ``not_evaluated`` (``warn`` is meant to be looked at, ``skip`` marks a
  check that does not apply); neither ever gates.
* A waiver caps the severity of a failed check (``min(severity, cap)``) while
  its ``expires`` date is on or after the run date. Waived checks stay visible
  with both severities. An expired waiver is not applied and says so.
* A waiver on a sign check may have a ``scope``: the features (names or
  shell-style patterns) it covers. The cap then applies to those features only;
  the largest share among the features outside the scope is judged against the
  check's bands on its own and keeps its severity (the effective severity is the
  higher of the two). Such a waiver counts as applied only if it lowered the
  severity.
* A failed check gates when its effective severity is at or above
  ``gate.fail_on``. The outcome is ``fail`` if any check gates, else
  ``pass_with_waivers`` if a waiver was applied to a failed check, else
  ``pass``.
"""

from govreport.policy.evaluate import (
    CheckObservation,
    CheckResult,
    PolicyEvaluation,
    check_status,
    evaluate_policy,
)
from govreport.policy.load import load_policy, load_policy_text
from govreport.policy.record import (
    ApprovalRecord,
    CheckRecord,
    PolicyCounts,
    PolicyRecord,
    WaiverRecord,
)
from govreport.policy.schema import (
    DEFAULT_SEVERITY_LEVELS,
    SCHEMA_VERSION,
    Approval,
    Band,
    Check,
    CheckStatus,
    Policy,
    Waiver,
)
from govreport.policy.summary import SUMMARY_CHECK_LINES, format_policy_summary
from govreport.yamlfile import format_loc

__all__ = [
    "DEFAULT_SEVERITY_LEVELS",
    "SCHEMA_VERSION",
    "SUMMARY_CHECK_LINES",
    "Approval",
    "ApprovalRecord",
    "Band",
    "Check",
    "CheckObservation",
    "CheckRecord",
    "CheckResult",
    "CheckStatus",
    "Policy",
    "PolicyCounts",
    "PolicyEvaluation",
    "PolicyRecord",
    "Waiver",
    "WaiverRecord",
    "check_status",
    "evaluate_policy",
    "format_loc",
    "format_policy_summary",
    "load_policy",
    "load_policy_text",
]
