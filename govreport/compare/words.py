"""Plain words for the comparison of two reviews: metric and check names, number
formats, and the small readers of a results file the comparison shares."""

from __future__ import annotations

import math
from typing import Any

from govreport.results.schema import Results

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

_WORDS = {
    "auc": "AUC",
    "ci": "interval",
    "hl": "Hosmer-Lemeshow",
    "psi": "PSI",
    "ks": "KS",
    "test": "holdout",
    "train": "training",
    "oot": "out-of-time",
    "air": "adverse impact ratio",
    "gini": "Gini",
}


def metric_words(metric: str) -> str:
    """``performance.log_loss`` -> ``log loss``; ``performance.auc`` -> ``AUC``."""
    name = metric.split(".")[-1]
    return " ".join(_WORDS.get(word, word) for word in name.split("_"))


def check_label(check_id: str) -> str:
    """A check id in words for the report's body: ``auc_holdout_ci`` -> ``AUC holdout interval``."""
    words = [_WORDS.get(word, word) for word in check_id.split("_") if word]
    if not words:
        return check_id
    first = words[0]
    words[0] = first if first[:1].isupper() else first[:1].upper() + first[1:]
    return " ".join(words)


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if value != 0 and abs(value) < 10 ** (-digits):
        return f"{value:.1e}"
    return (
        f"{value:.{digits}g}"
        if abs(value) >= 1000
        else f"{value:.{digits}f}".rstrip("0").rstrip(".")
    )


def _signed(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    text = _fmt(abs(value))
    return ("+" if value > 0 else "−" if value < 0 else "±") + text


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _delta(then: float | None, now: float | None) -> float | None:
    a, b = _finite(then), _finite(now)
    return None if a is None or b is None else b - a


def _architecture(results: Results) -> str:
    m = results.model
    hidden = "-".join(str(w) for w in m.hidden_widths) or "none"
    return f"{m.input_dim} inputs, hidden {hidden}, {m.output_dim} output(s), {m.output_link} link"


def _run_date(results: Results) -> str:
    return results.policy.run_date


def _windows(results: Results) -> dict[str, str]:
    return dict(results.review.data_windows) if results.review is not None else {}


def _report_id(results: Results) -> str:
    if results.review is not None and results.review.report_id:
        return results.review.report_id
    return results.run.report_id


def _record_status(record: Any) -> str:
    from govreport.policy import check_status

    return str(check_status(record))


def _record_value(record: Any) -> float | None:
    value = record.point if record.on is not None else record.observed
    return _finite(value)
