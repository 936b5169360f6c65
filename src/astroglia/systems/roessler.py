"""The Roessler system.

.. math::

    \\dot x = -y - z, \\qquad \\dot y = x + a y, \\qquad \\dot z = b + z (x - c)

Classic parameters a = b = 0.2, c = 5.7 (dimensionless): a chaotic band whose largest Lyapunov exponent is
about 0.071 per time unit.
"""

from __future__ import annotations

import numpy as np

from astroglia.systems._base import DynamicalSystem, LyapunovExponent, Parameter, Regime

EQUATIONS = "dx/dt = -y - z\ndy/dt = x + a*y\ndz/dt = b + z*(x - c)"

_ROESSLER_1976 = "O. E. Roessler, An equation for continuous chaos, Phys. Lett. A 57, 397-398 (1976)"
_SCAN = (
    "numerical scan with astroglia (DOP853, rtol = atol = 1e-9, 2000 time units, x0 = (1, 1, 0), "
    "a = b = 0.2, regime by astroglia.metrics.attractor_statistics at c = 2.0, 2.5, ..., 9.0)"
)
_SPROTT_2003 = "J. C. Sprott, Chaos and Time-Series Analysis, Oxford University Press (2003), Appendix A"


def rhs(t: float, state: np.ndarray, *, a: float, b: float, c: float) -> np.ndarray:
    """Time derivative of the Roessler system.

    Args:
        t: time (unused: the system is autonomous).
        state: (3,) state (x, y, z), or (3, M) for M states at once.
        a: feedback of y on itself, dimensionless.
        b: constant drive of z, dimensionless.
        c: threshold of the z nonlinearity, dimensionless.

    Returns:
        dstate/dt with the shape of ``state``.
    """
    x, y, z = state
    return np.array([-y - z, x + a * y, b + z * (x - c)])


def jac(t: float, state: np.ndarray, *, a: float, b: float, c: float) -> np.ndarray:
    """Jacobian d rhs / d state at one state of shape (3,); returns (3, 3)."""
    x, y, z = state
    return np.array(
        [
            [0.0, -1.0, -1.0],
            [1.0, a, 0.0],
            [z, 0.0, x - c],
        ]
    )


ROESSLER = DynamicalSystem(
    name="roessler",
    equations=EQUATIONS,
    variables=("x", "y", "z"),
    parameters=(
        Parameter("a", 0.2, "dimensionless", "self-feedback of y"),
        Parameter("b", 0.2, "dimensionless", "constant drive of z"),
        Parameter("c", 5.7, "dimensionless", "threshold of the z nonlinearity"),
    ),
    rhs=rhs,
    jac=jac,
    default_x0=(1.0, 1.0, 0.0),
    regimes=(
        Regime(
            "limit_cycle",
            "c",
            2.0,
            4.2,
            note=(
                "period-doubling cascade: period 1 up to about c = 2.8, period 2 at 3.0-3.5, "
                "period 4 at 4.0, accumulating near 4.2; not checked below c = 2 "
                "(from the default x0 the orbit may escape)"
            ),
            source=_SCAN,
        ),
        Regime(
            "chaotic",
            "c",
            4.2,
            9.0,
            note="single-band to multi-band chaos with narrow periodic windows; 5.7 is the classic value",
            source=_SCAN,
        ),
    ),
    lyapunov=LyapunovExponent(
        0.0714,
        {"a": 0.2, "b": 0.2, "c": 5.7},
        uncertainty=0.005,
        source=f"{_SPROTT_2003} (spectrum 0.0714, 0, -5.3943)",
    ),
    description="Spiral-type chaotic flow with a single quadratic nonlinearity.",
    citation=_ROESSLER_1976,
)
