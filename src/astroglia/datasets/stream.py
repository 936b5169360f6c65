"""A seeded, resumable, endless stream of minibatch indices.

Epoch ``e`` visits the samples in the order ``numpy.random.default_rng([seed, e]).permutation(n_samples)``.
The stream is the concatenation of these orders for ``e = 0, 1, 2, ...``, cut into consecutive batches of
``batch_size`` indices. Hence:

- within each epoch every index appears exactly once;
- every batch has exactly ``batch_size`` indices: when ``n_samples`` is not a multiple of ``batch_size``, a
  batch that reaches the end of an epoch is completed with the first indices of the next one (no sample is
  dropped and no batch is short, which keeps the cost scale of every step the same);
- the order of epoch ``e`` depends only on ``(seed, e)``, so the state ``(seed, epoch, position)`` is enough
  to resume a stream exactly where it stopped (:meth:`BatchStream.state_dict`).

Example::

    stream = BatchStream(n_samples=60_000, batch_size=1000, seed=0)
    idx = stream.next_indices()          # (1000,) int64
    x, y = x_train[idx], y_train[idx]
    state = stream.state_dict()          # save with the checkpoint
    ...
    stream = BatchStream(60_000, 1000, seed=0)
    stream.load_state_dict(state)        # continues with the same next batch
"""

from __future__ import annotations

from typing import Any

import numpy as np

from astroglia.errors import ConfigError

__all__ = ["BatchStream"]


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"BatchStream: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class BatchStream:
    """Endless minibatch indices, reshuffled every epoch, reproducible from a seed and resumable.

    Args:
        n_samples: size of the dataset; indices lie in ``0 .. n_samples - 1``.
        batch_size: indices per batch, ``1 <= batch_size <= n_samples``.
        seed: non-negative integer; two streams with the same seed give the same batches.

    Attributes:
        epoch: the epoch that the next batch starts in (0-based).
        position: how many indices of that epoch have already been handed out.
    """

    def __init__(self, n_samples: int, batch_size: int, seed: int) -> None:
        self.n_samples = _check_int("n_samples", n_samples, 1)
        self.batch_size = _check_int("batch_size", batch_size, 1)
        if self.batch_size > self.n_samples:
            raise ConfigError(
                f"BatchStream: batch_size ({batch_size}) must not exceed n_samples ({n_samples}); "
                "use batch_size = n_samples for full-batch training"
            )
        self.seed = _check_int("seed", seed, 0)
        self.epoch = 0
        self.position = 0
        self._order_epoch = -1
        self._order = np.empty(0, dtype=np.int64)

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The visiting order of ``epoch``: a permutation of ``0 .. n_samples - 1``, ``int64``."""
        epoch = _check_int("epoch", epoch, 0)
        return np.random.default_rng([self.seed, epoch]).permutation(self.n_samples).astype(np.int64)

    def _current_order(self) -> np.ndarray:
        if self._order_epoch != self.epoch:
            self._order = self.epoch_order(self.epoch)
            self._order_epoch = self.epoch
        return self._order

    def next_indices(self) -> np.ndarray:
        """The next batch: ``batch_size`` sample indices, ``int64``, shape ``(batch_size,)``."""
        parts: list[np.ndarray] = []
        needed = self.batch_size
        while needed:
            order = self._current_order()
            take = min(needed, self.n_samples - self.position)
            parts.append(order[self.position : self.position + take])
            self.position += take
            needed -= take
            if self.position == self.n_samples:
                self.epoch += 1
                self.position = 0
        return parts[0].copy() if len(parts) == 1 else np.concatenate(parts)

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> np.ndarray:
        return self.next_indices()

    @property
    def samples_seen(self) -> int:
        """Indices handed out so far, over all epochs: ``epoch * n_samples + position``."""
        return self.epoch * self.n_samples + self.position

    def state_dict(self) -> dict[str, int]:
        """The stream's state: ``{"seed", "epoch", "position", "n_samples", "batch_size"}`` (plain ints)."""
        return {
            "seed": self.seed,
            "epoch": self.epoch,
            "position": self.position,
            "n_samples": self.n_samples,
            "batch_size": self.batch_size,
        }

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Restore a state from :meth:`state_dict`; the next batch is the one the saved stream would give.

        ``seed``, ``epoch`` and ``position`` are restored. ``n_samples`` must match this stream's (the order
        depends on it). A different ``batch_size`` is allowed: the index order continues unchanged and is
        cut into batches of this stream's size.
        """
        missing = {"seed", "epoch", "position"} - set(state)
        if missing:
            raise ConfigError(f"BatchStream.load_state_dict: state lacks {sorted(missing)}")
        n = state.get("n_samples", self.n_samples)
        if n != self.n_samples:
            raise ConfigError(
                f"BatchStream.load_state_dict: state is for n_samples={n}, this stream has "
                f"n_samples={self.n_samples}; the same data must be used to resume"
            )
        seed = _check_int("seed", state["seed"], 0)
        epoch = _check_int("epoch", state["epoch"], 0)
        position = _check_int("position", state["position"], 0)
        if position >= self.n_samples:
            raise ConfigError(
                f"BatchStream.load_state_dict: position {position} must be below n_samples {self.n_samples}"
            )
        self.seed, self.epoch, self.position = seed, epoch, position
        self._order_epoch = -1

    def __repr__(self) -> str:
        return (
            f"BatchStream(n_samples={self.n_samples}, batch_size={self.batch_size}, seed={self.seed}, "
            f"epoch={self.epoch}, position={self.position})"
        )
