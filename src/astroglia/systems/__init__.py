"""Dynamical systems as data, sampled with tight tolerances and exact parameter switches.

Each system (:data:`THOMAS`, :data:`LORENZ`, :data:`ROESSLER`) is a :class:`DynamicalSystem` record with its
equations, named parameters, units, known regimes and largest Lyapunov exponent with a source;
``rhs(t, x, **params)`` and ``jac`` take parameters by name. :func:`integrate` is the one entry point for
sampling (piecewise-constant :class:`ParameterSchedule` included) and returns a :class:`Series`; results
can be cached on disk (``ASTROGLIA_CACHE``). :func:`thomas_kang2025` builds the Rhythmic Sharing reference
task.
"""

from astroglia.systems._base import DynamicalSystem, LyapunovExponent, Parameter, Regime
from astroglia.systems.cache import cache_dir, clear_cache
from astroglia.systems.integrate import INTEGRATOR_VERSION, METHODS, IntegrationError, integrate
from astroglia.systems.lorenz import LORENZ
from astroglia.systems.lyapunov import largest_lyapunov_exponent
from astroglia.systems.reference import (
    KANG2025_LEVELS,
    KANG2025_SWITCH_TIMES,
    kang2025_schedule,
    thomas_kang2025,
    thomas_series,
)
from astroglia.systems.registry import get_system, list_systems
from astroglia.systems.roessler import ROESSLER
from astroglia.systems.schedule import ParameterSchedule
from astroglia.systems.series import Segment, Series
from astroglia.systems.thomas import THOMAS

__all__ = [
    "INTEGRATOR_VERSION",
    "KANG2025_LEVELS",
    "KANG2025_SWITCH_TIMES",
    "LORENZ",
    "METHODS",
    "ROESSLER",
    "THOMAS",
    "DynamicalSystem",
    "IntegrationError",
    "LyapunovExponent",
    "Parameter",
    "ParameterSchedule",
    "Regime",
    "Segment",
    "Series",
    "cache_dir",
    "clear_cache",
    "get_system",
    "integrate",
    "kang2025_schedule",
    "largest_lyapunov_exponent",
    "list_systems",
    "thomas_kang2025",
    "thomas_series",
]
