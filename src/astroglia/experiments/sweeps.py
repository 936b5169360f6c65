"""Resumable parallel sweeps: one JSON file per finished point, keyed by the point's configuration.

A point is a JSON-able mapping (its full configuration, seed included) and a module-level function turns it
into a JSON-able result. :func:`run_points` skips every point whose result is already on disk, runs the
others on all cores with a :class:`concurrent.futures.ProcessPoolExecutor`, and writes each result as soon
as it finishes (atomically), so an interrupted sweep resumes where it stopped and a finished one is free to
re-run (e.g. to redraw its figures).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from astroglia.runs import dumps

__all__ = ["RESULTS_VERSION", "PointCache", "default_workers", "point_key", "run_points"]


RESULTS_VERSION = 2
"""Version of what a point's configuration computes; part of every key, so that results cached by an older
version are not reused. Raise it whenever a change makes the same configuration give different results
(version 2: random perturbation codes are the bits of a SplitMix64 stream)."""


def point_key(config: dict[str, Any]) -> str:
    """A 20-hex-digit key of ``config`` and :data:`RESULTS_VERSION`: SHA-1 of their canonical JSON."""
    text = json.dumps(
        {"config": config, "results_version": RESULTS_VERSION},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha1(text.encode()).hexdigest()[:20]


class PointCache:
    """Finished points of a sweep in ``directory``, one ``<key>.json`` file ``{"config", "result"}`` each."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, config: dict[str, Any]) -> Path:
        """Where the result of ``config`` is stored."""
        return self.directory / f"{point_key(config)}.json"

    def get(self, config: dict[str, Any]) -> dict[str, Any] | None:
        """The stored result of ``config``, or None (missing, unreadable, or a hash collision)."""
        p = self.path(config)
        if not p.exists():
            return None
        try:
            record = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if json.loads(dumps(config)) != record.get("config"):
            return None
        return record.get("result")

    def put(self, config: dict[str, Any], result: dict[str, Any]) -> None:
        """Store ``result`` for ``config`` atomically."""
        p = self.path(config)
        tmp = p.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(dumps({"config": config, "result": result}, indent=1) + "\n")
        tmp.replace(p)


def default_workers() -> int:
    """Worker processes for a sweep: the cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def run_points(
    fn: Callable[[dict[str, Any]], dict[str, Any]],
    configs: Sequence[dict[str, Any]],
    cache_dir: str | Path,
    *,
    workers: int | None = None,
    progress: bool = True,
    desc: str = "points",
) -> list[dict[str, Any]]:
    """Results of ``fn`` on every config, in the order of ``configs``, cached in ``cache_dir``.

    Args:
        fn: a module-level (picklable) function config -> JSON-able result.
        configs: the points.
        cache_dir: directory of the per-point JSON files.
        workers: processes (default: all available cores); 1 runs in this process.
        progress: show a progress bar.
        desc: the bar's label.
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1 (or None for all cores), got {workers}")
    cache = PointCache(cache_dir)
    results: list[dict[str, Any] | None] = [cache.get(c) for c in configs]
    todo = [i for i, r in enumerate(results) if r is None]
    n_workers = min(workers or default_workers(), max(1, len(todo)))
    bar = tqdm(total=len(configs), initial=len(configs) - len(todo), desc=desc, disable=not progress)
    try:
        if n_workers <= 1:
            for i in todo:
                results[i] = fn(configs[i])
                cache.put(configs[i], results[i])
                bar.update(1)
        else:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
                futures = {pool.submit(fn, configs[i]): i for i in todo}
                for fut in as_completed(futures):
                    i = futures[fut]
                    results[i] = fut.result()
                    cache.put(configs[i], results[i])
                    bar.update(1)
    finally:
        bar.close()
    return [r for r in results if r is not None]
