r"""The MGD engine, digital mode (specs/mgd.md section 3).

Per step :math:`n = 0, 1, 2, \dots`:

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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from astroglia.errors import NonFiniteCostError
from astroglia.mgd.codes import PerturbationCode, make_code
from astroglia.mgd.config import MGDConfig
from astroglia.mgd.objective import Objective
from astroglia.mgd.streams import InputStream

STATE_VERSION = 1


@dataclass
class Counters:
    """Running totals of an MGD run.

    Attributes:
        steps: steps taken.
        evaluations: every cost measurement (baseline and perturbed).
        baseline_evaluations: unperturbed measurements C0.
        updates: parameter updates.
        samples: input samples presented (a batch held for tau_x steps counts once).
    """

    steps: int = 0
    evaluations: int = 0
    baseline_evaluations: int = 0
    updates: int = 0
    samples: int = 0


@dataclass
class Measurement:
    """A request for one cost measurement at ``theta + perturbation`` (``perturbation`` None: baseline)."""

    kind: str
    perturbation: torch.Tensor | None
    batch: Any
    step: int


@dataclass
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
    """Multiplexed Gradient Descent on an :class:`~astroglia.mgd.objective.Objective` (digital mode).

    Args:
        objective: the system to train (a ``ModuleObjective``, a ``FunctionObjective``, ...).
        config: hyperparameters (validated here, before any evaluation).
        stream: the inputs, presented every ``tau_x`` steps.
        code: a perturbation code; by default ``make_code(config.code, P, config.seed)``.

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
    ) -> None:
        config.validate()
        self.objective = objective
        self.config = config
        self.stream = stream
        self.theta = objective.parameters_vector()
        if not torch.isfinite(self.theta).all():
            raise ValueError("initial parameters contain NaN or inf")
        n = self.theta.numel()
        self.code = code if code is not None else make_code(config.code, n, config.seed)
        if self.code.n_params != n:
            raise ValueError(f"code has {self.code.n_params} parameters but the objective has {n}")
        self.amplitude, self.delta_theta = config.amplitudes(n)
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

    def _current_perturbation(self, n: int) -> torch.Tensor:
        k = n // self.config.tau_p
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
            if n % self.config.tau_x == 0 or self._stream_state is None:
                self._present_input()
            self._in_step = True
        pert = self._current_perturbation(n)
        if self._baseline is None:
            self._pending = Measurement("baseline", None, self._batch, n)
        else:
            self._pending = Measurement("perturbed", pert, self._batch, n)
        return self._pending

    @torch.no_grad()
    def tell(self, value: float) -> StepResult | None:
        """Report the measured cost for the pending request; return the StepResult when the step completed.

        A NaN or inf value raises NonFiniteCostError and leaves the request pending (theta and G_int are
        untouched), so a caller may re-measure, or stop with the last finite state.
        """
        if self._pending is None:
            raise RuntimeError("tell() called without a pending request; call ask() first")
        request = self._pending
        value = float(value)
        self.counters.evaluations += 1
        if not math.isfinite(value):
            raise NonFiniteCostError(
                f"the {request.kind} cost is {value} at step {request.step}; parameters were left at their "
                "last finite state",
                step=request.step,
            )
        self._pending = None
        if request.kind == "baseline":
            self._baseline = value
            self.counters.baseline_evaluations += 1
            return None
        return self._finish_step(request.perturbation, value)

    def _finish_step(self, pert: torch.Tensor, cost: float) -> StepResult:
        cfg = self.config
        n = self.counters.steps
        baseline = self._baseline
        c_tilde = cost - baseline
        if cfg.clip is not None:
            c_tilde = min(max(c_tilde, -cfg.clip), cfg.clip)
        # G = C_tilde * theta_tilde * dt / Delta_theta^2, accumulated in place
        self.g_int.add_(pert, alpha=c_tilde * cfg.dt / self.delta_theta**2)
        self.counters.steps = n + 1
        self._in_step = False
        if (n + 1) % cfg.tau_theta == 0:
            self.theta.add_(self.g_int, alpha=-cfg.eta)
            self.g_int.zero_()
            self.counters.updates += 1
            self._baseline = None
        return StepResult(cost=cost, baseline=baseline, c_tilde=c_tilde)

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

    def run(self, n_steps: int) -> None:
        """Take ``n_steps`` steps."""
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
            "code": {"name": self.code.name, "seed": self.code.seed, "n_params": self.code.n_params},
            "theta": self.theta.detach().cpu().clone(),
            "g_int": self.g_int.detach().cpu().clone(),
            "counters": asdict(self.counters),
            "baseline": self._baseline,
            "stream_state_current": self._stream_state,
            "stream_state_next": self.stream.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (same objective, config and stream type)."""
        if state.get("version") != STATE_VERSION:
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
        self.theta.copy_(state["theta"].to(self.theta.device, self.theta.dtype))
        self.g_int.copy_(state["g_int"].to(self.g_int.device, self.g_int.dtype))
        self.counters = Counters(**state["counters"])
        self._baseline = state["baseline"]
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
