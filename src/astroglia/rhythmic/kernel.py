r"""The Rhythmic Sharing step: nodes, then link phases (specs/rhythmic_sharing.md, section 3).

One step from state :math:`(n(t), \Phi(t))` with input :math:`u(t)`:

.. math::

    M_l &= 1 - \tfrac{m}{2}\,(1 + \sin\Phi_l(t)) \\
    n(t+1) &= \lambda\, n(t) + (1 - \lambda)\tanh\big((A \circ M)\, n(t) + W_{in} u(t) + b\big) \\
    \Psi_l &= \arg \textstyle\sum_k A_{\Phi,lk}\, e^{i\Phi_k(t)} \\
    K_l &= \epsilon_1 + \epsilon_2 \cdot \operatorname{mean}_{\text{end nodes of } l} \tfrac{n(t+1) + 1}{2} \\
    \Phi(t+1) &= \Phi(t) + \tau\,\big(\omega + K \circ \sin(\Psi - \Phi(t) + \gamma)\big)

The nodes are updated first, with the old phases; the phases then use the new node state. Only the angle
of the neighbours' mean field enters (a link with no coupled neighbours has :math:`\Psi_l = 0`, the
``atan2(0, 0)`` convention). Phases are not wrapped. The order parameter is
:math:`R e^{i\langle\Phi\rangle} = \frac1L \sum_l e^{i\Phi_l}`, with
:math:`\langle\Phi\rangle \in (-\pi, \pi]`.

Two implementations share these semantics:

- :func:`step` / :func:`drive_reference` / :func:`closed_loop_reference`: plain NumPy, one Python-level
  step at a time; the reference used by tests.
- :func:`drive` / :func:`closed_loop`: numba-compiled loops over the CSR arrays (``cache=True``,
  :mod:`astroglia.rhythmic._compiled`), agreeing with the reference to rounding; optionally multi-threaded
  (``parallel=True``) with bit-identical results.

Phase rules of the closed loop (``phase_mode``): ``EVOLVE`` applies (5); ``ROTATE`` adds ``rotation`` radians
to every phase per step (rigid rotation, R unchanged) until :math:`\langle\Phi\rangle` reaches ``target``
(the last increment is shortened so that it lands exactly on it), then freezes; ``FROZEN`` keeps the phases.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from astroglia.rhythmic import _compiled
from astroglia.rhythmic.network import Network

__all__ = [
    "EVOLVE",
    "FROZEN",
    "ROTATE",
    "ClosedLoopResult",
    "DriveResult",
    "Params",
    "State",
    "closed_loop",
    "closed_loop_reference",
    "drive",
    "drive_reference",
    "order_parameter",
    "step",
]

EVOLVE = 0
ROTATE = 1
FROZEN = 2
_TWO_PI = 2.0 * math.pi


class Params(NamedTuple):
    """Scalar dynamical parameters of the step (spec section 3).

    Attributes:
        leak: lam in [0, 1); fraction of the old node state kept.
        bias: b, constant added to every node's pre-activation.
        m: modulation depth; link l swings between (1 - m) A_l and A_l.
        eps1: constant part of the phase-coupling gain.
        eps2: activity-dependent part of the phase-coupling gain.
        gamma: phase lag of the coupling, radians.
        tau: Euler step of the phase equation (steps per sample).
    """

    leak: float = 0.0
    bias: float = 0.0
    m: float = 0.6
    eps1: float = -0.2
    eps2: float = 0.6
    gamma: float = 0.0
    tau: float = 1.0


class State(NamedTuple):
    """Dynamical state: node activities ``nodes`` (N,) in (-1, 1) and link phases ``phases`` (L,), radians."""

    nodes: np.ndarray
    phases: np.ndarray


class DriveResult(NamedTuple):
    """Record of a teacher-forced run of T steps.

    Attributes:
        state: the final :class:`State`.
        nodes: (T, N); ``nodes[t]`` is n(t+1), the state after input ``u[t]``.
        sync: (T,); R after step t (computed from Phi(t+1)).
        mean_phase: (T,); <Phi> after step t, radians in (-pi, pi].
    """

    state: State
    nodes: np.ndarray
    sync: np.ndarray
    mean_phase: np.ndarray


class ClosedLoopResult(NamedTuple):
    """Record of a closed-loop (autonomous) run.

    Attributes:
        state: the state after the last completed step.
        outputs: (n_done, D); ``outputs[t] = W_out n(t+1)``, the prediction fed back at the next step.
        sync: (n_done,); R after each step.
        mean_phase: (n_done,); <Phi> after each step.
        n_done: number of completed steps; smaller than requested when the run diverged.
        diverged: True when an output left the box or became non-finite; ``outputs`` stops before it.
        frozen_at: step index at which a ``ROTATE`` run froze its phases (-1 if it did not).
    """

    state: State
    outputs: np.ndarray
    sync: np.ndarray
    mean_phase: np.ndarray
    n_done: int
    diverged: bool
    frozen_at: int


def order_parameter(phases: np.ndarray) -> tuple[float, float]:
    """Kuramoto order parameter of ``phases`` (L,): ``(R, <Phi>)`` with R in [0, 1], <Phi> in (-pi, pi]."""
    c = float(np.mean(np.cos(phases)))
    s = float(np.mean(np.sin(phases)))
    return math.hypot(c, s), math.atan2(s, c)


# ---------------------------------------------------------------------------------------- NumPy reference


def _nodes_update(
    net: Network, p: Params, nodes: np.ndarray, phases: np.ndarray, u: np.ndarray
) -> np.ndarray:
    modulation = 1.0 - 0.5 * p.m * (1.0 + np.sin(phases))
    contrib = net.weights * modulation * nodes[net.indices]
    pre = np.bincount(net.link_target, weights=contrib, minlength=net.n_nodes) + net.w_in @ u + p.bias
    return p.leak * nodes + (1.0 - p.leak) * np.tanh(pre)


def _phases_update(net: Network, p: Params, new_nodes: np.ndarray, phases: np.ndarray) -> np.ndarray:
    cos_phi, sin_phi = np.cos(phases), np.sin(phases)
    rows = np.repeat(np.arange(net.n_links), np.diff(net.phi_indptr))
    c = np.bincount(rows, weights=cos_phi[net.phi_indices], minlength=net.n_links)
    s = np.bincount(rows, weights=sin_phi[net.phi_indices], minlength=net.n_links)
    psi = np.arctan2(s, c)
    nstar = 0.5 * (new_nodes + 1.0)
    gain = p.eps1 + p.eps2 * 0.5 * (nstar[net.indices] + nstar[net.link_target])
    return phases + p.tau * (net.omega + gain * np.sin(psi - phases + p.gamma))


def step(net: Network, p: Params, state: State, u: np.ndarray) -> State:
    """One step of equations (1)-(5) in plain NumPy; pure (inputs are not modified).

    Args:
        net: the network.
        p: dynamical parameters.
        state: (n(t), Phi(t)).
        u: input u(t), shape (D,).

    Returns:
        (n(t+1), Phi(t+1)).
    """
    nodes = _nodes_update(net, p, state.nodes, state.phases, u)
    phases = _phases_update(net, p, nodes, state.phases)
    return State(nodes, phases)


def drive_reference(net: Network, p: Params, state: State, inputs: np.ndarray) -> DriveResult:
    """Teacher-forced run over ``inputs`` (T, D) by repeated :func:`step`; see :class:`DriveResult`."""
    t_len = inputs.shape[0]
    nodes = np.empty((t_len, net.n_nodes))
    sync = np.empty(t_len)
    mean_phase = np.empty(t_len)
    for t in range(t_len):
        state = step(net, p, state, inputs[t])
        nodes[t] = state.nodes
        sync[t], mean_phase[t] = order_parameter(state.phases)
    return DriveResult(state, nodes, sync, mean_phase)


def _rotation_increment(mean_phase: float, target: float, rotation: float) -> tuple[float, bool]:
    """Increment towards ``target`` moving forward by at most ``rotation``; (increment, reached)."""
    gap = (target - mean_phase) % _TWO_PI
    if gap > _TWO_PI - 1e-12:
        gap = 0.0
    if gap <= rotation:
        return gap, True
    return rotation, False


def closed_loop_reference(
    net: Network,
    p: Params,
    state: State,
    w_out: np.ndarray,
    n_steps: int,
    *,
    phase_mode: int = EVOLVE,
    target: float = 0.0,
    rotation: float = 0.01,
    box_low: np.ndarray | None = None,
    box_high: np.ndarray | None = None,
) -> ClosedLoopResult:
    """Closed loop ``u(t) = W_out n(t)`` for ``n_steps`` steps in plain NumPy; see the module docstring.

    Args:
        w_out: readout, shape (D, N).
        phase_mode: ``EVOLVE``, ``ROTATE`` or ``FROZEN``.
        target: target <Phi> (radians) of ``ROTATE``.
        rotation: rotation per step (radians) of ``ROTATE``.
        box_low, box_high: (D,); an output outside [box_low, box_high] or non-finite stops the run
            (diverged).
    """
    d = w_out.shape[0]
    low = np.full(d, -np.inf) if box_low is None else box_low
    high = np.full(d, np.inf) if box_high is None else box_high
    outputs = np.empty((n_steps, d))
    sync = np.empty(n_steps)
    mean_phase = np.empty(n_steps)
    mode, frozen_at, diverged, done = phase_mode, -1, False, n_steps
    for t in range(n_steps):
        u = w_out @ state.nodes
        nodes = _nodes_update(net, p, state.nodes, state.phases, u)
        if mode == EVOLVE:
            phases = _phases_update(net, p, nodes, state.phases)
        elif mode == ROTATE:
            _, mphase = order_parameter(state.phases)
            inc, reached = _rotation_increment(mphase, target, rotation)
            phases = state.phases + inc
            if reached:
                mode, frozen_at = FROZEN, t
        else:
            phases = state.phases
        y = w_out @ nodes
        if not (np.all(np.isfinite(y)) and np.all(y >= low) and np.all(y <= high)):
            diverged, done = True, t
            break
        state = State(nodes, phases)
        outputs[t] = y
        sync[t], mean_phase[t] = order_parameter(phases)
    return ClosedLoopResult(state, outputs[:done], sync[:done], mean_phase[:done], done, diverged, frozen_at)


# --------------------------------------------------------------------------------------------- numba kernels


def _use_threads(parallel: bool) -> bool:
    """Whether a run asked to be ``parallel`` gets the multi-threaded kernel: only when numba may use more
    than one thread (``numba.get_num_threads()``, which follows ``NUMBA_NUM_THREADS`` and
    ``numba.set_num_threads``); with one thread the serial kernel is the faster one."""
    return bool(parallel) and numba.get_num_threads() > 1


_INDEX_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _int32_indices(a: np.ndarray) -> np.ndarray:
    """int32 copy of the coupling indices (half the memory traffic in the hot gather), cached per array."""
    if a.dtype == np.int32 or a.size == 0 or a.max() >= 2**31:
        return a
    hit = _INDEX_CACHE.get(id(a))
    if hit is not None and hit[0] is a:
        return hit[1]
    if len(_INDEX_CACHE) > 16:
        _INDEX_CACHE.clear()
    small = a.astype(np.int32)
    _INDEX_CACHE[id(a)] = (a, small)
    return small


def _net_args(net: Network, p: Params) -> tuple:
    return (
        net.indptr,
        net.indices,
        net.weights,
        net.link_target,
        net.phi_indptr,
        _int32_indices(net.phi_indices),
        np.ascontiguousarray(net.w_in, dtype=np.float64),
        net.omega,
        float(p.leak),
        float(p.bias),
        float(p.m),
        float(p.eps1),
        float(p.eps2),
        float(p.gamma),
        float(p.tau),
    )


def drive(
    net: Network,
    p: Params,
    state: State,
    inputs: np.ndarray,
    *,
    record_nodes: bool = True,
    evolve_phases: bool = True,
    parallel: bool = False,
) -> DriveResult:
    """Teacher-forced run over ``inputs`` (T, D) with the compiled kernel; same result as
    :func:`drive_reference` up to rounding. With ``record_nodes=False`` the ``nodes`` record is empty
    (shape (0, N)). With ``evolve_phases=False`` the phases stay frozen (equation (5) is skipped; with
    ``m = 0`` this is exactly a static echo state network).

    With ``parallel=True`` each step's link work (coupling sums and phase updates, blocks of links) is
    split over numba's threads; the result is bit for bit the same as on one thread. It pays off for large
    couplings (``nnz(A_Phi)`` in the hundreds of thousands) on idle cores only: every step ends in a barrier,
    so on a machine whose cores are busy with other work it can be much slower than the default serial run.
    """
    inputs = np.ascontiguousarray(inputs, dtype=np.float64)
    t_len = inputs.shape[0]
    nodes_out = np.empty((t_len if record_nodes else 0, net.n_nodes))
    sync = np.empty(t_len)
    mphase = np.empty(t_len)
    nodes, phases = _compiled.drive_loop(
        *_net_args(net, p),
        np.asarray(state.nodes, dtype=np.float64),
        np.asarray(state.phases, dtype=np.float64),
        inputs,
        nodes_out,
        sync,
        mphase,
        bool(record_nodes),
        bool(evolve_phases),
        _use_threads(parallel),
    )
    return DriveResult(State(nodes, phases), nodes_out, sync, mphase)


def closed_loop(
    net: Network,
    p: Params,
    state: State,
    w_out: np.ndarray,
    n_steps: int,
    *,
    phase_mode: int = EVOLVE,
    target: float = 0.0,
    rotation: float = 0.01,
    box_low: np.ndarray | None = None,
    box_high: np.ndarray | None = None,
    parallel: bool = False,
) -> ClosedLoopResult:
    """Compiled closed loop; same arguments and result as :func:`closed_loop_reference` (up to rounding).
    ``parallel``: as in :func:`drive`."""
    d = w_out.shape[0]
    low = np.full(d, -np.inf) if box_low is None else np.asarray(box_low, dtype=np.float64)
    high = np.full(d, np.inf) if box_high is None else np.asarray(box_high, dtype=np.float64)
    outputs = np.empty((n_steps, d))
    sync = np.empty(n_steps)
    mphase = np.empty(n_steps)
    nodes, phases, done, diverged, frozen_at = _compiled.closed_loop_loop(
        *_net_args(net, p),
        np.asarray(state.nodes, dtype=np.float64),
        np.asarray(state.phases, dtype=np.float64),
        np.ascontiguousarray(w_out, dtype=np.float64),
        int(n_steps),
        int(phase_mode),
        float(target),
        float(rotation),
        low,
        high,
        outputs,
        sync,
        mphase,
        _use_threads(parallel),
    )
    done = int(done)
    return ClosedLoopResult(
        State(nodes, phases), outputs[:done], sync[:done], mphase[:done], done, bool(diverged), int(frozen_at)
    )
