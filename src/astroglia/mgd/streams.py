"""Input streams: what the MGD engine presents every ``tau_x`` steps.

A stream has ``next() -> (batch, n_samples)`` and a ``state_dict()`` / ``load_state_dict()`` pair that
captures its position, so a resumed run presents exactly the same inputs.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

from astroglia.datasets.stream import BatchStream


@runtime_checkable
class InputStream(Protocol):
    """Protocol of the inputs presented to an objective."""

    def next(self) -> tuple[Any, int]:
        """The next batch and its number of samples."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """The position of the stream (enough to replay from here)."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a position saved by :meth:`state_dict`."""
        ...


class FixedInput:
    """The same batch every time (a fixed input ``x``; ``None`` for a system without input).

    Args:
        batch: the batch passed to the objective.
        n_samples: how many samples it counts as (for the samples-seen counter).
    """

    def __init__(self, batch: Any = None, n_samples: int = 1) -> None:
        self.batch = batch
        self.n_samples = n_samples

    def next(self) -> tuple[Any, int]:
        return self.batch, self.n_samples

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        del state


class TensorBatches:
    """Shuffled minibatches ``(inputs[idx], targets[idx])`` of in-memory tensors, reshuffled every epoch.

    Args:
        inputs: tensor of shape (n, ...) on the device where the model runs.
        targets: tensor of shape (n, ...) on the same device.
        batch_size: samples per batch; every batch is full (a batch that reaches the end of an epoch is
            completed from the next epoch's order, see :class:`~astroglia.datasets.stream.BatchStream`).
        seed: seed of the shuffling.
    """

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int, seed: int = 0) -> None:
        if len(inputs) != len(targets):
            raise ValueError(f"inputs and targets differ in length: {len(inputs)} vs {len(targets)}")
        self.inputs = inputs
        self.targets = targets
        self.indices = BatchStream(len(inputs), batch_size, seed)

    def next(self) -> tuple[Any, int]:
        idx = torch.from_numpy(self.indices.next_indices()).to(self.inputs.device)
        return (self.inputs.index_select(0, idx), self.targets.index_select(0, idx)), int(idx.numel())

    def state_dict(self) -> dict[str, Any]:
        return self.indices.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.indices.load_state_dict(state)
