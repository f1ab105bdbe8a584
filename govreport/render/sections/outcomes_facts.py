"""Section 1's key facts from the issue-13 blocks: sampling uncertainty, calibration and the
benchmark models (each read from its typed block, as section 5 reads it)."""

from __future__ import annotations

from govreport.render.sections.benchmark import verdict
from govreport.render.sections.calibration import LABELS, holdout_of, p_is, sampling_sentence
from govreport.render.text import fmt_metric, fmt_num, fmt_share
from govreport.results.schema import Results

__all__ = ["benchmark_fact", "key_facts"]


def key_facts(results: Results, section: str) -> list[tuple[str, str]]:
    """Section 1's key facts of issue 13 (uncertainty, calibration); ``section``: section 5's
    number. Empty when the results hold neither block."""
    facts: list[tuple[str, str]] = []
    unc = results.uncertainty
    out = results.outcomes
    if unc is not None and unc.datasets:
        entry = next((d for d in unc.datasets if d.dataset == "test"), unc.datasets[0])
        first = entry.intervals[0] if entry.intervals else None
        if first is not None and first.lower is not None:
            text = (
                f"{entry.dataset.capitalize()} {LABELS.get(first.metric, first.metric)} "
                f"{fmt_metric(first.point)}, 95% CI {fmt_metric(first.lower)} to "
                f"{fmt_metric(first.upper)} (bootstrap, section {section})."
            )
            sampling = sampling_sentence(results)
            if sampling:
                text += " " + sampling.split(":", 1)[0] + "."
            facts.append(("Uncertainty", text))
    if out is not None and out.datasets:
        hold = holdout_of(out.datasets)
        if hold.binary is not None:
            b = hold.binary
            verdict = (
                "consistent with calibrated probabilities"
                if (b.hl_p or 0.0) >= 0.05 and (b.spiegelhalter_p or 0.0) >= 0.05
                else "not calibrated at the 5% level"
            )
            facts.append(
                (
                    "Calibration",
                    f"{hold.dataset.capitalize()} data: {verdict} (Hosmer-Lemeshow "
                    f"{p_is(b.hl_p)}); largest decile gap {fmt_share(b.max_decile_gap)}, mean "
                    f"predicted {fmt_share(b.mean_predicted)} against an observed rate of "
                    f"{fmt_share(b.base_rate)} (section {section}).",
                )
            )
        elif hold.regression is not None:
            facts.append(
                (
                    "Calibration",
                    f"{hold.dataset.capitalize()} data: mean residual "
                    f"{fmt_num(hold.regression.mean_residual)} (section {section}).",
                )
            )
    return facts


def benchmark_fact(results: Results, section: str) -> list[tuple[str, str]]:
    """Section 1's key fact on the challengers (empty without them)."""
    result = results.challengers
    if result is None or not result.challengers:
        return []
    return [("Benchmark", f"{verdict(result)} (Section {section}.)")]
