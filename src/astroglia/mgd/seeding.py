"""Counter-based seeding: every random object of MGD is regenerated from (seed, index), never stored.

A perturbation pattern, a device's variation draw or a worker's share of the perturbations are all functions
of an integer seed and an integer index. :func:`substream_seed` mixes the two with SplitMix64 so that nearby
indices give unrelated streams, and :func:`generator` returns a fresh ``torch.Generator`` seeded with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

_MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
"""SplitMix64's increment: the state advances by this constant per output."""


def splitmix64(x: int) -> int:
    """One SplitMix64 output for the 64-bit state ``x`` (Steele, Lea & Flood 2014)."""
    z = (x + GOLDEN_GAMMA) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def splitmix64_array(x: np.ndarray) -> np.ndarray:
    """:func:`splitmix64` of every entry of a ``uint64`` array (arithmetic modulo 2**64), same shape."""
    if x.dtype != np.uint64:
        raise TypeError(f"expected a uint64 array, got {x.dtype}")
    if x.ndim == 0:
        raise ValueError("expected an array of at least one dimension (NumPy scalars warn on overflow)")
    z = x + np.uint64(GOLDEN_GAMMA)  # uint64 array arithmetic wraps modulo 2**64 silently
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def substream_seed(seed: int, index: int, stream: int = 0) -> int:
    """A 63-bit seed for item ``index`` of stream ``stream`` under the run seed ``seed``.

    Args:
        seed: the run's seed (any non-negative int).
        index: the item's index (pattern number, worker rank, ...), non-negative.
        stream: which independent family of items (0: perturbation patterns; others for other uses).
    """
    if seed < 0 or index < 0 or stream < 0:
        raise ValueError(f"seed, index and stream must be non-negative, got {seed}, {index}, {stream}")
    return splitmix64(substream_head(seed, stream) ^ (index & _MASK64)) >> 1


def substream_seeds(seed: int, indices: Sequence[int] | np.ndarray, stream: int = 0) -> np.ndarray:
    """:func:`substream_seed` for many indices at once: a ``uint64`` array of shape ``(len(indices),)``."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if seed < 0 or stream < 0 or (idx.size and int(idx.min()) < 0):
        raise ValueError(f"seed, indices and stream must be non-negative, got {seed}, {indices}, {stream}")
    head = substream_head(seed, stream)
    return splitmix64_array(np.uint64(head) ^ idx.astype(np.uint64)) >> np.uint64(1)


def substream_head(seed: int, stream: int = 0) -> int:
    """The 64-bit state shared by all items of one stream: ``substream_seed(seed, index, stream)`` is
    ``splitmix64(substream_head(seed, stream) ^ index) >> 1``."""
    return splitmix64((seed & _MASK64) ^ splitmix64(stream))


def generator(
    seed: int, index: int, stream: int = 0, device: torch.device | str | None = None
) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with :func:`substream_seed` ``(seed, index, stream)``."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    g = torch.Generator(device=dev)
    g.manual_seed(substream_seed(seed, index, stream))
    return g
