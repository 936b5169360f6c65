"""Figures of Rhythmic Sharing runs: synchrony and mean phase, closed-loop runs against truth, phase scans.

Every function takes plain arrays or JSON-able records (no model objects) and writes one PNG, returning its
path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plot_closed_loop", "plot_scan", "plot_sync"]

_REGIME_COLOURS = {
    "limit_cycle": "tab:blue",
    "irregular": "tab:red",
    "fixed_point": "tab:green",
    "diverged": "black",
}


def plot_sync(
    sync: np.ndarray,
    mean_phase: np.ndarray,
    path: str | Path,
    *,
    switch_indices: Sequence[int] = (),
    context: np.ndarray | None = None,
    thresholds: Sequence[float] = (0.9, 0.95),
    title: str = "",
) -> Path:
    """R(t) and <Phi>(t) (radians) against the time step, switch times as dashed lines.

    Args:
        sync: (T,) synchrony R.
        mean_phase: (T,) mean phase.
        path: PNG path.
        switch_indices: first sample index after each switch.
        context: optional (T,) true parameter per sample, drawn as a step line on a twin axis.
        thresholds: horizontal guides on the R panel (detection thresholds).
        title: figure title.
    """
    t = np.arange(sync.shape[0])
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True)
    ax1.plot(t, sync, lw=0.8, color="tab:purple", label="R(t)")
    for th in thresholds:
        ax1.axhline(th, color="grey", lw=0.6, ls=":")
    ax1.set_ylabel("synchrony R")
    ax1.set_ylim(-0.02, 1.05)
    if context is not None:
        twin = ax1.twinx()
        twin.step(t, context, where="post", color="tab:orange", lw=0.8, alpha=0.7)
        twin.set_ylabel("true context (b)", color="tab:orange")
    ax2.plot(t, mean_phase, lw=0.6, color="tab:blue")
    ax2.set_ylabel("mean phase <Phi> (rad)")
    ax2.set_xlabel("time step")
    for ax in (ax1, ax2):
        for s in switch_indices:
            ax.axvline(s, color="k", lw=0.6, ls="--", alpha=0.6)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_closed_loop(
    run: np.ndarray,
    truth: np.ndarray,
    path: str | Path,
    *,
    transient: int = 0,
    n_show: int = 300,
    labels: Sequence[str] = ("x", "y", "z"),
    title: str = "",
) -> Path:
    """Closed-loop series and phase portraits (first two coordinates) against a true run.

    Args:
        run: (T, D) closed-loop outputs.
        truth: (T', D) true trajectory on the attractor.
        path: PNG path.
        transient: leading closed-loop steps left out of the portrait.
        n_show: steps shown in the time-series panel.
        labels: coordinate names.
        title: figure title.
    """
    fig = plt.figure(figsize=(12, 4.2))
    ax1 = fig.add_subplot(1, 3, (1, 2))
    k = min(n_show, run.shape[0])
    ax1.plot(np.arange(k), run[:k, 0], color="tab:red", lw=1, label=f"closed loop {labels[0]}")
    kt = min(n_show, truth.shape[0])
    ax1.plot(np.arange(kt), truth[:kt, 0], color="k", lw=0.8, alpha=0.6, label=f"true attractor {labels[0]}")
    ax1.set_xlabel("closed-loop step")
    ax1.set_ylabel(labels[0])
    ax1.legend(loc="upper right", fontsize=8)
    ax2 = fig.add_subplot(1, 3, 3)
    tail = run[transient:] if run.shape[0] > transient else run
    ax2.plot(truth[:, 0], truth[:, 1], color="k", lw=0.3, alpha=0.5, label="truth")
    ax2.plot(tail[:, 0], tail[:, 1], color="tab:red", lw=0.4, label="closed loop")
    ax2.set_xlabel(labels[0])
    ax2.set_ylabel(labels[1])
    ax2.legend(loc="upper right", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_scan(
    entries: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    reference_std: Sequence[float] | None = None,
    reference_period: float | None = None,
    selected: float | None = None,
    title: str = "",
) -> Path:
    """Scan map: per target <Phi>, the regime (colour), the mean standard deviation and the period.

    Args:
        entries: records with ``target`` (radians or None for the evolving candidate, drawn at the left edge),
            ``regime``, ``std`` (list) and ``period``.
        path: PNG path.
        reference_std: true per-coordinate std to draw as a guide (its mean).
        reference_period: trained period to draw as a guide (with a +-10 % band).
        selected: the selected target, marked.
        title: figure title.
    """
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    xs = [e["target"] for e in entries if e["target"] is not None]
    left = (min(xs) if xs else -np.pi) - 0.4
    for e in entries:
        x = left if e["target"] is None else e["target"]
        c = _REGIME_COLOURS.get(e["regime"], "grey")
        std = np.nanmean(np.asarray(e["std"], dtype=float)) if e["std"] is not None else np.nan
        marker = "s" if e["target"] is None else "o"
        ax1.scatter([x], [std], color=c, marker=marker, s=28)
        if e.get("period") is not None and e["regime"] != "diverged":
            ax2.scatter([x], [e["period"]], color=c, marker=marker, s=28)
    if reference_std is not None:
        ax1.axhline(float(np.mean(reference_std)), color="k", ls="--", lw=0.8, label="true std")
    if reference_period is not None:
        ax2.axhspan(
            0.9 * reference_period, 1.1 * reference_period, color="grey", alpha=0.2, label="trained +-10%"
        )
    if selected is not None:
        for ax in (ax1, ax2):
            ax.axvline(selected, color="tab:orange", lw=1, label="selected")
    for regime, c in _REGIME_COLOURS.items():
        ax1.scatter([], [], color=c, label=regime)
    ax1.set_xlabel("target <Phi> (rad); square = evolving phases")
    ax1.set_ylabel("closed-loop std (mean over coordinates)")
    ax2.set_xlabel("target <Phi> (rad)")
    ax2.set_ylabel("period (steps)")
    ax2.set_yscale("log")
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p
