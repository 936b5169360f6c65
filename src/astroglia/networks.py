"""The networks of the MGD paper (specs/mgd.md section 7) and the demo network, as ``torch.nn.Module``.

Parameter counts: :func:`paper_fmnist_cnn` 14,378; :func:`paper_cifar10_cnn` 26,154; the XOR
``LogisticMLP([2, 2, 1])`` 9; an N-bit parity ``LogisticMLP([N, h, 1])`` N h + 2 h + 1.
"""

from __future__ import annotations

import torch
from torch import nn


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalar parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class LogisticLayer(nn.Module):
    """A dense layer with the paper's convention: ``a_out = sigmoid(W a_in - b)``.

    Args:
        n_in, n_out: sizes. ``weight`` has shape (n_out, n_in), ``bias`` shape (n_out,).
    """

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        self.bias = nn.Parameter(torch.empty(n_out))

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """a: (batch, n_in) -> (batch, n_out) in (0, 1)."""
        return torch.sigmoid(a @ self.weight.T - self.bias)


class LogisticMLP(nn.Module):
    """A multilayer perceptron with logistic activations everywhere (the paper's XOR and parity networks).

    Args:
        sizes: layer widths, e.g. ``[2, 2, 1]`` for XOR.
        init_range: parameters are drawn i.i.d. uniform in ``init_range`` (XOR: (0, 1); parity: (-0.5, 0.5)).
        generator: torch generator for the initial draw (seeded runs).

    Input (batch, sizes[0]); output (batch, sizes[-1]) in (0, 1).
    """

    def __init__(
        self,
        sizes: list[int],
        *,
        init_range: tuple[float, float] = (0.0, 1.0),
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least two positive widths, got {sizes}")
        self.layers = nn.Sequential(
            *[LogisticLayer(i, o) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
        )
        lo, hi = init_range
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(lo, hi, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def paper_fmnist_cnn() -> nn.Sequential:
    """The paper's Fashion-MNIST network (14,378 parameters), input (batch, 1, 28, 28), output 10 logits.

    conv3x3(1->16) ReLU maxpool2, conv3x3(16->32) ReLU maxpool2, conv3x3(32->32) ReLU maxpool2, flatten(32),
    dense(32->10); no padding (28 -> 26 -> 13 -> 11 -> 5 -> 3 -> 1). PyTorch's default initialisation.
    """
    return nn.Sequential(
        nn.Conv2d(1, 16, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32, 10),
    )


def paper_cifar10_cnn() -> nn.Sequential:
    """The paper's CIFAR-10 network (26,154 parameters), input (batch, 3, 32, 32), output 10 logits.

    conv3x3(3->16), conv3x3(16->32), conv3x3(32->64), each ReLU + maxpool2, flatten(256), dense(256->10).
    """
    return nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 10),
    )
