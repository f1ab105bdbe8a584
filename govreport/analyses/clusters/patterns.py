"""Pattern labels of clusters: lossless hex, 0/1 bit strings and short digests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from govreport.jsontypes import JSON_CONFIG

__all__ = [
    "BIT_STRING_MAX",
    "PATTERN_BITS_MAX",
    "PatternLabel",
    "bit_string",
    "decode_pattern",
    "encode_pattern",
    "pattern_label",
]

BoolArray = npt.NDArray[np.bool_]

#: Longest pattern (hidden neurons) stored losslessly as hex; longer ones get a digest only.
PATTERN_BITS_MAX = 1024
#: Longest pattern also written out as a 0/1 bit string.
BIT_STRING_MAX = 128


def encode_pattern(bits: npt.ArrayLike) -> str:
    """Lossless hex of a 0/1 pattern (neuron 1 = most significant bit of the first byte).

    The same packing as :class:`govreport.regions.RegionTable.patterns` (``np.packbits``,
    big-endian), zero-padded to whole bytes. Decode with :func:`decode_pattern`.
    """
    array = np.asarray(bits, dtype=np.bool_).ravel()
    return np.packbits(array).tobytes().hex()


def decode_pattern(text: str, n_bits: int) -> BoolArray:
    """Inverse of :func:`encode_pattern`: (n_bits,) bool. Raises ValueError on bad input."""
    raw = np.frombuffer(bytes.fromhex(text), dtype=np.uint8)
    if raw.size != -(-n_bits // 8):
        raise ValueError(f"hex pattern of {raw.size} bytes cannot hold exactly {n_bits} bits")
    bits = np.unpackbits(raw)
    if bits[n_bits:].any():
        raise ValueError("hex pattern has non-zero padding bits")
    return bits[:n_bits].astype(np.bool_)


def bit_string(bits: npt.ArrayLike, widths: Sequence[int]) -> str:
    """``'1011|01'``: the pattern as 0/1 characters, layers separated by ``|``."""
    array = np.asarray(bits, dtype=np.bool_).ravel()
    if sum(widths) != array.size:
        raise ValueError(f"{array.size} bits do not match layer widths {tuple(widths)}")
    parts, start = [], 0
    for width in widths:
        parts.append("".join("1" if b else "0" for b in array[start : start + width]))
        start += width
    return "|".join(parts)


@dataclass(frozen=True, slots=True)
class PatternLabel:
    """Label of a cluster's (possibly partial) activation pattern.

    ``n_bits``: neurons in the label; ``bits``: 0/1 string (layers separated by ``|``) when
    ``n_bits <= BIT_STRING_MAX``; ``hex``: lossless :func:`encode_pattern` form when
    ``n_bits <= PATTERN_BITS_MAX``; ``digest``: first 12 hex digits of the SHA-256 of the
    packed bytes (always present, for display of long patterns).
    """

    __pydantic_config__ = JSON_CONFIG

    n_bits: int
    bits: str | None
    hex: str | None
    digest: str


def pattern_label(bits: npt.ArrayLike, widths: Sequence[int]) -> PatternLabel:
    """Label of a 0/1 pattern split into layers of ``widths`` neurons."""
    array = np.asarray(bits, dtype=np.bool_).ravel()
    packed = np.packbits(array).tobytes()
    return PatternLabel(
        n_bits=int(array.size),
        bits=bit_string(array, widths) if array.size <= BIT_STRING_MAX else None,
        hex=packed.hex() if array.size <= PATTERN_BITS_MAX else None,
        digest=hashlib.sha256(packed + array.size.to_bytes(8, "little")).hexdigest()[:12],
    )
