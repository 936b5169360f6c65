r"""MGD as a ``torch.optim`` optimiser: gradient-free training of a PyTorch model from a forward-only closure.

.. code-block:: python

    opt = MGD(model.parameters(), lr=10.0, delta_theta=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1000, gamma=0.5)
    for x, y in loader:
        def closure():
            return loss_fn(model(x), y)      # forward only: no zero_grad, no backward
        loss = opt.step(closure)             # C0, the loss at the current parameters
        sched.step()

Each ``step(closure)`` presents one input (whatever the closure evaluates) to the
:class:`~astroglia.mgd.engine.MGDEngine` and takes ``perturbations`` = K engine steps on it: the baseline
:math:`C_0 = C(\theta)` and K perturbed costs :math:`C(\theta + \tilde\theta^{(k)})`, so it calls the
closure K + 1 times. The engine does the maths, exactly as elsewhere in astroglia (codes regenerated from
``(seed, index)``, ``tau_p``, ``tau_theta``, clipping):

.. math::

    \tilde C_k = \mathrm{clip}(C_k - C_0), \qquad G_{int} \mathrel{+}= \tilde C_k\,\tilde\theta^{(k)}\,
    dt/\Delta\theta^2, \qquad \theta_g \leftarrow \theta_g - \mathrm{lr}_g\, G_{int,g}
    \ \text{every } \tau_\theta \text{ engine steps},

where :math:`g` runs over the parameter groups (each group's ``lr`` applies to its own slice of the one
global estimate). ``tau_theta`` defaults to K, so each ``step`` call ends with one update; the effective SGD
learning rate is :math:`\mathrm{lr}\,\tau_\theta/P` (specs/mgd.md section 5).

With ``write_grad=True`` the parameters are left alone and the estimate is added to each parameter's
``.grad`` instead (like ``backward()``), for any torch optimiser to consume:

.. code-block:: python

    est = MGD(model.parameters(), write_grad=True, grad_scale="gradient", delta_theta=0.1)
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        adam.zero_grad()
        est.step(lambda: loss_fn(model(x), y))
        adam.step()

``grad_scale="integrated"`` writes :math:`G_{int}` itself (so ``SGD(lr)`` then reproduces ``MGD(lr)``
exactly), ``"gradient"`` writes :math:`G_{int}\,P/\tau_\theta`, whose expectation is the true gradient in
the linear regime (random codes).

.. note::

    The closure is called under ``torch.no_grad()`` and must only evaluate the loss (forward only); calling
    ``backward()`` inside it fails. Like ``LBFGS``, ``step`` requires the closure.

Param groups hold every option, so ``state_dict`` carries them and schedulers can drive ``lr``,
``delta_theta`` and ``clip`` (read on every step; ``delta_theta`` and ``clip`` must be equal across groups,
since the perturbation and the cost are global). The other options are fixed at construction; changing them
in a group raises. ``state_dict()`` / ``load_state_dict()`` carry the integrator :math:`G_{int}` (per
parameter, shaped like it) and the engine's counters (steps, hence the pattern index; evaluations; updates),
so a resumed run continues bit-identically.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, fields, replace
from typing import Any

import torch

from astroglia.mgd.codes import CODES, make_code
from astroglia.mgd.config import MGDConfig
from astroglia.mgd.engine import Counters, MGDEngine, as_cost

__all__ = ["MGD"]

SCHEDULABLE = ("lr", "delta_theta", "clip")
"""Options read from the param groups on every step."""
FIXED = ("amplitude", "code", "code_kwargs", "perturbations", "tau_p", "tau_theta", "dt", "seed")
"""Options fixed at construction (changing them in a group raises)."""
GRAD_SCALES = ("integrated", "gradient")


class _ClosureInput:
    """The engine's input stream: the closure of the current ``step`` call (one sample per call)."""

    def __init__(self) -> None:
        self.closure: Callable[[], Any] | None = None

    def next(self) -> tuple[Any, int]:
        return self.closure, 1

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        del state


class _ParameterObjective:
    """The optimiser's parameters as an :class:`~astroglia.mgd.objective.Objective` whose batch is a closure.

    ``cost`` writes ``theta (+ perturbation)`` into the parameters and calls the closure; it does not write
    theta back (every evaluation writes its own point, and :meth:`MGD.step` writes theta at the end).
    """

    def __init__(self, params: list[torch.Tensor]) -> None:
        self.params = params
        self.sizes = [p.numel() for p in params]
        self.last_loss: Any = None

    @property
    def n_params(self) -> int:
        return sum(self.sizes)

    def parameters_vector(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.params])

    def set_parameters(self, theta: torch.Tensor) -> None:
        for p, part in zip(self.params, theta.split(self.sizes), strict=True):
            p.copy_(part.view_as(p))

    def cost(self, theta: torch.Tensor, batch: Any, perturbation: torch.Tensor | None = None) -> float:
        self.set_parameters(theta if perturbation is None else theta + perturbation)
        loss = batch()
        self.last_loss = loss
        if isinstance(loss, torch.Tensor) and loss.numel() != 1:
            raise ValueError(
                f"the closure must return a scalar loss, got a tensor of shape {tuple(loss.shape)} "
                "(reduce it, e.g. with .mean())"
            )
        return as_cost(loss)


class _OptimizerEngine(MGDEngine):
    """The engine with the update handed to the optimiser (per-group rates, or ``.grad``)."""

    def __init__(self, optimizer: MGD, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._optimizer = optimizer

    def apply_update(self) -> None:
        self._optimizer._consume_estimate(self.theta, self.g_int)


def _check(ok: bool, name: str, value: Any, requirement: str) -> None:
    if not ok:
        raise ValueError(f"invalid MGD option {name}={value!r}: {requirement}")


class MGD(torch.optim.Optimizer):
    r"""Multiplexed Gradient Descent (specs/mgd.md) as a ``torch.optim.Optimizer``; see the module docstring.

    Args:
        params: parameters or param-group dicts (one device and one floating dtype for all). Parameters
            with ``requires_grad=False`` at construction are left alone: not perturbed, not updated and not
            counted in P (as :class:`~astroglia.mgd.objective.ModuleObjective` does, and as torch's
            optimisers skip parameters without a gradient). The set of trained parameters, hence P, is fixed
            at construction; :meth:`add_param_group` afterwards raises.
        lr: learning rate :math:`\eta` (per group).
        delta_theta: perturbation size: the L2 norm :math:`\Delta\theta` of the whole perturbation vector
            (``amplitude="total"``, the paper's convention, each parameter moved by
            :math:`\Delta\theta/\sqrt P`) or the per-parameter amplitude (``"per_parameter"``).
        clip: clip :math:`\tilde C` to ``[-clip, clip]`` (None: no clipping).
        amplitude: ``"total"`` or ``"per_parameter"`` (see ``delta_theta``).
        code: perturbation code family, one of :data:`~astroglia.mgd.codes.CODES` (``"random"``, ``"walsh"``,
            ``"time_slot"``, ``"sinusoid"``, ``"gaussian"``).
        code_kwargs: keyword arguments of the code family (e.g. ``{"flip_signs": True}`` for walsh).
        perturbations: K, perturbed evaluations per ``step`` call (the closure is called K + 1 times).
        tau_p: engine steps each pattern is held.
        tau_theta: engine steps integrated between updates (default K: one update per ``step`` call).
        dt: the time step (enters :math:`G = \tilde C\,\tilde\theta\,dt/\Delta\theta^2`).
        seed: seed of the perturbation code.
        write_grad: add the estimate to ``.grad`` instead of updating the parameters.
        grad_scale: with ``write_grad``: ``"integrated"`` writes :math:`G_{int}`, ``"gradient"`` writes
            :math:`G_{int} P/\tau_\theta` (an estimate of the gradient itself).

    Attributes:
        engine: the :class:`~astroglia.mgd.engine.MGDEngine` doing the maths (its ``counters`` count
            evaluations, updates and steps).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 0.1,
        *,
        delta_theta: float = 0.05,
        clip: float | None = None,
        amplitude: str = "total",
        code: str = "random",
        code_kwargs: dict[str, Any] | None = None,
        perturbations: int = 1,
        tau_p: int = 1,
        tau_theta: int | None = None,
        dt: float = 1.0,
        seed: int = 0,
        write_grad: bool = False,
        grad_scale: str = "integrated",
    ) -> None:
        _check(
            isinstance(lr, (int, float)) and math.isfinite(lr) and lr >= 0,
            "lr",
            lr,
            "must be a finite number >= 0",
        )
        _check(
            isinstance(delta_theta, (int, float)) and math.isfinite(delta_theta) and delta_theta > 0,
            "delta_theta",
            delta_theta,
            "must be > 0 (amplitude 0 gives no signal)",
        )
        _check(clip is None or (math.isfinite(clip) and clip > 0), "clip", clip, "must be > 0, or None")
        _check(amplitude in ("total", "per_parameter"), "amplitude", amplitude, "total or per_parameter")
        _check(code in CODES, "code", code, f"must be one of {', '.join(sorted(CODES))}")
        _check(
            isinstance(perturbations, int) and perturbations >= 1,
            "perturbations",
            perturbations,
            "must be an integer >= 1",
        )
        tau_theta = perturbations if tau_theta is None else tau_theta
        for name, value in (("tau_p", tau_p), ("tau_theta", tau_theta)):
            _check(isinstance(value, int) and value >= 1, name, value, "must be an integer >= 1 (steps)")
        _check(math.isfinite(dt) and dt > 0, "dt", dt, "must be > 0")
        _check(isinstance(seed, int) and seed >= 0, "seed", seed, "must be an integer >= 0")
        _check(grad_scale in GRAD_SCALES, "grad_scale", grad_scale, f"one of {', '.join(GRAD_SCALES)}")
        defaults = {
            "lr": lr,
            "delta_theta": delta_theta,
            "clip": clip,
            "amplitude": amplitude,
            "code": code,
            "code_kwargs": dict(code_kwargs or {}),
            "perturbations": perturbations,
            "tau_p": tau_p,
            "tau_theta": tau_theta,
            "dt": dt,
            "seed": seed,
        }
        super().__init__(params, defaults)
        self.write_grad = bool(write_grad)
        self.grad_scale = grad_scale
        params_all = [p for g in self.param_groups for p in g["params"] if p.requires_grad]
        if not params_all:
            raise ValueError(
                "MGD got no parameter to train: every parameter given has requires_grad=False "
                "(or none was given)"
            )
        devices = {p.device for p in params_all}
        dtypes = {p.dtype for p in params_all}
        if len(devices) > 1 or len(dtypes) > 1:
            raise ValueError(f"all parameters must share one device and dtype, got {devices} and {dtypes}")
        if not params_all[0].is_floating_point():
            raise ValueError(f"MGD needs floating-point parameters, got {params_all[0].dtype}")
        self._check_groups()
        self._spans: list[tuple[int, int]] = []
        start = 0
        for g in self.param_groups:
            n = sum(p.numel() for p in g["params"] if p.requires_grad)
            self._spans.append((start, start + n))
            start += n
        self._objective = _ParameterObjective(params_all)
        self._input = _ClosureInput()
        first = self.param_groups[0]
        config = MGDConfig(
            eta=first["lr"] if first["lr"] > 0 else 1.0,  # the engine's eta is unused: apply_update is ours
            delta_theta=first["delta_theta"],
            amplitude=amplitude,
            code=code,
            tau_x=perturbations,
            tau_p=tau_p,
            tau_theta=tau_theta,
            dt=dt,
            clip=clip,
            seed=seed,
        )
        n_params = self._objective.n_params
        code_obj = make_code(code, n_params, seed, **defaults["code_kwargs"])
        with torch.no_grad():
            self.engine = _OptimizerEngine(self, self._objective, config, self._input, code=code_obj)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """torch's ``add_param_group``, only while the optimiser is being built: P, the length of every
        perturbation and of :math:`G_{int}`, is fixed once the engine exists."""
        if getattr(self, "engine", None) is not None:
            raise ValueError(
                "MGD cannot take a param group after construction: the number of parameters P fixes the "
                "perturbation code and G_int. Build a new MGD with every param group instead."
            )
        super().add_param_group(param_group)

    # -- options ---------------------------------------------------------------------------------------

    def _check_groups(self) -> None:
        """Raise unless the fixed options are those of construction and the global knobs agree."""
        ref = self.defaults
        for i, g in enumerate(self.param_groups):
            for name in FIXED:
                if g[name] != ref[name]:
                    raise ValueError(
                        f"param group {i} has {name}={g[name]!r} but the optimiser was built with "
                        f"{ref[name]!r}; only {', '.join(SCHEDULABLE)} may change after construction"
                    )
            for name in ("delta_theta", "clip"):
                if g[name] != self.param_groups[0][name]:
                    raise ValueError(
                        f"{name} differs between param groups ({self.param_groups[0][name]!r} in group 0, "
                        f"{g[name]!r} in group {i}); the perturbation and the cost are global, so set it "
                        "equally in every group"
                    )
            _check(
                math.isfinite(g["lr"]) and g["lr"] >= 0,
                f"param_groups[{i}]['lr']",
                g["lr"],
                "must be a finite number >= 0",
            )

    def _sync_knobs(self) -> None:
        """Read lr, delta_theta and clip from the groups into the engine (every step)."""
        self._check_groups()
        first = self.param_groups[0]
        eng = self.engine
        delta, clip = first["delta_theta"], first["clip"]
        _check(math.isfinite(delta) and delta > 0, "delta_theta", delta, "must be > 0")
        if delta != eng.config.delta_theta:
            eng.config.delta_theta = delta
            eng.amplitude, eng.delta_theta = eng.config.amplitudes(eng.n_params)
            eng._perturbation, eng._pattern_index = None, -1  # regenerate at the new amplitude
        eng.config.clip = clip
        if first["lr"] > 0:
            eng.config.eta = first["lr"]

    @property
    def counters(self) -> Counters:
        """The engine's counters: steps, evaluations, baseline_evaluations, updates, samples (step calls)."""
        return self.engine.counters

    # -- the update ------------------------------------------------------------------------------------

    def _consume_estimate(self, theta: torch.Tensor, g_int: torch.Tensor) -> None:
        """At the end of a tau_theta window: theta_g -= lr_g G_int,g, or G_int (scaled) into ``.grad``."""
        if self.write_grad:
            scale = 1.0
            if self.grad_scale == "gradient":
                scale = self.engine.n_params / self.defaults["tau_theta"]
            params = self._objective.params
            for p, part in zip(params, g_int.split(self._objective.sizes), strict=True):
                est = part.view_as(p)
                if p.grad is None:
                    p.grad = est.mul(scale)
                else:
                    p.grad.add_(est, alpha=scale)
            return
        for (start, end), g in zip(self._spans, self.param_groups, strict=True):
            if g["lr"] != 0:
                theta[start:end].add_(g_int[start:end], alpha=-g["lr"])

    @torch.no_grad()
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Present the closure's input and take K engine steps on it (K + 1 closure calls).

        Args:
            closure: evaluates and returns the loss (a scalar tensor or float) of the model at its current
                parameters; forward only, called under ``torch.no_grad()``.

        Returns:
            What the closure returned at the unperturbed parameters (the baseline :math:`C_0`).

        Raises:
            ValueError: no closure.
            NonFiniteCostError: the closure returned NaN or inf; the step is abandoned and the optimiser and
                the parameters are left exactly as before the call.
        """
        if closure is None or not callable(closure):
            raise ValueError(
                "MGD.step needs a closure that evaluates and returns the loss (forward only), e.g. "
                "opt.step(lambda: loss_fn(model(x), y))"
            )
        self._sync_knobs()
        eng = self.engine
        obj = self._objective
        theta_now = obj.parameters_vector()
        eng.theta.copy_(theta_now)  # the parameters may have been changed outside (write_grad, the user)
        snapshot = (theta_now, eng.g_int.clone(), replace(eng.counters))
        self._input.closure = closure
        baseline_loss: Any = None
        try:
            for _ in range(self.defaults["perturbations"]):
                while True:
                    request = eng.ask()
                    value = obj.cost(eng.theta, request.batch, request.perturbation)
                    if request.kind == "baseline" and baseline_loss is None:
                        baseline_loss = obj.last_loss
                    if eng.tell(value) is not None:
                        break
        except BaseException:
            self._rollback(*snapshot)
            raise
        finally:
            self._input.closure = None
            obj.last_loss = None
        obj.set_parameters(eng.theta)
        return baseline_loss

    def _rollback(self, theta: torch.Tensor, g_int: torch.Tensor, counters: Counters) -> None:
        eng = self.engine
        eng.theta.copy_(theta)
        eng.g_int.copy_(g_int)
        for f in fields(Counters):  # in place: a reference the caller holds to ``counters`` stays live
            setattr(eng.counters, f.name, getattr(counters, f.name))
        eng._pending, eng._in_step, eng._baseline, eng._stream_state = None, False, None, None
        self._objective.set_parameters(theta)

    # -- checkpoints -----------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """torch's optimiser state: param groups (all options) and, per parameter, ``g_int`` (its slice of
        :math:`G_{int}`, shaped like the parameter); the first parameter's state also holds ``counters``.
        Tensors are copies, so the dict is a snapshot."""
        eng = self.engine
        params = self._objective.params
        for p, part in zip(params, eng.g_int.split(self._objective.sizes), strict=True):
            self.state[p]["g_int"] = part.view_as(p).clone()
        self.state[params[0]]["counters"] = asdict(eng.counters)
        return super().state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (same parameters, same fixed options)."""
        for i, g in enumerate(state_dict["param_groups"]):
            for name in FIXED:
                if g.get(name) != self.defaults[name]:
                    raise ValueError(
                        f"the saved param group {i} has {name}={g.get(name)!r}, this optimiser "
                        f"{self.defaults[name]!r}; build the optimiser with the saved options to resume"
                    )
        super().load_state_dict(state_dict)
        eng = self.engine
        params = self._objective.params
        with torch.no_grad():
            for p, part in zip(params, eng.g_int.split(self._objective.sizes), strict=True):
                saved = self.state[p].get("g_int")
                part.copy_(saved.reshape(-1) if saved is not None else torch.zeros_like(part))
        eng.counters = Counters(**self.state[params[0]]["counters"])
        eng._pending, eng._in_step, eng._baseline, eng._stream_state = None, False, None, None
        eng._perturbation, eng._pattern_index = None, -1
        self._sync_knobs()
