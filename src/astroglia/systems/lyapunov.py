"""Largest Lyapunov exponent by the two-trajectory (Benettin) method.

A reference trajectory and a companion started ``d0`` away are advanced together with a fixed-step classical
Runge-Kutta scheme; every ``renormalize_every`` steps the separation ``d`` is measured, ``log(d / d0)`` is
accumulated and the companion is pulled back to distance ``d0`` along the current separation. The exponent is
the accumulated logarithm divided by the elapsed time.

Reference: G. Benettin, L. Galgani, J.-M. Strelcyn, Kolmogorov entropy and numerical experiments,
Phys. Rev. A 14, 2338 (1976).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from astroglia.systems._base import DynamicalSystem
from astroglia.systems.registry import get_system


def _rk4_step(f, t: float, x: np.ndarray, h: float) -> np.ndarray:
    k1 = f(t, x)
    k2 = f(t + 0.5 * h, x + 0.5 * h * k1)
    k3 = f(t + 0.5 * h, x + 0.5 * h * k2)
    k4 = f(t + h, x + h * k3)
    return x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def largest_lyapunov_exponent(
    system: DynamicalSystem | str,
    *,
    params: Mapping[str, float] | None = None,
    x0: Sequence[float] | None = None,
    dt: float = 0.01,
    n_steps: int = 20_000,
    transient_steps: int = 2_000,
    renormalize_every: int = 10,
    d0: float = 1e-8,
) -> float:
    """Estimate the largest Lyapunov exponent, in 1/time unit, by two nearby trajectories.

    Args:
        system: a :class:`DynamicalSystem` or its registry name.
        params: parameter values by name (defaults for missing ones).
        x0: initial state, shape (D,); the system's ``default_x0`` when ``None``.
        dt: fixed RK4 step, in time units.
        n_steps: steps over which the exponent is averaged (averaging time ``n_steps * dt``).
        transient_steps: steps discarded first so that the reference lies on the attractor.
        renormalize_every: steps between renormalisations of the separation.
        d0: separation (Euclidean, in state units) after each renormalisation.

    Returns:
        The estimate ``sum(log(d_k / d0)) / (n_steps * dt)``. Its statistical error shrinks like
        ``1 / sqrt(n_steps * dt)``; with the defaults Lorenz-63 gives 0.906 within a few percent.
    """
    sys_ = get_system(system) if isinstance(system, str) else system
    p = sys_.resolve_params(params)
    if dt <= 0 or not math.isfinite(dt):
        raise ValueError(f"dt must be a positive finite number of time units, got {dt!r}")
    if n_steps < renormalize_every or renormalize_every < 1 or transient_steps < 0:
        raise ValueError(
            "need renormalize_every >= 1, n_steps >= renormalize_every and transient_steps >= 0; got "
            f"n_steps={n_steps}, renormalize_every={renormalize_every}, transient_steps={transient_steps}"
        )
    if not d0 > 0:
        raise ValueError(f"d0 must be positive, got {d0!r}")
    x = np.array(sys_.default_x0 if x0 is None else x0, dtype=float)
    if x.shape != (sys_.dim,) or not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be {sys_.dim} finite numbers for {sys_.name!r}, got {x0!r}")

    def f(t: float, s: np.ndarray) -> np.ndarray:
        return sys_.rhs(t, s, **p)

    t = 0.0
    for _ in range(transient_steps):
        x = _rk4_step(f, t, x, dt)
        t += dt
    direction = np.ones(sys_.dim) / math.sqrt(sys_.dim)
    pair = np.stack([x, x + d0 * direction], axis=1)  # (D, 2): both trajectories advance in one call
    log_sum = 0.0
    n_blocks = n_steps // renormalize_every
    for _ in range(n_blocks):
        for _ in range(renormalize_every):
            pair = _rk4_step(f, t, pair, dt)
            t += dt
        sep = pair[:, 1] - pair[:, 0]
        d = float(np.linalg.norm(sep))
        if not (math.isfinite(d) and d > 0):
            raise FloatingPointError(f"separation became {d} at t={t:g}; reduce dt or renormalize_every")
        log_sum += math.log(d / d0)
        pair[:, 1] = pair[:, 0] + (d0 / d) * sep
    return log_sum / (n_blocks * renormalize_every * dt)
