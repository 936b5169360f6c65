"""Datasets: IDX files, Fashion-MNIST (full or embedded sample), CIFAR-10, parity/XOR, and minibatch streams.

The rest of astroglia gets image data through one call::

    from astroglia.datasets import load_dataset, to_tensors

    ds = load_dataset("fashion-mnist")                  # full set if found locally, else the embedded sample
    print(ds.source, ds.test_split)                     # what was actually loaded
    x_train, y_train, x_test, y_test = to_tensors(ds)   # float32 (n, 1, 28, 28) in [0, 1]; int64 labels
"""

from astroglia.datasets.base import Dataset, TensorSplits, to_tensors
from astroglia.datasets.cifar10 import CLASS_NAMES as CIFAR10_CLASS_NAMES
from astroglia.datasets.cifar10 import cifar10_available, download_cifar10, find_cifar10, load_cifar10
from astroglia.datasets.fashion_mnist import (
    CLASS_NAMES,
    download_fashion_mnist,
    fashion_mnist_available,
    find_fashion_mnist,
    load_fashion_mnist,
    load_fashion_mnist_sample,
)
from astroglia.datasets.idx import read_idx, read_idx_images, read_idx_labels, write_idx
from astroglia.datasets.parity import parity, xor
from astroglia.datasets.registry import DATASET_NAMES, load_dataset
from astroglia.datasets.stream import BatchStream

__all__ = [
    "CIFAR10_CLASS_NAMES",
    "CLASS_NAMES",
    "DATASET_NAMES",
    "BatchStream",
    "Dataset",
    "TensorSplits",
    "cifar10_available",
    "download_cifar10",
    "download_fashion_mnist",
    "fashion_mnist_available",
    "find_cifar10",
    "find_fashion_mnist",
    "load_cifar10",
    "load_dataset",
    "load_fashion_mnist",
    "load_fashion_mnist_sample",
    "parity",
    "read_idx",
    "read_idx_images",
    "read_idx_labels",
    "to_tensors",
    "write_idx",
    "xor",
]
