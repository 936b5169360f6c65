"""Phase scans and automatic phase selection for recall and extrapolation (spec section 5).

Which frozen mean phase reproduces which context is a property of the trained network, so it is found by
running the closed loop:

- :func:`scan`: for each target <Phi>, a closed-loop run from the same sensed state (phases rotated to the
  target and frozen), summarised by :func:`astroglia.metrics.forecasting.attractor_statistics` (mean, std,
  period, regime). This maps targets to attractors, including ones never seen in training.
- :func:`select_phase`: the same runs, each scored against the sensed window (the teacher-forced data after
  the sensing warm-up); the candidate with the lowest score wins. The score is

  ``score = H(spectrum of window, spectrum of run) + mean_d |log(std_run,d / std_window,d)|``

  with ``H`` the Hellinger distance of normalised power spectra
  (:func:`astroglia.metrics.forecasting.spectrum_distance`, in [0, 1]) and the second term the mean absolute
  log-ratio of the per-coordinate standard deviations (0 for equal spreads, 0.69 for a factor of 2). A run
  that diverges or settles on a fixed point while the window moves scores ``inf``. Besides the frozen
  targets, the candidates include ``"evolve"``: the phases keep following equation (5) in closed loop. In a
  context that synchronises the links (R close to 1) the phases drift together at about ``omega0`` and no
  single frozen value carries the context; the evolving candidate lets the score pick that case too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from astroglia.metrics.forecasting import AttractorStatistics, attractor_statistics, spectrum_distance

if TYPE_CHECKING:
    from astroglia.rhythmic.estimator import ClosedLoopRun, RhythmicSharingReservoir, SenseResult
    from astroglia.rhythmic.kernel import State

__all__ = ["ScanEntry", "Selection", "default_targets", "scan", "select_phase", "selection_score"]


@dataclass
class ScanEntry:
    """One closed-loop run of a scan.

    Attributes:
        target: frozen target <Phi> in radians, or ``None`` for the ``"evolve"`` candidate.
        protocol: the closed-loop phase protocol used.
        stats: attractor statistics after the transient (``regime == "diverged"`` when the run diverged).
        diverged: whether the run left the divergence box.
        diverged_step: the step at which it did, or ``None``.
        score: selection score (lower is better); ``None`` in a plain scan.
    """

    target: float | None
    protocol: str
    stats: AttractorStatistics
    diverged: bool
    diverged_step: int | None
    score: float | None = None

    @property
    def label(self) -> str:
        """``"evolve"`` or the target formatted in radians."""
        return "evolve" if self.target is None else f"{self.target:+.3f}"

    def as_dict(self) -> dict:
        """JSON-able summary."""
        s = self.stats
        return {
            "target": self.target,
            "protocol": self.protocol,
            "regime": s.regime,
            "period": s.period,
            "std": s.std.tolist(),
            "mean": s.mean.tolist(),
            "diverged": self.diverged,
            "diverged_step": self.diverged_step,
            "score": self.score,
        }


@dataclass
class Selection:
    """Result of :func:`select_phase`.

    Attributes:
        best: the winning entry (its ``target`` is ``None`` when ``"evolve"`` won).
        entries: all candidates, in the order tried.
        window_stats: attractor statistics of the sensed window.
    """

    best: ScanEntry
    entries: list[ScanEntry] = field(default_factory=list)
    window_stats: AttractorStatistics | None = None


def default_targets(n: int = 24) -> np.ndarray:
    """``n`` equally spaced target phases on [-pi, pi), radians."""
    return -np.pi + 2.0 * np.pi * np.arange(n) / n


def _stats(run: ClosedLoopRun, transient: int) -> AttractorStatistics:
    if run.diverged or run.outputs.shape[0] <= transient + 8:
        d = run.box.shape[1]
        nan = float("nan")
        return AttractorStatistics(np.full(d, nan), np.full(d, nan), None, "diverged", nan, nan, 0)
    return attractor_statistics(run.outputs, transient=transient)


def _run(
    model: RhythmicSharingReservoir,
    start: SenseResult | State,
    target: float | None,
    protocol: str,
    n_steps: int,
) -> ClosedLoopRun:
    if target is None:
        return model.closed_loop(start, n_steps, protocol="evolve")
    return model.closed_loop(start, n_steps, protocol=protocol, target=float(target))  # type: ignore[arg-type]


def scan(
    model: RhythmicSharingReservoir,
    start: SenseResult | State,
    targets: np.ndarray | list[float] | None = None,
    *,
    n_steps: int = 3000,
    transient: int = 1000,
    protocol: str = "direct",
    progress: bool = False,
) -> list[ScanEntry]:
    """Closed-loop attractor statistics for each target <Phi> (radians), all from the same ``start``.

    Args:
        model: a fitted reservoir.
        start: a sensing result or a state (the phases are rotated from it, so its R is kept).
        targets: target mean phases; default :func:`default_targets` (24 values).
        n_steps: closed-loop steps per target.
        transient: leading steps excluded from the statistics.
        protocol: ``"direct"`` (rotate at once, then freeze) or ``"rotate"`` (rigid rotation by ``omega0`` per
            step until the target, then freeze).
        progress: show a progress bar over targets.

    Returns:
        One :class:`ScanEntry` per target.
    """
    if transient >= n_steps:
        raise ValueError(f"transient ({transient}) must be smaller than n_steps ({n_steps})")
    tg = default_targets() if targets is None else np.asarray(targets, dtype=float)
    entries = []
    for target in tqdm(tg, desc="phase scan", unit="target", leave=False, disable=not progress):
        run = _run(model, start, float(target), protocol, n_steps)
        entries.append(
            ScanEntry(float(target), protocol, _stats(run, transient), run.diverged, run.diverged_step)
        )
    return entries


def selection_score(
    window: np.ndarray, window_std: np.ndarray, run: np.ndarray, stats: AttractorStatistics
) -> float:
    """Score of a closed-loop ``run`` (T, D) against the sensed ``window`` (T_w, D); see the module text."""
    if stats.regime == "diverged":
        return float("inf")
    if stats.regime == "fixed_point" and float(window_std.max()) > 1e-6:
        return float("inf")
    h = spectrum_distance(window, run, nperseg=min(256, window.shape[0], run.shape[0]))
    ratio = np.maximum(stats.std, 1e-12) / np.maximum(window_std, 1e-12)
    return float(h + np.mean(np.abs(np.log(ratio))))


def select_phase(
    model: RhythmicSharingReservoir,
    sensed: SenseResult,
    targets: np.ndarray | list[float] | None = None,
    *,
    n_steps: int = 1500,
    transient: int = 500,
    protocol: str = "direct",
    include_evolve: bool = True,
    progress: bool = False,
) -> Selection:
    """Choose the closed-loop phase setting whose run best matches the sensed window.

    Args:
        model: a fitted reservoir.
        sensed: the result of :meth:`~astroglia.rhythmic.estimator.RhythmicSharingReservoir.sense`; the
            window is ``sensed.inputs[sensed.warmup:]`` and the runs start from ``sensed.state``.
        targets: candidate target phases (radians); default :func:`default_targets` (24 values).
        n_steps, transient: length of each candidate run and the part excluded from its statistics.
        protocol: phase protocol of the frozen candidates (``"direct"`` or ``"rotate"``).
        include_evolve: also try the evolving-phase candidate (target ``None``).
        progress: show a progress bar.

    Returns:
        A :class:`Selection`; ties go to the earlier candidate.
    """
    window = np.asarray(sensed.inputs[sensed.warmup :], dtype=float)
    if window.shape[0] < 16:
        raise ValueError(
            f"the sensed window after the warm-up has {window.shape[0]} samples; sense a longer series "
            "(>= 16 samples after the warm-up, a few hundred recommended)"
        )
    window_stats = attractor_statistics(window)
    tg = [float(t) for t in (default_targets() if targets is None else np.asarray(targets, dtype=float))]
    candidates: list[float | None] = ([None] if include_evolve else []) + tg
    entries = []
    for target in tqdm(candidates, desc="phase selection", unit="run", leave=False, disable=not progress):
        run = _run(model, sensed, target, protocol, n_steps)
        stats = _stats(run, transient)
        score = selection_score(window, window_stats.std, run.outputs[transient:], stats)
        proto = "evolve" if target is None else protocol
        entries.append(ScanEntry(target, proto, stats, run.diverged, run.diverged_step, score))
    best = min(entries, key=lambda e: e.score if e.score is not None else float("inf"))
    return Selection(best, entries, window_stats)
