"""On-disk cache of generated series, keyed by a hash of everything that determines them.

Location: the directory in the environment variable ``ASTROGLIA_CACHE``, else ``~/.cache/astroglia``; series
live in its ``series/`` subfolder as ``<key>.npz`` (the (T, D) float64 values) plus ``<key>.json`` (the key,
the SHA-256 of the values, their shape and the series metadata). A missing entry is a miss. An entry that
cannot be read, has the wrong key, shape or checksum, or holds non-finite values is reported with a
``RuntimeWarning`` and regenerated; it is never trusted. Files are written atomically (temporary file, then
rename), so concurrent writers cannot leave a half-written entry behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from astroglia.storage import ENV_CACHE, cache_root

ENV_VAR = ENV_CACHE


def cache_dir() -> Path:
    """The series cache folder, ``series`` below :func:`astroglia.storage.cache_root` (not created here)."""
    return cache_root() / "series"


def cache_key(spec: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``spec`` (sorted keys; floats by their exact ``repr``)."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _digest(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values, dtype="<f8").tobytes()).hexdigest()


def _paths(key: str) -> tuple[Path, Path]:
    d = cache_dir()
    return d / f"{key}.npz", d / f"{key}.json"


def load(key: str, shape: tuple[int, int]) -> tuple[np.ndarray, dict[str, Any]] | None:
    """The cached (values, meta) for ``key``, or ``None`` on a miss or a corrupt entry (warned)."""
    npz_path, json_path = _paths(key)
    if not npz_path.exists() and not json_path.exists():
        return None
    try:
        record = json.loads(json_path.read_text())
        if record.get("key") != key:
            raise ValueError("key mismatch")
        with np.load(npz_path, allow_pickle=False) as data:
            values = np.array(data["values"], dtype=float)
        if values.shape != tuple(shape):
            raise ValueError(f"shape {values.shape}, expected {tuple(shape)}")
        if not np.all(np.isfinite(values)):
            raise ValueError("non-finite values")
        if _digest(values) != record.get("sha256"):
            raise ValueError("checksum mismatch")
        return values, dict(record["meta"])
    except Exception as exc:  # any failure means: do not trust, regenerate
        warnings.warn(
            f"cache entry {npz_path.name} in {npz_path.parent} is unreadable or corrupt ({exc}); "
            "regenerating it",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store(key: str, values: np.ndarray, meta: dict[str, Any]) -> None:
    """Write an entry; a failure to write (read-only disk, ...) is warned about, not raised."""
    npz_path, json_path = _paths(key)
    record = {"key": key, "sha256": _digest(values), "shape": list(values.shape), "meta": meta}
    try:
        npz_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(npz_path, lambda fh: np.savez(fh, values=np.asarray(values, dtype=float)))
        _atomic_write(json_path, lambda fh: fh.write(json.dumps(record, indent=1).encode()))
    except OSError as exc:
        warnings.warn(
            f"could not write the series cache in {npz_path.parent}: {exc}", RuntimeWarning, stacklevel=3
        )


def clear_cache() -> int:
    """Delete every cached series; returns the number of files removed."""
    d = cache_dir()
    n = 0
    if d.is_dir():
        for p in d.iterdir():
            if p.suffix in (".npz", ".json", ".tmp"):
                p.unlink(missing_ok=True)
                n += 1
    return n
