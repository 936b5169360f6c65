"""Figures of classification training runs: test accuracy against samples, wall time and evaluations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_AXES = {
    "samples": ("training samples seen", "log"),
    "wall_s": ("training wall time (s)", "linear"),
    "evaluations": ("cost evaluations / passes", "log"),
}


def plot_accuracy_curves(
    curves: Mapping[str, Sequence[Mapping[str, Any]]],
    path: str | Path,
    *,
    x_keys: Sequence[str] = ("samples", "wall_s"),
    title: str = "",
    test_split: str = "",
) -> Path:
    """One panel per ``x_keys`` entry with test accuracy (%) of every curve (label -> log points) against it.

    Points with x = 0 are dropped on logarithmic axes. Returns the written PNG path.
    """
    fig, axes = plt.subplots(1, len(x_keys), figsize=(5.5 * len(x_keys), 4.2), squeeze=False)
    for ax, key in zip(axes[0], x_keys, strict=True):
        label_x, scale = _AXES.get(key, (key, "linear"))
        for label, records in curves.items():
            pts = [
                (r[key], 100 * r["test_accuracy"])
                for r in records
                if r.get(key) is not None
                and r.get("test_accuracy") is not None
                and (scale != "log" or r[key] > 0)
            ]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, marker="o", markersize=2.5, linewidth=1.4, label=label)
        ax.set_xscale(scale)
        ax.set_xlabel(label_x)
        ax.set_ylabel("test accuracy (%)")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no finite log points", ha="center", va="center", transform=ax.transAxes)
    if title or test_split:
        fig.suptitle(f"{title}\n{test_split}" if test_split else title, fontsize=10)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
