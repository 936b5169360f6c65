r"""Batched cost evaluation: K parameter vectors of one ``torch.nn.Module`` in one vectorised call.

MGD measures the cost at :math:`\theta + \tilde\theta^{(k)}` for K perturbations that share the input and
:math:`\theta` (:meth:`~astroglia.mgd.engine.MGDEngine.step_batched`). On a simulator these K forward passes
need not run one after another: :func:`module_costs` stacks the K parameter vectors into a (K, P) tensor and
evaluates

.. math::

    c_k = L\big(f(x;\ \theta + \tilde\theta^{(k)}),\ y\big), \qquad k = 0, \dots, K-1,

with ``torch.func.functional_call`` under ``torch.vmap``, so that every layer runs once as a batched kernel
(a ``(K, B, n_in) @ (K, n_in, n_out)`` product for a dense layer) instead of K times. Transient memory is
O(K P) for the stacked parameters plus K times the activations; nothing persists.

Precision: the forward pass may run in a lower precision (``dtype=torch.bfloat16`` or ``torch.float16``);
the outputs are cast back to float32 before the loss, so the cost differences :math:`C - C_0` are not
rounded to the low precision. The perturbed parameters are rounded, though: a perturbation below the
parameters' resolution in that precision (:math:`2^{-8}` relative for bfloat16, :math:`2^{-11}` for
float16) is lost, so use a larger ``delta_theta`` or float32.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call

__all__ = ["module_costs", "parameter_layout"]


def module_costs(
    model: nn.Module,
    names: Sequence[str],
    shapes: Sequence[torch.Size],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    points: torch.Tensor,
    batch: tuple[torch.Tensor, torch.Tensor],
    *,
    dtype: torch.dtype | None = None,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """Loss of ``model`` at each of K flat parameter vectors, in one vectorised call.

    Args:
        model: the network; parameters not named in ``names`` and buffers are taken from the module.
        names: the trained parameters' names (``model.named_parameters()`` order), one per slice of a point.
        shapes: their shapes; the slices of a point are consecutive, in this order, sum of sizes = P.
        loss_fn: ``loss_fn(outputs, targets) -> scalar`` (mean over the batch); it must be ``vmap``-able
            (``torch.nn.functional`` losses are).
        points: parameter vectors, shape (K, P).
        batch: ``(inputs, targets)``, shared by the K evaluations.
        dtype: precision of the forward pass (default: that of ``points``); outputs are cast to float32
            before the loss when it differs.
        chunk_size: evaluate at most this many points at a time (bounds the transient memory; default all).

    Returns:
        The K costs, shape (K,), float32 (or the points' dtype when no ``dtype`` is given).
    """
    if points.ndim != 2:
        raise ValueError(f"points must have shape (K, P), got {tuple(points.shape)}")
    sizes = [int(torch.Size(s).numel()) for s in shapes]
    if sum(sizes) != points.shape[1]:
        raise ValueError(f"points have {points.shape[1]} parameters, the named parameters {sum(sizes)}")
    inputs, targets = batch
    low = dtype is not None and dtype != points.dtype
    if low:
        points = points.to(dtype)
        inputs = inputs.to(dtype) if inputs.is_floating_point() else inputs

    def one(point: torch.Tensor) -> torch.Tensor:
        params = {
            name: part.view(shape)
            for name, part, shape in zip(names, point.split(sizes), shapes, strict=True)
        }
        out = functional_call(model, params, (inputs,))
        return loss_fn(out.float() if low else out, targets)

    with torch.no_grad():
        return torch.vmap(one, chunk_size=chunk_size)(points)


def parameter_layout(model: nn.Module) -> tuple[list[str], list[torch.Size]]:
    """Names and shapes of the trainable parameters of ``model``, in ``model.parameters()`` order."""
    pairs = [(n, p.shape) for n, p in model.named_parameters() if p.requires_grad]
    return [n for n, _ in pairs], [s for _, s in pairs]
