"""N-bit parity and XOR: every input pattern with its exact target."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from astroglia.errors import ConfigError

__all__ = ["MAX_PARITY_BITS", "parity", "xor"]

MAX_PARITY_BITS = 20
"""Largest supported ``n_bits``: 2**20 patterns (about 170 MB of float64 inputs)."""


def parity(n_bits: int, *, dtype: DTypeLike = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """All ``2**n_bits`` patterns of ``n_bits`` bits and their parity.

    Row ``i`` of the inputs is the binary representation of ``i``, most significant bit first, so the rows
    run 000, 001, 010, ... The target is 1 when the row has an odd number of ones (the XOR of its bits), else
    0.

    Args:
        n_bits: number of input bits, 1 to :data:`MAX_PARITY_BITS`.
        dtype: element type of both arrays (float by default, for an MSE loss).

    Returns:
        ``(inputs, targets)``: ``inputs`` of shape ``(2**n_bits, n_bits)`` and ``targets`` of shape
        ``(2**n_bits,)``, every value 0 or 1.
    """
    if (
        isinstance(n_bits, bool)
        or not isinstance(n_bits, int | np.integer)
        or not 1 <= n_bits <= MAX_PARITY_BITS
    ):
        raise ConfigError(f"parity: n_bits must be an integer from 1 to {MAX_PARITY_BITS}, got {n_bits!r}")
    n_bits = int(n_bits)
    rows = np.arange(2**n_bits, dtype=np.int64)
    shifts = np.arange(n_bits - 1, -1, -1, dtype=np.int64)
    bits = (rows[:, None] >> shifts[None, :]) & 1
    targets = bits.sum(axis=1) % 2
    return bits.astype(dtype), targets.astype(dtype)


def xor(*, dtype: DTypeLike = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The XOR task, ``parity(2)``: inputs ``[[0, 0], [0, 1], [1, 0], [1, 1]]``, targets ``[0, 1, 1, 0]``."""
    return parity(2, dtype=dtype)
