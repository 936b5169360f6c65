"""``astroglia demo``: the main job, MGD against backprop on Fashion-MNIST, then Rhythmic Sharing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from astroglia.config import build_config
from astroglia.experiments.backprop_training import BackpropConfig
from astroglia.experiments.classification import run_classification
from astroglia.experiments.mgd_training import RunControl
from astroglia.experiments.presets import preset
from astroglia.experiments.setup import TaskConfig
from astroglia.mgd.config import MGDConfig


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` command."""
    p = sub.add_parser(
        "demo",
        help="run the main demonstration (a few minutes on a laptop CPU)",
        description="Train a small network on real Fashion-MNIST by MGD beside backprop (SGD and Adam), "
        "write metrics, figures and an HTML report.",
    )
    p.add_argument("--out", default="runs/demo", help="run directory")
    p.add_argument("--seed", type=int, default=0, help="seed")
    p.add_argument("--mgd-seconds", type=float, default=150.0, help="MGD training time budget (s)")
    p.add_argument("--skip-rhythmic", action="store_true", help="MGD part only")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    layers = preset("demo")
    layers["task"]["seed"] = args.seed
    layers["control"]["time_budget_s"] = args.mgd_seconds
    task = build_config(TaskConfig, toml=layers["task"])
    mgd = build_config(MGDConfig, toml=layers["mgd"])
    control = build_config(RunControl, toml=layers["control"])
    bp = build_config(BackpropConfig, toml=layers["backprop"])
    out = Path(args.out)
    summary = run_classification(task, mgd, control, bp, out / "mgd")
    print(
        f"MGD: {100 * summary['test_accuracy']:.2f}% test accuracy ({summary['test_split']}) after "
        f"{summary['steps']} steps in {summary['wall_s']:.0f} s",
        file=sys.stderr,
    )
    for b in summary["baselines"].values():
        print(f"{b['method']}: {100 * b['test_accuracy']:.2f}%", file=sys.stderr)
    print(f"report: {out / 'mgd' / 'report.html'}", file=sys.stderr)
    return 0
