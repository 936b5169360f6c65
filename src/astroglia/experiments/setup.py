"""Building blocks shared by classification experiments: configuration, networks, losses, device."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from astroglia.config import check
from astroglia.datasets import DATASET_NAMES, TensorSplits, load_dataset, to_tensors
from astroglia.datasets.base import Dataset
from astroglia.datasets.registry import has_embedded_sample
from astroglia.networks import paper_cifar10_cnn, paper_fmnist_cnn

NETWORKS = ("paper-cnn", "mlp", "linear")


def mlp(n_in: int, hidden: int, n_classes: int = 10) -> nn.Sequential:
    """flatten, dense(n_in -> hidden) ReLU, dense(hidden -> n_classes): (hidden + 1) n_in-ish parameters.

    The demo uses it on 2x2-pooled Fashion-MNIST (196 inputs, 32 hidden units: 6,634 parameters), small
    enough that MGD, whose expected step is eta/P of an SGD step, learns visibly within minutes on a CPU.
    """
    return nn.Sequential(nn.Flatten(), nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))


def build_network(
    name: str, input_shape: tuple[int, ...], n_classes: int, seed: int, hidden: int = 32
) -> nn.Module:
    """Network ``name`` (one of :data:`NETWORKS`) with parameters initialised from ``seed``.

    ``paper-cnn`` needs the dataset's native image size (28x28 grey or 32x32 colour).
    """
    torch.manual_seed(seed)
    n_in = math.prod(input_shape)
    if name == "paper-cnn":
        if tuple(input_shape) == (1, 28, 28):
            return paper_fmnist_cnn()
        if tuple(input_shape) == (3, 32, 32):
            return paper_cifar10_cnn()
        raise ValueError(f"paper-cnn needs (1, 28, 28) or (3, 32, 32) inputs, got {tuple(input_shape)}")
    if name == "mlp":
        return mlp(n_in, hidden, n_classes)
    if name == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(n_in, n_classes))
    raise ValueError(f"unknown network {name!r}; available: {', '.join(NETWORKS)}")


@dataclass
class TaskConfig:
    """The data, network, loss and bookkeeping of a classification run (shared by MGD and backprop)."""

    dataset: str = field(default="fashion-mnist", metadata={"help": "dataset", "choices": DATASET_NAMES})
    data_source: str = field(
        default="auto",
        metadata={
            "help": "auto: full set if found, else the embedded sample; full; sample",
            "choices": ("auto", "full", "sample"),
        },
    )
    data_dir: str | None = field(default=None, metadata={"help": "directory holding the dataset files"})
    network: str = field(default="paper-cnn", metadata={"help": "network", "choices": NETWORKS})
    hidden: int = field(default=32, metadata={"help": "hidden units of the mlp network"})
    input_pool: int = field(
        default=1, metadata={"help": "average-pool the images by this factor once, before training (1: off)"}
    )
    batch_size: int = field(default=1000, metadata={"help": "minibatch size (samples per input x)"})
    label_smoothing: float = field(default=0.01, metadata={"help": "label smoothing of the cross-entropy"})
    seed: int = field(default=0, metadata={"help": "seed of initialisation, data order and perturbations"})
    device: str = field(default="cpu", metadata={"help": "torch device: cpu, cuda, cuda:1, or auto"})
    threads: int | None = field(
        default=None, metadata={"help": "torch CPU threads (default: torch's choice)"}
    )

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        check(self.dataset in DATASET_NAMES, "dataset", self.dataset, f"one of {', '.join(DATASET_NAMES)}")
        check(
            self.data_source in ("auto", "full", "sample"),
            "data_source",
            self.data_source,
            "auto|full|sample",
        )
        if self.data_source == "sample":
            check(
                has_embedded_sample(self.dataset),
                "data_source",
                self.data_source,
                f"{self.dataset} has no embedded sample; give the full set (data_source auto or full)",
            )
        check(self.network in NETWORKS, "network", self.network, f"one of {', '.join(NETWORKS)}")
        check(self.hidden >= 1, "hidden", self.hidden, "must be >= 1")
        check(self.input_pool >= 1, "input_pool", self.input_pool, "must be >= 1")
        if self.network == "paper-cnn":
            check(
                self.input_pool == 1,
                "input_pool",
                self.input_pool,
                "must be 1 with network paper-cnn (it needs the dataset's native image size)",
            )
        check(self.batch_size >= 1, "batch_size", self.batch_size, "must be >= 1")
        check(0 <= self.label_smoothing < 1, "label_smoothing", self.label_smoothing, "must be in [0, 1)")
        check(self.seed >= 0, "seed", self.seed, "must be >= 0")
        if self.threads is not None:
            check(self.threads >= 1, "threads", self.threads, "must be >= 1")
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            check(False, "device", self.device, "cpu, cuda, cuda:N or auto")
        if self.device.startswith("cuda"):
            check(torch.cuda.is_available(), "device", self.device, "CUDA is not available on this machine")


@dataclass
class PreparedTask:
    """What a trainer needs: tensors on the device, the dataset record, the loss, a network factory."""

    config: TaskConfig
    dataset: Dataset
    tensors: TensorSplits
    device: torch.device

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.tensors.x_train.shape[1:])

    @property
    def n_classes(self) -> int:
        return int(self.dataset.n_classes)

    def loss_fn(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy on logits with the configured label smoothing."""
        return F.cross_entropy(logits, labels, label_smoothing=self.config.label_smoothing)

    def network(self) -> nn.Module:
        """A freshly initialised network (same seed, same parameters)."""
        cfg = self.config
        model = build_network(cfg.network, self.input_shape, self.n_classes, cfg.seed, cfg.hidden)
        return model.to(self.device)


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def prepare_task(config: TaskConfig) -> PreparedTask:
    """Load the data (see :func:`astroglia.datasets.load_dataset`) and move it to the device."""
    config.validate()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    dataset = load_dataset(config.dataset, data_dir=config.data_dir, source=config.data_source)
    tensors = to_tensors(dataset, dtype=torch.float32, device=device)
    if config.input_pool > 1:
        k = config.input_pool
        rows, cols = tensors.x_train.shape[-2:]
        if rows % k or cols % k:
            check(False, "input_pool", k, f"must divide the {rows} x {cols} images (else pixels are dropped)")
        tensors = TensorSplits(
            F.avg_pool2d(tensors.x_train, k), tensors.y_train, F.avg_pool2d(tensors.x_test, k), tensors.y_test
        )
    if config.batch_size > len(tensors.x_train):
        check(
            False,
            "batch_size",
            config.batch_size,
            f"must not exceed the {len(tensors.x_train)} training samples",
        )
    return PreparedTask(config=config, dataset=dataset, tensors=tensors, device=device)
