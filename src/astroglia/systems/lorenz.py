"""The Lorenz-63 system.

.. math::

    \\dot x = \\sigma (y - x), \\qquad \\dot y = x (\\rho - z) - y, \\qquad \\dot z = x y - \\beta z

Classic parameters sigma = 10, rho = 28, beta = 8/3 (dimensionless), where the largest Lyapunov exponent is
about 0.906 per time unit (Lyapunov time about 1.10).
"""

from __future__ import annotations

import numpy as np

from astroglia.systems._base import DynamicalSystem, LyapunovExponent, Parameter, Regime

EQUATIONS = "dx/dt = sigma*(y - x)\ndy/dt = x*(rho - z) - y\ndz/dt = x*y - beta*z"

_LORENZ_1963 = "E. N. Lorenz, Deterministic nonperiodic flow, J. Atmos. Sci. 20, 130-141 (1963)"
_SPARROW_1982 = (
    "C. Sparrow, The Lorenz Equations: Bifurcations, Chaos, and Strange Attractors, Springer (1982)"
)
_SPROTT_2003 = "J. C. Sprott, Chaos and Time-Series Analysis, Oxford University Press (2003), Appendix A"

#: Subcritical Hopf point of C+/C- at the default sigma, beta:
#: rho_H = sigma (sigma + beta + 3) / (sigma - beta - 1).
RHO_HOPF = 10.0 * (10.0 + 8.0 / 3.0 + 3.0) / (10.0 - 8.0 / 3.0 - 1.0)


def rhs(t: float, state: np.ndarray, *, sigma: float, rho: float, beta: float) -> np.ndarray:
    """Time derivative of the Lorenz-63 system.

    Args:
        t: time (unused: the system is autonomous).
        state: (3,) state (x, y, z), or (3, M) for M states at once.
        sigma: Prandtl number, dimensionless.
        rho: reduced Rayleigh number, dimensionless.
        beta: geometric factor, dimensionless.

    Returns:
        dstate/dt with the shape of ``state``.
    """
    x, y, z = state
    return np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])


def jac(t: float, state: np.ndarray, *, sigma: float, rho: float, beta: float) -> np.ndarray:
    """Jacobian d rhs / d state at one state of shape (3,); returns (3, 3)."""
    x, y, z = state
    return np.array(
        [
            [-sigma, sigma, 0.0],
            [rho - z, -1.0, -x],
            [y, x, -beta],
        ]
    )


LORENZ = DynamicalSystem(
    name="lorenz",
    equations=EQUATIONS,
    variables=("x", "y", "z"),
    parameters=(
        Parameter("sigma", 10.0, "dimensionless", "Prandtl number"),
        Parameter("rho", 28.0, "dimensionless", "reduced Rayleigh number"),
        Parameter("beta", 8.0 / 3.0, "dimensionless", "aspect-ratio factor"),
    ),
    rhs=rhs,
    jac=jac,
    default_x0=(1.0, 1.0, 1.0),
    regimes=(
        Regime("fixed_point", "rho", 0.0, 1.0, note="the origin is globally stable", source=_SPARROW_1982),
        Regime(
            "fixed_point",
            "rho",
            1.0,
            24.06,
            note="the pair C+/C- is stable (pitchfork at rho = 1); transient chaos from rho = 13.93",
            source=_SPARROW_1982,
        ),
        Regime(
            "chaotic",
            "rho",
            RHO_HOPF,
            99.5,
            note=(
                "strange attractor (it already coexists with stable C+/C- for 24.06 < rho < 24.74); "
                "rho_H = 24.74 is the analytic subcritical Hopf point"
            ),
            source=_SPARROW_1982,
        ),
    ),
    lyapunov=LyapunovExponent(
        0.9056,
        {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0},
        uncertainty=0.005,
        source=f"{_SPROTT_2003} (spectrum 0.9056, 0, -14.5723)",
    ),
    description="Truncated convection model; the classic butterfly attractor at sigma=10, rho=28, beta=8/3.",
    citation=_LORENZ_1963,
)
