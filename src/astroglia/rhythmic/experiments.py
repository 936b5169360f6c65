"""The reference-task protocols of Rhythmic Sharing (specs/rhythmic_sharing.md section 6), as plain functions.

Each returns JSON-able numbers plus the arrays a report needs; the CLI, the benchmarks and the tests share
them. Data come from :mod:`astroglia.systems`, metrics from :mod:`astroglia.metrics`.

- :func:`train_on_task`: fit on the Thomas training series; R at the end of every segment, switch latencies,
  one-step NRMSE.
- :func:`recall_context`: sense a fresh series at ``b``, select phases automatically, run the closed loop,
  compare its attractor with the true one at ``b``.
- :func:`scan_context`: sense a series at ``b`` and scan frozen target phases; flag limit cycles whose period
  differs from the trained one (attractors never seen in training).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from astroglia.metrics.forecasting import AttractorStatistics, attractor_statistics, nrmse
from astroglia.rhythmic.estimator import ClosedLoopRun, RhythmicSharingReservoir, SenseResult
from astroglia.rhythmic.selection import ScanEntry, Selection, default_targets, scan, select_phase

__all__ = [
    "CHAOS_ONSET_B",
    "T_R0",
    "RecallResult",
    "ScanResult",
    "TrainResult",
    "recall_context",
    "scan_context",
    "train_on_task",
    "true_attractor",
]

#: Sensing length before the closed loop starts (t_R0 of the spec), in steps.
T_R0 = 650
#: Thomas' b below which the attractor is chaotic (spec section 6); used to label switch directions.
CHAOS_ONSET_B = 0.208
#: Relative period difference above which a scanned limit cycle counts as unseen in training.
UNSEEN_PERIOD_TOL = 0.10


@dataclass
class TrainResult:
    """Outcome of :func:`train_on_task`: the fitted model, the series, and ``summary`` (JSON-able)."""

    model: RhythmicSharingReservoir
    series: Any
    summary: dict[str, Any]


@dataclass
class RecallResult:
    """Outcome of :func:`recall_context`."""

    sensed: SenseResult
    selection: Selection
    run: ClosedLoopRun
    run_stats: AttractorStatistics
    truth: np.ndarray
    truth_stats: AttractorStatistics
    summary: dict[str, Any]


@dataclass
class ScanResult:
    """Outcome of :func:`scan_context`."""

    sensed: SenseResult
    entries: list[ScanEntry]
    trained_period: float
    summary: dict[str, Any]


def _latencies(sync: np.ndarray, series: Any) -> tuple[list[int | None], list[str]]:
    from astroglia.metrics.sensing import switch_latency

    idx = np.asarray(series.switch_indices, dtype=int)
    b = np.asarray(series.params["b"])
    directions = ["up" if b[i] < CHAOS_ONSET_B else "down" for i in idx]
    lat = switch_latency(sync, idx, directions, down_threshold=0.9, up_threshold=0.95)
    return [
        None if v is None or (isinstance(v, float) and not np.isfinite(v)) else int(v) for v in lat
    ], directions


def train_on_task(
    seed: int = 0, *, params: dict[str, Any] | None = None, progress: bool = False, evaluate: bool = True
) -> TrainResult:
    """Fit a reservoir on ``thomas_kang2025("train")`` and measure sensing and one-step accuracy.

    Summary keys: ``R_end_per_segment`` (R after the last sample of each segment), ``segment_context`` (true b
    per segment), ``segment_length``, ``switch_latency_steps`` (per switch: steps from the first sample under
    the new b until R crosses 0.9 downwards into the periodic context or 0.95 upwards into the chaotic one,
    ``None`` if never, :func:`astroglia.metrics.sensing.switch_latency`), ``switch_direction``,
    ``one_step_nrmse`` (per coordinate, RMSE / std of the truth, in-sample after the warm-up,
    :func:`astroglia.metrics.forecasting.nrmse`) and ``one_step_nrmse_test`` (the same on the first 5,000
    steps of the test series, from a fresh state).
    """
    from astroglia.systems import thomas_kang2025

    series = thomas_kang2025("train")
    model = RhythmicSharingReservoir(random_state=seed, **(params or {}))
    model.fit(series.values, progress=progress)
    if not evaluate:
        return TrainResult(model, series, {"task": "thomas-kang2025", "seed": seed})
    x = series.values
    sync = model.R_
    r_end = [float(sync[s.stop - 1]) for s in series.segments if s.stop > s.start]
    ctx = [float(s.params["b"]) for s in series.segments if s.stop > s.start]
    lengths = [int(s.stop - s.start) for s in series.segments if s.stop > s.start]
    lat, directions = _latencies(sync, series)
    w = int(model.warmup)
    pred = model.train_predictions_
    one_step = nrmse(x[w + 1 :], pred[w:-1])
    test = thomas_kang2025("test").values[:5000]
    pred_test = model.predict(test)
    one_step_test = nrmse(test[w + 1 :], pred_test[w:-1])
    summary = {
        "task": "thomas-kang2025",
        "seed": seed,
        "R_end_per_segment": r_end,
        "segment_context": ctx,
        "segment_length": lengths,
        "switch_latency_steps": lat,
        "switch_direction": directions,
        "one_step_nrmse": [float(v) for v in one_step],
        "one_step_nrmse_test": [float(v) for v in one_step_test],
        "n_links": model.network_.n_links,
    }
    return TrainResult(model, series, summary)


def true_attractor(
    b: float, n_samples: int = 8000, transient: int = 1000
) -> tuple[np.ndarray, AttractorStatistics]:
    """A long Thomas run at ``b`` (after ``transient`` samples) and its attractor statistics."""
    from astroglia.systems import thomas_series

    values = thomas_series(b, n_samples, transient=transient).values
    return values, attractor_statistics(values)


def _sense_fresh(model: RhythmicSharingReservoir, b: float, n_sense: int, warmup: int) -> SenseResult:
    from astroglia.systems import thomas_series

    data = thomas_series(b, n_sense).values  # x0 = (10, 10, 0), as the test series
    return model.sense(data, warmup=warmup)


def recall_context(
    model: RhythmicSharingReservoir,
    b: float,
    *,
    n_sense: int = T_R0,
    sense_warmup: int = 200,
    n_targets: int = 24,
    select_steps: int = 1500,
    n_run: int = 5000,
    transient: int = 1000,
    protocol: str = "direct",
    progress: bool = False,
) -> RecallResult:
    """Sense a fresh Thomas series at ``b`` for ``n_sense`` steps, select phases, run the closed loop.

    Selection: :func:`astroglia.rhythmic.selection.select_phase` over ``n_targets`` frozen targets plus the
    evolving-phase candidate. The selected setting is then run for ``n_run`` steps from the sensed state and
    its statistics after ``transient`` steps are compared with the true attractor at ``b``.

    Summary keys: ``selected_target`` (radians, ``None`` when the evolving phases won), ``selected_protocol``,
    ``regime`` and ``true_regime``, ``std_error`` (per coordinate, ``(std_run - std_true) / std_true``;
    ``None`` for a fixed-point truth), ``period_error`` (``(P_run - P_true) / P_true``, ``None`` unless both
    are limit cycles), ``diverged``, ``diverged_step``, ``period``, ``true_period``, ``sensed_R``,
    ``sensed_mean_phase``, ``selection_score``.
    """
    sensed = _sense_fresh(model, b, n_sense, sense_warmup)
    selection = select_phase(
        model,
        sensed,
        default_targets(n_targets),
        n_steps=select_steps,
        transient=min(transient, select_steps // 3),
        protocol=protocol,
        progress=progress,
    )
    best = selection.best
    if best.target is None:
        run = model.closed_loop(sensed, n_run, protocol="evolve", progress=progress)
    else:
        run = model.closed_loop(sensed, n_run, protocol=protocol, target=best.target, progress=progress)  # type: ignore[arg-type]
    if run.diverged or run.outputs.shape[0] <= transient + 8:
        nan = np.full(model.n_features_in_, np.nan)
        stats = AttractorStatistics(nan, nan, None, "diverged", float("nan"), float("nan"), 0)
    else:
        stats = attractor_statistics(run.outputs, transient=transient)
    truth, tstats = true_attractor(b)
    # relative to the true spread; undefined (None) when the truth is a fixed point, which has none
    spread = np.full_like(tstats.std, np.nan) if tstats.regime == "fixed_point" else tstats.std
    std_err = (stats.std - tstats.std) / spread
    period_err = None
    if stats.regime == "limit_cycle" and tstats.regime == "limit_cycle":
        period_err = float((stats.period - tstats.period) / tstats.period)
    summary = {
        "context": b,
        "selected_target": best.target,
        "selected_protocol": best.protocol,
        "selection_score": best.score,
        "regime": stats.regime,
        "true_regime": tstats.regime,
        "std_error": [None if not np.isfinite(v) else float(v) for v in std_err],
        "period_error": period_err,
        "period": stats.period,
        "true_period": tstats.period,
        "diverged": bool(run.diverged),
        "diverged_step": run.diverged_step,
        "sensed_R": float(sensed.sync[-1]),
        "sensed_mean_phase": float(sensed.mean_phase[-1]),
        "candidates": [e.as_dict() for e in selection.entries],
    }
    return RecallResult(sensed, selection, run, stats, truth, tstats, summary)


def scan_context(
    model: RhythmicSharingReservoir,
    b: float = 0.29,
    *,
    n_sense: int = T_R0,
    sense_warmup: int = 200,
    n_targets: int = 32,
    n_steps: int = 3000,
    transient: int = 1000,
    protocol: str = "direct",
    trained_period: float | None = None,
    progress: bool = False,
) -> ScanResult:
    """Sense ``n_sense`` steps of a series at ``b`` and scan ``n_targets`` frozen target phases.

    ``trained_period`` (default: the true period at b = 0.29, the trained limit cycle) is the reference for
    ``unseen_limit_cycles``: scanned limit cycles whose period differs from it by more than 10 %.
    """
    sensed = _sense_fresh(model, b, n_sense, sense_warmup)
    entries = scan(
        model,
        sensed,
        default_targets(n_targets),
        n_steps=n_steps,
        transient=transient,
        protocol=protocol,
        progress=progress,
    )
    if trained_period is None:
        trained_period = float(true_attractor(0.29)[1].period)
    unseen = [
        e.as_dict()
        for e in entries
        if e.stats.regime == "limit_cycle" and abs(e.stats.period / trained_period - 1) > UNSEEN_PERIOD_TOL
    ]
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.stats.regime] = counts.get(e.stats.regime, 0) + 1
    summary = {
        "context": b,
        "trained_period": trained_period,
        "regime_counts": counts,
        "unseen_limit_cycles": unseen,
        "n_unseen_limit_cycles": len(unseen),  # scan targets that gave one (periods may repeat)
        "unseen_periods": sorted({round(float(e["period"]), 2) for e in unseen}),  # the distinct periods
        "entries": [e.as_dict() for e in entries],
    }
    return ScanResult(sensed, entries, trained_period, summary)
