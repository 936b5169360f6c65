r"""Chip in the loop: MGD on a black box that can only set parameters and measure a scalar cost.

specs/mgd.md section 9: the trainer needs only to set the parameters (with the perturbation added) and
measure the cost for the current input; the parameters are a flat vector (NumPy or torch). Two ways in, over
the same :class:`~astroglia.mgd.engine.MGDEngine` and its ask/tell loop:

- the **callable** path, :meth:`BlackBoxMGD.run` ``(fn, n_steps)``: ``fn(point, batch) -> float`` is called
  for every measurement, optionally under a timeout;
- the **ask/tell** path, for a device driven by its own event loop: ``request = driver.ask()`` gives the
  point to measure, then ``driver.tell(value)`` or ``driver.tell_failure(reason)``.

Measurements fail: they raise, time out or return NaN/inf. A :class:`FailurePolicy` decides what happens:

- **retry**: the same request (same point, same input) is measured again, up to ``retries`` times;
- then, if it still fails, **skip** (``on_failure="skip"``): the request is dropped with
  :meth:`MGDEngine.skip`. Exactly: the step counts as taken (the step counter, hence the pattern index and
  the update schedule, advance) but contributes nothing to :math:`G_{int}`, as if :math:`\tilde C = 0`; the
  update at the end of the :math:`\tau_\theta` window uses the other steps. A dropped baseline drops its
  whole step, and :math:`C_0` is measured again at the next step;
- or **stop** (``on_failure="stop"``): the driver raises :class:`MeasurementFailed`, keeping the state of the
  last completed step (written to ``checkpoint_path`` when given, and returned by :meth:`state_dict`), from
  which a new driver resumes with :meth:`load_state_dict`.

A device that fails ``max_consecutive_failures`` measurements in a row (default 50, retries included) is not
being trained, whatever the cause (a dead link, or a bug such as a callable with the wrong signature): the
driver then stops as with ``"stop"``, whatever ``on_failure`` says. A measurement that returns something
other than a number (None, a string, a non-scalar array) is a programming error, not a device failure: it
raises TypeError at once and the request stays pending.

Every failure, whatever the action, is appended to :attr:`BlackBoxMGD.failures` (a :class:`Failure` record:
step, kind, attempt, reason, detail, action) and logged to the ``astroglia.mgd.blackbox`` logger.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from astroglia.config import check, is_integer, is_real
from astroglia.errors import AstrogliaError, NonFiniteCostError
from astroglia.mgd.codes import PerturbationCode
from astroglia.mgd.config import MGDConfig
from astroglia.mgd.engine import MGDEngine, StepResult, as_cost
from astroglia.mgd.objective import FunctionObjective
from astroglia.mgd.streams import FixedInput, InputStream

__all__ = ["BlackBoxMGD", "Failure", "FailurePolicy", "MeasurementFailed", "Request"]

log = logging.getLogger(__name__)

REASONS = ("exception", "timeout", "non-finite")
ACTIONS = ("retry", "skip", "stop")


class MeasurementFailed(AstrogliaError):
    """A measurement failed and the policy says stop; ``state`` is the last completed step's state."""

    def __init__(self, message: str, state: dict[str, Any], failures: list[Failure]) -> None:
        super().__init__(message)
        self.state = state
        self.failures = failures


@dataclass
class FailurePolicy:
    """What to do when a measurement raises, times out or returns NaN/inf.

    Attributes:
        retries: measure a failed request again up to this many times (0: never).
        on_failure: when the retries are used up: ``"skip"`` (drop the request, see the module docstring) or
            ``"stop"`` (raise :class:`MeasurementFailed` with the last completed step's state).
        timeout_s: the callable path fails a measurement that takes longer than this many seconds (None: no
            limit). The call runs in a worker thread that cannot be killed: a timed-out call is abandoned and
            its result ignored. A device in another process can be cut off for real (see
            ``examples/device_in_the_loop.py``).
        max_consecutive_failures: stop (as ``on_failure="stop"``) after this many failed measurements in a
            row, retries included (None: never).
    """

    retries: int = 0
    on_failure: str = "skip"
    timeout_s: float | None = None
    max_consecutive_failures: int | None = 50

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        retries = self.retries
        check(is_integer(retries) and retries >= 0, "retries", retries, "must be an integer >= 0")
        limit = self.max_consecutive_failures
        if limit is not None:
            check(
                is_integer(limit) and limit >= 1,
                "max_consecutive_failures",
                limit,
                "must be an integer >= 1, or None",
            )
        check(self.on_failure in ("skip", "stop"), "on_failure", self.on_failure, "skip or stop")
        if self.timeout_s is not None:
            check(
                is_real(self.timeout_s) and math.isfinite(self.timeout_s) and self.timeout_s > 0,
                "timeout_s",
                self.timeout_s,
                "must be > 0",
            )


@dataclass
class Failure:
    """One failed measurement: at engine step ``step``, the ``kind`` ("baseline" or "perturbed") request's
    ``attempt``-th try (0 = first) failed for ``reason`` ("exception", "timeout", "non-finite") with
    ``detail``; the driver then did ``action`` ("retry", "skip" or "stop")."""

    step: int
    kind: str
    attempt: int
    reason: str
    detail: str
    action: str


@dataclass
class Request:
    """A measurement to make: set the parameters to ``point`` (shape (P,), theta + perturbation, or theta
    for ``kind="baseline"``), present ``batch``, and report the scalar cost. ``attempt`` counts retries."""

    point: np.ndarray | torch.Tensor
    batch: Any
    kind: str
    step: int
    attempt: int = 0


@dataclass
class _Pending:
    request: Request
    failures: list[Failure] = field(default_factory=list)


class BlackBoxMGD:
    """MGD on a black-box cost over a flat parameter vector, with a failure policy.

    Args:
        theta0: initial parameters, shape (P,), NumPy or torch (kept in float64; :attr:`theta` and request
            points come back in the same kind).
        config: MGD hyperparameters (validated here).
        policy: the :class:`FailurePolicy` (default: no retries, skip).
        stream: inputs presented every ``tau_x`` steps (default: none, ``FixedInput()``): each request carries
            its batch, e.g. indices of samples the device holds.
        code: a perturbation code (default from ``config``).
        checkpoint_path: where ``on_failure="stop"`` writes the last completed step's state (``torch.save``).

    Attributes:
        engine: the :class:`~astroglia.mgd.engine.MGDEngine`.
        failures: every failed measurement, in order.

    The driver keeps a copy of the state after the last completed step (O(P): theta and G_int), so that a
    stop mid-step can save a consistent state; meant for measurements slower than an O(P) copy.
    """

    def __init__(
        self,
        theta0: np.ndarray | torch.Tensor,
        config: MGDConfig,
        *,
        policy: FailurePolicy | None = None,
        stream: InputStream | None = None,
        code: PerturbationCode | None = None,
        checkpoint_path: str | Path | None = None,
    ) -> None:
        self.policy = policy if policy is not None else FailurePolicy()
        self.policy.validate()
        self._as_numpy = not isinstance(theta0, torch.Tensor)
        objective = FunctionObjective(_no_callable, theta0)
        self.engine = MGDEngine(objective, config, stream if stream is not None else FixedInput(), code=code)
        self.failures: list[Failure] = []
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path is not None else None
        self._pending: _Pending | None = None
        self._failures_in_a_row = 0
        self._last_state: dict[str, Any] = self.engine.state_dict()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    # -- state -----------------------------------------------------------------------------------------

    @property
    def theta(self) -> np.ndarray | torch.Tensor:
        """The current (unperturbed) parameters, shape (P,), float64, a copy."""
        return self._out(self.engine.theta)

    def _out(self, x: torch.Tensor) -> np.ndarray | torch.Tensor:
        return x.detach().cpu().numpy().copy() if self._as_numpy else x.detach().clone()

    def state_dict(self) -> dict[str, Any]:
        """The state at the end of the last completed step (engine state and the failure log)."""
        return {"engine": self._last_state, "failures": [asdict(f) for f in self.failures]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict` or from a checkpoint written on stop."""
        self.engine.load_state_dict(state["engine"])
        self.failures = [Failure(**f) for f in state["failures"]]
        self._pending = None
        self._failures_in_a_row = 0
        self._last_state = self.engine.state_dict()

    # -- ask/tell --------------------------------------------------------------------------------------

    def ask(self) -> Request:
        """The next measurement to make (the same one again until it is told or dropped)."""
        if self._pending is None:
            m = self.engine.ask()
            point = self.engine.theta if m.perturbation is None else self.engine.theta + m.perturbation
            self._pending = _Pending(Request(self._out(point), m.batch, m.kind, m.step))
        return self._pending.request

    def tell(self, value: float) -> StepResult | None:
        """Report the cost measured for the pending request; a NaN/inf value is a failure ("non-finite").

        Returns the engine's StepResult when a step completed, else None (a baseline was recorded, or the
        failure policy retried or skipped). Raises MeasurementFailed when the policy stops.
        """
        if self._pending is None:
            raise RuntimeError("tell() called without a pending request; call ask() first")
        value = as_cost(value)
        if not math.isfinite(value):
            return self.tell_failure("non-finite", f"measured {value}")
        try:
            result = self.engine.tell(value)
        except NonFiniteCostError as exc:  # a non-ideality made it non-finite
            return self.tell_failure("non-finite", str(exc))
        self._pending = None
        self._failures_in_a_row = 0
        if result is not None:
            self._last_state = self.engine.state_dict()
        return result

    def tell_failure(self, reason: str, detail: str = "") -> None:
        """Report that the pending measurement failed (``reason``: "exception", "timeout", "non-finite").

        Applies the policy: retry (the request stays pending, :meth:`ask` returns it with ``attempt + 1``),
        skip (the request is dropped, see the module docstring) or stop (raises MeasurementFailed).
        """
        if self._pending is None:
            raise RuntimeError("tell_failure() called without a pending request; call ask() first")
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {', '.join(REASONS)}, got {reason!r}")
        req = self._pending.request
        self._failures_in_a_row += 1
        limit = self.policy.max_consecutive_failures
        given_up = limit is not None and self._failures_in_a_row >= limit
        if given_up:
            action = "stop"
        elif req.attempt < self.policy.retries:
            action = "retry"
        else:
            action = self.policy.on_failure
        failure = Failure(req.step, req.kind, req.attempt, reason, detail, action)
        self.failures.append(failure)
        log.warning(
            "measurement failed at step %d (%s, attempt %d): %s %s -> %s",
            req.step,
            req.kind,
            req.attempt,
            reason,
            detail,
            action,
        )
        if action == "retry":
            req.attempt += 1
            return None
        self._pending = None
        if action == "skip":
            self.engine.skip()  # ends the step
            self._last_state = self.engine.state_dict()
            return None
        state = self.state_dict()
        where = "not written (no checkpoint_path)"
        if self.checkpoint_path is not None:
            self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.checkpoint_path.with_suffix(".tmp")
            torch.save(state, tmp)
            tmp.replace(self.checkpoint_path)
            where = str(self.checkpoint_path)
        steps = state["engine"]["counters"]["steps"]
        why = f"after {req.attempt + 1} attempt(s)"
        if given_up:
            why = (
                f"and so did the {limit - 1} before it (policy.max_consecutive_failures = {limit}: is the "
                "device answering, and does the measurement function take (point, batch)?)"
            )
        raise MeasurementFailed(
            f"the {req.kind} measurement at step {req.step} failed ({reason}: {detail}) {why}; stopped "
            f"with the state after {steps} completed steps, checkpoint {where}. Resume with load_state_dict.",
            state,
            list(self.failures),
        )

    # -- the callable path -----------------------------------------------------------------------------

    def _call(self, fn: Callable[[Any, Any], float], request: Request) -> Any:
        timeout = self.policy.timeout_s
        if timeout is None:
            return fn(request.point, request.batch)
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        future = self._executor.submit(fn, request.point, request.batch)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            # abandon the stuck worker: the next call gets a fresh thread
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            raise

    def run(self, fn: Callable[[Any, Any], float], n_steps: int) -> list[StepResult]:
        """Take ``n_steps`` MGD steps, measuring with ``fn(point, batch) -> float``.

        ``point`` is the parameter vector to set (shape (P,), NumPy float64 or torch, like ``theta0``) and
        ``batch`` the current input. Exceptions from ``fn``, timeouts (``policy.timeout_s``, or ``fn``
        raising ``TimeoutError`` itself, as a client of a remote device may) and NaN/inf go to the failure
        policy; a skipped step counts towards ``n_steps``.

        Returns:
            The StepResults of the measured (not skipped) steps.

        Raises:
            ConfigError: ``n_steps`` is not an integer >= 0.
            TypeError: ``fn`` returned something other than a number (the request stays pending).
            MeasurementFailed: the policy stopped (``on_failure="stop"``, or
                ``max_consecutive_failures`` failures in a row).
        """
        check(is_integer(n_steps) and n_steps >= 0, "n_steps", n_steps, "must be an integer >= 0")
        results: list[StepResult] = []
        target = self.engine.counters.steps + n_steps
        try:
            while self.engine.counters.steps < target:
                request = self.ask()
                try:
                    value = self._call(fn, request)
                except concurrent.futures.TimeoutError as exc:  # the builtin TimeoutError too
                    self.tell_failure("timeout", str(exc) or f"no answer within {self.policy.timeout_s} s")
                    continue
                except MeasurementFailed:
                    raise
                except Exception as exc:  # the device's own error: the policy decides
                    self.tell_failure("exception", f"{type(exc).__name__}: {exc}")
                    continue
                result = self.tell(value)
                if result is not None:
                    results.append(result)
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
        return results


def _no_callable(theta: Any, batch: Any) -> float:
    raise RuntimeError("BlackBoxMGD measures through run(fn, ...) or ask/tell, not through the objective")
