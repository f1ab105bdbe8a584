"""scikit-learn ``MLPClassifier`` / ``MLPRegressor``, alone or after a ``StandardScaler``.

Read from the safe ``skops`` format (``skops.io.dump(model, "model.skops")``; the
optional dependency ``pip install 'govreport[sklearn]'``): only the scikit-learn
and numpy types such a model is made of are trusted, so loading runs no code
from the file. joblib/pickle files are read only with ``--allow-pickle``.

``activation`` must be ``'relu'`` (the only piecewise-linear choice). The fitted
``coefs_`` (in x out) become ``nn.Linear`` weights (out x in) with ``ReLU``
between them; ``out_activation_`` gives the link (``logistic``: sigmoid,
``softmax``, ``identity``); a ``StandardScaler`` becomes a diagonal affine map
folded into the first one. The recovered chain is checked against the
estimator's own ``predict_proba``/``predict`` on random rows in float64.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from govreport.errors import ModelError
from govreport.inputs.model.formats import first_line
from govreport.inputs.model.graph import GraphChain

__all__ = ["chain_from_estimator", "chain_from_pickle", "chain_from_skops"]

_CHECK_ROWS = 64
_CHECK_TOL = 1e-9
#: Types a fitted Pipeline(StandardScaler, MLP*) holds; skops loads only these.
_TRUSTED_PREFIXES = (
    "sklearn.neural_network.",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._label.LabelBinarizer",
    "numpy.",
    "builtins.",
)
_LINKS = {"logistic": "sigmoid", "softmax": "softmax", "identity": "identity"}


def chain_from_skops(path: Path) -> GraphChain:
    """Read a ``.skops`` file holding an MLP (optionally after a StandardScaler)."""
    try:
        import skops.io as sio
    except ImportError:
        raise ModelError(
            f"{path.name}: is a skops file, and reading it needs the skops package; "
            "pip install 'govreport[sklearn]'"
        ) from None
    try:
        untrusted = sio.get_untrusted_types(file=str(path))
    except Exception as exc:  # a corrupt archive raises many types
        raise ModelError(f"{path.name}: not a readable skops file ({first_line(exc)})") from exc
    refused = [name for name in untrusted if not name.startswith(_TRUSTED_PREFIXES)]
    if refused:
        raise ModelError(
            f"{path.name}: holds type {refused[0]}, which is not part of a scikit-learn MLP "
            "pipeline; save a Pipeline(StandardScaler, MLPClassifier/MLPRegressor) or the MLP"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator = sio.load(str(path), trusted=list(untrusted))
    except Exception as exc:  # skops raises many types for files it cannot rebuild
        raise ModelError(f"{path.name}: cannot load the skops file ({first_line(exc)})") from exc
    return chain_from_estimator(estimator, path.name)


def chain_from_pickle(path: Path) -> GraphChain | None:
    """A joblib/pickle file of a scikit-learn model (the caller allowed pickles); else None."""
    import joblib

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = joblib.load(str(path))
    except Exception:  # not a joblib/pickle file a torch reader could not read either
        return None
    if not type(obj).__module__.startswith("sklearn."):
        return None
    return chain_from_estimator(obj, path.name)


def chain_from_estimator(estimator: Any, where: str) -> GraphChain:
    """A fitted MLP (or Pipeline of StandardScaler + MLP) as the chain of torch layers."""
    steps: list[tuple[str, Any]] = (
        list(estimator.steps) if type(estimator).__name__ == "Pipeline" else [("", estimator)]
    )
    layers: list[nn.Module] = []
    origins: list[str] = []
    *scalers, (mlp_name, mlp) = steps
    for name, step in scalers:
        if step is None or step == "passthrough":
            continue
        if type(step).__name__ != "StandardScaler":
            raise ModelError(
                f"{where}: pipeline step {name!r} is a {type(step).__name__}; only "
                "StandardScaler steps may come before the MLP"
            )
        width = int(step.n_features_in_)
        mean = np.zeros(width) if step.mean_ is None else np.asarray(step.mean_, dtype=float)
        scale = np.ones(width) if step.scale_ is None else np.asarray(step.scale_, dtype=float)
        layers.append(_linear(np.diag(1.0 / scale), -mean / scale))
        origins.append(f"StandardScaler step {name!r}")
    kind = type(mlp).__name__
    if kind not in ("MLPClassifier", "MLPRegressor"):
        raise ModelError(
            f"{where}: the model is a {kind}; govreport reads MLPClassifier and MLPRegressor "
            "(activation='relu'), alone or after a StandardScaler"
        )
    if not hasattr(mlp, "coefs_"):
        raise ModelError(f"{where}: the {kind} is not fitted; fit it before saving")
    if mlp.activation != "relu":
        raise ModelError(
            f"{where}: the {kind} uses activation={mlp.activation!r}, which is not piecewise "
            "linear; retrain it with activation='relu'"
        )
    link = _LINKS.get(str(mlp.out_activation_))
    if link is None or (kind == "MLPClassifier" and link == "sigmoid" and mlp.n_outputs_ > 1):
        raise ModelError(
            f"{where}: the {kind}'s output ({mlp.out_activation_}, {mlp.n_outputs_} outputs) is "
            "not one binary, multiclass or single regression target"
        )
    if kind == "MLPRegressor" and mlp.n_outputs_ != 1:
        raise ModelError(f"{where}: the MLPRegressor has {mlp.n_outputs_} targets; use one")
    at = f" {mlp_name!r}" if mlp_name else ""
    for index, (weight, bias) in enumerate(zip(mlp.coefs_, mlp.intercepts_, strict=True)):
        if index:
            layers.append(nn.ReLU())
            origins.append(f"{kind}{at} relu")
        layers.append(_linear(np.asarray(weight, dtype=float).T, np.asarray(bias, dtype=float)))
        origins.append(f"{kind}{at} coefs_[{index}], intercepts_[{index}]")
    if link == "sigmoid":
        layers.append(nn.Sigmoid())
        origins.append(f"{kind}{at} out_activation_ logistic")
    elif link == "softmax":
        layers.append(nn.Softmax(dim=-1))
        origins.append(f"{kind}{at} out_activation_ softmax")
    chain = nn.Sequential(OrderedDict((str(i), m) for i, m in enumerate(layers))).eval()
    error = _check(estimator, chain, int(mlp.n_features_in_), link, where, kind)
    check = (
        f"structure read from the fitted {kind}'s coefs_ and intercepts_ "
        f"({'with a StandardScaler, ' if len(layers) > 2 * len(mlp.coefs_) else ''}"
        f"{len(layers)} layers); the chain reproduces its "
        f"{'predict' if link == 'identity' else 'predict_proba'} on {_CHECK_ROWS} random rows "
        f"in float64 (largest difference {error:.3g})"
    )
    return GraphChain(module=chain, origins=tuple(origins), check=check)


def _linear(weight: np.ndarray, bias: np.ndarray) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0], dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(np.array(weight, dtype=np.float64)))
        layer.bias.copy_(torch.from_numpy(np.array(bias, dtype=np.float64)))
    return layer


def _check(estimator: Any, chain: nn.Module, width: int, link: str, where: str, kind: str) -> float:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((_CHECK_ROWS, width))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # feature-name warnings
        if link == "identity":
            theirs = np.asarray(estimator.predict(x), dtype=float).reshape(_CHECK_ROWS, -1)
        else:
            theirs = np.asarray(estimator.predict_proba(x), dtype=float)
    with torch.no_grad():
        ours = chain(torch.from_numpy(x)).numpy()
    if link == "sigmoid":
        ours = np.column_stack([1.0 - ours[:, 0], ours[:, 0]])
    scale = max(1.0, float(np.max(np.abs(theirs))))
    error = float(np.max(np.abs(theirs - ours)))
    if theirs.shape != ours.shape or not error <= _CHECK_TOL * scale:
        raise ModelError(
            f"{where}: the network read from the {kind} differs from its own predictions by "
            f"{error:.3g}; report it with the file"
        )
    return error
