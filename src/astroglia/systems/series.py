"""The result type of integration: a sampled trajectory with its parameters, segments and provenance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Segment:
    """A stretch of constant parameters.

    Attributes:
        start: index of its first sample (inclusive).
        stop: index after its last sample (exclusive); ``start == stop`` when no sample falls inside.
        params: the full parameter set on the segment, by name.
        t_start: left boundary in time units (t0 for the first segment, otherwise the switch time, exclusive).
        t_stop: right boundary in time units (the next switch time or the last sample time, inclusive).
    """

    start: int
    stop: int
    params: Mapping[str, float]
    t_start: float
    t_stop: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Series:
    """A trajectory sampled at ``t_k = t0 + k * dt``, ``k = 0 .. T-1`` (arrays are read-only).

    Attributes:
        values: (T, D) states; ``values[0]`` is the initial state, in the system's state units.
        t: (T,) sample times, in the system's time units.
        params: ``{name: (T,) array}``: the value of every parameter in force at each sample.
        switch_times: the switch times inside the series (segments are ``(a, b]``: a sample exactly at a
            switch time carries the parameters before the switch).
        segments: the segments of constant parameters, in time order.
        meta: provenance (JSON-serialisable): system, method, rtol, atol, dt, t0, x0, n_samples, the base
            parameters and schedule, versions, and the cache status (``"off"``, ``"hit"`` or ``"miss"``).
    """

    values: np.ndarray
    t: np.ndarray
    params: Mapping[str, np.ndarray]
    switch_times: tuple[float, ...]
    segments: tuple[Segment, ...]
    meta: Mapping[str, Any]

    def __post_init__(self) -> None:
        values = _frozen(np.asarray(self.values, dtype=float))
        t = _frozen(np.asarray(self.t, dtype=float))
        if values.ndim != 2 or t.shape != (values.shape[0],):
            raise ValueError(f"Series needs values (T, D) and t (T,), got {values.shape} and {t.shape}")
        params = {k: _frozen(np.asarray(v, dtype=float)) for k, v in self.params.items()}
        for k, v in params.items():
            if v.shape != t.shape:
                raise ValueError(f"parameter array {k!r} has shape {v.shape}, expected {t.shape}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "params", MappingProxyType(params))
        object.__setattr__(self, "switch_times", tuple(float(s) for s in self.switch_times))
        object.__setattr__(self, "segments", tuple(self.segments))
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    def __len__(self) -> int:
        return self.values.shape[0]

    @property
    def n_samples(self) -> int:
        """Number of samples T."""
        return self.values.shape[0]

    @property
    def dim(self) -> int:
        """State dimension D."""
        return self.values.shape[1]

    @property
    def dt(self) -> float:
        """Sampling step, in time units."""
        return float(self.meta["dt"])

    @property
    def switch_indices(self) -> np.ndarray:
        """(K,) int: index of the first sample after each switch (the first sample under new parameters).

        Only switches followed by at least one sample inside the series are listed.
        """
        idx = [s.start for s in self.segments[1:] if s.start < s.stop]
        return np.asarray(idx, dtype=int)

    def context_labels(self) -> np.ndarray:
        """(T,) int: for each sample, the index of its parameter set among the distinct sets, numbered in
        order of first appearance (e.g. b alternating 0.18/0.29 gives 0, 1, 0, 1, ...)."""
        labels = np.empty(self.n_samples, dtype=int)
        seen: dict[tuple, int] = {}
        for seg in self.segments:
            key = tuple(sorted(seg.params.items()))
            labels[seg.start : seg.stop] = seen.setdefault(key, len(seen))
        return labels

    def slice(self, start: int, stop: int | None = None) -> Series:
        """Samples ``start .. stop-1`` as a new :class:`Series` (e.g. to drop a transient).

        Segments are clipped to the slice and re-indexed; ``meta`` gains ``"slice": [start, stop]``.
        """
        n = self.n_samples
        a, b, step = slice(start, stop).indices(n)
        if step != 1 or b <= a:
            raise ValueError(f"slice must select a non-empty contiguous range of 0..{n}, got {start}:{stop}")
        segs = []
        for seg in self.segments:
            lo, hi = max(seg.start, a), min(seg.stop, b)
            empty_inside = seg.start == seg.stop and a < seg.start < b
            if lo < hi or empty_inside:
                lo = seg.start if empty_inside else lo
                hi = seg.stop if empty_inside else hi
                segs.append(Segment(lo - a, hi - a, seg.params, seg.t_start, seg.t_stop))
        switch = tuple(s.t_start for s in segs[1:])
        meta = dict(self.meta)
        meta["slice"] = [a, b]
        return Series(
            values=self.values[a:b],
            t=self.t[a:b],
            params={k: v[a:b] for k, v in self.params.items()},
            switch_times=switch,
            segments=tuple(segs),
            meta=meta,
        )

    def __repr__(self) -> str:
        return (
            f"Series(system={self.meta.get('system')!r}, T={self.n_samples}, D={self.dim}, "
            f"dt={self.meta.get('dt')}, switches={len(self.switch_times)})"
        )
