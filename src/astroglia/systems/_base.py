"""Metadata shared by every dynamical system: parameters, regimes, Lyapunov exponents, the system record.

A system is data plus two functions. :class:`DynamicalSystem` is a frozen record holding the equations (as
text), the parameters with their defaults and units, the known regimes by parameter range and the largest
Lyapunov exponent with its source, together with ``rhs(t, state, **params)`` and ``jac(t, state, **params)``.
Both functions take the parameters by NAME (keyword-only), never by position.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

#: ``rhs(t, state, **params) -> dstate/dt``; ``state`` has shape (D,) or (D, M) for M states at once.
RHS = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Parameter:
    """One named parameter of a system.

    Attributes:
        name: the keyword name accepted by ``rhs`` and ``jac``.
        default: the default value.
        unit: physical unit, or ``"dimensionless"``.
        description: what the parameter means in the equations.
    """

    name: str
    default: float
    unit: str = "dimensionless"
    description: str = ""


@dataclass(frozen=True)
class Regime:
    """A known long-time behaviour of a system over a range of one parameter.

    The range is ``low < value < high`` (``None`` is unbounded) while the other parameters are at ``fixed``
    (empty: at their defaults). ``kind`` is one of ``"fixed_point"``, ``"limit_cycle"``, ``"chaotic"``.

    Attributes:
        kind: the regime name.
        parameter: the parameter that is varied.
        low: lower end of the range (exclusive), or ``None``.
        high: upper end of the range (exclusive), or ``None``.
        fixed: values of the other parameters at which the range holds; missing ones are at their defaults.
        note: qualifications (windows of other behaviour inside the range, approximate boundaries, ...).
        source: where the range comes from.
    """

    kind: str
    parameter: str
    low: float | None
    high: float | None
    fixed: Mapping[str, float] = field(default_factory=dict)
    note: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "fixed", MappingProxyType(dict(self.fixed)))

    def contains(self, value: float) -> bool:
        """Whether ``value`` of :attr:`parameter` lies strictly inside the range."""
        return (self.low is None or value > self.low) and (self.high is None or value < self.high)


@dataclass(frozen=True)
class LyapunovExponent:
    """The largest Lyapunov exponent at given parameter values.

    Attributes:
        value: the exponent, in ``unit``.
        parameters: the parameter values it was measured at (all of them).
        unit: ``"1/time unit"`` of the system's time variable.
        uncertainty: an honest spread of the estimate (same unit), or ``None`` when unknown.
        source: the literature reference or the computation that produced ``value``.
    """

    value: float
    parameters: Mapping[str, float]
    unit: str = "1/time unit"
    uncertainty: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))

    @property
    def lyapunov_time(self) -> float:
        """``1 / value``, in time units: the e-folding time of small errors."""
        return 1.0 / self.value


@dataclass(frozen=True, eq=False)
class DynamicalSystem:
    """A continuous-time dynamical system ``dx/dt = rhs(t, x, **params)`` as data.

    Attributes:
        name: registry name (lower case).
        equations: the equations as text, with the parameter names used by ``rhs``.
        variables: names of the D state variables, in state order.
        parameters: the parameters, in documentation order (order carries no meaning: pass them by name).
        rhs: ``rhs(t, state, **params)``; ``state`` of shape (D,) returns (D,), (D, M) returns (D, M).
        jac: ``jac(t, state, **params)`` -> (D, D) Jacobian of ``rhs`` at a single state of shape (D,).
        default_x0: a default initial state, shape (D,).
        time_unit: unit of ``t`` (the systems here are dimensionless).
        regimes: known regimes by parameter range.
        lyapunov: the largest Lyapunov exponent at the default parameters, with its source.
        description: one paragraph on the system.
        citation: the original reference.
    """

    name: str
    equations: str
    variables: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    rhs: RHS
    jac: RHS | None
    default_x0: tuple[float, ...]
    time_unit: str = "dimensionless time"
    regimes: tuple[Regime, ...] = ()
    lyapunov: LyapunovExponent | None = None
    description: str = ""
    citation: str = ""

    @property
    def dim(self) -> int:
        """Number of state variables D."""
        return len(self.variables)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of the parameters accepted by ``rhs`` and ``jac``."""
        return tuple(p.name for p in self.parameters)

    @property
    def defaults(self) -> dict[str, float]:
        """Default parameter values by name (a fresh dict)."""
        return {p.name: float(p.default) for p in self.parameters}

    def resolve_params(self, params: Mapping[str, float] | None = None) -> dict[str, float]:
        """Defaults overridden by ``params``; every name is checked and every value must be finite.

        Raises:
            ValueError: an unknown parameter name, or a non-finite or non-numeric value.
        """
        out = self.defaults
        for name, value in (params or {}).items():
            if name not in out:
                raise ValueError(
                    f"unknown parameter {name!r} for system {self.name!r}; "
                    f"its parameters are {sorted(out)} (pass them by these names)"
                )
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"parameter {name!r} of {self.name!r} must be a number, got {value!r}"
                ) from None
            if not math.isfinite(v):
                raise ValueError(f"parameter {name!r} of {self.name!r} must be finite, got {value!r}")
            out[name] = v
        return out

    def regime(self, params: Mapping[str, float] | None = None) -> str | None:
        """The known regime kind at ``params`` (defaults for missing names), or ``None`` if not tabulated.

        A regime applies when its parameter is inside its range and every other parameter equals the
        regime's ``fixed`` value (its default when not listed).
        """
        p = self.resolve_params(params)
        defaults = self.defaults
        for r in self.regimes:
            others_ok = all(
                math.isclose(p[name], r.fixed.get(name, defaults[name]), rel_tol=1e-12, abs_tol=1e-15)
                for name in p
                if name != r.parameter
            )
            if others_ok and r.contains(p[r.parameter]):
                return r.kind
        return None

    def __repr__(self) -> str:
        params = ", ".join(f"{p.name}={p.default:g}" for p in self.parameters)
        return f"DynamicalSystem({self.name!r}, D={self.dim}, {params})"
