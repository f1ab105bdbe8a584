"""The canonical, framework-free form of a piecewise-linear network.

Every loader (TorchScript, state_dict + spec, safetensors + spec) produces a
:class:`PiecewiseLinearNetwork`: a chain of affine maps in float64 with a
(leaky) ReLU between consecutive maps, and an output link that is *not* part of
the region analysis (regions and local models are on the logits).

Notation follows ALGORITHMS.md §0: ``layers[l].weight`` is W^(l) with shape
``(n_{l+1}, n_l)`` (PyTorch's ``Linear.weight`` layout), ``layers[l].bias`` is
b^(l) with shape ``(n_{l+1},)``. There are ``L`` hidden layers and ``L + 1``
affine maps; ``negative_slopes[l]`` is the slope of hidden layer ``l + 1`` on
its inactive side (0.0 for ReLU, alpha for LeakyReLU).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
import numpy.typing as npt

OutputLink = Literal["identity", "sigmoid", "softmax"]
FloatArray = npt.NDArray[np.float64]


def readonly(array: npt.ArrayLike) -> FloatArray:
    """A C-contiguous read-only float64 copy of ``array``."""
    out: FloatArray = np.array(array, dtype=np.float64, copy=True, order="C")
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True)
class AffineMap:
    """One affine map ``z = weight @ a + bias``.

    ``weight``: (n_out, n_in) float64, read-only. ``bias``: (n_out,) float64, read-only.
    """

    weight: FloatArray
    bias: FloatArray

    def __post_init__(self) -> None:
        if self.weight.ndim != 2 or self.bias.shape != (self.weight.shape[0],):
            raise ValueError(
                f"Invalid affine map shapes: weight {self.weight.shape}, bias {self.bias.shape}"
            )

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])


@dataclass(frozen=True, slots=True)
class PiecewiseLinearNetwork:
    """A chain ``affine_0, act_1, affine_1, ..., act_L, affine_L`` plus an output link.

    ``affine_maps``: L + 1 maps. ``negative_slopes``: L floats in [0, 1), the
    slope of each hidden activation for pre-activations <= 0.
    """

    affine_maps: tuple[AffineMap, ...]
    negative_slopes: tuple[float, ...]
    output_link: OutputLink

    def __post_init__(self) -> None:
        if len(self.affine_maps) != len(self.negative_slopes) + 1:
            raise ValueError(
                f"Need one more affine map than activations: {len(self.affine_maps)} maps, "
                f"{len(self.negative_slopes)} activations"
            )
        for index, (left, right) in enumerate(pairwise(self.affine_maps)):
            if left.n_out != right.n_in:
                raise ValueError(
                    f"Invalid chain at map {index}: output width {left.n_out} feeds "
                    f"input width {right.n_in}"
                )

    @property
    def input_dim(self) -> int:
        """d, the number of input features."""
        return self.affine_maps[0].n_in

    @property
    def output_dim(self) -> int:
        """K, the number of output logits."""
        return self.affine_maps[-1].n_out

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        """(n_1, ..., n_L), the widths of the hidden layers."""
        return tuple(m.n_out for m in self.affine_maps[:-1])

    @property
    def n_hidden_neurons(self) -> int:
        """H = sum of hidden widths: the length of an activation pattern in bits."""
        return sum(self.hidden_widths)

    @property
    def parameter_count(self) -> int:
        return sum(m.weight.size + m.bias.size for m in self.affine_maps)

    def forward_logits(self, x: FloatArray) -> FloatArray:
        """Reference forward pass in float64. x: (N, d) -> logits (N, K)."""
        a = np.asarray(x, dtype=np.float64)
        for affine, slope in zip(self.affine_maps[:-1], self.negative_slopes, strict=True):
            z = a @ affine.weight.T + affine.bias
            a = np.where(z > 0, z, slope * z)
        last = self.affine_maps[-1]
        return np.asarray(a @ last.weight.T + last.bias, dtype=np.float64)

    def activation_patterns(self, x: FloatArray) -> npt.NDArray[np.bool_]:
        """Reference activation patterns in float64. x: (N, d) -> (N, H) bool, z > 0 per neuron.

        For a few points (a region centre, a perturbed sample); regions.py captures
        patterns of whole data sets in its streaming pass.
        """
        a = np.asarray(x, dtype=np.float64)
        parts = []
        for affine, slope in zip(self.affine_maps[:-1], self.negative_slopes, strict=True):
            z = a @ affine.weight.T + affine.bias
            parts.append(z > 0)
            a = np.where(z > 0, z, slope * z)
        if not parts:
            return np.zeros((a.shape[0], 0), dtype=np.bool_)
        return np.concatenate(parts, axis=1)
