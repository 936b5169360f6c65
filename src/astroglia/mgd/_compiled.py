r"""numba-compiled kernels of the random code on the CPU (used by :class:`~astroglia.mgd.codes.RandomCode`).

A random pattern is the bits of a SplitMix64 stream, 64 signs per output word. The two operations MGD needs
per batch of K patterns read those bits straight from the words, so the (K, P) matrix of signs is never
built:

- :func:`perturbed_points`: ``out[k, i] = base[i] + (a if bit i of pattern k else -a)``, the K parameter
  vectors at which the costs are measured;
- :func:`correlate_into`: ``g[i] += sum_k weights[k] * (a if bit i of pattern k else -a)``, the K
  contributions of :math:`\tilde C_k \tilde\theta^{(k)}` to :math:`G_{int}`.

Both work in the arrays' precision. The points are exactly those of the tensor formulation (``base + a s``
is one rounded addition of ``base[i]`` and ``+/-a``); the correlation equals a matrix-vector product
``S^T (a w)`` up to the order of its sums. No ``fastmath``: every expression is evaluated as written.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["correlate_into", "pattern_words", "perturbed_points", "stream_words"]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_ONE = np.uint64(1)


@numba.njit(cache=True, inline="always")
def _splitmix64(x: np.uint64) -> np.uint64:
    z = x + _GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MUL1
    z = (z ^ (z >> np.uint64(27))) * _MUL2
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True)
def stream_words(keys: np.ndarray, n_words: int) -> np.ndarray:
    """Words ``j < n_words`` of the SplitMix64 stream seeded with each key: ``splitmix64(key + j * gamma)``.

    Args:
        keys: uint64 seeds, shape (K,).
        n_words: words per stream.

    Returns:
        uint64 array of shape (K, n_words); equal to
        :func:`~astroglia.mgd.seeding.splitmix64_array` ``(keys[:, None] + j * GOLDEN_GAMMA)``.
    """
    out = np.empty((keys.size, n_words), np.uint64)
    for k in range(keys.size):
        state = keys[k]
        for j in range(n_words):
            out[k, j] = _splitmix64(state)
            state = state + _GAMMA
    return out


@numba.njit(cache=True)
def pattern_words(head: np.uint64, indices: np.ndarray, n_words: int) -> np.ndarray:
    """:func:`stream_words` of the patterns ``indices`` of a stream with the given head: the keys are
    ``splitmix64(head ^ index) >> 1`` (:func:`~astroglia.mgd.seeding.substream_seed`).

    Args:
        head: :func:`~astroglia.mgd.seeding.substream_head` of the code's seed and stream, as uint64.
        indices: non-negative int64 pattern indices, shape (K,).
        n_words: words per pattern.

    Returns:
        uint64 array of shape (K, n_words).
    """
    keys = np.empty(indices.size, np.uint64)
    for k in range(indices.size):
        keys[k] = _splitmix64(head ^ np.uint64(indices[k])) >> _ONE
    return stream_words(keys, n_words)


@numba.njit(cache=True)
def perturbed_points(words: np.ndarray, base: np.ndarray, amplitude: float, out: np.ndarray) -> None:
    """``out[k, i] = base[i] + (+amplitude if bit i of row k of words else -amplitude)``, in ``out``'s dtype.

    Args:
        words: uint64 (K, ceil(P / 64)); sign i of pattern k is bit ``i % 64`` (least significant first) of
            ``words[k, i // 64]``.
        base: the parameters, shape (P,), same dtype as ``out``.
        amplitude: a, already rounded to ``out``'s dtype (a NumPy scalar of that dtype).
        out: (K, P), written in place.
    """
    n = base.size
    plus = amplitude
    minus = -amplitude
    for k in range(words.shape[0]):
        row = out[k]
        for j in range(words.shape[1]):
            w = words[k, j]
            start = 64 * j
            for b in range(min(64, n - start)):
                row[start + b] = base[start + b] + (plus if (w >> np.uint64(b)) & _ONE else minus)


@numba.njit(cache=True)
def correlate_into(words: np.ndarray, weights: np.ndarray, amplitude: float, g: np.ndarray) -> None:
    """``g[i] += sum_k weights[k] * (+amplitude if bit i of row k of words else -amplitude)``.

    Computed in ``g``'s precision, as a matrix-vector product of the perturbations would be: each term is
    ``weights[k]`` rounded to that precision times ``amplitude``, the K terms of an entry are summed in order
    of k, then added to ``g`` once.

    Args:
        words: uint64 (K, ceil(P / 64)), as in :func:`perturbed_points`.
        weights: (K,), in ``g``'s dtype.
        amplitude: a, a scalar of ``g``'s dtype.
        g: (P,), updated in place.
    """
    n = g.size
    acc = np.empty(64, dtype=g.dtype)
    for j in range(words.shape[1]):
        acc[:] = 0
        for k in range(words.shape[0]):
            w = words[k, j]
            term = weights[k] * amplitude
            for b in range(64):
                acc[b] += term if (w >> np.uint64(b)) & _ONE else -term
        start = 64 * j
        for b in range(min(64, n - start)):
            g[start + b] += acc[b]
