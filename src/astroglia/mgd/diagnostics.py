r"""Diagnostics of MGD runs: gradient quality and time to a target (specs/evaluation.md, "Training by MGD").

- :func:`angle_degrees`: the angle between two vectors, in degrees, in [0, 180].
- :func:`autograd_gradient`: :math:`\nabla_\theta C(\theta, x)` of a
  :class:`~astroglia.mgd.objective.ModuleObjective` by backpropagation, on one batch or, through a list of
  batches, on a whole dataset (the sample-weighted mean of per-batch gradients, i.e. the gradient of the
  mean loss over all samples when every batch loss is a mean).
- :func:`estimate_angle`: the angle between the engine's integrated estimate :math:`G_{int}` and that gradient
  at the engine's current :math:`\theta`: 0 degrees is a perfect direction, 90 degrees is no information.
  MGD descends along :math:`-G_{int}` and backprop along :math:`-\nabla C`, so the two are compared directly.
- :class:`AngleLog`: the angle logged against integration time while an engine runs.
- :func:`time_to_target`: the first logged point at or above a target accuracy, in steps, evaluations,
  seconds of this machine and projected hardware seconds (:mod:`astroglia.mgd.hardware_time`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from astroglia.mgd.hardware_time import HardwareTiming, project_hardware_time
from astroglia.mgd.objective import ModuleObjective

__all__ = [
    "AngleLog",
    "angle_degrees",
    "autograd_gradient",
    "estimate_angle",
    "theory_cosine",
    "time_to_target",
]


def angle_degrees(a: torch.Tensor, b: torch.Tensor) -> float:
    """Angle between vectors ``a`` and ``b`` (same number of elements), in degrees in [0, 180].

    Computed in float64 as ``acos(a.b / (|a| |b|))``; NaN when either vector is zero.
    """
    a64 = a.detach().reshape(-1).to(torch.float64)
    b64 = b.detach().reshape(-1).to(torch.float64)
    if a64.numel() != b64.numel():
        raise ValueError(f"vectors differ in size: {a64.numel()} vs {b64.numel()}")
    na, nb = float(a64.norm()), float(b64.norm())
    if na == 0 or nb == 0:
        return math.nan
    cos = float(a64 @ b64) / (na * nb)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def theory_cosine(n_integrated: float, n_params: int) -> float:
    r"""Expected cosine between :math:`G_{int}` and the gradient after N random-code perturbations on a
    fixed input in the linear regime: :math:`1/\sqrt{1 + (P - 1)/N}` (specs/mgd.md section 5)."""
    return 1.0 / math.sqrt(1.0 + (n_params - 1) / n_integrated)


def autograd_gradient(
    objective: ModuleObjective, theta: torch.Tensor, batches: Any | Sequence[Any]
) -> torch.Tensor:
    """The gradient of the objective's loss at ``theta`` by autograd, flat, shape (P,).

    Args:
        objective: a :class:`ModuleObjective` (its model and loss function are used).
        theta: parameters, shape (P,); written into the model for the computation and left there.
        batches: one batch ``(inputs, targets)``, or a list of batches (a whole dataset), whose gradients are
            averaged with weights ``len(inputs)``.
    """
    if not isinstance(objective, ModuleObjective):
        raise TypeError(
            "autograd_gradient needs a ModuleObjective (a torch model with a loss); a black-box objective "
            "has no gradient to compare with"
        )
    batch_list = batches if isinstance(batches, list) else [batches]
    objective.set_parameters(theta)
    params = objective._params
    total = torch.zeros(objective.n_params, dtype=torch.float64, device=objective.device)
    weight = 0
    for inputs, targets in batch_list:
        with torch.enable_grad():
            loss = objective.loss_fn(objective.model(inputs), targets)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
        flat = torch.cat(
            [
                (g if g is not None else torch.zeros_like(p)).reshape(-1).to(torch.float64)
                for g, p in zip(grads, params, strict=True)
            ]
        )
        n = len(inputs)
        total.add_(flat, alpha=n)
        weight += n
    return (total / weight).to(theta.dtype)


def estimate_angle(engine: Any, batches: Any | Sequence[Any] | None = None) -> float:
    """Angle in degrees between ``engine.g_int`` and the autograd gradient at ``engine.theta``.

    Args:
        engine: an :class:`~astroglia.mgd.engine.MGDEngine` on a :class:`ModuleObjective`.
        batches: the batch (or list of batches: the whole dataset) to differentiate on; default the input
            the engine currently holds (the "current batch").

    NaN when :math:`G_{int} = 0` (right after a digital-mode update).
    """
    target = engine._batch if batches is None else batches
    if target is None:
        raise ValueError("the engine holds no input yet; take a step first or pass batches")
    grad = autograd_gradient(engine.objective, engine.theta, target)
    engine.sync_parameters()
    return angle_degrees(engine.g_int, grad)


@dataclass
class AngleLog:
    """Angles between the estimate and the true gradient, logged against integration time.

    Run the engine with :meth:`run`; every ``every`` steps one record ``{"step", "time", "angle_batch",
    "angle_dataset"}`` is appended to :attr:`records` (``time`` = step x dt; ``angle_dataset`` only when a
    dataset was given).

    Args:
        every: steps between records.
        dataset: the list of batches of the whole training set, or None.
    """

    every: int = 1
    dataset: list[Any] | None = None
    records: list[dict[str, float]] = field(default_factory=list)

    def run(self, engine: Any, n_steps: int) -> list[dict[str, float]]:
        """Advance ``engine`` by ``n_steps`` steps, logging; return all records so far."""
        if self.every < 1:
            raise ValueError(f"every must be >= 1, got {self.every}")
        for _ in range(n_steps):
            engine.step()
            n = engine.counters.steps
            if n % self.every == 0:
                rec = {
                    "step": n,
                    "time": n * engine.config.dt,
                    "angle_batch": estimate_angle(engine),
                }
                if self.dataset is not None:
                    rec["angle_dataset"] = estimate_angle(engine, self.dataset)
                self.records.append(rec)
        return self.records


def time_to_target(
    records: Iterable[Mapping[str, Any]],
    target: float,
    *,
    key: str = "test_accuracy",
    timing: str | HardwareTiming | None = None,
    tau_x: int = 1,
    tau_p: int = 1,
    tau_theta: int = 1,
    mode: str = "digital",
    batch_size: int = 1,
) -> dict[str, Any] | None:
    """The first log point with ``record[key] >= target``, or None when no point reaches it.

    Args:
        records: log points in order, each with ``key`` and some of ``step``, ``evaluations``, ``wall_s``.
        target: the threshold (e.g. 1.0 for 100 % accuracy).
        key: the logged quantity.
        timing: a hardware preset name or :class:`HardwareTiming`; when given, the projected hardware time of
            the steps up to that point is added (with the run's time constants, mode and batch size; the
            logged evaluation count replaces the computed one).
        tau_x, tau_p, tau_theta, mode, batch_size: the run's settings, for the projection (analog-mode time
            constants are rounded up to whole steps).

    Returns:
        ``{"step", "evaluations", "wall_s", "value"}`` plus ``"hardware_s"`` and ``"hardware_platform"``
        when ``timing`` is given.
    """
    for rec in records:
        value = rec.get(key)
        if value is not None and value >= target:
            out: dict[str, Any] = {
                "step": rec.get("step"),
                "evaluations": rec.get("evaluations"),
                "wall_s": rec.get("wall_s"),
                "value": value,
            }
            if timing is not None and rec.get("step") is not None:
                proj = project_hardware_time(
                    int(rec["step"]),
                    timing,
                    tau_x=max(1, math.ceil(tau_x)),
                    tau_p=max(1, math.ceil(tau_p)),
                    tau_theta=max(1, math.ceil(tau_theta)),
                    mode="analog" if mode == "analog" else "digital",
                    batch_size=batch_size,
                    evaluations=rec.get("evaluations"),
                )
                out["hardware_s"] = proj.total_s
                out["hardware_platform"] = proj.timing.name
            return out
    return None
