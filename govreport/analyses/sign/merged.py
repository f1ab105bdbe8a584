"""Sign checks, part 3: the same rules on a set of affine models (the merged models of the
simplification). See :mod:`govreport.analyses.sign`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from govreport.analyses.sign.evaluate import (
    output_of,
    slope_effect,
    step_ends,
    wrong_way,
)
from govreport.analyses.sign.rules import (
    Sign,
    SignCheckPlan,
    in_domain,
)
from govreport.jsontypes import JSON_CONFIG, Float
from govreport.network import FloatArray
from govreport.regions import Int64Array

# ---------------------------------------------------------------------------
# The same rules on a set of affine models (the merged models of the simplification).


@dataclass(frozen=True, slots=True)
class AffineSignFeature:
    """One constrained feature over the affine models: how many break it, for how many
    of their clients (a material violation)."""

    __pydantic_config__ = JSON_CONFIG

    feature: str
    sign: Sign
    models_breaking: int
    clients: int
    material: int
    material_share: Float


@dataclass(frozen=True, slots=True)
class AffineSignCheck:
    """One policy sign check on a set of affine models, over the clients assigned to them.

    A model breaks the check when at least one client assigned to it (in a feature's
    domain) has a material violation of a constraint; ``breaking``: those models' ids.
    """

    __pydantic_config__ = JSON_CONFIG

    check: str
    dataset: str
    models: int
    models_breaking: int
    breaking: tuple[int, ...]
    material_share: Float
    features: tuple[AffineSignFeature, ...]


def affine_sign_checks(
    plans: Sequence[SignCheckPlan],
    intercepts: FloatArray,
    coefs: FloatArray,
    x: FloatArray,
    labels: Int64Array,
    *,
    link: str,
    feature_std: FloatArray | None,
    dataset: str = "train",
    chunk_size: int = 4096,
) -> tuple[AffineSignCheck, ...]:
    """The policy's sign rules on affine models ``eta = intercepts[c] + coefs[c] @ x``.

    ``intercepts``: (C,), ``coefs``: (C, d) one logit (or output) per model; ``x``: (N, d)
    the clients and ``labels``: (N,) the model each is assigned to. Pure: the same rules
    as :func:`evaluate_sign_checks` (discrete: exact change over the admissible step;
    continuous: exact derivative times one std), with the model of each client in place
    of the network. Only checks on ``dataset`` are evaluated.
    """
    n_models = int(coefs.shape[0])
    out = []
    for plan in plans:
        if plan.dataset != dataset:
            continue
        broken = np.zeros(n_models, dtype=bool)
        features = []
        any_material = np.zeros(x.shape[0], dtype=bool)
        for constraint in plan.constraints:
            j = constraint.index
            scale = 1.0 if feature_std is None else float(feature_std[j])
            material_rows = np.zeros(x.shape[0], dtype=bool)
            column = np.asarray(x[:, j], dtype=np.float64)
            inside = in_domain(column, constraint.domain)
            if constraint.kind == "discrete":
                on_code, lo, hi = step_ends(column, constraint.values)
                tested = inside & on_code
            else:
                tested = inside
            rows = np.flatnonzero(tested)
            for start in range(0, rows.size, max(1, chunk_size)):
                idx = rows[start : start + chunk_size]
                w = coefs[labels[idx]]
                eta = intercepts[labels[idx]] + np.einsum("nd,nd->n", w, x[idx])
                if constraint.kind == "discrete":
                    base = eta - w[:, j] * column[idx]
                    effect = output_of((base + w[:, j] * hi[idx])[:, None], link, 0) - output_of(
                        (base + w[:, j] * lo[idx])[:, None], link, 0
                    )
                else:
                    effect = slope_effect(eta[:, None], w[:, j : j + 1], link, 0, scale)
                material_rows[idx] = wrong_way(effect, constraint.sign) > constraint.materiality
            models = np.unique(labels[material_rows])
            broken[models] = True
            any_material |= material_rows
            clients = int(tested.sum())
            n_material = int(material_rows.sum())
            features.append(
                AffineSignFeature(
                    feature=constraint.feature,
                    sign=constraint.sign,
                    models_breaking=int(models.size),
                    clients=clients,
                    material=n_material,
                    material_share=n_material / clients if clients else 0.0,
                )
            )
        out.append(
            AffineSignCheck(
                check=plan.check_id,
                dataset=dataset,
                models=n_models,
                models_breaking=int(broken.sum()),
                breaking=tuple(int(c) for c in np.flatnonzero(broken)),
                material_share=float(any_material.mean()) if x.shape[0] else 0.0,
                features=tuple(features),
            )
        )
    return tuple(out)
