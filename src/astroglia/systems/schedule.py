"""Piecewise-constant parameter schedules with exact switching times."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class ParameterSchedule:
    """Parameters that are constant on each segment and switch instantly at given times.

    With switch times ``s_1 < ... < s_K`` and K + 1 parameter sets ``values[0..K]``, segment 0 covers
    ``[t0, s_1]`` and segment i >= 1 covers ``(s_i, s_{i+1}]`` (the last one runs to the end). A sample taken
    exactly at a switch time therefore still carries the OLD parameters; the trajectory is continuous.

    Each entry of ``values`` is a mapping ``{parameter name: value}``; names not listed take the base
    parameters given to :func:`~astroglia.systems.integrate` (or the system defaults). Names are checked
    against the system when the schedule is integrated.

    Args:
        values: K + 1 parameter mappings, one per segment, in time order.
        switch_times: K strictly increasing finite switch times, in the system's time units.

    Raises:
        ValueError: wrong number of segments, unsorted or non-finite switch times, non-finite values.
    """

    values: tuple[Mapping[str, float], ...]
    switch_times: tuple[float, ...]

    def __init__(self, values: Sequence[Mapping[str, float]], switch_times: Sequence[float]) -> None:
        vals = []
        for i, v in enumerate(values):
            if not isinstance(v, Mapping):
                raise ValueError(
                    f"schedule segment {i} must be a mapping like {{'b': 0.18}}, got {v!r}; "
                    "use ParameterSchedule.alternating for a single parameter"
                )
            clean = {}
            for name, x in v.items():
                fx = float(x)
                if not math.isfinite(fx):
                    raise ValueError(f"schedule segment {i}: parameter {name!r} must be finite, got {x!r}")
                clean[str(name)] = fx
            vals.append(MappingProxyType(clean))
        times = tuple(float(s) for s in switch_times)
        if not all(math.isfinite(s) for s in times):
            raise ValueError(f"switch times must be finite, got {list(switch_times)}")
        if any(b <= a for a, b in zip(times[:-1], times[1:], strict=True)):
            raise ValueError(f"switch times must be strictly increasing, got {list(switch_times)}")
        if len(vals) != len(times) + 1:
            raise ValueError(
                f"a schedule with {len(times)} switch times needs {len(times) + 1} parameter sets, "
                f"got {len(vals)}"
            )
        object.__setattr__(self, "values", tuple(vals))
        object.__setattr__(self, "switch_times", times)

    @classmethod
    def constant(cls, values: Mapping[str, float]) -> ParameterSchedule:
        """A schedule without switches."""
        return cls([values], [])

    @classmethod
    def alternating(
        cls, name: str, levels: Sequence[float], switch_times: Sequence[float]
    ) -> ParameterSchedule:
        """One parameter cycling through ``levels`` (``levels[0]`` first), switching at ``switch_times``.

        Example: ``ParameterSchedule.alternating("b", (0.18, 0.29), [500, 1200])`` gives b = 0.18 up to
        t = 500, 0.29 on (500, 1200] and 0.18 afterwards.
        """
        if len(levels) < 1:
            raise ValueError("alternating schedule needs at least one level")
        n = len(switch_times) + 1
        return cls([{name: levels[i % len(levels)]} for i in range(n)], switch_times)

    @property
    def n_segments(self) -> int:
        """Number of segments, ``len(switch_times) + 1``."""
        return len(self.values)

    def to_dict(self) -> dict:
        """A JSON-serialisable description ``{"values": [...], "switch_times": [...]}``."""
        return {"values": [dict(v) for v in self.values], "switch_times": list(self.switch_times)}
