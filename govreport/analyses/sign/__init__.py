"""Sign and monotonicity constraints, tested per client: exact and material.

A policy constrains a feature to a positive effect (``"+"``: the prediction must
not fall as the feature grows) or a negative one (``"-"``: must not rise). Each
client (row) of a data set is tested on its own data:

* **Discrete features** (coded or ordinal: listed in the check's ``coded``, or
  typed ordinal/categorical with ``values`` in the data dictionary) are tested by
  an exact finite difference. The admissible values are the codes that satisfy the
  feature's ``where`` comparisons, ascending: a_1 < ... < a_m (m >= 2). A client at
  a_i (i < m) is tested on the step a_i -> a_(i+1); a client at a_m on the step
  a_(m-1) -> a_m (the step into its own value). The network is run (float64, in
  chunks) on the client's row with only the feature set to each end of the step;
  the effect is ``output(upper) - output(lower)``.
* **Continuous features** are tested on the exact local slope: in activation
  region r the network is exactly ``eta(x) = W_r x + b_r``, so the client's slope
  is ``W_r[:, j]`` of its region; the effect is the exact derivative of the output
  times one training standard deviation s_j
  (:func:`govreport.analyses.context.feature_scale`).
* The output is the predicted probability of the output named for a classifier
  (sigmoid: ``p (1 - p) w``; softmax: ``p_k (w_k - sum_m p_m w_m)`` for slopes) and
  the raw output for a regression.
* Clients whose value fails ``where`` (``outside_domain``) or that satisfy it but
  are not on an admissible code (``off_code``) are excluded and counted.
* The wrong-way amount is ``-effect`` for ``"+"`` and ``effect`` for ``"-"``. A
  client violates when it is > 0 (no change satisfies both signs) and violates
  materially when it exceeds the check's ``materiality`` (output units, one number
  or per feature; default 0: any violation is material).
* A check's value (metric ``slopes.sign_violation_share``) is the largest share,
  over its features, of the clients tested with a material violation; the raw
  share (any size) is kept as information (``raw_value``, ``wrong_way_share``).
* Each feature carries a bounded breakdown: by admissible value (discrete, at most
  :data:`MAX_VALUE_ROWS` values) or by decile of the clients tested.
* The region-level counts of earlier versions (share of samples and regions whose
  slope has the wrong sign, the largest violating regions) stay in each feature's
  result as information.

:func:`affine_sign_checks` applies the same rules to a set of affine models (the
merged models of the simplification), each client tested under the model it is
assigned to.

The shares cover the clients given, not the whole input space: correct signs on
every client do not prove monotonicity.

Feature keys in a policy's ``expected``, ``where``, ``coded`` and ``materiality``
mappings are exact column names, or shell-style patterns when they contain ``*``,
``?`` or ``[`` and are not a column's exact name: ``PAY_[0-9]`` matches ``PAY_0``
... ``PAY_6`` but not ``PAY_AMT1``; ``PAY_AMT*`` matches ``PAY_AMT1`` ...
``PAY_AMT6``. Patterns match whole names, case-sensitively
(:func:`fnmatch.fnmatchcase`). A pattern that matches nothing, a name the data
lacks, one feature given opposite signs by two keys, a ``where``/``coded``/
``materiality`` key naming no constrained feature, and a discrete feature with
fewer than two admissible values are errors (exit 2, with the policy line).
"""

from __future__ import annotations

from govreport.analyses.sign.evaluate import (
    ClientEffects,
    ConstrainedFeature,
    SignCheckResult,
    SignConstraintsResult,
    SignData,
    check_values,
    client_effects,
    evaluate_sign_checks,
    observed,
    output_of,
    run,
    slope_effect,
    step_ends,
)
from govreport.analyses.sign.merged import (
    AffineSignCheck,
    AffineSignFeature,
    affine_sign_checks,
)
from govreport.analyses.sign.rules import (
    WORST_REGIONS,
    FeatureSignResult,
    SignBin,
    SignCheckPlan,
    SignConstraint,
    SignSpecError,
    ViolatingRegion,
    in_domain,
    plan_sign_checks,
    resolve_domains,
    resolve_expected,
    resolve_output,
    sign_violations,
)
from govreport.policy.schema import parse_where

__all__ = [
    "WORST_REGIONS",
    "AffineSignCheck",
    "AffineSignFeature",
    "ClientEffects",
    "ConstrainedFeature",
    "FeatureSignResult",
    "SignBin",
    "SignCheckPlan",
    "SignCheckResult",
    "SignConstraint",
    "SignConstraintsResult",
    "SignData",
    "SignSpecError",
    "ViolatingRegion",
    "affine_sign_checks",
    "check_values",
    "client_effects",
    "evaluate_sign_checks",
    "in_domain",
    "observed",
    "output_of",
    "parse_where",
    "plan_sign_checks",
    "resolve_domains",
    "resolve_expected",
    "resolve_output",
    "run",
    "sign_violations",
    "slope_effect",
    "step_ends",
]
