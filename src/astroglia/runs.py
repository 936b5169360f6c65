"""Run directories: every run records its configuration, seed and environment beside its results.

Layout of a run directory::

    config.json      full configuration, seed, command line, package versions, platform
    metrics.jsonl    one JSON object per log point
    summary.json     the final numbers of the run
    figures/*.png    figures
    report.html      a one-page report (see :mod:`astroglia.report`)
    checkpoints/     resumable state, where the algorithm has any
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from astroglia.errors import ConfigError

_PACKAGES = ("astroglia", "numpy", "scipy", "torch", "numba", "matplotlib")


def environment_info() -> dict[str, Any]:
    """Versions of Python and the numerical packages, platform and core count."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "packages": versions,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "argv": sys.argv,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _clean(obj: Any) -> Any:
    """Make ``obj`` JSON-safe: NaN and inf become None, NumPy scalars and arrays become Python values."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _clean(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """JSON text of ``obj`` after :func:`_clean` (strict JSON: no NaN)."""
    return json.dumps(_clean(obj), allow_nan=False, **kwargs)


class RunDir:
    """A run directory (created if missing) with helpers to write its standard files.

    Args:
        path: directory of the run.
        config: the full configuration of the run (JSON-able mapping).
        seed: the seed of the run.
        kind: a short name of what ran, e.g. ``"mgd-train"``.
        resume: keep an existing ``metrics.jsonl`` (appending) instead of starting it afresh.
    """

    def __init__(
        self, path: str | Path, *, config: dict[str, Any], seed: int, kind: str, resume: bool = False
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"the run directory {self.path} is an existing file, not a directory")
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "figures").mkdir(exist_ok=True)
        self.metrics_path = self.path / "metrics.jsonl"
        if not resume and self.metrics_path.exists():
            self.metrics_path.unlink()
        record = {"kind": kind, "seed": seed, "config": config, "environment": environment_info()}
        self.write_json("config.json", record)

    def write_json(self, name: str, obj: Any) -> Path:
        """Write ``obj`` as indented JSON to ``name`` inside the run directory; return the path."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(dumps(obj, indent=2) + "\n")
        tmp.replace(target)
        return target

    def log(self, record: dict[str, Any]) -> None:
        """Append one log point to ``metrics.jsonl`` (flushed at once, so a crash keeps it)."""
        with self.metrics_path.open("a") as fh:
            fh.write(dumps(record) + "\n")

    def write_summary(self, summary: dict[str, Any]) -> Path:
        """Write ``summary.json``."""
        return self.write_json("summary.json", summary)

    def figure(self, name: str) -> Path:
        """Path of figure ``name`` (``.png`` added when missing) under ``figures/``."""
        if not name.endswith(".png"):
            name += ".png"
        return self.path / "figures" / name


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Read a ``metrics.jsonl`` file (or the one inside a run directory) into a list of dicts."""
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.jsonl"
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
