"""Section 5 additions (issue 13): what the report says from the typed blocks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from scipy.special import expit

from govreport.analyses.challengers import ChallengerResult, ChallengersResult
from govreport.analyses.outcomes import (
    DatasetOutcomes,
    OutcomesResult,
    binary_outcomes,
    regression_outcomes,
)
from govreport.policy.record import CheckRecord
from govreport.render.sections.benchmark import build_benchmark, verdict
from govreport.render.sections.calibration import build_evidence
from govreport.render.sections.checks import check_badge, observed_text
from govreport.render.text import Numbering
from govreport.results import Results, results_from_jsonable

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"


def _base() -> Results:
    """The hand-made results fixture (no issue-13 blocks)."""
    doc = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return results_from_jsonable(doc, source=str(FIXTURE))


def _check(**changes: object) -> CheckRecord:
    check = CheckRecord(
        id="auc_min",
        metric="performance.auc",
        dataset="train",
        description="d",
        observed=0.70,
        bound=">= 0.69",
        status="pass",
        severity=None,
        effective_severity=None,
        gating=False,
        waiver=None,
        refs=(),
        message="m",
    )
    return dataclasses.replace(check, **changes)


def _binary_results() -> Results:
    rng = np.random.default_rng(0)
    z = rng.normal(size=1000)
    y = (rng.random(1000) < expit(z + 0.4)).astype(np.float64)  # the model under-predicts
    out = OutcomesResult(
        task="binary",
        curve_points=200,
        groups=10,
        datasets=(DatasetOutcomes("train", 1000, binary=binary_outcomes(z, y)),),
    )
    base = _base()
    check = _check(interval=(0.66, 0.74), within_sampling_error=True)
    policy = dataclasses.replace(base.policy, checks=(check,))
    return dataclasses.replace(base, outcomes=out, policy=policy)


def test_binary_evidence_states_the_calibration_and_the_checks_inside_sampling_error() -> None:
    context, specs = build_evidence(_binary_results(), Numbering())
    detail = context["detail"]
    assert detail["kind"] == "binary"
    assert [s.kind for s in specs] == ["roc-pr", "reliability", "score-distribution"]
    rows = detail["calibration_table"]["rows"]
    assert len(rows) == 10 and [r[1] for r in rows] == ["100"] * 10
    assert "not calibrated at the 5% level" in detail["advice"]
    # the check is named by its plain description, not its snake_case id
    sampling = context["sampling"]
    assert "d (train data" in sampling and "0.660 to 0.740" in sampling
    assert "auc_min" not in sampling
    assert context["interval_table"] is None  # no uncertainty block


def test_regression_evidence_orders_the_residual_quantiles() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=300)
    out = OutcomesResult(
        task="regression",
        curve_points=200,
        groups=10,
        datasets=(DatasetOutcomes("test", 300, regression=regression_outcomes(y + 0.5, y)),),
    )
    context, specs = build_evidence(dataclasses.replace(_base(), outcomes=out), Numbering())
    labels = [row[0] for row in context["detail"]["residual_table"]["rows"]]
    assert labels[-7:] == [
        f"Residual {q}" for q in ("min", "p5", "p25", "median", "p75", "p95", "max")
    ]
    assert "mean residual is 0.5" in context["detail"]["discrimination"]
    assert [s.kind for s in specs] == ["residuals"]


def _challengers(gain: float, lower: float, upper: float, p: float) -> ChallengersResult:
    hgb = ChallengerResult(
        "Gradient boosting",
        "m",
        "s",
        {"auc": 0.76 - gain, "accuracy": 0.8, "log_loss": 0.4},
        auc_difference=gain,
        difference_lower=lower,
        difference_upper=upper,
        delong_z=0.0,
        delong_p=p,
    )
    return ChallengersResult(
        task="binary",
        holdout="test",
        train_rows=100,
        train_rows_used=100,
        subsampled=False,
        seed=0,
        network={"auc": 0.76, "accuracy": 0.8, "log_loss": 0.4},
        challengers=(hgb,),
        best=hgb.name,
        auc_gain=gain,
        delong_p=p,
        gain_lower=lower,
        gain_upper=upper,
        accuracy_gain=0.0,
    )


def test_the_verdict_says_when_a_simpler_model_does_as_well() -> None:
    assert "does as well as the network" in verdict(_challengers(0.004, -0.003, 0.011, 0.3))
    assert "ranks better than the network" in verdict(_challengers(-0.01, -0.017, -0.003, 0.006))
    assert "network ranks better than every" in verdict(_challengers(0.05, 0.04, 0.06, 1e-9))


def test_the_benchmark_table_has_the_network_first_and_says_where_it_was_scored() -> None:
    challengers = _challengers(-0.01, -0.017, -0.003, 0.006)
    block, _ = build_benchmark(dataclasses.replace(_base(), challengers=challengers), Numbering())
    assert block is not None
    rows = block["table"]["rows"]
    assert rows[0][0] == "Network" and rows[1][0] == "Gradient boosting"
    assert rows[1][-1] == "0.006" and rows[1][-2] == "-0.010 (-0.017 to -0.003)"
    assert "scored on the test data" in block["table"]["note"]
    assert build_benchmark(_base(), Numbering()) == (None, [])


def test_check_badges_and_observed_cells_show_sampling_error_and_interval_ends() -> None:
    inside = _check(within_sampling_error=True)
    assert check_badge(inside)["text"].endswith("only inside sampling error")
    clear = _check(within_sampling_error=False)
    assert "sampling" not in check_badge(clear)["text"]
    on = _check(observed=0.7398, on="lower_ci", point=0.7567)
    assert observed_text(on) == "0.7398 (lower end of the 95% CI; point 0.7567)"
    assert observed_text(_check(observed=0.5)) == "0.5"


def test_the_benchmark_block_without_challengers_says_why() -> None:
    empty = _challengers(0.0, 0.0, 0.0, 1.0)
    bare = dataclasses.replace(empty, challengers=(), best="")
    block, _ = build_benchmark(dataclasses.replace(_base(), challengers=bare), Numbering())
    assert block is not None and block["table"] is None
    assert "single class" in block["verdict"]
