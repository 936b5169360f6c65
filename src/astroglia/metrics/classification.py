"""Classification metrics (specs/evaluation.md, "Training by MGD")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ClassifierScore:
    """Accuracy (fraction in [0, 1]) and mean loss of a classifier on a labelled set of ``n`` samples."""

    accuracy: float
    loss: float
    n: int


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows of ``logits`` (n, classes) whose arg-max equals ``labels`` (n,)."""
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"logits must be (n, classes) and labels (n,), got {tuple(logits.shape)}, {tuple(labels.shape)}"
        )
    return float((logits.argmax(dim=1) == labels).float().mean())


@torch.no_grad()
def evaluate_classifier(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    batch_size: int = 5000,
) -> ClassifierScore:
    """Accuracy and mean loss of ``model`` over all of ``inputs`` (n, ...), evaluated in chunks.

    The loss is averaged over samples (each chunk's mean weighted by its size).
    """
    n = len(inputs)
    if n == 0:
        raise ValueError("cannot evaluate on an empty set")
    correct = 0
    loss_sum = 0.0
    for start in range(0, n, batch_size):
        x = inputs[start : start + batch_size]
        y = labels[start : start + batch_size]
        out = model(x)
        correct += int((out.argmax(dim=1) == y).sum())
        loss_sum += float(loss_fn(out, y)) * len(x)
    return ClassifierScore(accuracy=correct / n, loss=loss_sum / n, n=n)
