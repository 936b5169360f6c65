r"""Projected training time of MGD on hardware (specs/mgd.md section 11).

A simulated MGD run counts operations: cost evaluations, perturbation writes, parameter updates and input
loads. Given the physical time each operation takes on a platform (:class:`HardwareTiming`), the projected
hardware time is

.. math::

    T = B\,(N_{eval}\, t_{inf} + N_{in}\, t_{in}) + N_{pert}\, t_{pert} + N_{upd}\, t_{upd},

where, for a run of :math:`S` steps with time constants :math:`\tau_x, \tau_p, \tau_\theta` (in steps):

- :math:`N_{eval}` = cost measurements: :math:`S` perturbed ones, plus, in digital mode, the baselines
  :math:`C_0` (one whenever the input or the parameters changed;
  :func:`astroglia.mgd.engine.expected_counts`); in analog mode no baselines (the cost is high-pass
  filtered instead);
- :math:`N_{pert} = \lceil S/\tau_p \rceil` distinct perturbation patterns written;
- :math:`N_{upd} = \lfloor S/\tau_\theta \rfloor` updates in digital mode, :math:`S` in analog mode (the
  integrator drives the parameters continuously, one write per step);
- :math:`N_{in} = \lceil S/\tau_x \rceil` inputs presented;
- :math:`B` = samples per input: hardware that evaluates one sample at a time needs :math:`B` inferences for
  a minibatch cost (and :math:`B` sample loads); ``batch_size=1`` is online training.

The model is sequential (no two operations overlap), so it is an upper bound for hardware that pipelines,
e.g., the next perturbation write with the current inference. Each parameter operation is taken to act on all
parameters at once (parallel, local hardware), so its time does not grow with P.

Every number in :data:`PRESETS` is an order-of-magnitude assumption for a class of platform, stated with its
provenance in ``source``; replace them with measured values for a real device. The projection is meant to be
compared with measured backpropagation time on a CPU or GPU (specs/evaluation.md), as in the MGD paper's claim
of training "orders of magnitude faster" on emerging hardware (McCaughan et al., arXiv:2303.03986).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from astroglia.mgd.engine import expected_counts

__all__ = [
    "PRESETS",
    "HardwareTiming",
    "HardwareTimeProjection",
    "get_timing",
    "operation_counts",
    "project_hardware_time",
    "project_run",
]

Mode = Literal["digital", "analog"]


@dataclass(frozen=True)
class HardwareTiming:
    """Physical time of each MGD operation on a hardware platform, in seconds.

    Attributes:
        name: short name of the platform.
        t_inference: one cost measurement on one sample: forward pass plus cost read-out (s).
        t_perturbation: writing one new perturbation pattern to all parameters at once (s).
        t_update: applying one parameter update to all parameters at once (s).
        t_input: presenting one new input sample (s).
        source: where the numbers come from, or the words "assumption" and the reasoning.
    """

    name: str
    t_inference: float
    t_perturbation: float
    t_update: float
    t_input: float
    source: str = "user-supplied"

    def __post_init__(self) -> None:
        for field_name in ("t_inference", "t_perturbation", "t_update", "t_input"):
            value = getattr(self, field_name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"HardwareTiming.{field_name} must be a finite number of seconds >= 0, got {value}"
                )


PRESETS: dict[str, HardwareTiming] = {
    timing.name: timing
    for timing in (
        HardwareTiming(
            name="superconducting-optoelectronic",
            t_inference=10e-9,
            t_perturbation=10e-9,
            t_update=100e-9,
            t_input=10e-9,
            source=(
                "assumption: nanosecond-scale operations of the kind the MGD paper (McCaughan et al., "
                "arXiv:2303.03986) discusses for superconducting optoelectronic networks, its example of "
                "fast emerging hardware; orders of magnitude only, not values quoted from the paper"
            ),
        ),
        HardwareTiming(
            name="analog-cmos",
            t_inference=1e-6,
            t_perturbation=100e-9,
            t_update=10e-6,
            t_input=1e-6,
            source=(
                "assumption: a mixed-signal CMOS or memristive crossbar chip with microsecond inference "
                "(settling and ADC read-out), fast perturbation DACs and slower non-volatile weight writes"
            ),
        ),
        HardwareTiming(
            name="chip-in-the-loop",
            t_inference=100e-6,
            t_perturbation=1e-3,
            t_update=1e-3,
            t_input=100e-6,
            source=(
                "assumption: an existing chip driven by a host computer over a bus, where every parameter "
                "write is a millisecond-scale transfer and each measurement a round trip"
            ),
        ),
    )
}
"""Named example platforms (see each entry's ``source``)."""


def get_timing(timing: str | HardwareTiming) -> HardwareTiming:
    """A :class:`HardwareTiming` itself, or the preset of that name from :data:`PRESETS`."""
    if isinstance(timing, HardwareTiming):
        return timing
    try:
        return PRESETS[timing]
    except KeyError:
        raise ValueError(
            f"unknown hardware timing preset {timing!r}; presets: {', '.join(PRESETS)}, or pass a "
            "HardwareTiming"
        ) from None


def _check_int(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def operation_counts(
    steps: int, *, tau_x: int = 1, tau_p: int = 1, tau_theta: int = 1, mode: Mode = "digital"
) -> dict[str, int]:
    """How many of each operation an MGD run of ``steps`` steps performs (module docstring).

    Returns:
        ``{"evaluations", "baseline_evaluations", "perturbations", "updates", "inputs"}``; ``evaluations``
        includes the baselines. In digital mode these equal the engine's counters after ``steps`` steps.
    """
    _check_int("steps", steps, 0)
    for name, value in (("tau_x", tau_x), ("tau_p", tau_p), ("tau_theta", tau_theta)):
        _check_int(name, value, 1)
    if mode not in ("digital", "analog"):
        raise ValueError(f"mode must be 'digital' or 'analog', got {mode!r}")
    if mode == "digital":
        digital = expected_counts(steps, tau_x, tau_theta)
        baselines, updates = digital["baseline_evaluations"], digital["updates"]
    else:
        baselines, updates = 0, steps
    return {
        "evaluations": steps + baselines,
        "baseline_evaluations": baselines,
        "perturbations": -(-steps // tau_p),
        "updates": updates,
        "inputs": -(-steps // tau_x),
    }


@dataclass(frozen=True)
class HardwareTimeProjection:
    """A projected hardware training time and its breakdown.

    Attributes:
        total_s: projected time in seconds, the sum of ``breakdown_s``.
        breakdown_s: seconds spent in ``"inference"``, ``"perturbation"``, ``"update"`` and ``"input"``.
        counts: the operation counts used (:func:`operation_counts`, possibly with measured evaluations).
        batch_size: samples per input (B).
        timing: the platform's :class:`HardwareTiming`.
    """

    total_s: float
    breakdown_s: dict[str, float]
    counts: dict[str, int]
    batch_size: int
    timing: HardwareTiming

    def speedup_over(self, measured_s: float) -> float:
        """``measured_s / total_s``: how many times faster the hardware would be than a measured run."""
        if self.total_s == 0:
            return math.inf
        return measured_s / self.total_s

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready record (for run records and reports)."""
        return {
            "total_s": self.total_s,
            "breakdown_s": dict(self.breakdown_s),
            "counts": dict(self.counts),
            "batch_size": self.batch_size,
            "timing": asdict(self.timing),
        }

    def summary(self) -> str:
        """One line: total and the share of each operation."""
        parts = ", ".join(
            f"{k} {v:.3g} s ({100 * v / self.total_s:.0f}%)" if self.total_s else f"{k} 0 s"
            for k, v in self.breakdown_s.items()
        )
        return f"projected on {self.timing.name}: {self.total_s:.3g} s ({parts})"


def project_hardware_time(
    steps: int,
    timing: str | HardwareTiming,
    *,
    tau_x: int = 1,
    tau_p: int = 1,
    tau_theta: int = 1,
    mode: Mode = "digital",
    batch_size: int = 1,
    evaluations: int | None = None,
) -> HardwareTimeProjection:
    """Projected hardware time of an MGD run of ``steps`` steps.

    Args:
        steps: time steps of the run (S).
        timing: a :class:`HardwareTiming` or the name of a preset in :data:`PRESETS`.
        tau_x, tau_p, tau_theta: the time constants, in steps.
        mode: ``"digital"`` (baseline measurements, update every tau_theta) or ``"analog"`` (no baselines,
            continuous update: one parameter write per step).
        batch_size: samples per input (B); each cost evaluation then takes B inferences and each input B
            sample loads.
        evaluations: measured number of cost evaluations (e.g. a run's counter), replacing the computed one.

    Returns:
        A :class:`HardwareTimeProjection`.
    """
    t = get_timing(timing)
    _check_int("batch_size", batch_size, 1)
    counts = operation_counts(steps, tau_x=tau_x, tau_p=tau_p, tau_theta=tau_theta, mode=mode)
    if evaluations is not None:
        _check_int("evaluations", evaluations, 0)
        counts["evaluations"] = evaluations
    breakdown = {
        "inference": counts["evaluations"] * batch_size * t.t_inference,
        "perturbation": counts["perturbations"] * t.t_perturbation,
        "update": counts["updates"] * t.t_update,
        "input": counts["inputs"] * batch_size * t.t_input,
    }
    return HardwareTimeProjection(
        total_s=math.fsum(breakdown.values()),
        breakdown_s=breakdown,
        counts=counts,
        batch_size=batch_size,
        timing=t,
    )


class _Counters(Protocol):
    steps: int
    evaluations: int


class _Config(Protocol):
    tau_x: int
    tau_p: int
    tau_theta: int


def project_run(
    counters: _Counters,
    config: _Config,
    timing: str | HardwareTiming,
    *,
    batch_size: int = 1,
    mode: Mode = "digital",
) -> HardwareTimeProjection:
    """Projected hardware time of a run from its counters and config (``engine.counters``, ``engine.config``).

    The measured ``counters.evaluations`` is used; perturbation writes, updates and inputs follow from
    ``counters.steps`` and the config's time constants.
    """
    return project_hardware_time(
        counters.steps,
        timing,
        tau_x=config.tau_x,
        tau_p=config.tau_p,
        tau_theta=config.tau_theta,
        mode=mode,
        batch_size=batch_size,
        evaluations=counters.evaluations,
    )
