"""All-client views of the network and the regime decision (issue 12, item 5).

With about one activation region per client, the largest regions describe very few
clients: their tables and profile plots say little about the model as a whole. This
module makes the views that cover every client, and decides which regime the data is in.

- **Regime.** The share of training clients held by the ``top_regions`` largest regions
  (the regions the region-level tables show). Below ``regime_min_coverage`` (default
  :data:`govreport.config.DEFAULTS`, 10%) the regime is ``"fragmented"``: the report
  moves its region-level tables and plots to an appendix and leads with the views below.
- **Local slope by feature value.** For each top feature j (by scale-aware importance)
  and each client i, the exact local slope w_{r(i), j} (the coefficient of the client's
  region on the output drawn): its median, quartiles and sign shares per decile of x_j (per
  distinct value for a discrete feature, one with at most :data:`DISCRETE_MAX_VALUES`
  values). Computed over all clients in row chunks (``chunk_size``); the output is a
  few numbers per bin. A distinct value held by fewer clients than the disclosure
  threshold is not shown (its clients are counted in ``withheld_clients``).
- **ICE curves.** For a seeded random sample of :data:`ICE_SAMPLE` clients (seed: the
  run's ``seed``), the network's output (probability for a binary model, the prediction
  for a regression, the class's softmax probability for a multiclass model) as feature j
  alone moves
  over a grid (its distinct values for a discrete feature, held by at least the
  disclosure threshold of clients; else the 1st to 99th percentiles). Stored: the mean
  over the sample (partial dependence) and the 10/25/50/75/90th percentiles of the
  individual curves at each grid point, never a single client's curve.
- **Multiclass.** The views are made for every shown class (``--classes-shown``; all
  classes by default), each for that class's own top features: the first shown class in
  the top-level fields, the others in ``other_classes``. The slope is the coefficient of
  the class's logit; the ICE curves show the class's probability. Binary and regression
  results are unchanged (``other_classes`` empty and omitted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.special import expit, softmax

from govreport import progress
from govreport.analyses.context import AnalysisContext
from govreport.analyses.importance import ImportanceResult, by_scaled_importance, headline
from govreport.disclosure import can_disclose
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray, Network
from govreport.regions import RegionExtraction

__all__ = [
    "DISCRETE_MAX_VALUES",
    "ICE_SAMPLE",
    "ClassViews",
    "IceCurves",
    "RegimeDecision",
    "SlopeBin",
    "SlopeByValue",
    "SlopeProfilesResult",
    "decide_regime",
    "ice_curves",
    "observed",
    "run",
    "slope_by_value",
]

#: A feature with at most this many distinct values is binned per value, not per decile.
DISCRETE_MAX_VALUES = 15
#: Bins of a continuous feature (deciles; fewer when quantiles coincide).
VALUE_BINS = 10
#: Clients in the seeded ICE sample (all clients when there are fewer).
ICE_SAMPLE = 500
#: Grid points of a continuous feature's ICE curve (percentiles 1 to 99).
ICE_GRID = 21
#: Percentiles of the individual ICE curves stored at each grid point.
ICE_PERCENTILES = (10, 25, 50, 75, 90)

Regime = Literal["few-large-regions", "fragmented"]
Scale = Literal["probability", "logit", "prediction"]


@dataclass(frozen=True, slots=True)
class RegimeDecision:
    """Which regime the training data is in, and why.

    ``top_share``: share of clients in the ``top_regions`` largest regions; the regime is
    ``"fragmented"`` when it is below ``threshold``. ``profile_regions`` largest regions
    are drawn in the profile plots, ``profile_disclosed`` of them pass the disclosure
    threshold (``disclosure_min_samples``).
    """

    __pydantic_config__ = JSON_CONFIG

    regime: Regime
    top_regions: int
    top_share: Float
    threshold: Float
    profile_regions: int
    profile_disclosed: int
    disclosure_min_samples: int


@dataclass(frozen=True, slots=True)
class SlopeBin:
    """Clients whose feature value lies in [low, high] (``low == high``: one value).

    Local slope (raw, output units per unit of the feature) over those clients: median,
    quartiles, and the shares of clients with a positive and a negative slope.
    """

    __pydantic_config__ = JSON_CONFIG

    low: Float
    high: Float
    count: int
    median: Float
    q25: Float
    q75: Float
    positive_share: Float
    negative_share: Float


@dataclass(frozen=True, slots=True)
class SlopeByValue:
    """Local slope of feature ``feature`` binned by its value, over all clients."""

    __pydantic_config__ = JSON_CONFIG

    feature: str
    scaled_importance_pct: Float
    discrete: bool
    #: Standard deviation of the feature (multiply a slope by it for per-SD units).
    scale: Float
    bins: tuple[SlopeBin, ...]
    withheld_clients: int = 0


@dataclass(frozen=True, slots=True)
class IceCurves:
    """ICE summary of feature ``feature``: per grid value, the mean and the percentiles
    (:data:`ICE_PERCENTILES`) of the sampled clients' outputs."""

    __pydantic_config__ = JSON_CONFIG

    feature: str
    discrete: bool
    grid: tuple[Float, ...]
    mean: tuple[Float, ...]
    percentiles: dict[str, tuple[Float, ...]]
    #: Mean output of the sample at its own feature values (the curves' anchor).
    observed_mean: Number = None


@dataclass(frozen=True, slots=True)
class ClassViews:
    """The all-client views of one more class of a multiclass model (``output``: its name)."""

    __pydantic_config__ = JSON_CONFIG

    output: str
    slopes: tuple[SlopeByValue, ...]
    ice: tuple[IceCurves, ...]


@dataclass(frozen=True, slots=True)
class SlopeProfilesResult:
    """The regime decision and the all-client views (slopes by value, ICE curves) of
    ``output``; for a multiclass model, the other shown classes in ``other_classes``."""

    __pydantic_config__ = JSON_CONFIG

    regime: RegimeDecision
    output: str
    scale: Scale
    clients: int
    slopes: tuple[SlopeByValue, ...]
    ice: tuple[IceCurves, ...]
    ice_sample: int
    ice_seed: int
    ice_percentiles: tuple[int, ...] = ICE_PERCENTILES
    note: str | None = field(default=None, metadata=OMIT_IF_NONE)
    other_classes: tuple[ClassViews, ...] | None = field(default=None, metadata=OMIT_IF_NONE)

    def classes(self) -> tuple[ClassViews, ...]:
        """Every class's views, the top-level output first."""
        return (ClassViews(self.output, self.slopes, self.ice), *(self.other_classes or ()))


def decide_regime(
    extraction: RegionExtraction,
    *,
    top_regions: int,
    threshold: float,
    profile_regions: int,
    disclosure_min_samples: int,
) -> RegimeDecision:
    """The regime: ``"fragmented"`` when the ``top_regions`` largest regions hold less than
    ``threshold`` of the samples, else ``"few-large-regions"``."""
    counts = extraction.table.counts
    n = max(int(extraction.n_samples), 1)
    top = min(top_regions, counts.size)
    share = float(counts[:top].sum()) / n
    drawn = counts[: min(profile_regions, counts.size)]
    disclosed = sum(1 for c in drawn if can_disclose(int(c), disclosure_min_samples))
    return RegimeDecision(
        regime="fragmented" if share < threshold else "few-large-regions",
        top_regions=top,
        top_share=share,
        threshold=float(threshold),
        profile_regions=int(drawn.size),
        profile_disclosed=disclosed,
        disclosure_min_samples=disclosure_min_samples,
    )


def _is_discrete(values: FloatArray) -> tuple[bool, FloatArray]:
    distinct = np.unique(values)
    return distinct.size <= DISCRETE_MAX_VALUES, distinct


def _bin_codes(values: FloatArray, edges: FloatArray, discrete: bool) -> np.ndarray:
    """Bin index of each value: its position among the distinct ``edges`` (discrete) or its
    decile interval [edges_b, edges_b+1) (the last one closed)."""
    if discrete:
        return np.searchsorted(edges, values)
    return np.searchsorted(edges[1:-1], values, side="right")


def slope_by_value(
    extraction: RegionExtraction,
    x: FloatArray,
    *,
    column: int,
    name: str,
    scaled_importance_pct: float,
    scale: float,
    chunk_size: int,
    disclosure_min_samples: int,
    output: int = 0,
) -> SlopeByValue:
    """Median, quartiles and sign shares of the exact local slope of ``column`` per value bin.

    Every client's slope is w_{r(i), output, column} of its region; rows are read in
    chunks of ``chunk_size``. Quantiles are numpy's default (linear) over the clients of
    the bin.
    """
    values = x[:, column]
    discrete, distinct = _is_discrete(values)
    if discrete:
        edges = distinct
    else:
        edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, VALUE_BINS + 1)))
    n_bins = int(edges.size) if discrete else max(int(edges.size) - 1, 1)
    n = values.size
    codes = np.empty(n, dtype=np.int64)
    slopes = np.empty(n, dtype=np.float64)
    weights = extraction.table.weights
    for start in range(0, n, max(chunk_size, 1)):
        stop = min(start + chunk_size, n)
        codes[start:stop] = _bin_codes(values[start:stop], edges, discrete)
        slopes[start:stop] = weights[extraction.sample_regions[start:stop], output, column]
        progress.advance(stop - start)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_bins + 1))
    bins = []
    withheld = 0
    for b in range(n_bins):
        members = slopes[order[bounds[b] : bounds[b + 1]]]
        if members.size == 0:
            continue
        if discrete and not can_disclose(int(members.size), disclosure_min_samples):
            withheld += int(members.size)
            continue
        q25, median, q75 = np.quantile(members, (0.25, 0.5, 0.75))
        low = float(edges[b])
        high = low if discrete else float(edges[b + 1])
        bins.append(
            SlopeBin(
                low=low,
                high=high,
                count=int(members.size),
                median=float(median),
                q25=float(q25),
                q75=float(q75),
                positive_share=float(np.count_nonzero(members > 0)) / members.size,
                negative_share=float(np.count_nonzero(members < 0)) / members.size,
            )
        )
    return SlopeByValue(
        feature=name,
        scaled_importance_pct=float(scaled_importance_pct),
        discrete=discrete,
        scale=float(scale),
        bins=tuple(bins),
        withheld_clients=withheld,
    )


def output_scale(task: str) -> Scale:
    """What the ICE curves show: a probability (binary: of the positive class; multiclass:
    of the class drawn), the prediction (regression), the logit otherwise."""
    if task in ("binary", "multiclass"):
        return "probability"
    if task == "regression":
        return "prediction"
    return "logit"


def network_output(network: Network, task: str, x: FloatArray, output: int = 0) -> FloatArray:
    """The network's output ``output`` on ``x`` (N, d) on the ICE scale (:func:`output_scale`);
    for a multiclass model the softmax probability of class ``output``."""
    logits = network.forward_logits(x)
    if task == "binary":
        z = logits[:, 0] if logits.shape[1] == 1 else logits[:, 1] - logits[:, 0]
        return np.asarray(expit(z), dtype=np.float64)  # no overflow for z << 0
    if task == "multiclass":
        return np.asarray(softmax(logits, axis=1)[:, output], dtype=np.float64)
    return np.asarray(logits[:, output], dtype=np.float64)


def ice_grid(values: FloatArray, disclosure_min_samples: int) -> tuple[bool, FloatArray]:
    """Grid of a feature's ICE curve: its distinct values held by at least
    ``disclosure_min_samples`` clients (discrete), else its 1st to 99th percentiles."""
    discrete, distinct = _is_discrete(values)
    if discrete:
        counts = np.array([np.count_nonzero(values == v) for v in distinct])
        keep = np.array([can_disclose(int(c), disclosure_min_samples) for c in counts], bool)
        return True, distinct[keep]
    return False, np.unique(np.quantile(values, np.linspace(0.01, 0.99, ICE_GRID)))


def ice_curves(
    network: Network,
    task: str,
    sample: FloatArray,
    *,
    column: int,
    name: str,
    grid: FloatArray,
    discrete: bool,
    output: int = 0,
) -> IceCurves:
    """ICE summary of ``column`` over the rows of ``sample``: output ``output`` with the
    column set to each grid value (one network pass per grid value over the sample)."""
    outputs = np.empty((grid.size, sample.shape[0]), dtype=np.float64)
    moved = np.array(sample, dtype=np.float64, copy=True)
    for g, value in enumerate(grid):
        moved[:, column] = value
        outputs[g] = network_output(network, task, moved, output)
    levels = np.percentile(outputs, ICE_PERCENTILES, axis=1) if grid.size else None
    return IceCurves(
        feature=name,
        discrete=discrete,
        grid=tuple(float(v) for v in grid),
        mean=tuple(float(v) for v in outputs.mean(axis=1)) if grid.size else (),
        percentiles={
            f"p{p}": tuple(float(v) for v in levels[i]) if levels is not None else ()
            for i, p in enumerate(ICE_PERCENTILES)
        },
        observed_mean=float(network_output(network, task, sample, output).mean())
        if sample.shape[0]
        else None,
    )


def ice_sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """The sorted rows of the ICE sample: ``size`` of ``n`` without replacement, drawn by
    ``numpy.random.default_rng(seed)`` (all rows when n <= size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _class_views(
    ctx: AnalysisContext,
    importance: ImportanceResult,
    output: int,
    sample: FloatArray,
) -> ClassViews:
    """Slopes by value and ICE curves of output ``output`` for its ``profile_features``
    features of largest importance (the report's headline order of that output)."""
    options = ctx.options
    x = ctx.train.dataset.x
    ranked = importance.outputs[output].features if output < len(importance.outputs) else ()
    top = (
        by_scaled_importance(importance)
        if output == 0
        else sorted(ranked, key=lambda f: -headline(f))
    )[: options.profile_features]
    slopes = []
    ice = []
    for f in top:
        column = ctx.feature_names.index(f.name)
        progress.part(f.name, x.shape[0])
        slopes.append(
            slope_by_value(
                ctx.train.extraction,
                x,
                column=column,
                name=f.name,
                scaled_importance_pct=f.scaled_pct,
                scale=float(ctx.feature_scale[column]),
                chunk_size=options.chunk_size,
                disclosure_min_samples=options.disclosure_min_samples,
                output=output,
            )
        )
        discrete, grid = ice_grid(x[:, column], options.disclosure_min_samples)
        ice.append(
            ice_curves(
                ctx.network,
                ctx.task,
                sample,
                column=column,
                name=f.name,
                grid=grid,
                discrete=discrete,
                output=output,
            )
        )
    return ClassViews(ctx.output_names[output], tuple(slopes), tuple(ice))


def run(ctx: AnalysisContext, importance: ImportanceResult) -> SlopeProfilesResult:
    """Regime decision and all-client views of the ``profile_features`` features of
    largest scale-aware importance on the training data, for every shown output."""
    options = ctx.options
    extraction = ctx.train.extraction
    x = ctx.train.dataset.x
    regime = decide_regime(
        extraction,
        top_regions=options.top_regions,
        threshold=options.regime_min_coverage,
        profile_regions=options.profile_regions,
        disclosure_min_samples=options.disclosure_min_samples,
    )
    rows = ice_sample_rows(x.shape[0], ICE_SAMPLE, options.seed)
    sample = x[rows]
    views = [_class_views(ctx, importance, k, sample) for k in ctx.outputs_shown]
    first = views[0]
    return SlopeProfilesResult(
        regime=regime,
        output=first.output,
        scale=output_scale(ctx.task),
        clients=int(x.shape[0]),
        slopes=first.slopes,
        ice=first.ice,
        ice_sample=int(rows.size),
        ice_seed=options.seed,
        other_classes=tuple(views[1:]) or None,
    )


def observed(result: SlopeProfilesResult) -> dict[MetricKey, float]:
    """No policy metric reads the all-client views."""
    return {}
