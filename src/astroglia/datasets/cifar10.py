"""CIFAR-10: the official "python version" batches, found locally (directory or archive) or downloaded.

CIFAR-10 (Krizhevsky, "Learning multiple layers of features from tiny images", 2009;
https://www.cs.toronto.edu/~kriz/cifar.html) has 60,000 colour 32 x 32 images in 10 classes, split by its
author into 50,000 training images (five batches of 10,000) and 10,000 test images, 5,000 and 1,000 per class.

The official archive ``cifar-10-python.tar.gz`` unpacks to a folder ``cifar-10-batches-py`` with the files
``data_batch_1`` .. ``data_batch_5``, ``test_batch`` and ``batches.meta``. Each batch is a pickled dict with
``b"data"``, a ``uint8`` array of shape (10000, 3072) whose rows hold one image as 1024 red, then 1024 green,
then 1024 blue values, each plane row-major over the 32 x 32 pixels; and ``b"labels"``, 10,000 integers in
0..9. ``batches.meta`` holds ``b"label_names"``. The files are read with a restricted unpickler that only
accepts the NumPy array constructors those files need (a pickle can otherwise run arbitrary code), and every
field's type, shape and range is checked; anything wrong raises :class:`~astroglia.errors.DataError` naming
the file.

Where the data is looked for, in this order (:func:`load_cifar10`):

1. the ``data_dir`` argument, if given (then only there);
2. the path named by the environment variable ``ASTROGLIA_CIFAR10``;
3. the download cache, ``$ASTROGLIA_CACHE/cifar-10`` (default ``~/.cache/astroglia/cifar-10``);
4. the official source, https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, downloaded into the cache
   when online (MD5 checked).

A place qualifies when it is (a) the ``cifar-10-batches-py`` folder itself, (b) a folder containing it, (c) a
folder containing ``cifar-10-python.tar.gz``, or (d) the archive file itself. Archives are read in place,
without unpacking to disk.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import pickle
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from astroglia import storage
from astroglia.datasets.base import Dataset
from astroglia.errors import DataError
from astroglia.storage import cache_root, md5_file

__all__ = [
    "ARCHIVE_MD5",
    "ARCHIVE_NAME",
    "BATCHES_DIR",
    "CLASS_NAMES",
    "ENV_DIR",
    "OFFICIAL_URL",
    "cifar10_available",
    "default_cache_dir",
    "download_cifar10",
    "find_cifar10",
    "load_cifar10",
    "read_cifar10_batch",
]

NAME = "cifar-10"
CLASS_NAMES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
"""Class names, indexed by label value (0 = airplane, ..., 9 = truck), as in ``batches.meta``."""

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
"""The official download location of the python version of CIFAR-10."""
PROJECT_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
"""MD5 checksum of the official archive, as published on the CIFAR page."""
BATCHES_DIR = "cifar-10-batches-py"
TRAIN_FILES: tuple[str, ...] = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
ENV_DIR = "ASTROGLIA_CIFAR10"
"""Environment variable naming a CIFAR-10 folder or archive (any of the forms in the module docstring)."""
ENV_CACHE = storage.ENV_CACHE
"""Environment variable naming astroglia's cache root; downloads go to its ``cifar-10`` folder."""
DOWNLOAD_TIMEOUT_S = 10.0

N_PER_BATCH = 10_000
"""Images in each official batch (five training batches and the test batch)."""
ROWS = COLS = 32
CHANNELS = 3
ROW_LENGTH = CHANNELS * ROWS * COLS  # 3072


@dataclass(frozen=True)
class _Found:
    """Where the batches are: a folder holding them, or a tar archive (``kind`` "dir" or "archive")."""

    kind: str
    path: Path


def default_cache_dir() -> Path:
    """The download folder: ``cifar-10`` below the cache root (:func:`astroglia.storage.cache_root`)."""
    return cache_root() / NAME


def _missing_batches(directory: Path) -> list[str]:
    return [name for name in (*TRAIN_FILES, TEST_FILE) if not (directory / name).is_file()]


def _find_in(place: Path) -> tuple[_Found | None, str]:
    """The batches at ``place`` (see the module docstring for the accepted forms) and a status in words."""
    if place.is_file():
        return _Found("archive", place), "found"
    if not place.exists():
        return None, "no such file or directory"
    if not place.is_dir():
        return None, "not a directory or archive"
    missing = _missing_batches(place)
    if not missing:
        return _Found("dir", place), "found"
    sub = place / BATCHES_DIR
    if sub.is_dir() and not _missing_batches(sub):
        return _Found("dir", sub), "found"
    if (place / ARCHIVE_NAME).is_file():
        return _Found("archive", place / ARCHIVE_NAME), "found"
    if sub.is_dir():
        return None, f"{sub} is missing " + ", ".join(_missing_batches(sub))
    return None, f"no {BATCHES_DIR}/ folder or {ARCHIVE_NAME} (missing " + ", ".join(missing) + ")"


def _places(data_dir: str | os.PathLike[str] | None) -> list[tuple[Path, str]]:
    if data_dir is not None:
        return [(Path(data_dir).expanduser(), "data_dir argument")]
    places: list[tuple[Path, str]] = []
    env = os.environ.get(ENV_DIR)
    if env:
        places.append((Path(env).expanduser(), f"${ENV_DIR}"))
    places.append((default_cache_dir(), "download cache"))
    return places


def _search(data_dir: str | os.PathLike[str] | None) -> tuple[_Found | None, list[str]]:
    looked: list[str] = []
    if data_dir is None and not os.environ.get(ENV_DIR):
        looked.append(f"${ENV_DIR}: not set")
    for place, why in _places(data_dir):
        found, status = _find_in(place)
        if found is not None:
            return found, looked
        looked.append(f"{place} ({why}): {status}")
    return None, looked


def find_cifar10(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Locate CIFAR-10 without reading or downloading anything.

    Args:
        data_dir: a folder or archive to use instead of the default places (module docstring).

    Returns:
        The ``cifar-10-batches-py`` folder, or the archive file.

    Raises:
        DataError: not found; the message lists every place looked at and how to get the data.
    """
    found, looked = _search(data_dir)
    if found is None:
        raise DataError(_not_found_message(looked))
    return found.path


def cifar10_available(data_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether CIFAR-10 is present locally (nothing is read or downloaded)."""
    return _search(data_dir)[0] is not None


def _not_found_message(looked: list[str]) -> str:
    lines = ["CIFAR-10 not found. Looked at:"]
    lines += [f"  - {place}" for place in looked]
    lines += [
        "Get the data in one of these ways:",
        f"  - download {OFFICIAL_URL} (see {PROJECT_URL}; MD5 {ARCHIVE_MD5}), then set "
        f"{ENV_DIR}=<the archive, the folder holding it, or the unpacked {BATCHES_DIR} folder> or pass "
        "data_dir=<the same>;",
        "  - when online, call load_cifar10(download=True) or load_dataset('cifar-10', download=True) to "
        f"fetch it into the download cache ({default_cache_dir()}).",
    ]
    return "\n".join(lines)


# -- reading -------------------------------------------------------------------------------------------------

# The globals a CIFAR-10 pickle may name: NumPy's array reconstructors (under their NumPy 1 and 2 module
# names) and the codec Python 3 uses for bytes in protocol-2 pickles. Nothing else is ever imported.
_ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
    }
)


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load the global {module}.{name}")
        if module.startswith("numpy.core."):  # NumPy 2 moved numpy.core to numpy._core
            try:
                return getattr(importlib.import_module("numpy._core." + module[len("numpy.core.") :]), name)
            except ImportError:  # pragma: no cover - NumPy 1
                pass
        return getattr(importlib.import_module(module), name)


def _unpickle(data: bytes, where: str) -> dict[str, Any]:
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # any failure of a corrupt or foreign pickle: UnpicklingError, EOFError, ...
        raise DataError(f"{where}: not a readable CIFAR-10 pickle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a pickled dict, found {type(obj).__name__}")
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        if isinstance(key, str):
            out[key] = value
    return out


def read_cifar10_batch(data: bytes, where: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """Parse and validate the bytes of one CIFAR-10 batch file.

    Args:
        data: the file's contents (a pickled dict with ``b"data"`` and ``b"labels"``).
        where: the file's name, for error messages.

    Returns:
        ``(images, labels)``: ``uint8`` images ``(n, 32, 32, 3)`` (channels last), ``int64`` labels ``(n,)``
        in 0..9.

    Raises:
        DataError: the bytes are not a pickle, name a forbidden global, or a field has the wrong type, shape,
            dtype or range; the message names ``where`` and the field.
    """
    batch = _unpickle(data, where)
    for key in ("data", "labels"):
        if key not in batch:
            raise DataError(f"{where}: no {key!r} entry; found {sorted(batch)}")
    x = batch["data"]
    if not isinstance(x, np.ndarray):
        raise DataError(f"{where}: 'data' must be a NumPy array, found {type(x).__name__}")
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != ROW_LENGTH:
        raise DataError(
            f"{where}: 'data' must be uint8 of shape (n, {ROW_LENGTH}), found {x.dtype} of shape {x.shape}"
        )
    raw_labels = batch["labels"]
    if isinstance(raw_labels, np.ndarray):
        if raw_labels.dtype.kind not in "iu":
            raise DataError(f"{where}: 'labels' must hold integers, found an array of {raw_labels.dtype}")
    elif isinstance(raw_labels, list | tuple):
        if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in raw_labels):
            raise DataError(f"{where}: 'labels' must hold integers only")
    else:
        raise DataError(f"{where}: 'labels' must be a list of integers, found {type(raw_labels).__name__}")
    y = np.asarray(raw_labels, dtype=np.int64).reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise DataError(f"{where}: {x.shape[0]} images but {y.shape[0]} labels")
    if y.size and (y.min() < 0 or y.max() >= len(CLASS_NAMES)):
        raise DataError(f"{where}: labels must lie in 0..9, found {int(y.min())}..{int(y.max())}")
    images = np.ascontiguousarray(x.reshape(-1, CHANNELS, ROWS, COLS).transpose(0, 2, 3, 1))
    return images, y


def _check_meta(data: bytes, where: str) -> None:
    meta = _unpickle(data, where)
    names = meta.get("label_names")
    if not isinstance(names, list | tuple) or not all(isinstance(n, bytes | str) for n in names):
        raise DataError(f"{where}: 'label_names' must be a list of strings, found {type(names).__name__}")
    decoded = tuple(n.decode("latin-1") if isinstance(n, bytes) else n for n in names)
    if decoded != CLASS_NAMES:
        raise DataError(f"{where}: label names {list(decoded)} are not CIFAR-10's {list(CLASS_NAMES)}")


def _read_files(found: _Found) -> dict[str, tuple[bytes, str]]:
    """The raw bytes of each batch (and of ``batches.meta`` when present), keyed by file name."""
    wanted = (*TRAIN_FILES, TEST_FILE, META_FILE)
    out: dict[str, tuple[bytes, str]] = {}
    if found.kind == "dir":
        for name in wanted:
            path = found.path / name
            if path.is_file():
                try:
                    out[name] = (path.read_bytes(), str(path))
                except OSError as exc:
                    raise DataError(f"{path}: cannot be read ({exc})") from exc
        return out
    try:
        with tarfile.open(found.path, "r:*") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for name in wanted:
                member = members.get(name)
                if member is None:
                    continue
                fh = tar.extractfile(member)
                if fh is None:  # pragma: no cover - regular files always have a file object
                    continue
                out[name] = (fh.read(), f"{found.path}:{member.name}")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{found.path}: not a readable tar archive ({exc})") from exc
    missing = [name for name in (*TRAIN_FILES, TEST_FILE) if name not in out]
    if missing:
        raise DataError(
            f"{found.path}: the archive lacks {', '.join(missing)}; is it cifar-10-python.tar.gz?"
        )
    return out


def load_cifar10(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool | None = None,
    verify: bool = True,
) -> Dataset:
    """Load CIFAR-10 with its official training/test split.

    Args:
        data_dir: a folder or archive (forms in the module docstring); when given, only it is used (and,
            with ``download=True``, downloaded into when it is a folder without the data). When ``None``,
            the places of the module docstring are searched in order.
        download: ``None`` (default): download into the cache only if ``data_dir`` is not given and nothing
            is found locally; a network failure is then reported in the not-found message. ``True``:
            download when not found locally. ``False``: never download.
        verify: check that the data is the official set: an archive's MD5 checksum must be the official one,
            and every batch read must hold exactly 10,000 images. ``False`` accepts any well-formed batches
            (every field is still validated).

    Returns:
        A :class:`~astroglia.datasets.base.Dataset` with ``source="full"``: ``x_train`` ``uint8``
        ``(50000, 32, 32, 3)`` (RGB, channels last), ``y_train`` ``int64`` ``(50000,)``, ``x_test`` ``uint8``
        ``(10000, 32, 32, 3)``, ``y_test`` ``int64`` ``(10000,)``. Training images are in batch order 1..5.
        :func:`~astroglia.datasets.base.to_tensors` gives ``(n, 3, 32, 32)`` float tensors.

    Raises:
        DataError: not found (the message lists every place looked at and how to get the data), or a file
            is unreadable, malformed or (with ``verify``) not the official one; the message names the file.
    """
    found, looked = _search(data_dir)
    if found is None:
        may_download = download is True or (download is None and data_dir is None)
        if not may_download:
            reason = "download=False" if download is False else "data_dir given; pass download=True to fetch"
            looked.append(f"download from {OFFICIAL_URL}: not attempted ({reason})")
            raise DataError(_not_found_message(looked))
        target = Path(data_dir).expanduser() if data_dir is not None else default_cache_dir()
        try:
            archive = download_cifar10(target)
        except DataError as exc:
            looked.append(f"download from {OFFICIAL_URL} into {target}: {exc}")
            raise DataError(_not_found_message(looked)) from exc
        found = _Found("archive", archive)
    if verify and found.kind == "archive":
        md5 = md5_file(found.path)
        if md5 != ARCHIVE_MD5:
            raise DataError(
                f"{found.path} is not the official {ARCHIVE_NAME}: its MD5 is {md5}, expected {ARCHIVE_MD5}. "
                f"Replace it with the file from {OFFICIAL_URL}, or pass verify=False to use it anyway"
            )
    files = _read_files(found)
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in (*TRAIN_FILES, TEST_FILE):
        data, where = files[name]
        parts[name] = read_cifar10_batch(data, where)
        n = parts[name][0].shape[0]
        if verify and n != N_PER_BATCH:
            raise DataError(
                f"{where} holds {n} images, but every official CIFAR-10 batch holds {N_PER_BATCH:,}; is it "
                "the right file? Pass verify=False to use it anyway"
            )
    if META_FILE in files:
        _check_meta(*files[META_FILE])
    x_train = np.concatenate([parts[name][0] for name in TRAIN_FILES])
    y_train = np.concatenate([parts[name][1] for name in TRAIN_FILES])
    x_test, y_test = parts[TEST_FILE]
    official = len(TRAIN_FILES) * N_PER_BATCH, N_PER_BATCH
    if (len(x_train), len(x_test)) == official:
        train_split = f"official training split ({official[0]:,} images, data_batch_1..5)"
        test_split = f"official test split ({official[1]:,} images, test_batch)"
    else:
        train_split = f"training batches data_batch_1..5 ({len(x_train):,} images; not the official size)"
        test_split = f"test_batch ({len(x_test):,} images; not the official size)"
    return Dataset(
        name=NAME,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=CLASS_NAMES,
        source="full",
        train_split=train_split,
        test_split=test_split,
        origin=str(found.path),
    )


# -- download ------------------------------------------------------------------------------------------------


def download_cifar10(
    directory: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
    md5: str | None = None,
) -> Path:
    """Download the official archive into ``directory`` (default :func:`default_cache_dir`).

    An archive already there with the official MD5 checksum is kept. The download goes to a ``.part`` file
    that replaces the target only once its MD5 checksum matches.

    Args:
        directory: destination folder, created if needed.
        url: where the archive is fetched from; ``None`` means :data:`OFFICIAL_URL`.
        timeout: seconds to wait on each network operation (connect, each read) before giving up.
        md5: the expected MD5 checksum; ``None`` means :data:`ARCHIVE_MD5`.

    Returns:
        The path of the archive, ``directory / "cifar-10-python.tar.gz"`` (about 163 MiB).

    Raises:
        DataError: the download failed (offline, timeout, HTTP error) or gave a file that does not match.
    """
    from tqdm.auto import tqdm

    url = OFFICIAL_URL if url is None else url
    md5 = ARCHIVE_MD5 if md5 is None else md5
    target = Path(directory).expanduser() if directory is not None else default_cache_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the download folder {target}: {exc}") from exc
    dest = target / ARCHIVE_NAME
    if dest.is_file() and md5_file(dest) == md5:
        return dest
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, part.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=ARCHIVE_NAME, leave=False) as bar:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
    except (OSError, ValueError) as exc:  # urllib.error.URLError and socket timeouts are OSErrors
        part.unlink(missing_ok=True)
        raise DataError(f"download of {url} failed: {exc}") from exc
    if digest.hexdigest() != md5:
        part.unlink(missing_ok=True)
        raise DataError(
            f"download of {url} does not match the official file: MD5 {digest.hexdigest()}, expected {md5}"
        )
    os.replace(part, dest)
    return dest
