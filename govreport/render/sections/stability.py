"""Section 3.2, stability: the ``stability`` block -> template strings.

Reads ``results.stability`` (:class:`govreport.analyses.stability.StabilityResult`).
"""

from __future__ import annotations

from typing import Any

from govreport.analyses.stability import ShiftResult
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.classes import class_phrase, is_multiclass, shown
from govreport.render.sections.data_quality import DATASET_WORDS
from govreport.render.text import Numbering, fmt_metric, fmt_num, fmt_small, make_table
from govreport.results.schema import Results

__all__ = ["build", "psi_reading"]

_ABSENT = {
    "title": "Stability",
    "text": "This results file holds no stability results.",
    "issue": "",
}


def psi_reading(value: float) -> str:
    """The usual reading of a PSI: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift."""
    if value < 0.1:
        return "stable"
    return "moderate shift" if value <= 0.25 else "major shift"


def _reading(num: Numbering, *, none: bool, worst: float = 0.0) -> dict[str, str]:
    """The plain-words box of section 3.2."""
    if none:
        return {
            "shows": "Nothing yet: only training data was given, so the population the model "
            "will score could not be compared with the one it learnt from.",
            "todo": "Ask for a held-out or, better, an out-of-time sample and rerun the "
            "validation; until then, performance on new clients is not evidenced.",
        }
    shows = (
        "Whether the clients of the other data sets look like the training clients, feature "
        "by feature and for the model's score. The largest shift found is "
        f"{psi_reading(worst)} (PSI {fmt_small(worst)})."
    )
    todo = (
        "No action on stability: the performance measured here should carry over to a "
        "population like these data. A random test split cannot show drift over time; "
        "monitor the PSI of the score in production."
        if worst < 0.1
        else "Find out why the shifted features moved (new products, policy or data changes) "
        "and check performance on the shifted population before relying on the model; a "
        "major shift of the score calls for re-validation on recent data."
    )
    return {"shows": shows, "todo": todo}


def _score_rows(results: Results) -> list[tuple[str, list[ShiftResult]]]:
    """Row label and per-comparison shift of the score rows: the one score, or for a
    multiclass model the predicted probability of each shown class."""
    result = results.stability
    assert result is not None
    comparisons = result.comparisons
    if not is_multiclass(results) or not all(c.classes for c in comparisons):
        return [(f"score ({result.score_name})", [c.score for c in comparisons])]
    rows = []
    for _, name in shown(results):
        shifts = [next((s for s in c.classes or () if s.name == name), None) for c in comparisons]
        present = [s for s in shifts if s is not None]
        if len(present) == len(shifts):
            rows.append((f"probability of {class_phrase(name)}", present))
    return rows or [(f"score ({result.score_name})", [c.score for c in comparisons])]


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 3.2: PSI and KS per feature and for the score, training against each data set."""
    result = results.stability
    intro = (
        "Stability compares each data set with the training data, feature by feature and for "
        "the network's score. The population stability index (PSI) measures how far the "
        "share of rows in fixed bins has moved; the Kolmogorov–Smirnov statistic (KS) is the "
        "largest gap between the two cumulative distributions. A model validated on one "
        "population and used on a shifted one may no longer perform as measured: a major shift "
        "of an important feature or of the score calls for re-validation on recent data."
    )
    if result is None:
        if len(results.datasets) > 1:  # written before this analysis existed
            return {"stability": {"available": False, "absent": [_ABSENT]}}, []
        return {
            "stability": {
                "available": True,
                "intro": intro,
                "none": "Only training data was given: there is nothing to compare it with. "
                "Supply test data (and an out-of-time sample) to measure stability.",
                "reading": _reading(num, none=True),
                "summary": "",
                "table": None,
            }
        }, []
    comparisons = result.comparisons
    head = ["Feature"]
    align = "l"
    for c in comparisons:
        words = DATASET_WORDS.get(c.dataset, c.dataset)
        head += [f"PSI {words}", f"KS {words}", "Reading"]
        align += "rrl"
    scores = _score_rows(results)
    rows = [
        [label]
        + [
            v
            for shift in shifts
            for v in (fmt_small(shift.psi), fmt_metric(shift.ks), psi_reading(shift.psi))
        ]
        for label, shifts in scores
    ]
    for j, feature in enumerate(comparisons[0].features):
        rows.append(
            [feature.name]
            + [
                v
                for c in comparisons
                for v in (
                    fmt_small(c.features[j].psi),
                    fmt_metric(c.features[j].ks),
                    psi_reading(c.features[j].psi),
                )
            ]
        )
    table = make_table(
        num.tables,
        "Population stability index and Kolmogorov–Smirnov statistic against the training data",
        head,
        rows,
        align=align,
        note=f"PSI = Σ (a − e) ln(a / e) over {result.bins} bins fixed on the training data "
        "(deciles; one bin per value for a feature with at most 10 distinct values); e and a "
        f"are the training and compared shares, an empty bin counts as {fmt_num(result.epsilon)}. "
        "Reading: below 0.1 stable, 0.1–0.25 moderate shift, above 0.25 major shift. All rows "
        "are used; nothing is subsampled.",
    )
    names = [label for label, _ in scores] + [f.name for f in comparisons[0].features]
    per_class = scores[0][0].startswith("probability of ")
    score_words = "the predicted probability of each class shown" if per_class else "the score"
    spec = FigureSpec(
        id="stability-psi",
        kind="psi",
        caption=f"Population stability index of {score_words} and of each feature against the "
        "training data, log scale (values below 0.0001 drawn at 0.0001). Dashed: 0.1 "
        "(moderate shift); dotted: 0.25 (major shift).",
        alt="Bars of the PSI per feature and data set",
        data={
            "names": names,
            "series": [
                {
                    "label": DATASET_WORDS.get(c.dataset, c.dataset),
                    "psi": [shifts[i].psi for _, shifts in scores] + [f.psi for f in c.features],
                }
                for i, c in enumerate(comparisons)
            ],
        },
    )
    figure = num.figure(spec)
    sentences = []
    for c in comparisons:
        worst = max(c.features, key=lambda f: f.psi)
        words = DATASET_WORDS.get(c.dataset, c.dataset)
        score = (
            f"score PSI {fmt_small(c.score.psi)}"
            if not c.classes
            else f"largest class-probability PSI {fmt_small(c.score.psi)}, "
            f"{class_phrase(c.score.name)},"
        )
        sentences.append(
            f"Training to {words} data ({c.rows:,} rows): largest feature PSI "
            f"{fmt_small(worst.psi)} ({worst.name}, {psi_reading(worst.psi)}); {score} "
            f"({psi_reading(c.score.psi)}), KS {fmt_metric(c.score.ks)}."
        )
    worst_psi = max(
        [c.score.psi for c in comparisons] + [f.psi for c in comparisons for f in c.features]
    )
    if all(c.dataset == "test" for c in comparisons):
        sentences.append(
            "When the test set is a random split of the training period, a small PSI is "
            "expected and says nothing about drift over time; only an out-of-time sample "
            "tests that."
        )
    return {
        "stability": {
            "available": True,
            "reading": _reading(num, none=False, worst=worst_psi),
            "intro": intro,
            "none": "",
            "summary": " ".join(sentences),
            "table": table,
            "figure": figure,
        }
    }, [spec]
