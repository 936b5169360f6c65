"""One entry point to sample a system, :func:`integrate`, with exact piecewise-constant parameter switches."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy
from scipy.integrate import solve_ivp

from astroglia import __version__
from astroglia.errors import AstrogliaError
from astroglia.systems import cache as _cache
from astroglia.systems._base import DynamicalSystem
from astroglia.systems.registry import get_system
from astroglia.systems.schedule import ParameterSchedule
from astroglia.systems.series import Segment, Series

#: Bumped whenever a change here can change the numbers produced; part of every cache key.
INTEGRATOR_VERSION = 1

#: A state component beyond this magnitude stops the integration with an :class:`IntegrationError`.
BLOWUP_BOUND = 1e12

METHODS = ("DOP853", "RK45", "RK23", "Radau", "BDF", "LSODA")
_IMPLICIT = frozenset({"Radau", "BDF", "LSODA"})


class IntegrationError(AstrogliaError, RuntimeError):
    """The ODE solver failed or produced non-finite values; the message names the segment and time."""


def _check_inputs(
    sys_: DynamicalSystem,
    x0: Sequence[float] | None,
    n_samples: int,
    dt: float,
    t0: float,
    method: str,
    rtol: float,
    atol: float,
) -> np.ndarray:
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    for name, v in (("dt", dt), ("rtol", rtol), ("atol", atol)):
        if not (isinstance(v, numbers.Real) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    if rtol < 100 * np.finfo(float).eps:
        raise ValueError(
            f"rtol={rtol!r} is below 100 machine epsilons (2.2e-14), which the solvers cannot honour"
        )
    if not (isinstance(t0, numbers.Real) and math.isfinite(t0)):
        raise ValueError(f"t0 must be a finite number, got {t0!r}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    raw = sys_.default_x0 if x0 is None else x0
    try:
        x = np.array(raw, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"x0 must be {sys_.dim} numbers for system {sys_.name!r}, got {raw!r}") from None
    if x.shape != (sys_.dim,):
        raise ValueError(
            f"x0 has shape {x.shape} but system {sys_.name!r} has {sys_.dim} variables {sys_.variables}; "
            f"pass {sys_.dim} numbers"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be finite, got {raw!r}")
    return x


def _segments(
    sys_: DynamicalSystem,
    t: np.ndarray,
    params: Mapping[str, float] | None,
    schedule: ParameterSchedule | None,
) -> tuple[list[dict[str, float]], tuple[float, ...], list[tuple[int, int]]]:
    """Resolved parameter sets, switch times and sample index ranges [start, stop) per segment."""
    base = sys_.resolve_params(params)
    if schedule is None:
        return [base], (), [(0, t.size)]
    if not isinstance(schedule, ParameterSchedule):
        raise ValueError(f"schedule must be a ParameterSchedule, got {type(schedule).__name__}")
    sets = [sys_.resolve_params({**base, **v}) for v in schedule.values]
    switch = schedule.switch_times
    if switch and not (t[0] < switch[0] and switch[-1] < t[-1]):
        raise ValueError(
            f"switch times must lie strictly between the first and last sample times ({t[0]:g}, {t[-1]:g}), "
            f"got {list(switch)}; shorten the schedule or sample more"
        )
    edges = [0] + [int(np.searchsorted(t, s, side="right")) for s in switch] + [t.size]
    return sets, switch, list(zip(edges[:-1], edges[1:], strict=True))


def integrate(
    system: DynamicalSystem | str,
    x0: Sequence[float] | None,
    n_samples: int,
    dt: float,
    *,
    params: Mapping[str, float] | None = None,
    schedule: ParameterSchedule | None = None,
    t0: float = 0.0,
    method: str = "DOP853",
    rtol: float = 1e-10,
    atol: float = 1e-10,
    cache: bool = False,
) -> Series:
    """Integrate ``system`` from ``x0`` and sample it at ``t_k = t0 + k * dt``, ``k = 0 .. n_samples - 1``.

    The ODE is solved by :func:`scipy.integrate.solve_ivp` with ``method`` (default DOP853, an explicit
    8th-order Runge-Kutta scheme) at relative and absolute tolerances ``rtol`` and ``atol`` (default 1e-10
    each); samples come from the solver's dense output, so ``dt`` does not limit the internal step. The
    analytic Jacobian is passed to the implicit methods (Radau, BDF, LSODA). A state component growing beyond
    ``BLOWUP_BOUND`` (1e12) stops the run with :class:`IntegrationError`.

    Parameters are the system defaults, overridden by ``params``, overridden per segment by ``schedule``.
    With a schedule, every segment is integrated separately from boundary to boundary and restarted from the
    exact state at the switch, so nothing is smoothed across a switch. Segments are ``(s_i, s_{i+1}]``: a
    sample exactly at a switch time carries the old parameters.

    Args:
        system: a :class:`DynamicalSystem` or its registry name.
        x0: initial state at ``t0``, shape (D,); ``None`` takes the system's ``default_x0``.
        n_samples: number of samples T >= 1 (the first is ``x0`` itself).
        dt: sampling step, in time units, > 0.
        params: parameter values by name.
        schedule: piecewise-constant parameters; switch times must lie strictly inside the sampled span.
        t0: time of the first sample.
        method: one of ``DOP853, RK45, RK23, Radau, BDF, LSODA``.
        rtol: relative tolerance of the solver.
        atol: absolute tolerance of the solver, in state units.
        cache: reuse and store the result in the disk cache (:mod:`astroglia.systems.cache`).

    Returns:
        A :class:`Series` with ``values`` (T, D), ``t`` (T,), per-sample ``params``, segments and ``meta``
        (which records method and tolerances).

    Raises:
        ValueError: bad input (non-finite or wrongly sized ``x0``, ``dt <= 0``, unknown parameter name,
            unknown method, switch times outside the span), before anything is integrated.
        IntegrationError: the solver failed or produced non-finite values.
    """
    sys_ = get_system(system)
    x = _check_inputs(sys_, x0, n_samples, dt, t0, method, rtol, atol)
    t = t0 + dt * np.arange(n_samples, dtype=float)
    sets, switch, ranges = _segments(sys_, t, params, schedule)
    base = sys_.resolve_params(params)
    spec = {
        "system": sys_.name,
        "x0": [float(v) for v in x],
        "n_samples": int(n_samples),
        "dt": float(dt),
        "t0": float(t0),
        "params": base,
        "segment_params": sets,
        "switch_times": list(switch),
        "method": method,
        "rtol": float(rtol),
        "atol": float(atol),
        "integrator_version": INTEGRATOR_VERSION,
        "astroglia_version": __version__,
        "scipy_version": scipy.__version__,
    }
    key = _cache.cache_key(spec)
    values = None
    status = "off"
    extra: dict[str, Any] = {}
    if cache:
        hit = _cache.load(key, (int(n_samples), sys_.dim))
        if hit is not None:
            values, cached_meta = hit
            extra = {"nfev": cached_meta.get("nfev")}
            status = "hit"
        else:
            status = "miss"
    if values is None:
        values, nfev = _solve(sys_, x, t, sets, switch, ranges, method, rtol, atol)
        extra = {"nfev": nfev}
    meta = {**spec, **extra, "cache": status, "cache_key": key}
    if status == "miss":
        _cache.store(key, values, {k: v for k, v in meta.items() if k != "cache"})
    return _build_series(t, values, sets, switch, ranges, meta)


def _solve(
    sys_: DynamicalSystem,
    x: np.ndarray,
    t: np.ndarray,
    sets: list[dict[str, float]],
    switch: tuple[float, ...],
    ranges: list[tuple[int, int]],
    method: str,
    rtol: float,
    atol: float,
) -> tuple[np.ndarray, int]:
    values = np.empty((t.size, sys_.dim))
    values[0] = x
    bounds = [float(t[0]), *switch, float(t[-1])]
    state = x.copy()
    nfev = 0
    for i, (p, (start, stop)) in enumerate(zip(sets, ranges, strict=True)):
        lo, hi = bounds[i], bounds[i + 1]
        if hi <= lo:  # a single-sample series: nothing to integrate
            continue
        t_eval = t[start:stop]
        n_keep = t_eval.size
        if n_keep == 0 or t_eval[-1] != hi:
            t_eval = np.append(t_eval, hi)  # always evaluate at the boundary to restart from it exactly

        def fun(tt: float, s: np.ndarray, _p: dict[str, float] = p) -> np.ndarray:
            return sys_.rhs(tt, s, **_p)

        def blowup(tt: float, s: np.ndarray) -> float:
            return BLOWUP_BOUND - float(np.max(np.abs(s)))

        blowup.terminal = True  # type: ignore[attr-defined]
        kwargs: dict[str, Any] = {"events": blowup}
        if method in _IMPLICIT and sys_.jac is not None:
            kwargs["jac"] = lambda tt, s, _p=p: sys_.jac(tt, s, **_p)
        try:
            sol = solve_ivp(
                fun, (lo, hi), state, method=method, t_eval=t_eval, rtol=rtol, atol=atol, **kwargs
            )
        except Exception as exc:
            raise IntegrationError(
                f"{sys_.name}: solver {method} raised in segment {i} on ({lo:g}, {hi:g}] with params {p}: "
                f"{exc}"
            ) from exc
        nfev += int(sol.nfev)
        if sol.status == 1:
            raise IntegrationError(
                f"{sys_.name}: the state exceeded {BLOWUP_BOUND:g} in magnitude at "
                f"t = {sol.t_events[0][0]:g} in segment {i} with params {p}; the trajectory diverges "
                "(check x0 and the parameters)"
            )
        if not sol.success or sol.y.shape[1] != t_eval.size:
            where = f"t = {sol.t[-1]:g}" if sol.t.size else f"t = {lo:g}"
            raise IntegrationError(
                f"{sys_.name}: solver {method} failed in segment {i} on ({lo:g}, {hi:g}] with params {p}, "
                f"near {where}: {sol.message}"
            )
        if not np.all(np.isfinite(sol.y)):
            bad = t_eval[np.flatnonzero(~np.all(np.isfinite(sol.y), axis=0))[0]]
            raise IntegrationError(
                f"{sys_.name}: non-finite state at t = {bad:g} in segment {i} with params {p}; "
                "the trajectory diverged (check x0 and the parameters)"
            )
        seg_vals = sol.y[:, :n_keep].T
        if i == 0:
            seg_vals = seg_vals[1:]  # sample 0 is x0 itself, exactly
            values[start + 1 : stop] = seg_vals
        else:
            values[start:stop] = seg_vals
        state = sol.y[:, -1].copy()
    return values, nfev


def _build_series(
    t: np.ndarray,
    values: np.ndarray,
    sets: list[dict[str, float]],
    switch: tuple[float, ...],
    ranges: list[tuple[int, int]],
    meta: dict[str, Any],
) -> Series:
    names = list(sets[0])
    per_sample = {name: np.empty(t.size) for name in names}
    bounds = [float(t[0]), *switch, float(t[-1])]
    segs = []
    for i, (p, (start, stop)) in enumerate(zip(sets, ranges, strict=True)):
        for name in names:
            per_sample[name][start:stop] = p[name]
        segs.append(Segment(start, stop, p, bounds[i], bounds[i + 1]))
    return Series(values=values, t=t, params=per_sample, switch_times=switch, segments=tuple(segs), meta=meta)
