r"""The MGD engine, digital and analog modes (specs/mgd.md section 3).

Digital mode, per step :math:`n = 0, 1, 2, \dots`:

1. every :math:`\tau_x` steps (:math:`n \bmod \tau_x = 0`) the next input :math:`x` is presented;
2. every :math:`\tau_p` steps pattern :math:`k = \lfloor n/\tau_p \rfloor` becomes the perturbation
   :math:`\tilde\theta = a\,s^{(k)}`, regenerated from ``(seed, k)``;
3. the perturbed cost :math:`C = C(\theta + \tilde\theta, x)` is measured, and the baseline
   :math:`C_0 = C(\theta, x)` too, but only when :math:`x` or :math:`\theta` changed since the last baseline;
4. :math:`\tilde C = C - C_0`, optionally clipped to :math:`[-c_{max}, c_{max}]`;
5. :math:`G = \tilde C\,\tilde\theta\,dt/\Delta\theta^2` and :math:`G_{int} \leftarrow G_{int} + G`;
6. at the end of every :math:`\tau_\theta`-th step (:math:`(n+1) \bmod \tau_\theta = 0`):
   :math:`\theta \leftarrow \theta - \eta\,G_{int}`, :math:`G_{int} \leftarrow 0`.

So after :math:`S` steps there were :math:`S` perturbed measurements, :math:`\lfloor S/\tau_\theta\rfloor`
updates, and one baseline at every step :math:`n < S` with :math:`n \bmod \tau_x = 0` or
(:math:`n > 0` and :math:`n \bmod \tau_\theta = 0`) (:func:`expected_counts`).

Analog mode (``config.mode == "analog"``), time :math:`t_n = n\,dt`, time constants in units of time:

1. a new input is presented at :math:`n = 0` and whenever :math:`\lfloor t_n/\tau_x \rfloor` increases;
2. pattern :math:`k = \lfloor t_n/\tau_p \rfloor` is held (the sinusoid code is sampled at the start of the
   hold, at the step :math:`\lceil k\,\tau_p/dt \rceil`, so that it is evaluated at the right time);
3. only the perturbed cost :math:`C_n` is measured (no baseline);
4. first-order high-pass with :math:`\alpha = \tau_{hp}/(\tau_{hp} + dt)`:
   :math:`\tilde C_n = \alpha \tilde C_{n-1} + \alpha (C_n - C_{n-1})`. *Reset*: at every input change
   (and at the first step) the filter memory is set to :math:`C_{n-1} := C_n`, :math:`\tilde C_{n-1} := 0`,
   so :math:`\tilde C_n = 0` at that step and the jump of the cost caused by the new input is not passed
   through (this is why analog mode requires :math:`\tau_x \ge 2\,dt`);
5. :math:`\tilde C_n` is clipped to :math:`[-c_{max}, c_{max}]` when ``clip`` is set (the filter keeps the
   unclipped value), :math:`G = \tilde C_n \tilde\theta\,dt/\Delta\theta^2`;
6. low-pass integrator :math:`G_{int} \leftarrow G_{int}\,\tau_\theta/(\tau_\theta + dt) +
   G\,dt/(\tau_\theta + dt)`;
7. :math:`\theta \leftarrow \theta - \eta\,G_{int}` at every step.

In steady state :math:`G_{int}` is the running mean of G, so the drift per unit time matches digital mode with
the same :math:`\eta` (:math:`\eta \sum G` per :math:`\tau_\theta`). Counters: S steps are S evaluations and
S updates. ``StepResult.baseline`` is, in analog mode, the measured cost itself (there is no unperturbed one).

Non-idealities (:mod:`astroglia.mgd.nonideal`) enter through three hooks: the perturbation the system receives
(gain mismatch), the measured value (cost noise, in :meth:`MGDEngine.tell`) and the update
(:meth:`MGDEngine.apply_update`: update noise, quantisation). All off, the arithmetic is the ideal one.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from astroglia.config import check, is_integer
from astroglia.errors import NonFiniteCostError
from astroglia.mgd.codes import PerturbationCode, SinusoidCode, make_code
from astroglia.mgd.config import MGDConfig
from astroglia.mgd.nonideal import NonIdealConfig, NonIdealities
from astroglia.mgd.objective import Objective, cost_many, costs_with_baseline
from astroglia.mgd.streams import InputStream

STATE_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_EPS = 1e-9  # tolerance of floor(t / tau) against float rounding of t = n dt
_WAY_OUT = "answer it with tell(cost), drop it with skip(), or measure it with step()"


@dataclass
class Counters:
    """Running totals of an MGD run.

    Attributes:
        steps: steps taken.
        evaluations: every cost value told to the engine (baseline and perturbed), a non-finite one
            included; a measurement that never returned a value (it raised or timed out) is not counted.
        baseline_evaluations: unperturbed measurements C0.
        updates: parameter updates.
        samples: input samples presented, as the input stream counts them (a batch held for tau_x steps
            counts once; for :class:`~astroglia.mgd.optim.MGD` every ``step`` call presents one closure).
        skipped: steps completed without their measurement (:meth:`MGDEngine.skip`).
    """

    steps: int = 0
    evaluations: int = 0
    baseline_evaluations: int = 0
    updates: int = 0
    samples: int = 0
    skipped: int = 0


def as_cost(value: Any) -> float:
    """A measured value as a float: a real number, or a tensor or array with one element; TypeError else."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        n = value.size if isinstance(value, np.ndarray) else value.numel()
        if n == 1:
            return float(value.reshape(()))
        shape = tuple(value.shape)
        raise TypeError(f"a measurement must return one scalar cost, got an array of shape {shape}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"a measurement must return the cost as a real number, not {type(value).__name__}")
    return float(value)


@dataclass
class Measurement:
    """A request for one cost measurement at ``theta + perturbation`` (``perturbation`` None: baseline)."""

    kind: str
    perturbation: torch.Tensor | None
    batch: Any
    step: int


BatchEvaluator = Callable[[torch.Tensor, Any, torch.Tensor, bool], tuple[float | None, torch.Tensor]]
"""``evaluate(theta (P,), batch, perturbations (K, P), need_baseline) -> (baseline or None, costs (K,))``."""


@dataclass(slots=True)
class StepResult:
    """What one step measured: perturbed cost C, baseline C0 and C_tilde (after clipping)."""

    cost: float
    baseline: float
    c_tilde: float


def expected_counts(n_steps: int, tau_x: int, tau_theta: int) -> dict[str, int]:
    """Baseline evaluations, updates and all evaluations after ``n_steps`` digital-mode steps.

    Baselines are measured at steps n with ``n % tau_x == 0`` or ``(n > 0 and n % tau_theta == 0)``, by
    inclusion-exclusion over [0, n_steps).
    """
    lcm = math.lcm(tau_x, tau_theta)
    input_changes = -(-n_steps // tau_x)  # ceil: n = 0, tau_x, ... < n_steps
    param_changes = (n_steps - 1) // tau_theta if n_steps > 0 else 0  # n = tau_theta, 2 tau_theta, ...
    both = (n_steps - 1) // lcm if n_steps > 0 else 0
    baselines = input_changes + param_changes - both
    return {
        "baseline_evaluations": baselines,
        "updates": n_steps // tau_theta,
        "evaluations": n_steps + baselines,
    }


class MGDEngine:
    """Multiplexed Gradient Descent on an :class:`~astroglia.mgd.objective.Objective`, digital or analog mode
    (``config.mode``; the module docstring gives both loops).

    Args:
        objective: the system to train (a ``ModuleObjective``, a ``FunctionObjective``, ...).
        config: hyperparameters (validated here, before any evaluation).
        stream: the inputs, presented every ``tau_x`` steps.
        code: a perturbation code; by default ``make_code(config.code, P, config.seed,
            **config.code_arguments())`` (the sinusoid code gets ``config.dt``).
        nonideal: simulated hardware non-idealities (default: none).

    Attributes:
        theta: the current parameters, shape (P,), on the objective's device and dtype.
        g_int: the integrated gradient estimate, shape (P,).
        counters: a :class:`Counters`.

    The engine holds O(P) state (theta, G_int, the current pattern); past patterns are regenerated, never
    stored. All work runs under ``torch.no_grad()``.
    """

    def __init__(
        self,
        objective: Objective,
        config: MGDConfig,
        stream: InputStream,
        *,
        code: PerturbationCode | None = None,
        nonideal: NonIdealConfig | None = None,
    ) -> None:
        config.validate()
        self.objective = objective
        self.config = config
        self.stream = stream
        self.theta = objective.parameters_vector()
        if not torch.isfinite(self.theta).all():
            raise ValueError("initial parameters contain NaN or inf")
        n = self.theta.numel()
        self.code = (
            code if code is not None else make_code(config.code, n, config.seed, **config.code_arguments())
        )
        if self.code.n_params != n:
            raise ValueError(f"code has {self.code.n_params} parameters but the objective has {n}")
        self.amplitude, self.delta_theta = config.amplitudes(n)
        self.nonideal_config = nonideal if nonideal is not None else NonIdealConfig()
        self.nonideal = NonIdealities(
            self.nonideal_config, n, config.seed, device=self.theta.device, dtype=self.theta.dtype
        )
        self.nonideal.initial_parameters(self.theta)
        self.analog = config.mode == "analog"
        self._hp_alpha = config.tau_hp / (config.tau_hp + config.dt)
        self._hp_prev = 0.0  # C_{n-1}
        self._hp_value = 0.0  # C_tilde_{n-1} (unclipped)
        self._hp_reset = True
        self.g_int = torch.zeros_like(self.theta)
        self.counters = Counters()
        self._batch: Any = None
        self._stream_state: dict[str, Any] | None = None
        self._baseline: float | None = None
        self._pattern_index = -1
        self._perturbation: torch.Tensor | None = None
        self._pending: Measurement | None = None
        self._in_step = False

    @property
    def n_params(self) -> int:
        """P, the number of parameters."""
        return self.theta.numel()

    @property
    def effective_learning_rate(self) -> float:
        """eta * tau_theta / P: the SGD learning rate MGD matches in expectation (specs/mgd.md section 5)."""
        return self.config.eta * self.config.tau_theta / self.n_params

    def perturbation(self, index: int) -> torch.Tensor:
        """The perturbation theta_tilde = a * s^(index), shape (P,), regenerated from the code."""
        s = self.code.pattern(index, device=self.theta.device, dtype=self.theta.dtype)
        return s.mul_(self.amplitude)

    # -- the loop ------------------------------------------------------------------------------------------

    def _present_input(self) -> None:
        self._stream_state = self.stream.state_dict()
        self._batch, n_samples = self.stream.next()
        self.counters.samples += n_samples
        self._baseline = None
        self._hp_reset = True

    def _input_due(self, n: int) -> bool:
        """Whether a new input is presented at step n."""
        cfg = self.config
        if not self.analog:
            return n % cfg.tau_x == 0
        return n == 0 or math.floor(n * cfg.dt / cfg.tau_x + _EPS) != math.floor(
            (n - 1) * cfg.dt / cfg.tau_x + _EPS
        )

    def _pattern_index_at(self, n: int) -> int:
        """The code index of the perturbation held at step n.

        Digital: ``n // tau_p``. Analog: ``floor(n dt / tau_p)``. For the sinusoid code, whose pattern k is
        the waveform at time k dt, the index is the step at which the current hold began, so that a held
        pattern is a sample of the waveform at the right time (``n`` itself when ``tau_p = dt``)."""
        cfg = self.config
        if not self.analog:
            k = n // cfg.tau_p
            return k * cfg.tau_p if isinstance(self.code, SinusoidCode) else k
        k = math.floor(n * cfg.dt / cfg.tau_p + _EPS)
        if isinstance(self.code, SinusoidCode):
            return math.ceil(k * cfg.tau_p / cfg.dt - _EPS)
        return k

    def _pattern_indices(self, n: int, m: int) -> Sequence[int]:
        """``[_pattern_index_at(n + i) for i in range(m)]``, without a call per step in the common cases."""
        if not self.analog and not isinstance(self.code, SinusoidCode):
            tau_p = self.config.tau_p
            return range(n, n + m) if tau_p == 1 else [(n + i) // tau_p for i in range(m)]
        return [self._pattern_index_at(n + i) for i in range(m)]

    def _current_perturbation(self, n: int) -> torch.Tensor:
        k = self._pattern_index_at(n)
        if k != self._pattern_index or self._perturbation is None:
            self._perturbation = self.perturbation(k)
            self._pattern_index = k
        return self._perturbation

    # -- ask/tell: the loop as a sequence of measurement requests --------------------------------------------

    def ask(self) -> Measurement:
        """The next measurement the loop needs: the cost at ``theta + perturbation`` on ``batch``.

        Starting a step presents the next input (every ``tau_x`` steps) and selects the perturbation. The
        request is ``kind="baseline"`` (perturbation None) when C0 must be re-measured, else
        ``kind="perturbed"``. Asking again before :meth:`tell` returns the same request.
        """
        if self._pending is not None:
            return self._pending
        n = self.counters.steps
        if not self._in_step:
            if self._input_due(n) or self._stream_state is None:
                self._present_input()
            self._in_step = True
        if self._baseline is None and not self.analog:
            self._pending = Measurement("baseline", None, self._batch, n)
        else:
            applied = self.nonideal.applied_perturbation(self._current_perturbation(n))
            self._pending = Measurement("perturbed", applied, self._batch, n)
        return self._pending

    @torch.no_grad()
    def tell(self, value: float) -> StepResult | None:
        """Report the measured cost for the pending request; return the StepResult when the step completed.

        A NaN or inf value raises NonFiniteCostError and leaves the request pending (theta and G_int are
        untouched), so a caller may re-measure, or stop. Simulated measurement
        noise (``NonIdealConfig.cost_noise``) is added here, seeded by the step.
        """
        return self._tell(value)

    def _tell(self, value: float) -> StepResult | None:
        """:meth:`tell` without its ``no_grad`` context (for callers that are already inside one)."""
        if self._pending is None:
            raise RuntimeError("tell() called without a pending request; call ask() first")
        request = self._pending
        value = as_cost(value)
        self.counters.evaluations += 1
        if not math.isfinite(value):
            raise NonFiniteCostError(
                f"the {request.kind} cost is {value} at step {request.step}; this measurement changed "
                "nothing (theta and G_int are as before it). A non-finite baseline means theta itself gives "
                "a non-finite cost on this input: training diverged, or the input holds NaN/inf",
                step=request.step,
            )
        self._pending = None
        is_baseline = request.kind == "baseline"
        value = self.nonideal.measured_cost(value, baseline=is_baseline, step=request.step)
        if is_baseline:
            self._baseline = value
            self.counters.baseline_evaluations += 1
            return None
        if self.analog:
            return self._finish_analog_step(self._perturbation, value)
        return self._finish_step(self._perturbation, value)

    def _finish_analog_step(self, pert: torch.Tensor, cost: float) -> StepResult:
        cfg = self.config
        n = self.counters.steps
        if self._hp_reset:  # input changed: C_{n-1} := C_n, C_tilde_{n-1} := 0
            self._hp_prev, self._hp_value, self._hp_reset = cost, 0.0, False
        alpha = self._hp_alpha
        c_tilde = alpha * self._hp_value + alpha * (cost - self._hp_prev)
        self._hp_prev, self._hp_value = cost, c_tilde
        if cfg.clip is not None:
            c_tilde = min(max(c_tilde, -cfg.clip), cfg.clip)
        # G_int <- G_int tau/(tau + dt) + G dt/(tau + dt), G = C_tilde theta_tilde dt / Delta^2
        decay = cfg.tau_theta / (cfg.tau_theta + cfg.dt)
        gain = c_tilde * cfg.dt / self.delta_theta**2 * cfg.dt / (cfg.tau_theta + cfg.dt)
        self.g_int.mul_(decay).add_(pert, alpha=gain)
        self.counters.steps = n + 1
        self._in_step = False
        self.apply_update()
        self.counters.updates += 1
        return StepResult(cost=cost, baseline=cost, c_tilde=c_tilde)

    def _finish_step(self, pert: torch.Tensor, cost: float) -> StepResult:
        cfg = self.config
        n = self.counters.steps
        baseline = self._baseline
        c_tilde = cost - baseline
        if cfg.clip is not None:
            c_tilde = min(max(c_tilde, -cfg.clip), cfg.clip)
        # G = C_tilde * theta_tilde * dt / Delta_theta^2, accumulated in place
        self.g_int.add_(pert, alpha=c_tilde * cfg.dt / self.delta_theta**2)
        self._end_step(n)
        return StepResult(cost=cost, baseline=baseline, c_tilde=c_tilde)

    def _end_step(self, n: int) -> None:
        """Close step ``n``: advance the counter and, at the end of a tau_theta window, apply the update."""
        self.counters.steps = n + 1
        self._in_step = False
        if self.analog:  # a skipped analog step leaves the filter, integrator and theta as they were
            return
        if (n + 1) % self.config.tau_theta == 0:
            self.apply_update()
            self.g_int.zero_()
            self.counters.updates += 1
            self._baseline = None

    def apply_update(self) -> None:
        """theta <- theta - eta * G_int (G_int is zeroed by the caller).

        The one place the integrated estimate is consumed; :class:`~astroglia.mgd.optim.MGD` overrides it to
        apply per-group learning rates or to hand the estimate to another optimiser through ``.grad``.
        """
        self.nonideal.update(self.theta, self.g_int, self.config.eta, self.counters.updates)

    @torch.no_grad()
    def skip(self) -> None:
        r"""Drop the pending measurement request (a failed measurement): its step completes without it.

        Exactly: the step counter, and with it the pattern index and the update schedule, advance as if the
        step had been measured with :math:`\tilde C = 0`, so the step adds nothing to :math:`G_{int}` and
        the update at the end of the tau_theta window uses the other steps' contributions only. A dropped
        baseline request drops its whole step (without C0 there is no C_tilde); C0 is requested again at the
        next step. ``counters.skipped`` counts dropped steps.
        """
        if self._pending is None:
            raise RuntimeError("skip() called without a pending request; call ask() first")
        request = self._pending
        self._pending = None
        self.counters.skipped += 1
        self._end_step(request.step)

    def step(self) -> StepResult:
        """Advance one time step, measuring through the objective; return the measured costs.

        Equivalent to answering :meth:`ask` with ``objective.cost`` until :meth:`tell` completes the step.
        Raises NonFiniteCostError on a NaN/inf cost.
        """
        while True:
            m = self.ask()
            result = self.tell(self.objective.cost(self.theta, m.batch, m.perturbation))
            if result is not None:
                return result

    def _batchable_steps(self, n: int, limit: int) -> int:
        """How many steps from step ``n`` on (at most ``limit``) share one input and one theta (>= 1)."""
        cfg = self.config
        if getattr(cfg, "mode", "digital") != "digital":
            return 1  # analog mode updates theta at every step
        to_input = cfg.tau_x - n % cfg.tau_x  # the input changes at the next multiple of tau_x
        to_update = cfg.tau_theta - n % cfg.tau_theta  # theta changes after the step closing the window
        return max(1, min(limit, to_input, to_update))

    def _evaluate_batch(
        self, theta: torch.Tensor, batch: Any, stack: torch.Tensor, need_baseline: bool
    ) -> tuple[float | None, torch.Tensor]:
        """Default batch evaluator. ``stack`` has shape (m + 1, P): the zero perturbation in row 0, then the m
        perturbations. When the baseline is due it is measured with them
        (:func:`~astroglia.mgd.objective.costs_with_baseline`: one batched call for all m + 1 points when the
        objective has ``cost_many``); otherwise only the m perturbed costs are measured."""
        if need_baseline:
            return costs_with_baseline(self.objective, theta, batch, stack)
        return None, cost_many(self.objective, theta, batch, stack[1:])

    @torch.no_grad()
    def step_batched(self, k: int, *, evaluate: BatchEvaluator | None = None) -> list[StepResult]:
        """Take ``k`` steps, measuring the perturbed costs of steps that share an input and theta at once.

        Equal to ``k`` calls of :meth:`step` up to float rounding: the same measurements in the same order,
        the same counters, C_tilde and updates; only the measurement is batched, and the run's K
        contributions to G_int are added in one call of the code's
        :meth:`~astroglia.mgd.codes.PerturbationCode.correlate` instead of one at a time.

        The steps are split into runs that share the input and theta (a run ends where a new input is due,
        every ``tau_x`` steps, or after an update, every ``tau_theta`` steps); each run of ``m`` steps costs
        the baseline, when due, plus one call ``evaluate(theta, batch, perturbations (m, P), need_baseline)
        -> (baseline, costs (m,))``. With ``tau_x = tau_theta = K`` and ``tau_p = 1`` a call
        ``step_batched(K)`` is one baseline, K perturbed evaluations in one batch, and one update.

        The m perturbations are regenerated from the code, so transient memory is O(m P) and nothing beyond
        the engine's O(P) state persists. When the objective evaluates points itself (``costs_at``, as
        :class:`~astroglia.mgd.objective.ModuleObjective` does), no ``evaluate`` is given and no gain
        mismatch is simulated, the code writes the m + 1 points ``theta, theta + a s^(k)`` straight into the
        evaluation stack (:meth:`~astroglia.mgd.codes.PerturbationCode.perturbed_points`; for random codes
        on the CPU a compiled kernel reads the signs from the stream's bits and no (m, P) pattern tensor is
        built), with the values ``theta + perturbation`` would have.

        With an ``evaluate`` that returns the same costs as sequential ``objective.cost`` calls (a loop, e.g.
        ``FunctionObjective``) theta and G_int agree with :meth:`step` to the rounding of the G_int sum
        (about 1e-14 relative in float64); a vectorised ``cost_many`` adds the rounding of batched kernels to
        the costs. A ``ModuleObjective`` with a ``compute_dtype`` (e.g. bfloat16) runs only the batched
        forward pass in that precision, so there :meth:`step` (full precision) and this method differ by the
        low precision's rounding, not by float rounding. The same call on the same state always gives the
        same result.

        Args:
            k: number of steps, >= 1.
            evaluate: the batch evaluator (default: ``objective.cost`` / ``objective.cost_many``); the
                distributed driver passes one that shares the perturbations out among workers.

        Returns:
            The k StepResults in step order. A non-finite cost raises NonFiniteCostError at that step, with
            the same state as :meth:`step` would leave (the earlier steps completed, that request pending).
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if self._pending is not None or self._in_step:
            raise RuntimeError(
                f"step_batched() must start between steps, but the request of step {self.counters.steps} is "
                f"pending ({_WAY_OUT})"
            )
        results: list[StepResult] = []
        theta = self.theta
        costs_at = getattr(self.objective, "costs_at", None)
        # the points theta + a s are written by the code directly (no separate perturbation tensor needed)
        direct = evaluate is None and costs_at is not None and self.nonideal.gains is None and not self.analog
        while len(results) < k:
            n = self.counters.steps
            m = self._batchable_steps(n, k - len(results))
            indices = self._pattern_indices(n, m)
            # row 0 the baseline's point, rows 1..m those of the run's perturbations
            stack = torch.empty((m + 1, theta.numel()), device=theta.device, dtype=theta.dtype)
            if direct:
                stack[0].copy_(theta)
                perts = self.code.perturbed_points(indices, theta, self.amplitude, out=stack[1:])
                self._perturbation = None  # ask() regenerates the pattern if a request needs it
                first = self.ask()  # presents the input when due
                need_baseline = first.kind == "baseline"
                measured = costs_at(stack if need_baseline else stack[1:], first.batch).tolist()
                baseline = measured[0] if need_baseline else None
                costs = measured[1:] if need_baseline else measured
            else:  # perturbations: zero row 0, then a s scaled by the simulated gains
                stack[0].zero_()
                patterns = self.code.patterns(indices, device=theta.device, dtype=theta.dtype)
                perts = torch.mul(patterns, self.amplitude, out=stack[1:])
                self._perturbation, self._pattern_index = perts[0], indices[0]  # so ask() need not regenerate
                first = self.ask()
                need_baseline = first.kind == "baseline"
                applied = self.nonideal.applied_perturbation(stack)  # gains scale each entry: row 0 stays 0
                if evaluate is None:
                    baseline, costs = self._evaluate_batch(theta, first.batch, applied, need_baseline)
                else:
                    baseline, costs = evaluate(theta, first.batch, applied[1:], need_baseline)
            values = costs if isinstance(costs, list) else torch.as_tensor(costs).reshape(-1).tolist()
            if len(values) != m:  # nothing is recorded: the step's first request stays pending
                raise ValueError(
                    f"the batch evaluator returned {len(values)} costs for {m} perturbations; nothing was "
                    f"recorded, the request of step {n} is pending ({_WAY_OUT})"
                )
            if need_baseline:
                self._tell(baseline)
            finite = m if all(map(math.isfinite, values)) else [math.isfinite(v) for v in values].index(False)
            if m > 1 and not self.analog:
                results.extend(self._tell_run(indices, perts, values[:finite]))
                start = finite
            else:
                start = 0
            for i in range(start, m):  # the general path: one ask/tell per step (raises on a non-finite cost)
                # the perturbation of step n + i is row i (a clone for the last, so the stack is not kept)
                self._perturbation = None if perts is None else perts[i] if i < m - 1 else perts[i].clone()
                self._pattern_index = indices[i]
                self.ask()
                results.append(self._tell(values[i]))
            if start == m:
                self._perturbation = None if perts is None else perts[m - 1].clone()
                self._pattern_index = indices[m - 1]
        return results

    def _tell_run(
        self, indices: Sequence[int], perts: torch.Tensor | None, values: list[float]
    ) -> list[StepResult]:
        """Complete the first ``len(values)`` steps of a digital-mode run whose request for the first step was
        asked (and its baseline told), without building a request per step.

        The per-step arithmetic of :meth:`tell` and :meth:`_finish_step` (measured cost, C_tilde, clipping),
        then ``G_int += sum_i w_i theta_tilde_i`` with ``w_i = C_tilde_i dt / Delta_theta**2`` in one call of
        :meth:`~astroglia.mgd.codes.PerturbationCode.correlate` (the sum of the per-step G, added in another
        order; ``perts`` are the run's perturbations if they were built, else None), then the update if the
        run closes a window. ``values`` are finite perturbed costs."""
        cfg = self.config
        baseline = self._baseline
        assert baseline is not None
        self._pending = None
        first = self.counters.steps
        if self.nonideal.config.cost_noise != 0:
            values = [
                self.nonideal.measured_cost(v, baseline=False, step=first + i) for i, v in enumerate(values)
            ]
        # the arithmetic of _finish_step, elementwise in float64 (the same operations, the same values)
        c_tilde = np.asarray(values, dtype=np.float64) - baseline
        if cfg.clip is not None:
            c_tilde = np.minimum(np.maximum(c_tilde, -cfg.clip), cfg.clip)
        weights = c_tilde * cfg.dt / self.delta_theta**2
        out = [StepResult(v, baseline, c) for v, c in zip(values, c_tilde.tolist(), strict=True)]
        if out:
            self.code.correlate(indices, weights, self.amplitude, self.g_int, perts)
            self.counters.evaluations += len(out)
            self.counters.steps = first + len(out) - 1  # the steps before the last close without an update
            self._end_step(first + len(out) - 1)
        return out

    def run(self, n_steps: int) -> None:
        """Take ``n_steps`` steps (an integer >= 0; ConfigError else)."""
        check(is_integer(n_steps) and n_steps >= 0, "n_steps", n_steps, "must be an integer >= 0")
        for _ in range(n_steps):
            self.step()

    def sync_parameters(self) -> None:
        """Write the engine's theta into the objective (e.g. before evaluating or saving the model)."""
        self.objective.set_parameters(self.theta)

    # -- checkpoints ---------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Checkpoint between steps (not while a request is pending).

        All needed to continue bit-identically: parameters, integrator, counters, stream position."""
        if self._pending is not None or self._in_step:
            raise RuntimeError("state_dict() must be taken between steps, not while a measurement is pending")
        return {
            "version": STATE_VERSION,
            "config": asdict(self.config),
            "code": {
                "name": self.code.name,
                "seed": self.code.seed,
                "n_params": self.code.n_params,
                "hyperparameters": self.code.hyperparameters(),
            },
            "nonideal": asdict(self.nonideal_config),
            "analog_filter": {
                "c_prev": self._hp_prev,
                "c_tilde": self._hp_value,
                "reset": self._hp_reset,
            },
            "theta": self.theta.detach().cpu().clone(),
            "g_int": self.g_int.detach().cpu().clone(),
            "counters": asdict(self.counters),
            "baseline": self._baseline,
            "stream_state_current": self._stream_state,
            "stream_state_next": self.stream.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (same objective, config and stream type)."""
        if state.get("version") not in _READABLE_VERSIONS:
            raise ValueError(
                f"unsupported MGD state version {state.get('version')}; expected {STATE_VERSION}"
            )
        if state["config"] != asdict(self.config):
            diff = {
                k: (v, state["config"].get(k))
                for k, v in asdict(self.config).items()
                if state["config"].get(k) != v
            }
            raise ValueError(
                f"checkpoint was written with a different configuration: {diff} (current, saved)"
            )
        if state["theta"].numel() != self.n_params:
            raise ValueError(
                f"checkpoint has {state['theta'].numel()} parameters, the objective {self.n_params}"
            )
        saved_nonideal = state.get("nonideal", asdict(NonIdealConfig()))
        if saved_nonideal != asdict(self.nonideal_config):
            raise ValueError(
                f"checkpoint was written with other non-idealities: {saved_nonideal}; this engine has "
                f"{asdict(self.nonideal_config)}"
            )
        self.theta.copy_(state["theta"].to(self.theta.device, self.theta.dtype))
        self.g_int.copy_(state["g_int"].to(self.g_int.device, self.g_int.dtype))
        self.counters = Counters(**state["counters"])
        self._baseline = state["baseline"]
        hp = state.get("analog_filter", {"c_prev": 0.0, "c_tilde": 0.0, "reset": True})
        self._hp_prev, self._hp_value, self._hp_reset = hp["c_prev"], hp["c_tilde"], hp["reset"]
        self._pattern_index = -1
        self._perturbation = None
        self._pending = None
        self._in_step = False
        self._stream_state = state["stream_state_current"]
        if self._stream_state is not None:
            self.stream.load_state_dict(self._stream_state)
            self._batch, _ = self.stream.next()
        else:
            self._batch = None
        self.stream.load_state_dict(state["stream_state_next"])
        self.sync_parameters()
