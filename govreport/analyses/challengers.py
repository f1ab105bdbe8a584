"""Challenger models: does a simpler model do as well as the network?

Two scikit-learn challengers are trained on the training data with fixed seeds
and scored on the same holdout as the network (the test data; the training data
when there is none, said in the results):

* a regularised linear model on standardised inputs: L2 logistic regression
  (C = 1) for classification, ridge regression (alpha = 1) for regression;
* a histogram gradient-boosting model with scikit-learn's defaults.

Training uses a seeded, stratified subsample of at most :data:`MAX_TRAIN_ROWS`
rows. For a binary task, DeLong's test compares the network's AUC with each
challenger's on the same holdout rows (paired); ``benchmark.auc_gain`` is the
network's AUC minus the best challenger's, ``benchmark.delong_p`` the p-value of
that difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from govreport import progress
from govreport.analyses.context import AnalysisContext
from govreport.analyses.performance import negatives_below, performance_metrics
from govreport.analyses.uncertainty import stratified_subsample
from govreport.inputs.data import Task
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray

__all__ = [
    "MAX_TRAIN_ROWS",
    "ChallengerResult",
    "ChallengersResult",
    "DeLong",
    "delong",
    "intervals",
    "observed",
    "run",
]

#: Largest number of training rows the challengers are fitted on (seeded, stratified subsample).
MAX_TRAIN_ROWS = 200_000
#: Level of DeLong's confidence interval for the AUC difference.
LEVEL = 0.95
#: Rows scored at a time by each challenger.
SCORE_CHUNK_ROWS = 65_536


@dataclass(frozen=True, slots=True)
class DeLong:
    """DeLong's test of AUC(a) - AUC(b) on the same rows."""

    auc_a: float
    auc_b: float
    difference: float
    std_error: float
    z: float
    p_value: float


@dataclass(frozen=True, slots=True)
class ChallengerResult:
    """One challenger: what it is, its holdout metrics, and the network's AUC difference."""

    __pydantic_config__ = JSON_CONFIG

    name: str
    model: str
    settings: str
    metrics: dict[str, Number]
    auc_difference: Number = field(default=None, metadata=OMIT_IF_NONE)
    difference_lower: Number = field(default=None, metadata=OMIT_IF_NONE)
    difference_upper: Number = field(default=None, metadata=OMIT_IF_NONE)
    delong_z: Number = field(default=None, metadata=OMIT_IF_NONE)
    delong_p: Number = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class ChallengersResult:
    """The challengers against the network on the holdout ``holdout`` (test, else train)."""

    __pydantic_config__ = JSON_CONFIG

    task: Task
    holdout: str
    train_rows: int
    train_rows_used: int
    subsampled: bool
    seed: int
    network: dict[str, Number]
    challengers: tuple[ChallengerResult, ...]
    best: str
    auc_gain: Number = field(default=None, metadata=OMIT_IF_NONE)
    delong_p: Number = field(default=None, metadata=OMIT_IF_NONE)
    gain_lower: Number = field(default=None, metadata=OMIT_IF_NONE)
    gain_upper: Number = field(default=None, metadata=OMIT_IF_NONE)
    accuracy_gain: Number = field(default=None, metadata=OMIT_IF_NONE)
    rmse_gain: Number = field(default=None, metadata=OMIT_IF_NONE)


# --------------------------------------------------------------------------- DeLong


def _midranks_fast(x: FloatArray) -> FloatArray:
    """:func:`midranks`, vectorised (scipy's average ranks)."""
    return np.asarray(stats.rankdata(x, method="average"), dtype=np.float64)


def _components_by_ranks(
    positive: np.ndarray, score: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    """(AUC, V10, V01) of ``score`` by midranks (Sun & Xu 2014): three rankings."""
    m, n = int(positive.sum()), int((~positive).sum())
    all_ranks = _midranks_fast(score)
    pos_ranks = _midranks_fast(score[positive])
    neg_ranks = _midranks_fast(score[~positive])
    auc = float(all_ranks[positive].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (all_ranks[positive] - pos_ranks) / n
    v01 = 1.0 - (all_ranks[~positive] - neg_ranks) / m
    return auc, v10, v01


def _twice_below(order: np.ndarray, keys: FloatArray, sorted_other: FloatArray) -> np.ndarray:
    """:func:`negatives_below` of ``keys`` (rows in their own order) among ``sorted_other``."""
    out = np.empty(keys.size, dtype=np.int64)
    out[order] = negatives_below(sorted_other, keys[order])  # sorted keys: fast searches
    return out


def _components(positive: np.ndarray, score: FloatArray) -> tuple[float, FloatArray, FloatArray]:
    """:func:`_components_by_ranks` from counts: a rank difference (all rows minus own
    class) is the number of the other class below, ties counted half, which a binary
    search in the other class, sorted, gives as an integer. The same numbers to the last
    bit (every rank sum and difference is an exact half-integer; each division is
    rounded once either way), without ranking all rows."""
    if not np.all(np.isfinite(score)):
        return _components_by_ranks(positive, score)  # scipy's handling of NaN and inf
    pos, neg = score[positive], score[~positive]
    m, n = pos.size, neg.size
    pos_order = np.argsort(pos, kind="stable")
    neg_order = np.argsort(neg, kind="stable")
    twice_pos = _twice_below(pos_order, pos, neg[neg_order])  # 2·#neg below each positive
    twice_neg = _twice_below(neg_order, neg, pos[pos_order])  # 2·#pos below each negative
    auc = int(twice_pos.sum(dtype=np.int64)) / (2 * m * n)  # exact quotient, rounded once
    v10 = (0.5 * twice_pos) / n
    v01 = 1.0 - (0.5 * twice_neg) / m
    return auc, v10, v01


def delong(y: FloatArray, score_a: FloatArray, score_b: FloatArray) -> DeLong:
    """DeLong, DeLong & Clarke-Pearson (1988) test of two correlated AUCs.

    Structural components by the midrank algorithm of Sun & Xu (2014): for m
    positives and n negatives, V10 = (R_all - R_pos) / n over the positives and
    V01 = 1 - (R_all - R_neg) / m over the negatives (ranks within all rows minus ranks
    within the class); var(AUC_a - AUC_b) = c' (S10/m + S01/n) c with c = (1, -1).
    The rank differences are counted by binary search (:func:`_components`).
    """
    positive = y == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if m < 2 or n < 2:
        nan = math.nan
        return DeLong(nan, nan, nan, nan, nan, nan)
    v10, v01, aucs = [], [], []
    for score in (score_a, score_b):
        auc, v10_score, v01_score = _components(positive, score)
        aucs.append(auc)
        v10.append(v10_score)
        v01.append(v01_score)
    s10 = np.cov(np.vstack(v10))
    s01 = np.cov(np.vstack(v01))
    contrast = np.array([1.0, -1.0])
    variance = float(contrast @ (s10 / m + s01 / n) @ contrast)
    difference = aucs[0] - aucs[1]
    se = math.sqrt(variance) if variance > 0 else 0.0
    if se == 0:
        z = 0.0 if difference == 0 else math.copysign(math.inf, difference)
    else:
        z = difference / se
    p = float(2.0 * stats.norm.sf(abs(z)))
    return DeLong(aucs[0], aucs[1], difference, se, z, p)


# --------------------------------------------------------------------------- challengers


def _models(task: Task, seed: int) -> list[tuple[str, str, str, object]]:
    """(name, model class, settings, unfitted estimator) of each challenger."""
    if task == "regression":
        return [
            (
                "Ridge regression",
                "sklearn.linear_model.Ridge",
                "standardised inputs, alpha = 1",
                make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
            ),
            (
                "Gradient boosting",
                "sklearn.ensemble.HistGradientBoostingRegressor",
                f"scikit-learn defaults, random_state = {seed}",
                HistGradientBoostingRegressor(random_state=seed),
            ),
        ]
    return [
        (
            "Logistic regression",
            "sklearn.linear_model.LogisticRegression",
            "standardised inputs, L2 penalty, C = 1",
            make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
        ),
        (
            "Gradient boosting",
            "sklearn.ensemble.HistGradientBoostingClassifier",
            f"scikit-learn defaults, random_state = {seed}",
            HistGradientBoostingClassifier(random_state=seed),
        ),
    ]


def _chunk_scores(task: Task, estimator: object, x: FloatArray) -> FloatArray:
    """The challenger's logits (n, K) of the rows ``x``."""
    if task == "regression":
        return np.asarray(estimator.predict(x), dtype=np.float64)[:, None]  # type: ignore[attr-defined]
    raw = np.asarray(estimator.decision_function(x), dtype=np.float64)  # type: ignore[attr-defined]
    return raw[:, None] if raw.ndim == 1 else raw


def _scores(task: Task, estimator: object, x: FloatArray) -> FloatArray:
    """The challenger's logits (N, K): decision function for classification, prediction
    else; by blocks of :data:`SCORE_CHUNK_ROWS` rows (the estimators' temporaries, e.g.
    the standardised copy of the inputs, stay one block's size)."""
    if x.shape[0] <= SCORE_CHUNK_ROWS:
        return _chunk_scores(task, estimator, x)
    return np.concatenate(
        [
            _chunk_scores(task, estimator, x[start : start + SCORE_CHUNK_ROWS])
            for start in range(0, x.shape[0], SCORE_CHUNK_ROWS)
        ]
    )


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _metrics(values: dict[str, float]) -> dict[str, float | None]:
    return {name: _num(value) for name, value in values.items()}


def run(ctx: AnalysisContext) -> ChallengersResult:
    """Train the challengers on (a subsample of) the training data; score them on the holdout."""
    seed = ctx.options.seed
    train = ctx.train.dataset
    holdout = ctx.test if ctx.test is not None else ctx.train
    rng = np.random.default_rng([seed, 7])
    rows = stratified_subsample(ctx.task, train.y, MAX_TRAIN_ROWS, rng)
    x_fit, y_fit = train.x[rows], train.y[rows]
    if ctx.task == "multiclass":
        y_fit = y_fit.astype(np.int64)
    y = holdout.dataset.y
    network_logits = holdout.extraction.logits
    network = performance_metrics(ctx.task, network_logits, y)
    challengers: list[ChallengerResult] = []
    if ctx.task != "regression" and np.unique(y_fit).size < 2:
        # A classifier cannot be fitted on one class: no challenger, said in the report.
        return ChallengersResult(
            task=ctx.task,
            holdout=holdout.name,
            train_rows=int(train.n_rows),
            train_rows_used=int(rows.size),
            subsampled=rows.size < train.n_rows,
            seed=seed,
            network=_metrics(network),
            challengers=(),
            best="",
        )
    for name, model, settings, estimator in _models(ctx.task, seed):
        progress.part(f"{name.lower()} on {rows.size:,} rows")
        estimator.fit(x_fit, y_fit)  # type: ignore[attr-defined]
        logits = _scores(ctx.task, estimator, holdout.dataset.x)
        if ctx.task == "multiclass" and logits.shape[1] != network_logits.shape[1]:
            full = np.full((logits.shape[0], network_logits.shape[1]), -np.inf)
            full[:, estimator.classes_.astype(np.int64)] = logits  # type: ignore[attr-defined]
            logits = full
        metrics = performance_metrics(ctx.task, logits, y)
        extra: dict[str, float | None] = {}
        if ctx.task == "binary":
            test = delong(y, network_logits[:, 0], logits[:, 0])
            half = stats.norm.ppf(0.5 + LEVEL / 2.0) * test.std_error
            extra = {
                "auc_difference": _num(test.difference),
                "difference_lower": _num(test.difference - half),
                "difference_upper": _num(test.difference + half),
                "delong_z": _num(test.z),
                "delong_p": _num(test.p_value),
            }
        challengers.append(ChallengerResult(name, model, settings, _metrics(metrics), **extra))
    return _summarise(ctx, holdout.name, train.n_rows, rows.size, network, challengers)


def _summarise(
    ctx: AnalysisContext,
    holdout: str,
    train_rows: int,
    used: int,
    network: dict[str, float],
    challengers: list[ChallengerResult],
) -> ChallengersResult:
    """The best challenger (by AUC, accuracy or RMSE) and the network's gains over it."""

    def metric(c: ChallengerResult, name: str) -> float:
        value = c.metrics.get(name)
        return -math.inf if value is None else float(value)

    gains: dict[str, float | None] = {}
    if ctx.task == "binary":
        best = max(challengers, key=lambda c: metric(c, "auc"))
        gains = {
            "auc_gain": best.auc_difference,
            "delong_p": best.delong_p,
            "gain_lower": best.difference_lower,
            "gain_upper": best.difference_upper,
            "accuracy_gain": _num(network["accuracy"] - metric(best, "accuracy")),
        }
    elif ctx.task == "multiclass":
        best = max(challengers, key=lambda c: metric(c, "accuracy"))
        gains = {"accuracy_gain": _num(network["accuracy"] - metric(best, "accuracy"))}
    else:
        best = min(
            challengers,
            key=lambda c: (
                -metric(c, "rmse") if c.metrics.get("rmse") is None else metric(c, "rmse")
            ),
        )
        gains = {"rmse_gain": _num(metric(best, "rmse") - network["rmse"])}
    return ChallengersResult(
        task=ctx.task,
        holdout=holdout,
        train_rows=int(train_rows),
        train_rows_used=int(used),
        subsampled=used < train_rows,
        seed=ctx.options.seed,
        network=_metrics(network),
        challengers=tuple(challengers),
        best=best.name,
        **gains,
    )


def observed(result: ChallengersResult) -> dict[MetricKey, float]:
    """``benchmark.*`` on the holdout data set."""
    out: dict[MetricKey, float] = {}
    for name in ("auc_gain", "delong_p", "accuracy_gain", "rmse_gain"):
        value = getattr(result, name)
        applies = (
            (name in ("auc_gain", "delong_p") and result.task == "binary")
            or (name == "accuracy_gain" and result.task != "regression")
            or (name == "rmse_gain" and result.task == "regression")
        )
        if applies:
            out[(f"benchmark.{name}", result.holdout)] = math.nan if value is None else value
    return out


def intervals(result: ChallengersResult) -> dict[MetricKey, tuple[float, float]]:
    """DeLong's interval of ``benchmark.auc_gain`` (for ``on: lower_ci/upper_ci``)."""
    if result.gain_lower is None or result.gain_upper is None:
        return {}
    return {("benchmark.auc_gain", result.holdout): (result.gain_lower, result.gain_upper)}
