"""Figures of the MGD paper experiments: parity time to solution, angle vs integration, heatmaps, robustness,
hardware-time projection. Each function reads result records and writes one PNG, returning its path."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from astroglia.mgd.diagnostics import theory_cosine  # noqa: E402


def _save(fig: Any, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_parity(
    by_family: dict[str, dict[int, dict[str, Any]]], path: str | Path, *, timing: str = ""
) -> Path:
    """Median time to solution (steps, with quartiles) and projected hardware time against N, per family."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for family, per_n in by_family.items():
        ns = sorted(per_n)
        solved_ns = [n for n in ns if per_n[n]["median_steps"] is not None]
        med = [per_n[n]["median_steps"] for n in solved_ns]
        lo = [per_n[n]["median_steps"] - per_n[n]["steps_q25"] for n in solved_ns]
        hi = [per_n[n]["steps_q75"] - per_n[n]["median_steps"] for n in solved_ns]
        label = family + "".join(
            f" [N={n}: {per_n[n]['solved']}/{per_n[n]['seeds']}]"
            for n in ns
            if per_n[n]["solved"] < per_n[n]["seeds"]
        )
        axes[0].errorbar(solved_ns, med, yerr=[lo, hi], marker="o", capsize=3, label=label)
        hw = [per_n[n]["median_hardware_s"] for n in solved_ns]
        axes[1].plot(solved_ns, hw, marker="o", label=family)
    axes[0].set_ylabel("median steps to 100 % (quartiles)")
    axes[1].set_ylabel(f"projected hardware time (s), {timing}")
    all_n = sorted({n for per_n in by_family.values() for n in per_n})
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xticks(all_n)
        ax.set_xlabel("parity bits N")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("MGD on N-bit parity: time to solution per code family", fontsize=10)
    return _save(fig, path)


def plot_angle(curves: dict[str, dict[str, list[float]]], n_params: int, path: str | Path) -> Path:
    """Mean cosine (left) and angle in degrees (right) vs integrated perturbations N, with the theory."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    all_n = sorted({n for c in curves.values() for n in c["n"]})
    grid = np.logspace(0, math.log10(max(all_n)), 200)
    theory = np.array([theory_cosine(n, n_params) for n in grid])
    for family, c in curves.items():
        cos = np.clip(np.array(c["mean_cos"]), -1, 1)
        axes[0].plot(c["n"], cos, marker="o", markersize=3, label=family)
        axes[1].plot(c["n"], np.degrees(np.arccos(cos)), marker="o", markersize=3, label=family)
    axes[0].plot(grid, theory, "k--", label="theory (random): 1/sqrt(1+(P-1)/N)")
    axes[1].plot(grid, np.degrees(np.arccos(theory)), "k--", label="theory (random)")
    axes[0].set_ylabel("mean cos(G_int, grad C)")
    axes[1].set_ylabel("angle (degrees)")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(f"perturbations integrated N (P = {n_params})")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path)


def plot_heatmap(grid: dict[str, Any], axis: str, path: str | Path, *, seeds: int) -> Path:
    """log10 of the median steps to solution over (``axis``, tau_theta); cells annotated solved/seeds."""
    values, tts = grid["values"], grid["tau_theta"]
    med = np.array(
        [[np.nan if v is None else math.log10(v) for v in row] for row in grid["median_steps"]], dtype=float
    )
    fig, ax = plt.subplots(figsize=(6.2, 5))
    cmap = plt.get_cmap("viridis_r").with_extremes(bad="#dddddd")
    im = ax.imshow(np.ma.masked_invalid(med), origin="lower", cmap=cmap, aspect="auto")
    ax.set_xticks(range(len(values)), [str(v) for v in values])
    ax.set_yticks(range(len(tts)), [str(v) for v in tts])
    ax.set_xlabel(f"{axis} (steps)")
    ax.set_ylabel("tau_theta (steps)")
    for i in range(len(tts)):
        for j in range(len(values)):
            ax.text(j, i, f"{grid['solved'][i][j]}/{seeds}", ha="center", va="center", fontsize=7, color="w")
    fig.colorbar(im, ax=ax, label="log10 median steps to solution")
    ax.set_title(f"time to solution over ({axis}, tau_theta); grey: unsolved", fontsize=9)
    return _save(fig, path)


def plot_robustness(curves: dict[str, list[dict[str, Any]]], path: str | Path) -> Path:
    """Per non-ideality: solved fraction and mean final accuracy (left axis), median steps (right axis)."""
    names = list(curves)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        rows = curves[name]
        labels = [
            str(r["magnitude"]) if not (name == "quant_bits" and r["magnitude"] == 0) else "cont."
            for r in rows
        ]
        xs = np.arange(len(rows))
        ax.plot(xs, [r["solved"] / r["seeds"] for r in rows], "o-", label="solved fraction")
        ax.plot(xs, [r["mean_accuracy"] for r in rows], "s--", label="mean final accuracy")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xticks(xs, labels, fontsize=7)
        ax.set_xlabel(name)
        ax.grid(True, alpha=0.3)
        ax2 = ax.twinx()
        med = [r["median_steps"] if r["median_steps"] is not None else np.nan for r in rows]
        ax2.plot(xs, med, "^:", color="tab:red", label="median steps")
        ax2.set_yscale("log")
        ax2.set_ylabel("median steps to solution", color="tab:red", fontsize=8)
        if name == names[0]:
            ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("MGD on parity with one hardware non-ideality at a time", fontsize=10)
    return _save(fig, path)


def plot_hardware_time(rows: list[dict[str, Any]], path: str | Path, *, target: float) -> Path:
    """Horizontal log-scale bars: measured and projected seconds to the target accuracy."""
    shown = [r for r in rows if r["seconds"] is not None and r["seconds"] > 0]
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(shown) + 1.5))
    colours = ["tab:blue" if r["kind"] == "measured" else "tab:orange" for r in shown]
    ax.barh(range(len(shown)), [r["seconds"] for r in shown], color=colours)
    ax.set_yticks(range(len(shown)), [r["method"] for r in shown], fontsize=8)
    for i, r in enumerate(shown):
        ax.text(r["seconds"], i, f" {r['seconds']:.3g} s", va="center", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel(f"seconds to test accuracy {target:.3f} (blue: measured here; orange: projected)")
    ax.invert_yaxis()
    ax.grid(True, axis="x", alpha=0.3)
    return _save(fig, path)
