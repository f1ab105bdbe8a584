"""Section 8, limitations and compensating controls.

Two sources: the review file (the model's known limitations with their controls, and
the organisation's compensating controls) and the run itself (the limits of this
validation's scope: data it did not have, checks it could not evaluate, analyses run
on a sample).
"""

from __future__ import annotations

from typing import Any

from govreport.policy import check_status
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections import sampling
from govreport.render.text import Numbering, fmt_int, make_table
from govreport.results.schema import Results

__all__ = ["build", "scope_limits"]


def scope_limits(results: Results, num: Numbering) -> list[tuple[str, str]]:
    """The validation's own scope limits, derived from what the run had: (limit, mitigation)."""
    names = {d.name: d for d in results.datasets}
    monitoring = f"the monitoring plan (section {num.section('monitoring')})"
    limits: list[tuple[str, str]] = []
    if "test" not in names:
        limits.append(
            (
                "No holdout data was supplied: every performance figure is measured on the "
                "data the model was trained on and is optimistic.",
                "Rerun the validation with a holdout sample before relying on the outcomes.",
            )
        )
    if "oot" not in names:
        limits.append(
            (
                "No out-of-time data was supplied: the holdout comes from the training "
                "period, so drift and performance on a later population are not tested.",
                f"Stability and calibration are tracked on new data by {monitoring}; "
                "revalidate on an out-of-time sample when one is available.",
            )
        )
    limits.append(
        (
            "Outcomes are the historical targets of the data supplied; no outcomes from the "
            "model's use in production were available.",
            f"Back-test predicted against observed outcomes under {monitoring}.",
        )
    )
    fairness = results.fairness
    if results.model.task != "binary":
        limits.append(
            (
                "Fairness and disparate impact were not assessed: govreport's fairness "
                f"analysis is defined for binary classifiers, and this is a {results.model.task} "
                "model.",
                "Have the treatment of protected groups assessed outside this report if the "
                "model's outputs feed decisions about people.",
            )
        )
    elif fairness is None or not fairness.features:
        limits.append(
            (
                "No feature is marked protected in the data dictionary: fairness and "
                "disparate impact were not assessed.",
                "Mark the protected characteristics (or supply them for the test data) and "
                "rerun the fairness checks.",
            )
        )
    else:
        protected = ", ".join(f.name for f in fairness.features)
        limits.append(
            (
                f"Fairness was assessed for the features marked protected ({protected}) "
                "only; proxies of protected characteristics among the other features were "
                "not tested.",
                "Review candidate proxies with compliance.",
            )
        )
    quality = results.data_quality
    if quality is None or quality.dictionary is None:
        limits.append(
            (
                "No data dictionary was supplied: values outside the documented codes and "
                "ranges were not checked.",
                "Supply the data dictionary and rerun.",
            )
        )
    sample_limit = sampling.sample_limit(results, num)
    if sample_limit is not None:
        limits.append(sample_limit)
    train_rows = names["train"].rows if "train" in names else None
    census = results.regions["train"].census if "train" in results.regions else None
    if census is not None and train_rows is not None and census.samples < train_rows:
        limits.append(
            (
                f"Activation regions were counted on {fmt_int(census.samples)} of the "
                f"{fmt_int(train_rows)} training rows (a sample).",
                "The sample's size bounds the error of the shares reported in section "
                f"{num.section('census')}.",
            )
        )
    skipped = [c for c in results.policy.checks if check_status(c) == "not_evaluated"]
    if skipped:
        listed = "; ".join(
            (c.description or c.id.replace("_", " ").capitalize()).rstrip(".") for c in skipped
        )
        limits.append(
            (
                f"{fmt_int(len(skipped))} of the policy's checks could not be evaluated "
                f"because this run did not produce their metric: {listed}.",
                "Supply the missing data and rerun, or record why the check does not apply.",
            )
        )
    limits.append(
        (
            "The validation reviews the delivered network and the data supplied; it does "
            "not review the development code, data lineage or the implementation in "
            "production.",
            "Covered by the model owner's implementation testing and internal audit.",
        )
    )
    return limits


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 8: known limitations with their controls, compensating controls, scope limits."""
    review = results.review
    known = review.limitations if review is not None else ()
    controls = review.controls if review is not None else ()
    known_table = (
        make_table(
            num.tables,
            "Known limitations of the model and their compensating controls",
            ["Limitation", "Compensating control"],
            [[x.limitation, x.control or "none stated"] for x in known],
            align="ll",
            css="limitations",
            note="As stated by the model owner in the review file.",
        )
        if known
        else None
    )
    scope_table = make_table(
        num.tables,
        "Limits of this validation",
        ["Limit", "What mitigates it"],
        [list(pair) for pair in scope_limits(results, num)],
        align="ll",
        css="limitations",
        note="Derived from the data and the results of this run.",
    )
    return {
        "limitations": {
            "reading": {
                "shows": "What the model is known not to do well and what compensates for it, "
                "and what this validation could not test with the data it was given.",
                "todo": "Check that every limitation has a control the committee accepts; a "
                "limit of the validation without mitigation is a reason to attach a condition "
                "of use or to ask for more data.",
            },
            "known_table": known_table,
            "known_none": "The review file states no known limitations of the model "
            "(review file key limitations).",
            "controls": list(controls),
            "scope_table": scope_table,
        }
    }, []
