"""Fashion-MNIST: the complete official files, found locally or downloaded, and the embedded sample.

Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017, arXiv:1708.07747) has 70,000 grey-scale 28 x 28 images of
Zalando articles in 10 classes, split by its authors into 60,000 training and 10,000 test images, 6,000 and
1,000 per class. It is copyright Zalando SE and distributed under the MIT licence.

Where the files are looked for, in this order (:func:`load_fashion_mnist`):

1. the ``data_dir`` argument, if given (then only there);
2. the directory named by the environment variable ``ASTROGLIA_FASHION_MNIST``;
3. ``/usr/share/datasets/fashion-mnist``, where Debian's ``dataset-fashion-mnist`` package installs them;
4. the download cache, ``$ASTROGLIA_CACHE/fashion-mnist`` (default ``~/.cache/astroglia/fashion-mnist``);
5. the official source, http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/, downloaded into the
   cache when online (sizes and MD5 checksums of the compressed files are checked).

A directory qualifies when it holds the four files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each gzip-compressed (``.gz``) or not (the dotted
spelling ``train-images.idx3-ubyte`` is accepted too). Whatever the location, the uncompressed contents are
checked against the MD5 checksums of the official data, so every location gives identical arrays.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from astroglia import storage
from astroglia.datasets.base import Dataset
from astroglia.datasets.idx import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parse_idx, read_idx_bytes
from astroglia.errors import DataError
from astroglia.storage import cache_root, md5_file

__all__ = [
    "CLASS_NAMES",
    "DEBIAN_DIR",
    "ENV_CACHE",
    "ENV_DIR",
    "OFFICIAL_URL",
    "SAMPLE_FILE",
    "default_cache_dir",
    "download_fashion_mnist",
    "fashion_mnist_available",
    "find_fashion_mnist",
    "load_fashion_mnist",
    "load_fashion_mnist_sample",
]

NAME = "fashion-mnist"
CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
"""Class names, indexed by label value (0 = T-shirt/top, ..., 9 = Ankle boot)."""

OFFICIAL_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
"""The official download location of the four ``.gz`` files (Zalando Research)."""
PROJECT_URL = "https://github.com/zalandoresearch/fashion-mnist"
ENV_DIR = "ASTROGLIA_FASHION_MNIST"
"""Environment variable naming a directory that holds the four Fashion-MNIST files."""
ENV_CACHE = storage.ENV_CACHE
"""Environment variable naming astroglia's cache root; downloads go to its ``fashion-mnist`` folder."""
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` package installs the files."""
SAMPLE_FILE = "fashion_mnist_sample.npz"
"""File name of the embedded sample, in the package folder ``astroglia/datasets/data``."""
DOWNLOAD_TIMEOUT_S = 10.0

N_TRAIN = 60_000
N_TEST = 10_000


@dataclass(frozen=True)
class _FileSpec:
    """One of the four official files: accepted names, and size and MD5 of the official bytes."""

    key: str
    official_name: str  # the name of the .gz file at OFFICIAL_URL
    stems: tuple[str, ...]  # accepted names without ".gz"
    magic: int
    count: int
    gz_size: int
    gz_md5: str
    raw_size: int
    raw_md5: str


# gz_size / gz_md5: the files at OFFICIAL_URL (as published in the Fashion-MNIST README). raw_size / raw_md5:
# their uncompressed contents, which do not depend on how the files were recompressed (Debian's copies differ
# from the official .gz files only in the gzip header's file name and time stamp).
_FILES: tuple[_FileSpec, ...] = (
    _FileSpec(
        "train_images",
        "train-images-idx3-ubyte.gz",
        ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
        IDX_IMAGES_MAGIC,
        N_TRAIN,
        26_421_880,
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        47_040_016,
        "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    ),
    _FileSpec(
        "train_labels",
        "train-labels-idx1-ubyte.gz",
        ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
        IDX_LABELS_MAGIC,
        N_TRAIN,
        29_515,
        "25c81989df183df01b3e8a0aad5dffbe",
        60_008,
        "9018921c3c673c538a1fc5bad174d6f9",
    ),
    _FileSpec(
        "test_images",
        "t10k-images-idx3-ubyte.gz",
        ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
        IDX_IMAGES_MAGIC,
        N_TEST,
        4_422_102,
        "bef4ecab320f06d8554ea6380940ec79",
        7_840_016,
        "8181f5470baa50b63fa0f6fddb340f0a",
    ),
    _FileSpec(
        "test_labels",
        "t10k-labels-idx1-ubyte.gz",
        ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
        IDX_LABELS_MAGIC,
        N_TEST,
        5_148,
        "bb300cfdad3c16e7a12a480ee83cd310",
        10_008,
        "15d484375f8d13e6eb1aabb0c3f46965",
    ),
)


def default_cache_dir() -> Path:
    """The download folder: ``fashion-mnist`` below the cache root (:func:`astroglia.storage.cache_root`)."""
    return cache_root() / NAME


def _find_in_dir(directory: Path) -> tuple[dict[str, Path] | None, str]:
    """The four files in ``directory`` (or None) and, when incomplete, what is missing, in words."""
    if not directory.is_dir():
        return None, "no such directory" if not directory.exists() else "not a directory"
    found: dict[str, Path] = {}
    missing: list[str] = []
    for spec in _FILES:
        candidates = [directory / f"{stem}{ext}" for stem in spec.stems for ext in (".gz", "")]
        hit = next((p for p in candidates if p.is_file()), None)
        if hit is None:
            missing.append(f"{spec.stems[0]}[.gz]")
        else:
            found[spec.key] = hit
    if missing:
        return None, "missing " + ", ".join(missing)
    return found, "found"


def _places(data_dir: str | os.PathLike[str] | None) -> list[tuple[Path, str]]:
    """The directories to search, in order, each with a label saying why it is searched."""
    if data_dir is not None:
        return [(Path(data_dir).expanduser(), "data_dir argument")]
    places: list[tuple[Path, str]] = []
    env = os.environ.get(ENV_DIR)
    if env:
        places.append((Path(env).expanduser(), f"${ENV_DIR}"))
    places.append((DEBIAN_DIR, "Debian package dataset-fashion-mnist"))
    places.append((default_cache_dir(), "download cache"))
    return places


def _search(data_dir: str | os.PathLike[str] | None) -> tuple[dict[str, Path] | None, list[str]]:
    looked: list[str] = []
    if data_dir is None and not os.environ.get(ENV_DIR):
        looked.append(f"${ENV_DIR}: not set")
    for directory, why in _places(data_dir):
        files, status = _find_in_dir(directory)
        if files is not None:
            return files, looked
        looked.append(f"{directory} ({why}): {status}")
    return None, looked


def find_fashion_mnist(data_dir: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Locate the four Fashion-MNIST files without reading them or downloading anything.

    Args:
        data_dir: a directory to use instead of the default places (module docstring).

    Returns:
        Paths keyed ``"train_images"``, ``"train_labels"``, ``"test_images"``, ``"test_labels"``.

    Raises:
        DataError: not found; the message lists every place looked at and how to get the data.
    """
    files, looked = _search(data_dir)
    if files is None:
        raise DataError(_not_found_message(looked))
    return files


def fashion_mnist_available(data_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether the complete Fashion-MNIST files are present locally (nothing is read or downloaded)."""
    return _search(data_dir)[0] is not None


def _not_found_message(looked: list[str]) -> str:
    names = ", ".join(spec.official_name for spec in _FILES)
    lines = ["Fashion-MNIST not found. Looked at:"]
    lines += [f"  - {place}" for place in looked]
    lines += [
        "Get the data in one of these ways:",
        f"  - Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist (installs into {DEBIAN_DIR});",
        f"  - download {names} from {OFFICIAL_URL} (see {PROJECT_URL}) into a directory, then set "
        f"{ENV_DIR}=<that directory> or pass data_dir=<that directory>;",
        "  - when online, call load_fashion_mnist(download=True) to fetch them into the download cache "
        f"({default_cache_dir()}).",
        "Without the full set, load_fashion_mnist_sample() or load_dataset('fashion-mnist', source='sample') "
        "gives the small embedded sample.",
    ]
    return "\n".join(lines)


def _download_one(spec: _FileSpec, dest: Path, *, base_url: str, timeout: float) -> None:
    from tqdm.auto import tqdm

    url = base_url.rstrip("/") + "/" + spec.official_name
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        with (
            urllib.request.urlopen(url, timeout=timeout) as response,
            part.open("wb") as out,
            tqdm(total=spec.gz_size, unit="B", unit_scale=True, desc=spec.official_name, leave=False) as bar,
        ):
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
                bar.update(len(chunk))
    except (OSError, ValueError) as exc:  # urllib.error.URLError and socket timeouts are OSErrors
        part.unlink(missing_ok=True)
        raise DataError(f"download of {url} failed: {exc}") from exc
    if size != spec.gz_size or digest.hexdigest() != spec.gz_md5:
        part.unlink(missing_ok=True)
        raise DataError(
            f"download of {url} does not match the official file: got {size} bytes with MD5 "
            f"{digest.hexdigest()}, expected {spec.gz_size} bytes with MD5 {spec.gz_md5}"
        )
    os.replace(part, dest)


def download_fashion_mnist(
    directory: str | os.PathLike[str] | None = None,
    *,
    base_url: str = OFFICIAL_URL,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> Path:
    """Download the four official ``.gz`` files into ``directory`` (default :func:`default_cache_dir`).

    Files already there with the official size and MD5 checksum are kept. Each download goes to a ``.part``
    file that replaces the target only once its size and MD5 checksum match the official ones.

    Args:
        directory: destination folder, created if needed.
        base_url: where the files are fetched from.
        timeout: seconds to wait on each network operation (connect, each read) before giving up.

    Returns:
        The directory holding the four files.

    Raises:
        DataError: a download failed (offline, timeout, HTTP error) or gave a file that does not match.
    """
    target = Path(directory).expanduser() if directory is not None else default_cache_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the download folder {target}: {exc}") from exc
    for spec in _FILES:
        dest = target / spec.official_name
        if dest.is_file() and dest.stat().st_size == spec.gz_size and md5_file(dest) == spec.gz_md5:
            continue
        _download_one(spec, dest, base_url=base_url, timeout=timeout)
    return target


def _read_verified(spec: _FileSpec, path: Path, *, verify: bool) -> np.ndarray:
    data = read_idx_bytes(path)
    array = parse_idx(data, name=str(path), expected_magic=spec.magic)
    if array.shape[0] != spec.count:
        raise DataError(
            f"{path} holds {array.shape[0]} entries, but the official Fashion-MNIST file has {spec.count}; "
            "is it the right file?"
        )
    if verify:
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if md5 != spec.raw_md5:
            raise DataError(
                f"{path} is not the official Fashion-MNIST {spec.stems[0]}: its uncompressed MD5 is {md5}, "
                f"expected {spec.raw_md5}. Replace it with the file from {OFFICIAL_URL}, or pass "
                "verify=False to use it anyway"
            )
    return array


def load_fashion_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool | None = None,
    verify: bool = True,
) -> Dataset:
    """Load the complete Fashion-MNIST with its official training/test split.

    Args:
        data_dir: directory holding the four files; when given, only this directory is used (and, with
            ``download=True``, downloaded into). When ``None``, the places of the module docstring are
            searched in order.
        download: ``None`` (default): download into the cache only if ``data_dir`` is not given and nothing
            is found locally; a network failure is then reported in the not-found message. ``True``:
            download when not found locally, into ``data_dir`` or the cache. ``False``: never download.
        verify: check the uncompressed contents of each file against the MD5 checksum of the official data
            (about 0.1 s).

    Returns:
        A :class:`~astroglia.datasets.base.Dataset` with ``source="full"``: ``x_train`` ``uint8``
        ``(60000, 28, 28)``, ``y_train`` ``int64`` ``(60000,)``, ``x_test`` ``uint8`` ``(10000, 28, 28)``,
        ``y_test`` ``int64`` ``(10000,)``; 6,000 training and 1,000 test images per class. Pixels are grey
        levels 0..255 with 0 the background.

    Raises:
        DataError: the files were not found (the message lists every place looked at and how to get the
            data), or a file is truncated, corrupt or not the official one.
    """
    files, looked = _search(data_dir)
    if files is None:
        may_download = download is True or (download is None and data_dir is None)
        if not may_download:
            reason = "download=False" if download is False else "data_dir given; pass download=True to fetch"
            looked.append(f"download from {OFFICIAL_URL}: not attempted ({reason})")
            raise DataError(_not_found_message(looked))
        target = Path(data_dir).expanduser() if data_dir is not None else default_cache_dir()
        try:
            download_fashion_mnist(target)
        except DataError as exc:
            looked.append(f"download from {OFFICIAL_URL} into {target}: {exc}")
            raise DataError(_not_found_message(looked)) from exc
        files, status = _find_in_dir(target)
        if files is None:  # pragma: no cover - download_fashion_mnist wrote all four files
            raise DataError(f"downloaded Fashion-MNIST into {target}, but then: {status}")
    arrays = {spec.key: _read_verified(spec, files[spec.key], verify=verify) for spec in _FILES}
    directory = files["train_images"].parent
    return Dataset(
        name=NAME,
        x_train=arrays["train_images"],
        y_train=arrays["train_labels"].astype(np.int64),
        x_test=arrays["test_images"],
        y_test=arrays["test_labels"].astype(np.int64),
        class_names=CLASS_NAMES,
        source="full",
        train_split=f"official training split ({N_TRAIN:,} images)",
        test_split=f"official test split ({N_TEST:,} images)",
        origin=str(directory),
    )


def _describe_subset(indices: np.ndarray, split: str) -> str:
    n = int(indices.size)
    if np.array_equal(indices, np.arange(n)):
        return f"embedded sample of the official {split} split ({n:,} images: its first {n:,})"
    return f"embedded sample of the official {split} split ({n:,} images)"


def load_fashion_mnist_sample() -> Dataset:
    """Load the small sample of real Fashion-MNIST images embedded in the package.

    The sample holds the first 4,000 images of the official training split and the first 2,000 of the
    official test split, unchanged (see ``astroglia/datasets/data/fashion_mnist_sample.txt`` and
    :mod:`astroglia.datasets.make_sample`). It is meant for demos and tests that must run offline; accuracy
    measured on it is not comparable with published results on the full test split.

    Returns:
        A :class:`~astroglia.datasets.base.Dataset` with ``source="embedded-sample"``: ``x_train`` ``uint8``
        ``(4000, 28, 28)``, ``y_train`` ``int64`` ``(4000,)``, ``x_test`` ``uint8`` ``(2000, 28, 28)``,
        ``y_test`` ``int64`` ``(2000,)``.
    """
    resource = resources.files("astroglia.datasets").joinpath("data", SAMPLE_FILE)
    try:
        with resources.as_file(resource) as path, np.load(path) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as exc:
        raise DataError(
            f"the embedded Fashion-MNIST sample {resource} cannot be read ({exc}); reinstall astroglia, or "
            "rebuild it with `python -m astroglia.datasets.make_sample`"
        ) from exc
    return Dataset(
        name=NAME,
        x_train=arrays["x_train"],
        y_train=arrays["y_train"].astype(np.int64),
        x_test=arrays["x_test"],
        y_test=arrays["y_test"].astype(np.int64),
        class_names=CLASS_NAMES,
        source="embedded-sample",
        train_split=_describe_subset(arrays["train_indices"], "training"),
        test_split=_describe_subset(arrays["test_indices"], "test"),
        origin=str(resource),
    )
