"""Local linear profile plot data (ALGORITHMS.md §1.5).

For a feature j and the largest regions r, the upper panel draws the segment
through the points (x_ij, w_rj · (x_ij − x̄_rj)) of the region's samples: slope
w_rj, spanning the observed range of x_j in the region, centred on the
region's mean (marginal effect, de-meaned). The lower panel shows each region's
density of x_j (a Gaussian kernel estimate, Scott's bandwidth) or, with fewer
than two distinct values or for a coded feature (at most ``MAX_DISCRETE_CODES`` whole-number
values), the values themselves. Plotting lives in the render
layer; this module returns the numbers.

Disclosure control (govreport.disclosure): a region with fewer samples than
``disclosure_min_samples`` keeps its model statistics (count, slope) but its
input statistics (range, segment end points, density, distinct values) are
withheld (``None`` / empty): the range of a one-sample region *is* that
sample's value. The shared density grid spans only the disclosed regions.

For a multiclass model there is one profile per shown class (``--classes-shown``; all
classes by default) and top feature of that class, the slope being the coefficient of the
class's logit; ``output`` names the class (absent for other tasks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from govreport.analyses.context import AnalysisContext
from govreport.analyses.importance import ImportanceResult, by_scaled_importance, headline
from govreport.disclosure import DEFAULT_DISCLOSURE_MIN_SAMPLES, can_disclose
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray
from govreport.regions import RegionExtraction, top_region_members

DENSITY_POINTS = 64
#: A feature with at most this many distinct whole-number values (over the disclosed
#: regions) is treated as coded: its profile shows its values, not a kernel density.
MAX_DISCRETE_CODES = 15
MAX_VALUES = 50


@dataclass(frozen=True, slots=True)
class Density:
    """Kernel density estimate on a grid: x (64,), y (64,) (integrates to 1)."""

    __pydantic_config__ = JSON_CONFIG

    x: tuple[Float, ...]
    y: tuple[Float, ...]


@dataclass(frozen=True, slots=True)
class ProfileSegment:
    """One region's segment: from (x_min, y_min) to (x_max, y_max), slope ``slope``.

    ``withheld``: the region has fewer samples than the disclosure threshold, so
    x_min, x_max, y_min, y_max and density are ``None`` and values is empty.
    """

    __pydantic_config__ = JSON_CONFIG

    rank: int
    count: int
    slope: Float
    x_min: Number
    x_max: Number
    y_min: Number
    y_max: Number
    density: Density | None
    values: tuple[Float, ...]
    withheld: bool | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class FeatureProfile:
    """Profile of feature ``feature`` over the ``regions_drawn`` largest regions (output 0,
    or the class ``output`` of a multiclass model).

    ``importance_pct`` is Aletheia's raw importance, ``scaled_importance_pct`` the
    scale-aware one (coefficient × feature std), both in per cent.
    """

    __pydantic_config__ = JSON_CONFIG

    feature: str
    importance_pct: Float
    scaled_importance_pct: Float
    regions_drawn: int
    regions_total: int
    regions: tuple[ProfileSegment, ...]
    output: str | None = field(default=None, metadata=OMIT_IF_NONE)


def gaussian_kde(values: FloatArray, grid: FloatArray) -> FloatArray | None:
    """Gaussian KDE of ``values`` (n,) on ``grid`` (m,), Scott's bandwidth; None if degenerate."""
    if np.unique(values).size < 2:
        return None
    bandwidth = values.std(ddof=1) * values.size ** (-1.0 / 5.0)
    scaled = (grid[:, None] - values[None, :]) / bandwidth
    return np.exp(-0.5 * scaled**2).sum(axis=1) / (values.size * bandwidth * np.sqrt(2 * np.pi))


def profile_features(
    extraction: RegionExtraction,
    x: FloatArray,
    *,
    features: Sequence[tuple[int, str, float, float]],
    top_regions: int,
    disclosure_min_samples: int = DEFAULT_DISCLOSURE_MIN_SAMPLES,
    output: int = 0,
    output_name: str | None = None,
) -> tuple[FeatureProfile, ...]:
    """Profiles of ``features`` over the largest regions, slopes of output ``output``
    (``output_name``: the class it is, recorded in each profile; None for one output).

    ``features``: (column index, name, raw importance %, scale-aware importance %).
    Regions with fewer than ``disclosure_min_samples`` samples get withheld segments.
    """
    table = extraction.table
    drawn = min(top_regions, table.n_regions)
    members, bounds = top_region_members(extraction, drawn)
    disclosed = [
        region
        for region in range(drawn)
        if can_disclose(int(table.counts[region]), disclosure_min_samples)
    ]
    disclosed_members = (
        np.concatenate([members[bounds[r] : bounds[r + 1]] for r in disclosed])
        if disclosed
        else members[:0]
    )
    profiles = []
    for column, name, importance, scaled_importance in features:
        grid = np.zeros(0)
        discrete = False
        if disclosed_members.size:
            values_all = x[disclosed_members, column]
            # A coded feature (few whole-number values) gets no kernel density, which would
            # spread mass between and beyond its codes: the figure marks its values instead.
            distinct_all = np.unique(values_all)
            discrete = bool(
                distinct_all.size <= MAX_DISCRETE_CODES
                and np.all(distinct_all == np.round(distinct_all))
            )
            low, high = float(values_all.min()), float(values_all.max())
            pad = 0.1 * (high - low) if high > low else 1.0
            grid = np.linspace(low - pad, high + pad, DENSITY_POINTS)
        segments = []
        for region in range(drawn):
            slope = float(table.weights[region, output, column])
            if region not in disclosed:
                segments.append(
                    ProfileSegment(
                        rank=region + 1,
                        count=int(table.counts[region]),
                        slope=slope,
                        x_min=None,
                        x_max=None,
                        y_min=None,
                        y_max=None,
                        density=None,
                        values=(),
                        withheld=True,
                    )
                )
                continue
            values = x[members[bounds[region] : bounds[region + 1]], column]
            centre = float(table.centers[region, column])
            x_min, x_max = float(values.min()), float(values.max())
            density = None if discrete else gaussian_kde(values, grid)
            distinct = np.unique(values)
            segments.append(
                ProfileSegment(
                    rank=region + 1,
                    count=int(table.counts[region]),
                    slope=slope,
                    x_min=x_min,
                    x_max=x_max,
                    y_min=slope * (x_min - centre),
                    y_max=slope * (x_max - centre),
                    density=None
                    if density is None
                    else Density(x=tuple(map(float, grid)), y=tuple(map(float, density))),
                    values=tuple(float(v) for v in distinct[:MAX_VALUES]),
                    withheld=False,
                )
            )
        profiles.append(
            FeatureProfile(
                feature=name,
                importance_pct=importance,
                scaled_importance_pct=scaled_importance,
                regions_drawn=drawn,
                regions_total=table.n_regions,
                regions=tuple(segments),
                output=output_name,
            )
        )
    return tuple(profiles)


#: The profiles of the report: one per profiled feature (a JSON list).
ProfilesResult = tuple[FeatureProfile, ...]


def run(ctx: AnalysisContext, importance: ImportanceResult) -> ProfilesResult:
    """Profiles of the ``profile_features`` features of largest scale-aware importance,
    for every shown output (a multiclass model: each class with its own top features).

    Scale-aware (coefficient × feature scale): raw coefficients depend on each
    feature's unit (ALGORITHMS.md §1.4).
    """
    multiclass = ctx.task == "multiclass"
    profiles: list[FeatureProfile] = []
    for output in ctx.outputs_shown:
        ranked = (
            by_scaled_importance(importance)
            if output == 0
            else sorted(importance.outputs[output].features, key=lambda f: -headline(f))
        )
        top = ranked[: ctx.options.profile_features]
        profiles += profile_features(
            ctx.train.extraction,
            ctx.train.dataset.x,
            features=[
                (ctx.feature_names.index(f.name), f.name, f.raw_pct, f.scaled_pct) for f in top
            ],
            top_regions=ctx.options.profile_regions,
            disclosure_min_samples=ctx.options.disclosure_min_samples,
            output=output,
            output_name=ctx.output_names[output] if multiclass else None,
        )
    return tuple(profiles)


def observed(result: ProfilesResult) -> dict[MetricKey, float]:
    """No policy metric reads the profiles."""
    return {}
