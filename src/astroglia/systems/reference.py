"""Ready-made series: the reference task of Kang & Losert (2025) and fresh Thomas series at a given b."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from astroglia.systems.integrate import integrate
from astroglia.systems.schedule import ParameterSchedule
from astroglia.systems.series import Series

#: Switch times of the training series (time units); b alternates 0.18 -> 0.29 -> 0.18 ... at each.
KANG2025_SWITCH_TIMES: tuple[float, ...] = (
    500.0, 1200.0, 1500.0, 1800.0, 2400.0, 2600.0, 3400.0, 4200.0, 4800.0, 5000.0, 5500.0, 6000.0, 6700.0,
)  # fmt: skip
#: The two values of b in the training series: chaotic first, then the limit cycle.
KANG2025_LEVELS: tuple[float, float] = (0.18, 0.29)


def kang2025_schedule() -> ParameterSchedule:
    """The training schedule: b = 0.18 on [0, 500], 0.29 on (500, 1200], 0.18 on (1200, 1500], ..."""
    return ParameterSchedule.alternating("b", KANG2025_LEVELS, KANG2025_SWITCH_TIMES)


def thomas_kang2025(split: str = "train", *, cache: bool = True) -> Series:
    """The Thomas-system reference task of Kang & Losert (arXiv:2502.08644), specs/rhythmic_sharing.md s. 6.

    - ``"train"``: x0 = (10, 10, 1), dt = 1, 7,500 samples at t = 0 .. 7499; b starts at 0.18 and alternates
      with 0.29 at t = 500, 1200, 1500, 1800, 2400, 2600, 3400, 4200, 4800, 5000, 5500, 6000, 6700 (segments
      ``(a, b]``: the sample at t = 500 has b = 0.18, the one at t = 501 has b = 0.29).
    - ``"test"``: b = 0.29, x0 = (10, 10, 0), dt = 1, 15,000 samples.

    No noise, no normalisation. Integrated with DOP853 at rtol = atol = 1e-10, each constant-b segment
    separately (exact switches). ``meta["dataset"]`` names the split.

    Returns:
        A :class:`Series` with ``values`` of shape (7500, 3) or (15000, 3) and ``params["b"]`` per sample.
    """
    if split == "train":
        s = integrate("thomas", (10.0, 10.0, 1.0), 7_500, 1.0, schedule=kang2025_schedule(), cache=cache)
    elif split == "test":
        s = integrate("thomas", (10.0, 10.0, 0.0), 15_000, 1.0, params={"b": 0.29}, cache=cache)
    else:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return replace(s, meta={**s.meta, "dataset": f"thomas_kang2025/{split}"})


def thomas_series(
    b: float,
    n_samples: int,
    *,
    x0: Sequence[float] = (10.0, 10.0, 0.0),
    dt: float = 1.0,
    transient: int = 0,
    cache: bool = True,
    method: str = "DOP853",
    rtol: float = 1e-10,
    atol: float = 1e-10,
) -> Series:
    """A fresh Thomas series at constant ``b``: the truth for recall and extrapolation experiments.

    Integrates ``transient + n_samples`` samples at step ``dt`` from ``x0`` and drops the first
    ``transient`` (their times are kept, so ``t[0] = transient * dt``). For the true attractor statistics at
    ``b``, pass a long ``n_samples`` and a transient of a few hundred time units and hand ``values`` to
    :func:`astroglia.metrics.attractor_statistics`.

    Returns:
        A :class:`Series` with ``values`` of shape (n_samples, 3).
    """
    if isinstance(transient, bool) or not isinstance(transient, int) or transient < 0:
        raise ValueError(f"transient must be a non-negative integer number of samples, got {transient!r}")
    s = integrate(
        "thomas",
        x0,
        n_samples + transient,
        dt,
        params={"b": b},
        method=method,
        rtol=rtol,
        atol=atol,
        cache=cache,
    )
    return s.slice(transient) if transient else s
