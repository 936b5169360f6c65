"""Thomas' cyclically symmetric attractor.

.. math::

    \\dot x = \\sin y - b x, \\qquad \\dot y = \\sin z - b y, \\qquad \\dot z = \\sin x - b z

One parameter, the damping ``b`` (dimensionless). As ``b`` decreases from 1 the origin loses stability to a
symmetric pair of fixed points (pitchfork at b = 1), these lose stability near b = 0.329 (Hopf) to a limit
cycle (period about 13.2 time units at b = 0.29), a period-doubling cascade leads to chaos near b = 0.208, and
at b = 0 the motion is a deterministic random walk ("labyrinth chaos").
"""

from __future__ import annotations

import numpy as np

from astroglia.systems._base import DynamicalSystem, LyapunovExponent, Parameter, Regime

EQUATIONS = "dx/dt = sin(y) - b*x\ndy/dt = sin(z) - b*y\ndz/dt = sin(x) - b*z"

_THOMAS_1999 = (
    "R. Thomas, Deterministic chaos seen in terms of feedback circuits: analysis, synthesis, "
    "'labyrinth chaos', Int. J. Bifurcation and Chaos 9, 1889-1905 (1999)"
)
_KANG_2025 = "H. Kang and W. Losert, arXiv:2502.08644 (2025), reference task (specs/rhythmic_sharing.md s. 6)"


def rhs(t: float, state: np.ndarray, *, b: float) -> np.ndarray:
    """Time derivative of Thomas' system.

    Args:
        t: time (unused: the system is autonomous).
        state: (3,) state (x, y, z), or (3, M) for M states at once.
        b: damping, dimensionless.

    Returns:
        dstate/dt with the shape of ``state``, in state units per time unit.
    """
    x, y, z = state
    return np.array([np.sin(y) - b * x, np.sin(z) - b * y, np.sin(x) - b * z])


def jac(t: float, state: np.ndarray, *, b: float) -> np.ndarray:
    """Jacobian d rhs / d state at one state of shape (3,); returns (3, 3)."""
    x, y, z = state
    return np.array(
        [
            [-b, np.cos(y), 0.0],
            [0.0, -b, np.cos(z)],
            [np.cos(x), 0.0, -b],
        ]
    )


THOMAS = DynamicalSystem(
    name="thomas",
    equations=EQUATIONS,
    variables=("x", "y", "z"),
    parameters=(Parameter("b", 0.18, "dimensionless", "linear damping of each variable"),),
    rhs=rhs,
    jac=jac,
    default_x0=(10.0, 10.0, 1.0),
    regimes=(
        Regime(
            "chaotic",
            "b",
            0.0,
            0.208,
            note="chaos sets in near b = 0.208 through period doubling; periodic windows exist inside",
            source=f"{_THOMAS_1999}; {_KANG_2025}",
        ),
        Regime(
            "limit_cycle",
            "b",
            0.208,
            0.329,
            note="b = 0.29: period about 13.2 time units; period doublings below about b = 0.21",
            source=f"{_THOMAS_1999}; {_KANG_2025}",
        ),
        Regime(
            "fixed_point",
            "b",
            0.329,
            None,
            note="a symmetric pair of stable fixed points for 0.329 < b < 1, the origin for b > 1",
            source=_THOMAS_1999,
        ),
    ),
    lyapunov=LyapunovExponent(
        0.034,
        {"b": 0.18},
        uncertainty=0.002,
        source=(
            "computed with astroglia.systems.lyapunov (Benettin, RK4 dt = 0.05, four runs of 20,000 time "
            "units from different initial states: 0.032-0.036); no published value was checked"
        ),
    ),
    description="Cyclically symmetric three-variable system with a single damping parameter b.",
    citation=_THOMAS_1999,
)
