"""The Rhythmic Sharing reservoir as a scikit-learn-style estimator.

Usage::

    model = RhythmicSharingReservoir(random_state=0).fit(series)          # series: (T, D)
    sensed = model.sense(new_series[:650])                                 # R(t), <Phi>(t), final state
    run = model.closed_loop(sensed, 3000, protocol="rotate", target=1.2)   # autonomous run

Reset semantics are explicit: :meth:`~RhythmicSharingReservoir.sense` and
:meth:`~RhythmicSharingReservoir.predict` always start from ``n = 0`` and fresh random phases (uniform on
``[0, 2 pi)``, drawn from the estimator's seed and ``phase_seed``);
:meth:`~RhythmicSharingReservoir.closed_loop` continues from the state it is given. The estimator itself
never changes outside ``fit``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
from tqdm.auto import tqdm

from astroglia.config import check
from astroglia.errors import AstrogliaError, DataError
from astroglia.rhythmic._base import BaseEstimator, check_is_fitted
from astroglia.rhythmic.kernel import (
    EVOLVE,
    FROZEN,
    ROTATE,
    Params,
    State,
    closed_loop,
    drive,
    order_parameter,
)
from astroglia.rhythmic.network import build_network

__all__ = [
    "ClosedLoopRun",
    "DivergenceError",
    "RhythmicSharingReservoir",
    "SenseResult",
    "static_link_reservoir",
]

Protocol = Literal["evolve", "rotate", "direct", "frozen"]
_CHUNK = 2000  # steps per compiled call when a progress bar is shown


class DivergenceError(AstrogliaError, FloatingPointError):
    """A closed-loop run left its bounded box (``on_divergence="raise"``); ``step`` is where it stopped."""

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


class SenseResult(NamedTuple):
    """Record of a teacher-forced run from a fresh state.

    Attributes:
        inputs: (T, D) the series that was fed.
        nodes: (T, N); ``nodes[t]`` = n(t+1), the node state after input ``inputs[t]``.
        sync: (T,) synchrony R after each input.
        mean_phase: (T,) mean phase <Phi> after each input, radians in (-pi, pi].
        predictions: (T, D); ``predictions[t] = W_out n(t+1)``, the one-step forecast of ``inputs[t + 1]``.
        state: the final :class:`~astroglia.rhythmic.kernel.State`, to continue from (e.g. a closed loop).
        warmup: number of leading steps regarded as transient.
    """

    inputs: np.ndarray
    nodes: np.ndarray
    sync: np.ndarray
    mean_phase: np.ndarray
    predictions: np.ndarray
    state: State
    warmup: int


@dataclass
class ClosedLoopRun:
    """Result of :meth:`RhythmicSharingReservoir.closed_loop`.

    Attributes:
        outputs: (n_done, D) autonomous predictions; shorter than requested only when ``diverged``.
        sync: (n_done,) R after each step.
        mean_phase: (n_done,) <Phi> after each step, radians.
        n_steps: the number of steps requested.
        diverged: True when an output left the box ``[low, high]`` or became non-finite.
        diverged_step: the step at which it did (``None`` when it did not).
        frozen_at: step at which the phases froze (0 for ``"direct"``, ``None`` if they never froze).
        protocol: the phase protocol used.
        target: the target <Phi> (radians) or ``None``.
        state: the state after the last completed step.
        box: (2, D) lower and upper bounds of the divergence box.
    """

    outputs: np.ndarray
    sync: np.ndarray
    mean_phase: np.ndarray
    n_steps: int
    diverged: bool
    diverged_step: int | None
    frozen_at: int | None
    protocol: str
    target: float | None
    state: State
    box: np.ndarray


def _as_series(x: Any, name: str, n_features: int | None = None) -> np.ndarray:
    """Validate one series into a float64 array (T, D)."""
    if hasattr(x, "values") and not isinstance(x, np.ndarray):
        x = x.values
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} could not be converted to a float array: {exc}") from exc
    if arr.ndim == 1:
        raise DataError(
            f"Expected a 2D array (time steps, features) for {name}, got a 1D array of length "
            f"{arr.shape[0]}. "
            "Reshape your data with array.reshape(-1, 1) if it has a single feature."
        )
    if arr.ndim != 2:
        raise DataError(f"Expected a 2D array (time steps, features) for {name}, got shape {arr.shape}.")
    if arr.shape[1] == 0 or arr.shape[0] == 0:
        raise DataError(f"{name} is empty (shape {arr.shape}); it needs at least one step and one feature.")
    bad = ~np.isfinite(arr)
    if bad.any():
        t, d = np.argwhere(bad)[0]
        raise DataError(
            f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or inf), the first at time step {t}, "
            f"feature {d}; remove or interpolate them first."
        )
    if n_features is not None and arr.shape[1] != n_features:
        raise DataError(
            f"{name} has {arr.shape[1]} features, but the reservoir was fitted with {n_features} features."
        )
    return arr


def _as_segments(x: Any, name: str, n_features: int | None = None) -> list[np.ndarray]:
    """A single series or a list of series -> list of validated (T_k, D) arrays with equal D."""
    if isinstance(x, (list, tuple)):
        if not x:
            raise DataError(f"{name} is an empty list; give at least one series")
        segs = [_as_series(s, f"{name}[{k}]", n_features) for k, s in enumerate(x)]
    else:
        segs = [_as_series(x, name, n_features)]
    dims = {s.shape[1] for s in segs}
    if len(dims) > 1:
        raise DataError(f"the series in {name} have different numbers of features: {sorted(dims)}")
    return segs


class RhythmicSharingReservoir(BaseEstimator):
    """Reservoir computer with Kuramoto-coupled, activity-driven link phases (Kang & Losert 2025).

    The model is the one of specs/rhythmic_sharing.md, equations (1)-(6); only the linear readout ``W_out`` is
    trained, by ridge regression of the next input on the node state, ``u(t+1) ~ W_out n(t+1)``.

    Parameters
    ----------
    n_nodes : int, default=100
        N, number of nodes.
    degree : float, default=10
        Average number of links per node of the recurrent matrix ``A`` (density ``degree / n_nodes``).
    spectral_radius : float, default=0.6
        rho, spectral radius of ``A``.
    sigma_in : float, default=1.2
        Input weights are uniform in ``[-sigma_in, sigma_in]``.
    input_weights : {"block", "dense"}, default="block"
        ``"block"``: input dimension ``d`` drives its own ``floor(N / D)`` nodes; ``"dense"``: every node.
    leak : float, default=0
        lam, leak of the node update, in ``[0, 1)``.
    bias : float, default=0
        b, constant added to every node's pre-activation.
    k_phi : float, default=50
        Mean number of coupled links per link in ``A_Phi``.
    omega0 : float, default=0.01
        Natural frequency of the links, radians per step.
    omega_spread : float, default=0
        Standard deviation of natural frequencies around ``omega0`` (0: identical).
    eps1, eps2 : float, default=-0.2, 0.6
        Coupling gain ``K_l = eps1 + eps2 * mean of (n + 1) / 2 over the end nodes of link l``.
    gamma : float, default=0
        Phase lag of the coupling, radians.
    m : float, default=0.6
        Modulation depth: link l swings between ``(1 - m) A_l`` and ``A_l``. ``m = 0`` is a static-link ESN.
    tau : float, default=1
        Euler step of the phase equation.
    warmup : int, default=200
        Steps discarded at the start of each training series.
    ridge : float, default=1e-20
        Ridge parameter (the authors' value: effectively a pseudo-inverse). The solve is an SVD least-squares
        on the ridge-augmented system, stable for any value >= 0; use about 1e-2 for noisy or real data.
    random_state : int or None, default=None
        Seed of the network, of the training phases and of the sensing phases.

    Attributes
    ----------
    network_ : Network
        Fixed arrays (A in CSR form, A_Phi, W_in, omega).
    W_ : scipy.sparse.csr_matrix, shape (N, N)
        The recurrent matrix ``A``.
    readout_ : ndarray, shape (D, N)
        The trained ``W_out``.
    n_features_in_ : int
        D.
    R_ : ndarray, shape (T_total,)
        Synchrony R after each training input (segments concatenated).
    mean_phase_ : ndarray, shape (T_total,)
        Mean phase <Phi> after each training input.
    train_predictions_ : ndarray, shape (T_total, D)
        ``W_out n(t+1)`` along the training drive: row t forecasts sample t + 1 of its series.
    segment_lengths_ : list of int
        Lengths of the training series.
    data_low_, data_high_ : ndarray, shape (D,)
        Per-coordinate minimum and maximum of the training data (the divergence box is built from them).
    seed_ : int
        The integer seed actually used (drawn once when ``random_state`` is None).
    """

    def __init__(
        self,
        *,
        n_nodes: int = 100,
        degree: float = 10.0,
        spectral_radius: float = 0.6,
        sigma_in: float = 1.2,
        input_weights: str = "block",
        leak: float = 0.0,
        bias: float = 0.0,
        k_phi: float = 50.0,
        omega0: float = 0.01,
        omega_spread: float = 0.0,
        eps1: float = -0.2,
        eps2: float = 0.6,
        gamma: float = 0.0,
        m: float = 0.6,
        tau: float = 1.0,
        warmup: int = 200,
        ridge: float = 1e-20,
        random_state: int | None = None,
    ) -> None:
        self.n_nodes = n_nodes
        self.degree = degree
        self.spectral_radius = spectral_radius
        self.sigma_in = sigma_in
        self.input_weights = input_weights
        self.leak = leak
        self.bias = bias
        self.k_phi = k_phi
        self.omega0 = omega0
        self.omega_spread = omega_spread
        self.eps1 = eps1
        self.eps2 = eps2
        self.gamma = gamma
        self.m = m
        self.tau = tau
        self.warmup = warmup
        self.ridge = ridge
        self.random_state = random_state

    # ------------------------------------------------------------------------------------------- helpers
    def _validate_params(self) -> None:
        n_ok = isinstance(self.n_nodes, (int, np.integer)) and self.n_nodes >= 1
        check(n_ok, "n_nodes", self.n_nodes, "must be an integer >= 1")
        check(0 < self.degree <= self.n_nodes, "degree", self.degree, "must be in (0, n_nodes]")
        check(self.spectral_radius > 0, "spectral_radius", self.spectral_radius, "must be > 0")
        check(self.sigma_in >= 0, "sigma_in", self.sigma_in, "must be >= 0")
        kind = self.input_weights
        check(kind in ("block", "dense"), "input_weights", kind, "must be 'block' or 'dense'")
        check(0 <= self.leak < 1, "leak", self.leak, "must be in [0, 1)")
        check(self.k_phi >= 0, "k_phi", self.k_phi, "must be >= 0")
        check(self.omega_spread >= 0, "omega_spread", self.omega_spread, "must be >= 0")
        check(0 <= self.m <= 1, "m", self.m, "must be in [0, 1]")
        check(self.tau > 0, "tau", self.tau, "must be > 0")
        check(
            isinstance(self.warmup, (int, np.integer)) and self.warmup >= 0,
            "warmup",
            self.warmup,
            "must be >= 0",
        )
        check(self.ridge >= 0, "ridge", self.ridge, "must be >= 0")
        for name in ("bias", "omega0", "eps1", "eps2", "gamma"):
            value = getattr(self, name)
            ok = isinstance(value, (int, float, np.floating)) and math.isfinite(value)
            check(ok, name, value, "must be a finite number")

    def params_(self) -> Params:
        """The dynamical parameters as a kernel :class:`~astroglia.rhythmic.kernel.Params`."""
        return Params(
            leak=float(self.leak),
            bias=float(self.bias),
            m=float(self.m),
            eps1=float(self.eps1),
            eps2=float(self.eps2),
            gamma=float(self.gamma),
            tau=float(self.tau),
        )

    def _fresh_state(self, purpose: int, phase_seed: int) -> State:
        """n = 0 and phases uniform on [0, 2 pi), from a stream keyed by (seed_, purpose, phase_seed)."""
        rng = np.random.default_rng(np.random.SeedSequence(self.seed_, spawn_key=(purpose, int(phase_seed))))
        phases = rng.uniform(0.0, 2.0 * np.pi, size=self.network_.n_links)
        return State(np.zeros(self.network_.n_nodes), phases)

    def _drive(self, state: State, x: np.ndarray, progress: bool, desc: str) -> tuple[State, np.ndarray, ...]:
        p = self.params_()
        t_len = x.shape[0]
        if not progress or t_len <= _CHUNK:
            res = drive(self.network_, p, state, x)
            return res.state, res.nodes, res.sync, res.mean_phase
        nodes, sync, mphase = [], [], []
        with tqdm(total=t_len, desc=desc, unit="step", leave=False) as bar:
            for a in range(0, t_len, _CHUNK):
                res = drive(self.network_, p, state, x[a : a + _CHUNK])
                state = res.state
                nodes.append(res.nodes)
                sync.append(res.sync)
                mphase.append(res.mean_phase)
                bar.update(res.sync.shape[0])
        return state, np.concatenate(nodes), np.concatenate(sync), np.concatenate(mphase)

    # ------------------------------------------------------------------------------------------- fit
    def fit(self, X: Any, *, warmup: int | None = None, progress: bool = False) -> RhythmicSharingReservoir:
        """Drive the network with the data and fit the readout.

        Args:
            X: a series (T, D), or a list of series (each driven from a fresh state), or an object with a
                ``values`` attribute holding such an array. No context labels or parameter values are used.
            warmup: steps discarded at the start of each series (default: the ``warmup`` hyperparameter).
            progress: show a progress bar.

        Returns:
            self.

        Raises:
            DataError: non-finite values, wrong shape, or a series not longer than ``warmup + 1`` steps.
            ConfigError: an invalid hyperparameter (named in the message).
        """
        self._validate_params()
        segs = _as_segments(X, "X")
        warm = self.warmup if warmup is None else warmup
        check(
            isinstance(warm, (int, np.integer)) and warm >= 0,
            "warmup",
            warm,
            "must be a non-negative integer",
        )
        for k, s in enumerate(segs):
            if s.shape[0] < warm + 2:
                raise DataError(
                    f"series {k} has {s.shape[0]} time steps, but the warm-up discards {warm}; it needs at "
                    f"least {warm + 2} steps (warm-up plus two samples to fit). Use a longer series or a "
                    "smaller warmup."
                )
        d = segs[0].shape[1]
        if self.input_weights == "block" and self.n_nodes < d:
            check(
                False,
                "n_nodes",
                self.n_nodes,
                f"must be >= the number of features ({d}) for block input weights",
            )

        if self.random_state is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        else:
            seed = int(self.random_state)
        rng = np.random.default_rng(seed)
        net_rng = rng.spawn(1)[0]
        network = build_network(
            net_rng,
            n_nodes=int(self.n_nodes),
            n_inputs=d,
            degree=float(self.degree),
            spectral_radius=float(self.spectral_radius),
            sigma_in=float(self.sigma_in),
            k_phi=float(self.k_phi),
            omega0=float(self.omega0),
            omega_spread=float(self.omega_spread),
            input_weights=self.input_weights,
        )
        self.seed_ = seed
        self.network_ = network

        feats, targets, syncs, mphases, all_nodes = [], [], [], [], []
        for k, s in enumerate(segs):
            state = self._fresh_state(purpose=0, phase_seed=k)
            _, nodes, sync, mphase = self._drive(state, s, progress, f"fit series {k}")
            all_nodes.append(nodes)
            feats.append(nodes[warm:-1])
            targets.append(s[warm + 1 :])
            syncs.append(sync)
            mphases.append(mphase)
        features = np.concatenate(feats)
        target = np.concatenate(targets)
        self.readout_ = _ridge_solve(features, target, float(self.ridge))
        self.W_ = network.adjacency()
        self.n_features_in_ = d
        self.train_predictions_ = np.concatenate(all_nodes) @ self.readout_.T
        self.R_ = np.concatenate(syncs)
        self.mean_phase_ = np.concatenate(mphases)
        self.segment_lengths_ = [int(s.shape[0]) for s in segs]
        allx = np.concatenate(segs)
        self.data_low_ = allx.min(axis=0)
        self.data_high_ = allx.max(axis=0)
        return self

    # ------------------------------------------------------------------------------------------- persistence
    def save(self, path: Any) -> Any:
        """Write the fitted model to a versioned ``.npz`` file (see :mod:`astroglia.rhythmic.io`)."""
        from astroglia.rhythmic.io import save_reservoir

        return save_reservoir(self, path)

    @classmethod
    def load(cls, path: Any) -> RhythmicSharingReservoir:
        """Read a model written by :meth:`save`."""
        from astroglia.rhythmic.io import load_reservoir

        return load_reservoir(path)

    # ------------------------------------------------------------------------------------------- use
    def sense(self, X: Any, *, warmup: int = 200, phase_seed: int = 0, progress: bool = False) -> SenseResult:
        """Re-initialise (n = 0, fresh random phases) and teacher-force the network on ``X`` (T, D).

        The phases evolve by equation (5) throughout; R and <Phi> settle to the context's signature after
        about ``warmup`` steps. ``phase_seed`` selects the draw of the initial phases (same value, same draw).
        """
        check_is_fitted(self)
        x = _as_series(X, "X", self.n_features_in_)
        check(warmup >= 0, "warmup", warmup, "must be >= 0")
        if x.shape[0] <= warmup:
            raise DataError(
                f"the series to sense has {x.shape[0]} time steps, not more than the sensing warm-up of "
                f"{warmup}; give a longer series or a smaller warmup."
            )
        state = self._fresh_state(purpose=1, phase_seed=phase_seed)
        state, nodes, sync, mphase = self._drive(state, x, progress, "sense")
        return SenseResult(x, nodes, sync, mphase, nodes @ self.readout_.T, state, int(warmup))

    def predict(self, X: Any, *, phase_seed: int = 0) -> np.ndarray:
        """One-step forecasts (T, D) from a fresh state: row t predicts ``X[t + 1]`` from ``X[: t + 1]``."""
        check_is_fitted(self)
        x = _as_series(X, "X", self.n_features_in_)
        state = self._fresh_state(purpose=1, phase_seed=phase_seed)
        _, nodes, _, _ = self._drive(state, x, False, "predict")
        return nodes @ self.readout_.T

    def divergence_box(self, factor: float = 10.0) -> np.ndarray:
        """(2, D) box centred on the training data range and ``factor`` times as wide, per coordinate."""
        check_is_fitted(self)
        centre = 0.5 * (self.data_low_ + self.data_high_)
        half = 0.5 * factor * np.maximum(self.data_high_ - self.data_low_, 1e-12)
        return np.stack([centre - half, centre + half])

    def closed_loop(
        self,
        start: SenseResult | State,
        n_steps: int,
        *,
        protocol: Protocol = "evolve",
        target: float | None = None,
        rotation: float | None = None,
        box_factor: float = 10.0,
        on_divergence: Literal["report", "raise"] = "report",
        progress: bool = False,
    ) -> ClosedLoopRun:
        """Autonomous run ``u(t) <- W_out n(t)`` from ``start`` (a sensing result or a state).

        Protocols for the phases:
            ``"evolve"``: phases keep evolving by equation (5).
            ``"rotate"``: the spec's recall protocol: rigid rotation ``Phi <- Phi + rotation`` per step
            (default ``omega0``), R unchanged, until <Phi> reaches ``target``; then frozen.
            ``"direct"``: rotate all phases at once by ``target - <Phi>``, then frozen.
            ``"frozen"``: phases frozen as they are.

        A run whose output leaves the box of :meth:`divergence_box` (``box_factor`` times the training range)
        or becomes non-finite stops there: ``diverged`` is True, ``diverged_step`` says where, and
        ``outputs`` holds the steps before it. With ``on_divergence="raise"`` a :class:`DivergenceError` is
        raised instead.
        """
        check_is_fitted(self)
        state = start.state if isinstance(start, SenseResult) else start
        check(isinstance(n_steps, (int, np.integer)) and n_steps >= 1, "n_steps", n_steps, "must be >= 1")
        protocols = ("evolve", "rotate", "direct", "frozen")
        check(protocol in protocols, "protocol", protocol, "one of " + ", ".join(protocols))
        check(
            on_divergence in ("report", "raise"),
            "on_divergence",
            on_divergence,
            "must be 'report' or 'raise'",
        )
        if protocol in ("rotate", "direct"):
            ok = target is not None and math.isfinite(target)
            check(ok, "target", target, f"must be a finite angle in radians for protocol {protocol!r}")
        rot = float(self.omega0 if rotation is None else rotation)
        if protocol == "rotate":
            check(rot > 0, "rotation", rot, "must be > 0 for the 'rotate' protocol")
        phases = np.asarray(state.phases, dtype=np.float64)
        if protocol == "direct":
            _, mphase = order_parameter(phases)
            phases = phases + (float(target) - mphase)
        state = State(np.asarray(state.nodes, dtype=np.float64), phases)
        mode = {"evolve": EVOLVE, "rotate": ROTATE, "direct": FROZEN, "frozen": FROZEN}[protocol]
        box = self.divergence_box(box_factor)

        outs, syncs, mphases = [], [], []
        done, diverged, frozen_at = 0, False, (0 if protocol in ("direct", "frozen") else None)
        chunk = _CHUNK if progress else n_steps
        bar = tqdm(
            total=n_steps, desc=f"closed loop ({protocol})", unit="step", leave=False, disable=not progress
        )
        with bar:
            while done < n_steps and not diverged:
                todo = min(chunk, n_steps - done)
                res = closed_loop(
                    self.network_,
                    self.params_(),
                    state,
                    self.readout_,
                    todo,
                    phase_mode=mode,
                    target=0.0 if target is None else float(target),
                    rotation=rot,
                    box_low=box[0],
                    box_high=box[1],
                )
                if res.frozen_at >= 0 and mode == ROTATE:
                    frozen_at = done + res.frozen_at
                    mode = FROZEN
                outs.append(res.outputs)
                syncs.append(res.sync)
                mphases.append(res.mean_phase)
                state = res.state
                done += res.n_done
                diverged = res.diverged
                bar.update(res.n_done)
        run = ClosedLoopRun(
            outputs=np.concatenate(outs),
            sync=np.concatenate(syncs),
            mean_phase=np.concatenate(mphases),
            n_steps=int(n_steps),
            diverged=diverged,
            diverged_step=done if diverged else None,
            frozen_at=frozen_at,
            protocol=protocol,
            target=None if target is None else float(target),
            state=state,
            box=box,
        )
        if diverged and on_divergence == "raise":
            raise DivergenceError(
                f"the closed loop left the box {box_factor:g}x the training range at step {done} of "
                f"{n_steps} "
                f"(protocol {protocol!r}, target {target}); the outputs before it are lost with this error, "
                "use on_divergence='report' to keep them.",
                step=done,
            )
        return run

    def scan(
        self,
        start: SenseResult | State,
        targets: Any = None,
        *,
        n_steps: int = 3000,
        transient: int = 1000,
        protocol: str = "direct",
        progress: bool = False,
    ) -> list:
        """Attractor statistics of the closed loop for each target <Phi> (radians).

        See :func:`astroglia.rhythmic.selection.scan`."""
        from astroglia.rhythmic.selection import scan

        check_is_fitted(self)
        return scan(
            self, start, targets, n_steps=n_steps, transient=transient, protocol=protocol, progress=progress
        )

    def select_phase(self, sensed: SenseResult, targets: Any = None, **kwargs: Any) -> Any:
        """Automatic phase selection against the sensed window; see
        :func:`~astroglia.rhythmic.selection.select_phase` (criterion documented there)."""
        from astroglia.rhythmic.selection import select_phase

        check_is_fitted(self)
        return select_phase(self, sensed, targets, **kwargs)


def _ridge_solve(features: np.ndarray, targets: np.ndarray, ridge: float) -> np.ndarray:
    """W_out (D, N) minimising ``||features W^T - targets||^2 + ridge ||W||^2``.

    Solved through the SVD ``features = U S V^T`` as ``W^T = V diag(s / (s^2 + ridge)) U^T targets``, which
    never forms ``features^T features`` (whose condition number is the square of that of ``features``).
    Singular values below ``eps * max(T, N) * s_max`` are treated as zero, so with ``ridge -> 0`` this is the
    minimum-norm least-squares (pseudo-inverse) solution, finite even for rank-deficient features.
    """
    u, s, vt = np.linalg.svd(features, full_matrices=False)
    cut = np.finfo(float).eps * max(features.shape) * (s[0] if s.size else 0.0)
    keep = s > cut
    factor = np.zeros_like(s)
    factor[keep] = s[keep] / (s[keep] ** 2 + ridge)
    coef = vt.T @ (factor[:, None] * (u.T @ targets))
    return np.ascontiguousarray(coef.T)


def static_link_reservoir(**params: Any) -> RhythmicSharingReservoir:
    """The static-link baseline: the same network with ``m = 0`` (a plain echo state network)."""
    params["m"] = 0.0
    return RhythmicSharingReservoir(**params)
