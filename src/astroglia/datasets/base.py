"""The one dataset type returned by every image loader, and its conversion to torch tensors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from astroglia.errors import DataError

if TYPE_CHECKING:
    import torch

__all__ = ["Dataset", "TensorSplits", "to_tensors"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """An image classification dataset with a training and a test split.

    Images are kept as stored (``uint8`` levels 0..255): grey-scale images as ``(n, rows, cols)``, colour
    images channels-last as ``(n, rows, cols, channels)``; :func:`to_tensors` turns either into float tensors
    of shape ``(n, channels, rows, cols)`` for a network.

    Attributes:
        name: dataset name, e.g. ``"fashion-mnist"``.
        x_train: training images, ``uint8``, shape ``(n_train, rows, cols)`` or
            ``(n_train, rows, cols, channels)``.
        y_train: training labels, ``int64``, shape ``(n_train,)``, values in ``0 .. n_classes - 1``.
        x_test: test images, ``uint8``, shape ``(n_test, rows, cols)`` or ``(n_test, rows, cols, channels)``.
        y_test: test labels, ``int64``, shape ``(n_test,)``.
        class_names: one name per label value, ``class_names[k]`` for label ``k``.
        source: ``"full"`` (the complete official files) or ``"embedded-sample"`` (the small sample shipped
            with the package).
        train_split: what the training split is, in words, e.g. ``"official training split (60,000 images)"``.
        test_split: what the test split is, e.g. ``"official test split (10,000 images)"``.
        origin: where the data was read from (a directory, or the package's sample file).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    train_split: str
    test_split: str
    origin: str

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test)):
            if x.ndim not in (3, 4) or y.ndim != 1 or x.shape[0] != y.shape[0]:
                raise DataError(
                    f"{self.name} {split} split: images must have shape (n, rows, cols) or (n, rows, cols, "
                    f"channels) and labels (n,) with the same n; got images {x.shape} and labels {y.shape}"
                )
            if y.size and (y.min() < 0 or y.max() >= len(self.class_names)):
                raise DataError(
                    f"{self.name} {split} split: labels must lie in 0..{len(self.class_names) - 1}, "
                    f"found {int(y.min())}..{int(y.max())}"
                )

    @property
    def n_classes(self) -> int:
        """Number of classes, ``len(class_names)``."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of one image, in pixels."""
        return (int(self.x_train.shape[1]), int(self.x_train.shape[2]))

    @property
    def n_channels(self) -> int:
        """Channels per image: 1 for ``(n, rows, cols)`` images, else the last axis (3 for RGB)."""
        return 1 if self.x_train.ndim == 3 else int(self.x_train.shape[3])

    @property
    def n_train(self) -> int:
        """Number of training images."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test images."""
        return int(self.x_test.shape[0])

    def metadata(self) -> dict[str, Any]:
        """A JSON-ready description without the arrays, for run records and reports."""
        return {
            "name": self.name,
            "source": self.source,
            "origin": self.origin,
            "train_split": self.train_split,
            "test_split": self.test_split,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "image_shape": list(self.image_shape),
            "n_channels": self.n_channels,
            "n_classes": self.n_classes,
            "class_names": list(self.class_names),
        }

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, source={self.source!r}, n_train={self.n_train}, "
            f"n_test={self.n_test}, image_shape={self.image_shape}, origin={self.origin!r})"
        )


class TensorSplits(NamedTuple):
    """Torch tensors of a :class:`Dataset`: images ``(n, channels, rows, cols)`` float, labels ``(n,)``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def to_tensors(
    dataset: Dataset,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    normalize: bool = True,
) -> TensorSplits:
    """Convert a dataset's images and labels to torch tensors.

    Args:
        dataset: the dataset, with ``uint8`` images of shape ``(n, rows, cols)`` or
            ``(n, rows, cols, channels)``.
        dtype: floating-point type of the image tensors; ``None`` means ``torch.float32``.
        device: where the tensors live (``"cpu"``, ``"cuda"``, ...); ``None`` means torch's default device.
        normalize: if true, levels are divided by 255 so that pixels lie in ``[0, 1]`` (0 black,
            1 white); no mean or standard deviation is subtracted. If false, pixels keep their values
            0..255, as floats.

    Returns:
        :class:`TensorSplits` with images of shape ``(n, channels, rows, cols)`` (NCHW layout: one channel
        for grey-scale images, e.g. ``(n, 1, 28, 28)`` for Fashion-MNIST, ``(n, 3, 32, 32)`` for CIFAR-10) and
        labels of shape ``(n,)``, ``torch.int64``, ready for ``torch.nn.functional.cross_entropy``.
    """
    import torch

    if dtype is None:
        dtype = torch.float32
    if not dtype.is_floating_point:
        raise DataError(f"to_tensors: dtype must be a floating-point torch dtype, got {dtype}")

    def images(x: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(x)).to(device=device, dtype=dtype)
        t = t.unsqueeze(1) if t.ndim == 3 else t.permute(0, 3, 1, 2).contiguous()
        return t.div_(255.0) if normalize else t

    def labels(y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)).to(device=device)

    return TensorSplits(
        images(dataset.x_train), labels(dataset.y_train), images(dataset.x_test), labels(dataset.y_test)
    )
