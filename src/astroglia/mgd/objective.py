"""What MGD trains: anything whose parameters can be set and whose scalar cost can be measured.

An :class:`Objective` exposes a flat parameter vector theta of shape (P,) and a cost measurement
``cost(theta, batch, perturbation) -> float`` at ``theta + perturbation``. Two implementations:

- :class:`ModuleObjective`: a ``torch.nn.Module`` and a loss; the module's parameters become views into one
  contiguous buffer, every evaluation writes ``theta (+ perturbation)`` into that buffer and writes ``theta``
  back afterwards, so the module always holds the exact unperturbed parameters between evaluations.
- :class:`FunctionObjective`: a black-box callable on a flat vector (a chip in the loop, a simulator).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from astroglia.config import is_integer
from astroglia.mgd.batched import module_costs, parameter_layout


@runtime_checkable
class Objective(Protocol):
    """The interface the MGD engine drives."""

    @property
    def n_params(self) -> int:
        """P, the number of trainable parameters."""
        ...

    def parameters_vector(self) -> torch.Tensor:
        """The current parameters as a flat tensor of shape (P,) (a copy the engine may own)."""
        ...

    def set_parameters(self, theta: torch.Tensor) -> None:
        """Write ``theta`` (P,) as the system's parameters."""
        ...

    def cost(self, theta: torch.Tensor, batch: Any, perturbation: torch.Tensor | None = None) -> float:
        """Scalar cost at ``theta + perturbation`` (or ``theta``) on ``batch``; parameters left at theta."""
        ...

    # Optional: ``cost_many(theta, batch, perturbations (K, P)) -> (K,)``, the K perturbed costs at once
    # (see :func:`cost_many`, which falls back to a loop over ``cost`` for objectives without it).


def cost_many(
    objective: Objective, theta: torch.Tensor, batch: Any, perturbations: torch.Tensor
) -> torch.Tensor:
    """Costs at ``theta + perturbations[k]`` for k < K, shape (K,), through ``objective.cost_many`` when it
    has one (a batched evaluation), else one ``objective.cost`` call per row, in order."""
    if perturbations.ndim != 2 or perturbations.shape[1] != theta.numel():
        raise ValueError(
            f"perturbations must have shape (K, {theta.numel()}), got {tuple(perturbations.shape)}"
        )
    batched = getattr(objective, "cost_many", None)
    if batched is not None:
        return batched(theta, batch, perturbations)
    return _cost_loop(objective, theta, batch, perturbations)


def costs_with_baseline(
    objective: Objective, theta: torch.Tensor, batch: Any, stack: torch.Tensor
) -> tuple[float, torch.Tensor]:
    """The baseline ``C(theta)`` and the K costs at ``theta + stack[1:]``, given ``stack`` of shape (K + 1, P)
    whose row 0 is zero.

    An objective with a batched ``cost_many`` evaluates all K + 1 points in one call, so the baseline and
    the perturbed costs come from the same kernels (the same rounding, one pass over the weights); otherwise
    ``cost(theta)``, then one ``cost`` per perturbation, in order."""
    if getattr(objective, "cost_many", None) is not None:
        costs = cost_many(objective, theta, batch, stack)
        return float(costs[0]), costs[1:]
    return objective.cost(theta, batch), _cost_loop(objective, theta, batch, stack[1:])


def _cost_loop(
    objective: Objective, theta: torch.Tensor, batch: Any, perturbations: torch.Tensor
) -> torch.Tensor:
    return torch.tensor([objective.cost(theta, batch, p) for p in perturbations], dtype=torch.float64)


COMPUTE_DTYPES = (None, torch.float16, torch.bfloat16, torch.float32, torch.float64)
"""The precisions :class:`ModuleObjective` may run its batched forward pass in (None: the parameters')."""


class ModuleObjective:
    """A ``torch.nn.Module`` with a loss, as an :class:`Objective`.

    Args:
        model: the network; all parameters with ``requires_grad`` are trained (``model.parameters()`` order).
        loss_fn: ``loss_fn(outputs, targets) -> scalar tensor`` (mean over the batch).
        batch: each batch is ``(inputs, targets)``, already on the model's device.
        compute_dtype: precision of :meth:`cost_many`'s batched forward pass (e.g. ``torch.bfloat16``;
            default: the parameters' dtype); see :mod:`astroglia.mgd.batched`.
        chunk_size: :meth:`cost_many` evaluates at most this many perturbations at a time (default all).

    Evaluations run under ``torch.no_grad()`` and in the model's current mode (call ``model.eval()`` for
    networks with dropout or batch norm).
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        *,
        compute_dtype: torch.dtype | None = None,
        chunk_size: int | None = None,
    ) -> None:
        if compute_dtype not in COMPUTE_DTYPES:
            raise ValueError(
                "compute_dtype must be a floating torch.dtype (torch.float16, torch.bfloat16, torch.float32 "
                f"or torch.float64) or None, got {compute_dtype!r}"
            )
        if not callable(loss_fn):
            raise TypeError(
                f"loss_fn must be callable (outputs, targets) -> loss, got {type(loss_fn).__name__}"
            )
        if chunk_size is not None and not (is_integer(chunk_size) and chunk_size >= 1):
            raise ValueError(f"chunk_size must be an integer >= 1 or None, got {chunk_size!r}")
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("the model has no trainable parameters")
        devices = {p.device for p in params}
        dtypes = {p.dtype for p in params}
        if len(devices) > 1 or len(dtypes) > 1:
            raise ValueError(f"all parameters must share one device and dtype, got {devices} and {dtypes}")
        self.model = model
        self.loss_fn = loss_fn
        self.device = params[0].device
        self.dtype = params[0].dtype
        with torch.no_grad():
            self._flat = torch.cat([p.detach().reshape(-1) for p in params]).contiguous()
            offset = 0
            for p in params:
                n = p.numel()
                p.data = self._flat[offset : offset + n].view_as(p)
                offset += n
        self._params = params
        self.compute_dtype = compute_dtype
        self.chunk_size = chunk_size
        self._layout = parameter_layout(model)

    @property
    def n_params(self) -> int:
        return self._flat.numel()

    def _check_rows(self, what: str, rows: torch.Tensor) -> None:
        """ValueError unless ``rows`` is a (K >= 1, P) tensor in the parameters' dtype and on their device."""
        if rows.ndim != 2 or rows.shape[0] == 0 or rows.shape[1] != self.n_params:
            raise ValueError(f"{what} must have shape (K >= 1, {self.n_params}), got {tuple(rows.shape)}")
        if rows.dtype != self.dtype or rows.device != self.device:
            raise ValueError(
                f"{what} are {rows.dtype} on {rows.device}; the model's parameters are {self.dtype} on "
                f"{self.device}"
            )

    def parameters_vector(self) -> torch.Tensor:
        return self._flat.detach().clone()

    def set_parameters(self, theta: torch.Tensor) -> None:
        with torch.no_grad():
            self._flat.copy_(theta)

    @torch.no_grad()
    def cost(self, theta: torch.Tensor, batch: Any, perturbation: torch.Tensor | None = None) -> float:
        inputs, targets = batch
        if perturbation is None:
            self._flat.copy_(theta)
        else:
            torch.add(theta, perturbation, out=self._flat)
        try:
            value = self.loss_fn(self.model(inputs), targets)
        finally:
            if perturbation is not None:
                self._flat.copy_(theta)
        return float(value)

    def cost_many(self, theta: torch.Tensor, batch: Any, perturbations: torch.Tensor) -> torch.Tensor:
        """Costs at ``theta + perturbations[k]``, shape (K,): :meth:`costs_at` of those points.

        Agrees with K calls of :meth:`cost` to float rounding (batched kernels sum in another order); in
        ``compute_dtype`` when one is set.
        """
        self._check_rows("perturbations", perturbations)
        return self.costs_at(theta + perturbations, batch)

    def costs_at(self, points: torch.Tensor, batch: Any) -> torch.Tensor:
        """Costs at K parameter vectors ``points`` (shape (K, P), the parameters' dtype and device), shape
        (K,), in one ``functional_call`` + ``vmap`` forward pass (:func:`astroglia.mgd.batched.module_costs`);
        the module's own parameters are not touched."""
        self._check_rows("points", points)
        names, shapes = self._layout
        return module_costs(
            self.model,
            names,
            shapes,
            self.loss_fn,
            points,
            batch,
            dtype=self.compute_dtype,
            chunk_size=self.chunk_size,
        )


class FunctionObjective:
    """A black-box cost ``fn(theta, batch) -> float`` over a flat parameter vector, as an :class:`Objective`.

    Args:
        fn: the measurement. It receives the parameters to set (with the perturbation added) as a NumPy
            float64 array of shape (P,) when ``as_numpy`` is true, else as a torch tensor, and the batch (or
            None when the system has no input).
        theta0: initial parameters, shape (P,).
        as_numpy: pass NumPy arrays to ``fn`` (default) or torch tensors.
    """

    def __init__(
        self, fn: Callable[[Any, Any], float], theta0: np.ndarray | torch.Tensor, *, as_numpy: bool = True
    ) -> None:
        theta = torch.as_tensor(np.asarray(theta0) if not isinstance(theta0, torch.Tensor) else theta0)
        if theta.ndim != 1 or theta.numel() == 0:
            raise ValueError(
                f"theta0 must be a non-empty vector of shape (P,), got shape {tuple(theta.shape)}"
            )
        if not torch.isfinite(theta).all():
            raise ValueError("theta0 contains NaN or inf")
        self.fn = fn
        self.as_numpy = as_numpy
        self._theta = theta.to(torch.float64).clone()

    @property
    def n_params(self) -> int:
        return self._theta.numel()

    def parameters_vector(self) -> torch.Tensor:
        return self._theta.clone()

    def set_parameters(self, theta: torch.Tensor) -> None:
        self._theta.copy_(theta)

    def cost(self, theta: torch.Tensor, batch: Any, perturbation: torch.Tensor | None = None) -> float:
        point = theta if perturbation is None else theta + perturbation
        arg = point.detach().cpu().numpy().copy() if self.as_numpy else point.clone()
        return float(self.fn(arg, batch))

    def cost_many(self, theta: torch.Tensor, batch: Any, perturbations: torch.Tensor) -> torch.Tensor:
        """Costs at ``theta + perturbations[k]``, shape (K,): one call of ``fn`` per row, in order (a black
        box cannot be vectorised), so the results equal K calls of :meth:`cost` exactly."""
        return _cost_loop(self, theta, batch, perturbations)
