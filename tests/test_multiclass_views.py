"""Multiclass per-class views (issue 11 item 7): slope by value, ICE curves, region profiles,
parallel/pair/intercept plots, importance and stability for every shown class.

Oracles, all independent of govreport: torch autograd on the hand-built 3-class network
(every client's exact local slope and intercept per class logit), torch's own softmax for
the class probabilities, activation patterns counted by brute force, ``scipy.stats.ks_2samp``
and a PSI written out here from its definition.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats

import govreport
from govreport.analyses.slope_profiles import ICE_PERCENTILES
from tests.conftest import FEATURES
from tests.test_multiclass_complete import CLASSES, labelled, run, tiny_module

Array = np.ndarray[Any, Any]


@pytest.fixture(scope="module")
def outcome() -> Any:
    return run()


@pytest.fixture(scope="module")
def html(outcome: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("mc-views")
    govreport.render(outcome.results, out, pdf=False)
    return (out / "report.html").read_text(encoding="utf-8")


def _x(rows: int = 300, seed: int = 11) -> Array:
    return np.asarray(labelled(rows, seed)[list(FEATURES)].to_numpy(), dtype=np.float64)


def jacobians(x: Array) -> tuple[Array, Array]:
    """Logits (N, K) and the Jacobian d logit_k / d x_j (N, K, d) by autograd, float64."""
    body = tiny_module("multiclass").double()[:-1]
    inputs = torch.tensor(x, dtype=torch.float64)
    jac = torch.func.vmap(torch.func.jacrev(body))(inputs)
    with torch.no_grad():
        logits = body(inputs)
    return logits.numpy(), jac.detach().numpy()


def probabilities(x: Array) -> Array:
    """Class probabilities from the torch module itself (its Softmax layer)."""
    with torch.no_grad():
        out = tiny_module("multiclass").double()(torch.tensor(x, dtype=torch.float64))
    return np.asarray(out.numpy())


def regions_by_pattern(x: Array) -> list[list[int]]:
    """Rows of each activation region (brute-force on/off pattern), largest first."""
    module = tiny_module("multiclass").double()
    with torch.no_grad():
        h1 = module[1](module[0](torch.tensor(x, dtype=torch.float64)))
        h2 = module[3](module[2](h1))
    groups: dict[tuple[bool, ...], list[int]] = defaultdict(list)
    for row, (a, b) in enumerate(zip(h1.numpy(), h2.numpy(), strict=True)):
        groups[tuple((a > 0).tolist()) + tuple((b > 0).tolist())].append(row)
    return sorted(groups.values(), key=len, reverse=True)


def test_every_class_gets_its_own_views_with_its_own_top_features(outcome: Any) -> None:
    x = _x()
    _, jac = jacobians(x)
    sd = x.std(axis=0)
    views = outcome.results.slope_profiles
    assert [c.output for c in views.classes()] == list(CLASSES)
    assert views.scale == "probability"
    for cls in views.classes():
        k = CLASSES.index(cls.output)
        effect = np.abs(jac[:, k, :]).mean(axis=0) * sd  # mean |change| for a one-SD move
        top = [FEATURES[j] for j in np.argsort(-effect)[:2]]
        assert [f.feature for f in cls.slopes] == top
        assert [c.feature for c in cls.ice] == top
    plots = outcome.results.aletheia_plots
    assert [c.output for c in plots.classes()] == list(CLASSES)


def test_slope_by_value_matches_autograd_per_class(outcome: Any) -> None:
    x = _x()
    _, jac = jacobians(x)
    for cls in outcome.results.slope_profiles.classes():
        k = CLASSES.index(cls.output)
        for feature in cls.slopes:
            j = FEATURES.index(feature.feature)
            values, slopes = x[:, j], jac[:, k, j]
            edges = np.quantile(values, np.linspace(0.0, 1.0, 11))
            assert not feature.discrete and len(feature.bins) == 10
            assert sum(b.count for b in feature.bins) == x.shape[0]
            for b, spec in enumerate(feature.bins):
                assert (spec.low, spec.high) == pytest.approx((edges[b], edges[b + 1]))
                last = b == len(feature.bins) - 1
                inside = (values >= edges[b]) & (
                    (values <= edges[b + 1]) if last else (values < edges[b + 1])
                )
                members = slopes[inside]
                assert spec.count == members.size
                assert spec.median == pytest.approx(np.median(members), abs=1e-9)
                assert (spec.q25, spec.q75) == pytest.approx(
                    tuple(np.percentile(members, (25, 75))), abs=1e-9
                )
                assert spec.positive_share == pytest.approx(np.mean(members > 0))
                assert spec.negative_share == pytest.approx(np.mean(members < 0))


def test_ice_curves_are_the_class_probability_from_torch(outcome: Any) -> None:
    x = _x()  # 300 rows: fewer than the ICE sample, so every client is in it
    views = outcome.results.slope_profiles
    assert views.ice_sample == x.shape[0]
    for cls in views.classes():
        k = CLASSES.index(cls.output)
        for curve in cls.ice:
            j = FEATURES.index(curve.feature)
            grid = np.unique(np.quantile(x[:, j], np.linspace(0.01, 0.99, 21)))
            assert curve.grid == pytest.approx(tuple(grid))
            for g, value in enumerate(grid):
                moved = x.copy()
                moved[:, j] = value
                p = probabilities(moved)[:, k]
                assert curve.mean[g] == pytest.approx(p.mean(), abs=1e-9)
                for q in ICE_PERCENTILES:
                    assert curve.percentiles[f"p{q}"][g] == pytest.approx(
                        np.percentile(p, q), abs=1e-9
                    )
            assert curve.observed_mean == pytest.approx(probabilities(x)[:, k].mean(), abs=1e-9)
        # the classes' probabilities differ: no class silently shows another's curve
    means = [c.ice[0].observed_mean for c in views.classes()]
    assert len({round(float(m), 9) for m in means}) == len(means)


def test_parallel_and_intercepts_match_autograd_per_class(outcome: Any) -> None:
    x = _x()
    logits, jac = jacobians(x)
    sd = x.std(axis=0)
    regions = regions_by_pattern(x)
    for cls in outcome.results.aletheia_plots.classes():
        k = CLASSES.index(cls.output)
        columns = [FEATURES.index(f) for f in cls.parallel.features]
        assert cls.parallel.regions_total == len(regions)
        for line in cls.parallel.lines:
            candidates = [rows for rows in regions if len(rows) == line.count]
            assert candidates, line.rank
            fits = []
            for rows in candidates:
                w = jac[rows[0], k]
                b = logits[rows[0], k] - w @ x[rows[0]]
                fits.append(
                    np.allclose(line.raw, w[columns], atol=1e-9)
                    and np.allclose(line.scaled, w[columns] * sd[columns], atol=1e-9)
                    and abs(line.intercept - b) < 1e-9
                )
            assert any(fits), (cls.output, line.rank)
        pair = cls.pair
        for feature in pair.features:
            j = FEATURES.index(feature.name)
            for count, coefficient, centre in zip(
                pair.counts, feature.coefficients, feature.centers, strict=True
            ):
                ok = [
                    abs(jac[rows[0], k, j] - coefficient) < 1e-9
                    and abs(x[rows, j].mean() - centre) < 1e-9
                    for rows in regions
                    if len(rows) == count
                ]
                assert any(ok), (cls.output, feature.name, count)


def test_region_profiles_use_each_class_logit(outcome: Any) -> None:
    x = _x()
    _, jac = jacobians(x)
    regions = regions_by_pattern(x)
    profiles = outcome.results.profiles
    assert sorted({p.output for p in profiles}) == sorted(CLASSES)
    for profile in profiles:
        k = CLASSES.index(profile.output)
        j = FEATURES.index(profile.feature)
        for segment in profile.regions:
            slopes = [jac[rows[0], k, j] for rows in regions if len(rows) == segment.count]
            assert any(abs(s - segment.slope) < 1e-9 for s in slopes)


def _psi(expected: Array, actual: Array) -> float:
    """PSI from its definition: training deciles (one bin per value for <= 10 values), bins
    closed on the right, an empty bin's share replaced by 1e-4."""
    distinct = np.unique(expected)
    edges = (
        distinct[:-1]
        if distinct.size <= 10
        else np.unique(np.quantile(expected, np.arange(1, 10) / 10))
    )

    def shares(v: Array) -> Array:
        index = (v[:, None] > edges[None, :]).sum(axis=1)
        counts = np.array([np.count_nonzero(index == b) for b in range(edges.size + 1)])
        return np.maximum(counts / v.size, 1e-4)

    e, a = shares(expected), shares(actual)
    return float(np.sum((a - e) * np.log(a / e)))


def test_stability_compares_every_class_probability(outcome: Any, html: str) -> None:
    train, test = probabilities(_x()), probabilities(_x(120, 12))
    comparison = outcome.results.stability.comparisons[0]
    assert comparison.dataset == "test"
    assert [c.name for c in comparison.classes] == list(CLASSES)
    for k, shift in enumerate(comparison.classes):
        assert shift.psi == pytest.approx(_psi(train[:, k], test[:, k]), abs=1e-12)
        assert shift.ks == pytest.approx(stats.ks_2samp(train[:, k], test[:, k]).statistic)
    worst = max(comparison.classes, key=lambda c: c.psi)
    assert comparison.score == worst
    assert outcome.results.stability.score_name == "class probabilities"
    for name in CLASSES:
        assert f"probability of class {name}<" in html
    assert "score (" not in html.split('id="sec-stability"')[1].split("</section>")[0]


def test_html_draws_every_class_with_its_label(html: str) -> None:
    for k, name in enumerate(CLASSES):
        key = f"-{k}" if k else ""
        for figure in ("importance", "slope-by-value", "ice", "coef-parallel", "coef-pair"):
            assert f'id="figure-{figure}{key}"' in html, (figure, name)
        assert f"probability of {name} when the feature alone is set" in html
        assert "Local slope of" in html and f"on the logit of class {name} against" in html
        assert f"Pair plot of the local linear models (logit of class {name})" in html
        assert f"Feature importance, class {name}" in html
        assert "Local linear profile of" in html and f"on the logit of class {name} (" in html
    # each class's sentences follow its own figures, before the next class's
    for k in (1, 2):
        before = html.split(f'id="figure-slope-by-value-{k}"')[0]
        assert (
            f"For class {CLASSES[k - 1]}, " in before and f"For class {CLASSES[k]}, " not in before
        )


def test_classes_shown_limits_the_views_and_keeps_the_policy_score(tmp_path: Path) -> None:
    outcome = run(classes_shown=["mid"])
    results = outcome.results
    assert results.slope_profiles.output == "mid" and results.slope_profiles.other_classes is None
    assert results.aletheia_plots.output == "mid" and results.aletheia_plots.other_classes is None
    assert {p.output for p in results.profiles} == {"mid"}
    # the policy's score shift does not depend on what is drawn: every class is compared
    assert [c.name for c in results.stability.comparisons[0].classes] == list(CLASSES)
    govreport.render(results, tmp_path, pdf=False)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "probability of class mid<" in html
    for name in ("high", "low"):
        assert f"probability of class {name}<" not in html
        assert f"logit of class {name}" not in html
        assert f"Feature importance, class {name}" not in html
    assert 'id="figure-slope-by-value-2"' in html and 'id="figure-slope-by-value"' not in html
