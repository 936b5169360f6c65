"""Rhythmic Sharing: a reservoir computer whose link strengths oscillate with Kuramoto-coupled phases.

The model is defined in specs/rhythmic_sharing.md (Kang & Losert, arXiv:2502.08644). Parts:

- :mod:`~astroglia.rhythmic.network`: drawing ``A``, ``A_Phi``, ``W_in`` from a seed (:func:`build_network`).
- :mod:`~astroglia.rhythmic.kernel`: the pure step (NumPy reference) and the compiled kernels.
- :mod:`~astroglia.rhythmic.estimator`: :class:`RhythmicSharingReservoir` (fit, sense, predict, closed loop).
"""

from astroglia.rhythmic._base import NotFittedError, clone
from astroglia.rhythmic.estimator import (
    ClosedLoopRun,
    DivergenceError,
    RhythmicSharingReservoir,
    SenseResult,
    static_link_reservoir,
)
from astroglia.rhythmic.kernel import Params, State
from astroglia.rhythmic.network import Network, build_network

__all__ = [
    "ClosedLoopRun",
    "DivergenceError",
    "Network",
    "NotFittedError",
    "Params",
    "RhythmicSharingReservoir",
    "SenseResult",
    "State",
    "build_network",
    "clone",
    "static_link_reservoir",
]
