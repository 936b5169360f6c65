"""Build the embedded Fashion-MNIST sample from the complete official files.

Run ``python -m astroglia.datasets.make_sample [--data-dir DIR] [--out-dir DIR]``. It loads the complete
dataset (checked against the official MD5 checksums), takes the first ``--n-train`` (default 4,000) images of
the official training split and the first ``--n-test`` (default 2,000) of the official test split, unchanged,
and writes ``fashion_mnist_sample.npz`` and its notes ``fashion_mnist_sample.txt``.

The output is deterministic: the zip members carry a fixed time stamp and are written in a fixed order, so
the same input and the same zlib give a byte-identical file.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from astroglia.datasets.base import Dataset
from astroglia.datasets.fashion_mnist import CLASS_NAMES, SAMPLE_FILE, load_fashion_mnist

__all__ = ["N_TEST", "N_TRAIN", "build_sample", "main", "write_npz", "write_sample"]

N_TRAIN = 4000
N_TEST = 2000
NOTES_FILE = SAMPLE_FILE.removesuffix(".npz") + ".txt"
PACKAGE_DATA_DIR = Path(__file__).resolve().parent / "data"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def build_sample(full: Dataset, *, n_train: int = N_TRAIN, n_test: int = N_TEST) -> dict[str, np.ndarray]:
    """The sample's arrays: the first ``n_train`` / ``n_test`` images and labels of the official splits.

    Returns:
        ``x_train`` ``uint8`` ``(n_train, 28, 28)``, ``y_train`` ``uint8`` ``(n_train,)``, ``x_test``,
        ``y_test`` likewise, and ``train_indices`` / ``test_indices`` (``int32``), the positions of the
        images in the official files.
    """
    train_indices = np.arange(n_train, dtype=np.int32)
    test_indices = np.arange(n_test, dtype=np.int32)
    return {
        "x_train": np.ascontiguousarray(full.x_train[train_indices], dtype=np.uint8),
        "y_train": full.y_train[train_indices].astype(np.uint8),
        "x_test": np.ascontiguousarray(full.x_test[test_indices], dtype=np.uint8),
        "y_test": full.y_test[test_indices].astype(np.uint8),
        "train_indices": train_indices,
        "test_indices": test_indices,
    }


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as a deflate-compressed ``.npz`` that ``numpy.load`` reads, deterministically."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, buffer.getvalue(), compresslevel=9)


def _notes(arrays: dict[str, np.ndarray], npz_md5: str, npz_size: int) -> str:
    n_train, n_test = len(arrays["y_train"]), len(arrays["y_test"])
    train_counts = np.bincount(arrays["y_train"], minlength=10)
    test_counts = np.bincount(arrays["y_test"], minlength=10)
    rows = "\n".join(
        f"  {k:<5} {name:<12} {train_counts[k]:>5} {test_counts[k]:>5}" for k, name in enumerate(CLASS_NAMES)
    )
    return f"""\
Fashion-MNIST sample embedded in astroglia
==========================================

File: {SAMPLE_FILE} ({npz_size:,} bytes, MD5 {npz_md5})

Source
  Fashion-MNIST, Zalando Research: Han Xiao, Kashif Rasul, Roland Vollgraf, "Fashion-MNIST: a Novel Image
  Dataset for Benchmarking Machine Learning Algorithms", arXiv:1708.07747 (2017).
  https://github.com/zalandoresearch/fashion-mnist
  Read from the official IDX files (as installed by Debian's dataset-fashion-mnist package), whose
  uncompressed contents were checked against the MD5 checksums of the official files.

Licence
  The MIT License (MIT). Copyright (c) 2017 Zalando SE, https://tech.zalando.com

  Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
  associated documentation files (the "Software"), to deal in the Software without restriction, including
  without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
  copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
  following conditions:

  The above copyright notice and this permission notice shall be included in all copies or substantial
  portions of the Software.

  THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
  LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
  EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
  IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
  USE OR OTHER DEALINGS IN THE SOFTWARE.

What was taken
  Training: images 0..{n_train - 1} of train-images-idx3-ubyte (the first {n_train:,} of the official
            60,000-image training split) with their labels from train-labels-idx1-ubyte.
  Test:     images 0..{n_test - 1} of t10k-images-idx3-ubyte (the first {n_test:,} of the official
            10,000-image test split) with their labels from t10k-labels-idx1-ubyte.
  Pixels and labels are unchanged.

Arrays in the .npz (numpy.load)
  x_train        uint8 ({n_train}, 28, 28)  grey levels 0..255, 0 = background
  y_train        uint8 ({n_train},)         labels 0..9
  x_test         uint8 ({n_test}, 28, 28)
  y_test         uint8 ({n_test},)
  train_indices  int32 ({n_train},)         positions in the official training files
  test_indices   int32 ({n_test},)         positions in the official test files

Class counts
  label name         train  test
{rows}

How it was made
  python -m astroglia.datasets.make_sample
  (deterministic: fixed selection, fixed zip time stamps and member order, deflate level 9)
"""


def write_sample(full: Dataset, out_dir: Path, *, n_train: int = N_TRAIN, n_test: int = N_TEST) -> Path:
    """Write the sample ``.npz`` and its notes ``.txt`` into ``out_dir``; returns the ``.npz`` path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = build_sample(full, n_train=n_train, n_test=n_test)
    npz_path = out_dir / SAMPLE_FILE
    write_npz(npz_path, arrays)
    data = npz_path.read_bytes()
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    (out_dir / NOTES_FILE).write_text(_notes(arrays, md5, len(data)), encoding="utf-8")
    return npz_path


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m astroglia.datasets.make_sample",
        description="Build the embedded Fashion-MNIST sample from the complete official files.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="directory with the four official IDX files (default: the usual search, see "
        "astroglia.datasets.fashion_mnist)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=PACKAGE_DATA_DIR,
        help=f"where to write {SAMPLE_FILE} and {NOTES_FILE} (default: the package's data folder)",
    )
    parser.add_argument("--n-train", type=int, default=N_TRAIN, help="leading training images to take")
    parser.add_argument("--n-test", type=int, default=N_TEST, help="leading test images to take")
    args = parser.parse_args(argv)
    if not (1 <= args.n_train <= 60_000 and 1 <= args.n_test <= 10_000):
        parser.error("--n-train must be in 1..60000 and --n-test in 1..10000")
    full = load_fashion_mnist(args.data_dir, download=False)
    path = write_sample(full, args.out_dir, n_train=args.n_train, n_test=args.n_test)
    print(f"wrote {path} ({path.stat().st_size:,} bytes) and {path.with_suffix('.txt').name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
