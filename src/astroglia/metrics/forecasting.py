"""Forecasting metrics for chaotic and periodic dynamics (specs/evaluation.md, "Forecasting").

Every function is pure, takes arrays of shape (T,) or (T, D) (time first; a 1-D array is one coordinate) and
states its normalisation. Non-finite predictions are never dropped: they count as infinite error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import welch

__all__ = [
    "AttractorStatistics",
    "ValidPredictionTime",
    "attractor_statistics",
    "divergence_index",
    "is_diverged",
    "normalized_error",
    "nrmse",
    "spectrum_distance",
    "valid_prediction_time",
]


def _as_2d(y: np.ndarray, name: str, *, finite: bool) -> np.ndarray:
    a = np.asarray(y, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"{name} must have shape (T,) or (T, D) with T >= 1, got {np.shape(y)}")
    if finite and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf; the reference series must be finite")
    return a


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    yt = _as_2d(y_true, "y_true", finite=True)
    yp = _as_2d(y_pred, "y_pred", finite=False)
    if yt.shape != yp.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {yt.shape} and {yp.shape}")
    return yt, yp


def nrmse(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Normalised root-mean-square error per coordinate.

    .. math::

        \\mathrm{NRMSE}_d = \\sqrt{\\tfrac1T \\sum_t (\\hat y_{t,d} - y_{t,d})^2}
                           \\,/\\, \\mathrm{std}_t(y_{t,d})

    Normalisation: the (population, ddof = 0) standard deviation over time of the TRUE series in that
    coordinate. A coordinate whose true series is constant gives 0 if predicted exactly and ``inf`` otherwise;
    a coordinate with any non-finite prediction gives ``inf``.

    Args:
        y_true: (T,) or (T, D) true values, finite.
        y_pred: predictions of the same shape.

    Returns:
        (D,) NRMSE per coordinate (shape (1,) for 1-D input), dimensionless.
    """
    yt, yp = _pair(y_true, y_pred)
    bad = ~np.all(np.isfinite(yp), axis=0)
    with np.errstate(invalid="ignore", over="ignore"):
        rmse = np.sqrt(np.mean((yp - yt) ** 2, axis=0))
    std = np.std(yt, axis=0)
    out = np.empty(yt.shape[1])
    for d in range(yt.shape[1]):
        if bad[d] or not math.isfinite(rmse[d]):
            out[d] = np.inf
        elif std[d] > 0:
            out[d] = rmse[d] / std[d]
        else:
            out[d] = 0.0 if rmse[d] == 0 else np.inf
    return out


def normalized_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Normalised error over time.

    .. math::

        e(t) = \\lVert \\hat y(t) - y(t) \\rVert \\,/\\,
               \\sqrt{\\tfrac1T \\sum_s \\lVert y(s) - \\bar y \\rVert^2}

    Normalisation: the root-mean-square distance of the TRUE series from its time mean (Euclidean norm over
    coordinates). Non-finite predictions give ``e = inf``; a constant true series makes every non-zero error
    ``inf``.

    Args:
        y_true: (T,) or (T, D) true values, finite.
        y_pred: predictions of the same shape.

    Returns:
        (T,) dimensionless error per time step.
    """
    yt, yp = _pair(y_true, y_pred)
    scale = math.sqrt(float(np.mean(np.sum((yt - yt.mean(axis=0)) ** 2, axis=1))))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.sqrt(np.sum((yp - yt) ** 2, axis=1))
    err[~np.all(np.isfinite(yp), axis=1) | ~np.isfinite(err)] = np.inf
    if scale > 0:
        return err / scale
    return np.where(err == 0, 0.0, np.inf)


@dataclass(frozen=True)
class ValidPredictionTime:
    """Result of :func:`valid_prediction_time`.

    Attributes:
        steps: number of leading samples with ``e(t) <= threshold`` (index of the first exceedance).
        time: ``steps * dt``, in time units.
        lyapunov_times: ``time * lyapunov_exponent`` (Lyapunov times), or ``None`` without an exponent.
        exceeded: False when the error never exceeded the threshold (then ``steps`` is the whole horizon T,
            a lower bound on the true VPT).
    """

    steps: int
    time: float
    lyapunov_times: float | None
    exceeded: bool


def valid_prediction_time(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    threshold: float = 0.4,
    dt: float = 1.0,
    lyapunov_exponent: float | None = None,
) -> ValidPredictionTime:
    """Valid prediction time: how long the normalised error :func:`normalized_error` stays at or below
    ``threshold``.

    ``steps`` is the index of the first sample with ``e(t) > threshold`` (so if ``y_pred[0]`` is the one-step
    forecast, ``steps`` forecast steps were valid). Normalisation as in :func:`normalized_error`.

    Args:
        y_true: (T,) or (T, D) true values, finite.
        y_pred: closed-loop predictions of the same shape.
        threshold: error level, dimensionless (default 0.4).
        dt: sampling step, in time units.
        lyapunov_exponent: largest Lyapunov exponent in 1/time unit (Lorenz-63: about 0.906), or ``None``.

    Returns:
        :class:`ValidPredictionTime` in steps, time units and Lyapunov times.
    """
    if not (threshold > 0 and math.isfinite(threshold)):
        raise ValueError(f"threshold must be a positive finite number, got {threshold!r}")
    if not (dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt must be a positive finite number of time units, got {dt!r}")
    if lyapunov_exponent is not None and not (lyapunov_exponent > 0 and math.isfinite(lyapunov_exponent)):
        raise ValueError(
            f"lyapunov_exponent must be positive and finite (or None), got {lyapunov_exponent!r}"
        )
    e = normalized_error(y_true, y_pred)
    over = np.flatnonzero(e > threshold)
    steps = int(over[0]) if over.size else int(e.size)
    time = steps * float(dt)
    lt = time * lyapunov_exponent if lyapunov_exponent is not None else None
    return ValidPredictionTime(steps=steps, time=time, lyapunov_times=lt, exceeded=bool(over.size))


def _reference_box(reference: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    ref = _as_2d(reference, "reference", finite=True)
    lo, hi = ref.min(axis=0), ref.max(axis=0)
    centre, span = (lo + hi) / 2.0, hi - lo
    fallback = float(span.max()) if span.max() > 0 else 1.0
    span = np.where(span > 0, span, fallback)
    half = factor * span / 2.0
    return centre - half, centre + half


def divergence_index(y: np.ndarray, *, reference: np.ndarray, factor: float = 10.0) -> int | None:
    """Index of the first sample of ``y`` outside the divergence box, or ``None`` if it never leaves it.

    The box is the bounding box of ``reference`` scaled by ``factor`` about its centre, per coordinate:
    ``centre_d +- factor * range_d / 2``. A coordinate with zero range in ``reference`` uses the largest range
    of the other coordinates (1 if all are zero). A non-finite sample is outside.

    Args:
        y: (T,) or (T, D) series to check (e.g. a closed-loop prediction).
        reference: (T', D) finite series defining the data range (e.g. the training data).
        factor: box size relative to the data range (default 10).
    """
    if not (factor > 0 and math.isfinite(factor)):
        raise ValueError(f"factor must be positive and finite, got {factor!r}")
    a = _as_2d(y, "y", finite=False)
    lo, hi = _reference_box(reference, factor)
    if a.shape[1] != lo.size:
        raise ValueError(f"y has {a.shape[1]} coordinates but reference has {lo.size}")
    with np.errstate(invalid="ignore"):
        inside = np.all(np.isfinite(a) & (a >= lo) & (a <= hi), axis=1)
    out = np.flatnonzero(~inside)
    return int(out[0]) if out.size else None


def is_diverged(y: np.ndarray, *, reference: np.ndarray, factor: float = 10.0) -> bool:
    """Whether ``y`` becomes non-finite or leaves the box ``factor`` x the data range of ``reference``.

    See :func:`divergence_index` for the exact box.
    """
    return divergence_index(y, reference=reference, factor=factor) is not None


def _hann_power(a: np.ndarray, pad: int = 1) -> np.ndarray:
    """One-sided power spectra of the mean-removed, Hann-windowed columns: (n_freq, D)."""
    x = (a - a.mean(axis=0)) * np.hanning(a.shape[0])[:, None]
    return np.abs(np.fft.rfft(x, n=pad * a.shape[0], axis=0)) ** 2


def spectrum_distance(y_true: np.ndarray, y_pred: np.ndarray, *, nperseg: int = 1024) -> float:
    """Hellinger distance between normalised power spectra, averaged over coordinates; in [0, 1].

    Each coordinate's spectrum is Welch's estimate (Hann window, segments of ``min(nperseg, T_true, T_pred)``
    samples, mean removed per segment), normalised to unit sum over frequency, so overall scale does not
    matter, only the shape of the spectrum. ``H(p, q) = sqrt(1 - sum_f sqrt(p_f q_f))``. The series may have
    different lengths but share the sampling step. A non-finite prediction gives 1 (maximal). A constant
    coordinate (zero power) gives 0 against another constant one and 1 otherwise.

    Args:
        y_true: (T, D) or (T,) true long run.
        y_pred: (T', D) or (T',) predicted long run, same D.
        nperseg: Welch segment length in samples (frequency resolution ``1 / (nperseg dt)``).

    Returns:
        Mean Hellinger distance over the D coordinates.
    """
    yt = _as_2d(y_true, "y_true", finite=True)
    yp = _as_2d(y_pred, "y_pred", finite=False)
    if yt.shape[1] != yp.shape[1]:
        raise ValueError(f"y_true has {yt.shape[1]} coordinates but y_pred has {yp.shape[1]}")
    if not np.all(np.isfinite(yp)):
        return 1.0
    n = min(int(nperseg), yt.shape[0], yp.shape[0])
    if n < 4:
        raise ValueError(f"need at least 4 samples per spectrum segment, got {n}")
    _, pt = welch(yt, nperseg=n, axis=0, detrend="constant")
    _, pp = welch(yp, nperseg=n, axis=0, detrend="constant")
    dists = []
    for d in range(yt.shape[1]):
        st, sp = pt[:, d].sum(), pp[:, d].sum()
        tiny = 1e-300
        if st <= tiny or sp <= tiny:
            dists.append(0.0 if (st <= tiny and sp <= tiny) else 1.0)
            continue
        bc = float(np.sum(np.sqrt((pt[:, d] / st) * (pp[:, d] / sp))))
        dists.append(math.sqrt(max(0.0, 1.0 - bc)))
    return float(np.mean(dists))


@dataclass(frozen=True)
class AttractorStatistics:
    """Result of :func:`attractor_statistics` (all after the transient).

    Attributes:
        mean: (D,) time mean per coordinate.
        std: (D,) standard deviation (ddof = 0) per coordinate.
        period: fundamental period in time units (limit cycle), dominant spectral period (irregular), or
            ``None`` (fixed point, diverged, or too short a series).
        regime: ``"fixed_point"``, ``"limit_cycle"``, ``"irregular"`` or ``"diverged"``.
        peak_sharpness: fraction of the total spectral power within +-3 bins of the fundamental and its
            harmonics (1 for a periodic signal, lower for a broad spectrum); ``nan`` when not computed.
        recurrence_error: RMS of ``y(t + P) - y(t)`` over RMS of ``y - mean`` at the period P; ``nan`` when
            not computed.
        n_samples: samples used (after the transient).
    """

    mean: np.ndarray
    std: np.ndarray
    period: float | None
    regime: str
    peak_sharpness: float
    recurrence_error: float
    n_samples: int


def _dominant_period(a: np.ndarray) -> float | None:
    """Dominant period in samples from the summed Hann power spectrum, refined by log-parabolic interpolation
    on a 4x zero-padded grid; ``None`` if no interior peak exists."""
    pad = 4
    p = _hann_power(a, pad).sum(axis=1)
    n_fft = pad * a.shape[0]
    # ignore the lowest frequencies, which the window and mean removal distort: below 2 cycles per series
    k_min = 2 * pad
    if p.size - 1 <= k_min + 1:
        return None
    k = k_min + int(np.argmax(p[k_min:-1]))
    if p[k] <= 0:
        return None
    lp = np.log(np.maximum(p[k - 1 : k + 2], 1e-300))
    denom = lp[0] - 2 * lp[1] + lp[2]
    delta = 0.5 * (lp[0] - lp[2]) / denom if denom < 0 else 0.0
    freq = (k + float(np.clip(delta, -0.5, 0.5))) / n_fft  # cycles per sample
    return 1.0 / freq


def _harmonic_power_fraction(a: np.ndarray, period: float, width: int = 3) -> float:
    p = _hann_power(a).sum(axis=1)
    total = float(p.sum())
    if total <= 0:
        return float("nan")
    n = a.shape[0]
    f0 = n / period  # fundamental in bins
    mask = np.zeros(p.size, dtype=bool)
    h = 1
    while h * f0 < p.size:
        c = round(h * f0)
        mask[max(0, c - width) : c + width + 1] = True
        h += 1
    return float(p[mask].sum() / total)


def _recurrence_error(a: np.ndarray, period: float) -> float:
    n = a.shape[0]
    if period >= n - 1:
        return float("inf")
    t = np.arange(n, dtype=float)
    spline = CubicSpline(t, a, axis=0)
    ts = t[t + period <= n - 1]
    diff = spline(ts + period) - a[: ts.size]
    scale = math.sqrt(float(np.mean(np.sum((a - a.mean(axis=0)) ** 2, axis=1))))
    return math.sqrt(float(np.mean(np.sum(diff**2, axis=1)))) / scale


def attractor_statistics(
    y: np.ndarray,
    *,
    dt: float = 1.0,
    transient: int = 0,
    bound: float | None = None,
    fixed_point_tol: float = 1e-3,
    sharpness_min: float = 0.5,
    recurrence_tol: float = 0.1,
    max_harmonic: int = 4,
) -> AttractorStatistics:
    """Mean, spread, dominant period and regime of a long run (true or closed-loop), after a transient.

    Regime rule, applied in this order to ``a = y[transient:]`` (T samples, D coordinates):

    1. ``"diverged"``: ``a`` holds a non-finite value, or ``bound`` is given and ``max |a| > bound``.
    2. ``"fixed_point"``: ``max_d std_d <= fixed_point_tol * max(1, max_d |mean_d|)``.
    3. Period: the dominant peak of the summed (over coordinates) power spectrum of the mean-removed,
       Hann-windowed series (zero-padded 4x, frequencies below 2 cycles per series ignored), refined by
       parabolic interpolation of the log power; its period is P0 samples. The fundamental is the smallest
       multiple ``m * P0`` (m = 1 .. ``max_harmonic``, so a dominant harmonic is recognised) whose recurrence
       error is at most ``recurrence_tol``; the recurrence error at P is
       ``RMS_t ||a(t + P) - a(t)|| / RMS_t ||a(t) - mean(a)||`` with ``a(t + P)`` from a cubic spline.
    4. ``"limit_cycle"``: such a fundamental P exists, the series spans at least 3 periods and
       ``peak_sharpness`` (power within +-3 bins of P's harmonics over total power) is at least
       ``sharpness_min``; ``period = P * dt``.
    5. ``"irregular"`` otherwise (chaos, quasi-periodicity, noise); ``period = P0 * dt``.

    The interpolated period is accurate to well under 1% for a 13.2-step cycle over a few thousand samples.

    Args:
        y: (T_total,) or (T_total, D) series sampled every ``dt``.
        dt: sampling step, in time units.
        transient: leading samples discarded.
        bound: absolute bound on ``|y|`` beyond which the run counts as diverged (``None``: no bound).
        fixed_point_tol: relative spread below which the run is a fixed point.
        sharpness_min: minimal harmonic power fraction of a limit cycle.
        recurrence_tol: maximal recurrence error of a limit cycle.
        max_harmonic: largest multiple of the dominant period tried as the fundamental.

    Returns:
        :class:`AttractorStatistics`; ``period`` in time units.
    """
    if not (dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt must be a positive finite number of time units, got {dt!r}")
    a = _as_2d(y, "y", finite=False)
    if isinstance(transient, bool) or not isinstance(transient, int | np.integer) or transient < 0:
        raise ValueError(f"transient must be a non-negative integer, got {transient!r}")
    if transient >= a.shape[0]:
        raise ValueError(f"transient ({transient}) leaves no samples of the {a.shape[0]} given")
    a = a[transient:]
    n = a.shape[0]
    nan = float("nan")
    with np.errstate(invalid="ignore", over="ignore"):
        mean, std = a.mean(axis=0), a.std(axis=0)
    if not np.all(np.isfinite(a)) or (bound is not None and float(np.max(np.abs(a))) > bound):
        return AttractorStatistics(mean, std, None, "diverged", nan, nan, n)
    if float(std.max()) <= fixed_point_tol * max(1.0, float(np.max(np.abs(mean)))):
        return AttractorStatistics(mean, std, None, "fixed_point", nan, nan, n)
    p0 = _dominant_period(a)
    if p0 is None:
        return AttractorStatistics(mean, std, None, "irregular", nan, nan, n)
    fundamental, rec = None, _recurrence_error(a, p0)
    first_rec = rec
    for m in range(1, max_harmonic + 1):
        rec_m = rec if m == 1 else _recurrence_error(a, m * p0)
        if rec_m <= recurrence_tol:
            fundamental, rec = m * p0, rec_m
            break
    if fundamental is not None and n >= 3 * fundamental:
        sharp = _harmonic_power_fraction(a, fundamental)
        if sharp >= sharpness_min:
            return AttractorStatistics(mean, std, fundamental * dt, "limit_cycle", sharp, rec, n)
    sharp = _harmonic_power_fraction(a, p0)
    return AttractorStatistics(mean, std, p0 * dt, "irregular", sharp, first_rec, n)
