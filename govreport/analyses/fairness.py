"""Fairness for the features the data dictionary marks protected (binary classifiers).

For each protected feature:

* its importance rank (raw and scale-aware, from the importance analysis);
* a counterfactual flip test on each data set: for every client, only the
  protected value is changed, to each other admissible value (the documented
  codes; for a continuous feature the training median of each other band), and
  the probability is recomputed exactly through the network
  (``network.forward_logits``). Per client the largest |Δp| over the
  alternatives; summary: share of clients above 2 percentage points, median,
  95th percentile and maximum. Above :data:`MAX_FLIP_ROWS` rows, a seeded
  random subsample of that many rows is used (said in the result);
* group metrics per protected group (a documented code, "undocumented codes",
  or a band of a continuous feature): AUC, calibration-in-the-large (mean
  predicted probability minus observed rate), adverse-outcome rate at the
  operating cut-off (prediction of the adverse class), adverse impact ratio
  (favourable-outcome rate over that of the most favoured group) and the
  standardised mean difference of the probabilities against the most favoured
  group (pooled standard deviation). Groups with fewer than ``min_samples``
  rows are shown but left out of the minimum AIR, the largest |SMD| and the AUC gap;
* proxy screening on the training data: the three other inputs most associated
  with the protected feature, |Pearson r| for a two-valued or continuous
  protected feature, else the correlation ratio η of the other input across the
  protected groups.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from govreport.analyses.context import AnalysisContext, DatasetRegions
from govreport.analyses.importance import ImportanceResult
from govreport.analyses.performance import auc_or_nan
from govreport.inputs.dictionary import DataDictionary, FeatureEntry, format_code
from govreport.jsontypes import JSON_CONFIG, Float, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray, Network

__all__ = [
    "FLIP_THRESHOLD",
    "FairnessResult",
    "flip_deltas",
    "group_metrics",
    "observed",
    "run",
]

#: |Δp| above which a flip counts (2 percentage points).
FLIP_THRESHOLD = 0.02
#: Rows of the flip test per data set; a seeded subsample above this.
MAX_FLIP_ROWS = 20_000
#: Proxies listed per protected feature.
PROXIES = 3


@dataclass(frozen=True, slots=True)
class FlipSummary:
    __pydantic_config__ = JSON_CONFIG

    rows: int
    subsampled: bool
    alternatives: int
    share_above: Float
    median_abs: Float
    p95_abs: Float
    max_abs: Float


@dataclass(frozen=True, slots=True)
class GroupMetrics:
    __pydantic_config__ = JSON_CONFIG

    group: str
    count: int
    share: Float
    small: bool
    auc: Number
    mean_score: Float
    observed_rate: Float
    calibration_in_the_large: Float
    adverse_rate: Float
    air: Number
    smd: Number


@dataclass(frozen=True, slots=True)
class ProtectedOnDataset:
    __pydantic_config__ = JSON_CONFIG

    dataset: str
    flip: FlipSummary
    groups: tuple[GroupMetrics, ...]
    reference_group: str
    air_min: Number
    smd_max_abs: Number
    auc_gap: Number


@dataclass(frozen=True, slots=True)
class Proxy:
    __pydantic_config__ = JSON_CONFIG

    feature: str
    measure: str
    value: Float


@dataclass(frozen=True, slots=True)
class ProtectedFeature:
    __pydantic_config__ = JSON_CONFIG

    name: str
    type: str
    grouping: str
    raw_rank: int
    scaled_rank: int
    raw_pct: Float
    scaled_pct: Float
    features: int
    proxies: tuple[Proxy, ...]
    datasets: tuple[ProtectedOnDataset, ...]


@dataclass(frozen=True, slots=True)
class FairnessResult:
    __pydantic_config__ = JSON_CONFIG

    cutoff: Float
    adverse_class: int
    flip_threshold: Float
    max_flip_rows: int
    min_group_samples: int
    features: tuple[ProtectedFeature, ...]


@dataclass(frozen=True, slots=True)
class _Grouping:
    """How a protected feature's values map to groups and which values a flip substitutes."""

    labels: tuple[str, ...]
    alternatives: tuple[float, ...]  # substituted values
    alternative_group: tuple[int, ...]  # group index of each substituted value
    description: str

    def assign(self, values: FloatArray, entry: FeatureEntry, edges: FloatArray) -> np.ndarray:
        if entry.type == "continuous":
            return np.searchsorted(edges, values, side="right")
        codes = np.asarray(self.alternatives)
        index = np.full(values.shape, len(self.labels) - 1, dtype=np.int64)
        for k, code in enumerate(codes):
            index[values == code] = k
        return index


def _edges(entry: FeatureEntry, train: FloatArray) -> FloatArray:
    if entry.bands is not None:
        return np.asarray(entry.bands, dtype=np.float64)
    return np.unique(np.quantile(train, [0.25, 0.5, 0.75]))


def _grouping(entry: FeatureEntry, train: FloatArray) -> tuple[_Grouping, FloatArray]:
    """Groups and flip alternatives of ``entry`` from the training values ``train``."""
    if entry.type == "continuous":
        edges = _edges(entry, train)
        cuts = [format_code(e) for e in edges]
        labels = (
            [f"< {cuts[0]}"]
            + [f"{a} to < {b}" for a, b in itertools.pairwise(cuts)]
            + [f"≥ {cuts[-1]}"]
        )
        band = np.searchsorted(edges, train, side="right")
        medians = []
        groups = []
        for k in range(edges.size + 1):
            inside = train[band == k]
            if inside.size:
                medians.append(float(np.median(inside)))
                groups.append(k)
        source = "the dictionary" if entry.bands is not None else "training quartiles"
        return _Grouping(
            tuple(labels),
            tuple(medians),
            tuple(groups),
            f"bands at {', '.join(cuts)} ({source}); a flip substitutes the training median "
            "of each other band",
        ), edges
    codes = entry.values if entry.values is not None else tuple(float(v) for v in np.unique(train))
    labels = [
        f"{format_code(c)} {entry.label_of(c)}".strip() if entry.labels else format_code(c)
        for c in codes
    ]
    extra = ["undocumented codes"] if entry.values is not None else ["other"]
    return _Grouping(
        tuple(labels + extra),
        tuple(codes),
        tuple(range(len(codes))),
        "one group per documented code, plus the undocumented codes; a flip substitutes each "
        "other documented code",
    ), np.zeros(0)


def flip_deltas(
    network: Network,
    x: FloatArray,
    column: int,
    alternatives: FloatArray,
    own: np.ndarray,
    groups: tuple[int, ...],
) -> FloatArray:
    """Per row, the largest |Δp| over the substituted values of another group than its own.

    ``own``: (N,) group index of each row; ``groups``: group index of each alternative.
    Rows with no other alternative get 0.
    """
    base = expit(network.forward_logits(x)[:, 0])
    worst = np.zeros(x.shape[0], dtype=np.float64)
    for value, group in zip(alternatives, groups, strict=True):
        changed = np.array(x, dtype=np.float64, copy=True)
        changed[:, column] = value
        delta = np.abs(expit(network.forward_logits(changed)[:, 0]) - base)
        worst = np.where(own != group, np.maximum(worst, delta), worst)
    return worst


def group_metrics(
    y: FloatArray,
    p: FloatArray,
    group: np.ndarray,
    labels: tuple[str, ...],
    cutoff: float,
    adverse_class: int,
    min_samples: int,
    documented: int | None = None,
) -> tuple[tuple[GroupMetrics, ...], str, float | None, float | None, float | None]:
    """Per-group metrics; (groups, reference group, min AIR, max |SMD|, AUC gap).

    ``group``: (N,) index into ``labels``. The reference (most favoured) group is
    chosen among the groups of at least ``min_samples`` rows whose index is below
    ``documented`` (None: every group), so "undocumented codes" is never the reference.
    """
    adverse = p >= cutoff if adverse_class == 1 else p < cutoff
    n = y.size
    present = [k for k in range(len(labels)) if np.any(group == k)]
    stats = {}
    for k in present:
        inside = group == k
        stats[k] = (
            int(inside.sum()),
            float(1.0 - adverse[inside].mean()),
            float(p[inside].mean()),
            float(p[inside].var()),
        )
    large = [k for k in present if stats[k][0] >= min_samples] or present
    limit = len(labels) if documented is None else documented
    candidates = [k for k in large if k < limit] or large
    ref = max(candidates, key=lambda k: (stats[k][1], -k))
    ref_fav, ref_mean, ref_var = stats[ref][1], stats[ref][2], stats[ref][3]
    rows = []
    for k in present:
        inside = group == k
        count, fav, mean, var = stats[k]
        pooled = np.sqrt((var + ref_var) / 2.0)
        auc = auc_or_nan(y[inside], p[inside])
        rows.append(
            GroupMetrics(
                group=labels[k],
                count=count,
                share=count / n,
                small=count < min_samples,
                auc=None if np.isnan(auc) else auc,
                mean_score=mean,
                observed_rate=float(y[inside].mean()),
                calibration_in_the_large=mean - float(y[inside].mean()),
                adverse_rate=1.0 - fav,
                air=fav / ref_fav if ref_fav > 0 else None,
                smd=float((mean - ref_mean) / pooled) if pooled > 0 else None,
            )
        )
    counted = [r for r, k in zip(rows, present, strict=True) if k in large]
    airs = [r.air for r in counted if r.air is not None]
    smds = [abs(r.smd) for r in counted if r.smd is not None]
    aucs = [r.auc for r in counted if r.auc is not None]
    return (
        tuple(rows),
        labels[ref],
        min(airs) if airs else None,
        max(smds) if smds else None,
        max(aucs) - min(aucs) if len(aucs) > 1 else None,
    )


def _proxies(
    ctx: AnalysisContext, column: int, group: np.ndarray, two_valued: bool
) -> tuple[Proxy, ...]:
    x = ctx.train.dataset.x
    target = x[:, column]
    found = []
    for k, name in enumerate(ctx.feature_names):
        if k == column:
            continue
        other = x[:, k]
        if two_valued:
            sd = target.std() * other.std()
            value = (
                abs(float(np.mean((target - target.mean()) * (other - other.mean())) / sd))
                if sd > 0
                else 0.0
            )
            found.append(Proxy(name, "|Pearson r|", value))
        else:
            total = float(((other - other.mean()) ** 2).sum())
            between = sum(
                float((group == g).sum())
                * (float(other[group == g].mean()) - float(other.mean())) ** 2
                for g in np.unique(group)
            )
            found.append(Proxy(name, "η", float(np.sqrt(between / total)) if total > 0 else 0.0))
    found.sort(key=lambda q: (-q.value, q.feature))
    return tuple(found[:PROXIES])


def _subsample(data: DatasetRegions, seed: int) -> tuple[np.ndarray | None, bool]:
    n = data.dataset.n_rows
    if n <= MAX_FLIP_ROWS:
        return None, False
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=MAX_FLIP_ROWS, replace=False)), True


def _ranks(importance: ImportanceResult, name: str) -> tuple[int, int, float, float, int]:
    features = importance.outputs[0].features
    raw = sorted(features, key=lambda f: -f.raw_pct)
    scaled = sorted(features, key=lambda f: -f.scaled_pct)
    mine = next(f for f in features if f.name == name)
    rank_raw = 1 + [f.name for f in raw].index(name)
    rank_scaled = 1 + [f.name for f in scaled].index(name)
    return rank_raw, rank_scaled, mine.raw_pct, mine.scaled_pct, len(features)


def run(
    ctx: AnalysisContext, dictionary: DataDictionary | None, importance: ImportanceResult
) -> FairnessResult | None:
    """Fairness of every protected feature; None without one or for a non-binary task."""
    if dictionary is None or ctx.task != "binary" or not dictionary.protected:
        return None
    min_samples = ctx.options.min_samples
    features = []
    for name in dictionary.protected:
        entry = dictionary.features[name]
        column = ctx.feature_names.index(name)
        train_values = ctx.train.dataset.x[:, column]
        grouping, edges = _grouping(entry, train_values)
        train_groups = grouping.assign(train_values, entry, edges)
        rank_raw, rank_scaled, raw_pct, scaled_pct, d = _ranks(importance, name)
        per_dataset = []
        for data in ctx.datasets:
            x = data.dataset.x
            y = data.dataset.y
            own = grouping.assign(x[:, column], entry, edges)
            rows, subsampled = _subsample(data, ctx.options.seed)
            flip_x = x if rows is None else x[rows]
            flip_own = own if rows is None else own[rows]
            worst = flip_deltas(
                ctx.network,
                flip_x,
                column,
                np.asarray(grouping.alternatives),
                flip_own,
                grouping.alternative_group,
            )
            p = expit(data.extraction.logits[:, 0])
            groups, ref, air_min, smd_max, auc_gap = group_metrics(
                y,
                p,
                own,
                grouping.labels,
                dictionary.cutoff,
                dictionary.adverse_class,
                min_samples,
                None if entry.type == "continuous" else len(grouping.alternatives),
            )
            per_dataset.append(
                ProtectedOnDataset(
                    dataset=data.name,
                    flip=FlipSummary(
                        rows=int(flip_x.shape[0]),
                        subsampled=subsampled,
                        alternatives=len(grouping.alternatives),
                        share_above=float(np.mean(worst > FLIP_THRESHOLD)),
                        median_abs=float(np.median(worst)),
                        p95_abs=float(np.quantile(worst, 0.95)),
                        max_abs=float(worst.max()),
                    ),
                    groups=groups,
                    reference_group=ref,
                    air_min=air_min,
                    smd_max_abs=smd_max,
                    auc_gap=auc_gap,
                )
            )
        two_valued = entry.type == "continuous" or len(np.unique(train_values)) <= 2
        features.append(
            ProtectedFeature(
                name=name,
                type=entry.type,
                grouping=grouping.description,
                raw_rank=rank_raw,
                scaled_rank=rank_scaled,
                raw_pct=raw_pct,
                scaled_pct=scaled_pct,
                features=d,
                proxies=_proxies(ctx, column, train_groups, two_valued),
                datasets=tuple(per_dataset),
            )
        )
    return FairnessResult(
        cutoff=dictionary.cutoff,
        adverse_class=dictionary.adverse_class,
        flip_threshold=FLIP_THRESHOLD,
        max_flip_rows=MAX_FLIP_ROWS,
        min_group_samples=min_samples,
        features=tuple(features),
    )


def observed(result: FairnessResult | None) -> dict[MetricKey, float]:
    """Per data set, over the protected features: the largest flip share, the smallest AIR,
    the largest |SMD| and the largest AUC gap between groups."""
    values: dict[MetricKey, float] = {}
    if result is None:
        return values
    for feature in result.features:
        for d in feature.datasets:
            keys = {
                "fairness.flip_share": (d.flip.share_above, max),
                "fairness.air_min": (d.air_min, min),
                "fairness.smd_max": (d.smd_max_abs, max),
                "fairness.auc_gap": (d.auc_gap, max),
            }
            for metric, (value, pick) in keys.items():
                if value is None:
                    continue
                key = (metric, d.dataset)
                values[key] = pick(values[key], value) if key in values else value
    return values
