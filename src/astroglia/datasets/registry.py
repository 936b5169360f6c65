"""``load_dataset``: the single entry point through which the rest of astroglia gets image data."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Literal

from astroglia.datasets.base import Dataset
from astroglia.datasets.cifar10 import cifar10_available, load_cifar10
from astroglia.datasets.fashion_mnist import (
    ENV_DIR,
    fashion_mnist_available,
    load_fashion_mnist,
    load_fashion_mnist_sample,
)
from astroglia.errors import DataError

__all__ = ["DATASET_NAMES", "has_embedded_sample", "load_dataset"]

Source = Literal["auto", "full", "sample"]

# name -> (is the full set present locally?, load the full set, load the embedded sample or None)
_LOADERS: dict[str, tuple[Callable[..., bool], Callable[..., Dataset], Callable[[], Dataset] | None]] = {
    "fashion-mnist": (fashion_mnist_available, load_fashion_mnist, load_fashion_mnist_sample),
    "cifar-10": (cifar10_available, load_cifar10, None),
}
DATASET_NAMES: tuple[str, ...] = tuple(_LOADERS)
"""Names accepted by :func:`load_dataset`."""


def has_embedded_sample(name: str) -> bool:
    """Whether dataset ``name`` ships a small embedded sample (``source="sample"``)."""
    return _LOADERS[_canonical(name)][2] is not None


def _canonical(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist", "cifar10": "cifar-10"}.get(key, key)
    if key not in _LOADERS:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASET_NAMES)}")
    return key


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    source: Source = "auto",
    download: bool = False,
) -> Dataset:
    """Load a dataset by name, from its complete files or from the sample embedded in the package.

    Args:
        name: ``"fashion-mnist"`` (``"fashion_mnist"`` and ``"FashionMNIST"`` are accepted too) or
            ``"cifar-10"`` (``"cifar10"``, ``"CIFAR-10"``).
        data_dir: directory holding the dataset's files; ``None`` searches the default places (for
            Fashion-MNIST: ``$ASTROGLIA_FASHION_MNIST``, Debian's ``/usr/share/datasets/fashion-mnist``, the
            download cache; for CIFAR-10: ``$ASTROGLIA_CIFAR10``, the download cache).
        source: ``"full"``: the complete dataset with its official split, or a :class:`DataError` saying where
            it was looked for and how to get it. ``"sample"``: the small embedded sample. ``"auto"``: the
            complete dataset when found, else the embedded sample with a ``UserWarning`` (CIFAR-10 has no
            embedded sample: ``"sample"`` raises and ``"auto"`` behaves like ``"full"``).
        download: whether the complete dataset may be downloaded from its official source when not found
            locally (``source="full"`` or ``"auto"``); off by default so that nothing waits on the network.

    Returns:
        A :class:`Dataset` whose ``source`` (``"full"`` or ``"embedded-sample"``), ``train_split`` and
        ``test_split`` record what was actually loaded, e.g. ``"official test split (10,000 images)"``. Images
        are ``uint8`` ``(n, 28, 28)`` (Fashion-MNIST) or ``(n, 32, 32, 3)`` (CIFAR-10);
        :func:`~astroglia.datasets.base.to_tensors` makes float tensors ``(n, channels, rows, cols)``.
    """
    key = _canonical(name)
    available, load_full, load_sample = _LOADERS[key]
    if source not in ("auto", "full", "sample"):
        raise DataError(f"load_dataset: source must be 'auto', 'full' or 'sample', got {source!r}")
    if source == "sample":
        if load_sample is None:
            raise DataError(f"{key} has no embedded sample; use source='full' (see load_dataset's docstring)")
        return load_sample()
    if source == "full" or download or available(data_dir) or load_sample is None:
        return load_full(data_dir, download=download)
    # source == "auto" and the full set is not present locally.
    if data_dir is not None:
        raise DataError(
            f"load_dataset({name!r}, data_dir={str(data_dir)!r}): no {key} files there. Fix data_dir, or "
            "pass data_dir=None to search the default places (falling back to the embedded sample)"
        )
    warnings.warn(
        f"full {key} not found (set {ENV_DIR} or install dataset-fashion-mnist); using the embedded sample "
        "(4,000 training / 2,000 test images); results on it are not comparable with those on the official "
        "test split.",
        UserWarning,
        stacklevel=2,
    )
    return load_sample()
