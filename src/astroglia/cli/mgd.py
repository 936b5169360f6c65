"""``astroglia mgd ...``: train networks by Multiplexed Gradient Descent."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from astroglia.config import add_options, build_config, load_toml
from astroglia.errors import ConfigError
from astroglia.experiments.backprop_training import BackpropConfig
from astroglia.experiments.classification import run_classification
from astroglia.experiments.mgd_training import RunControl
from astroglia.experiments.presets import PRESETS, preset
from astroglia.experiments.setup import TaskConfig
from astroglia.mgd.config import MGDConfig
from astroglia.runs import dumps

TABLES: dict[str, type] = {
    "task": TaskConfig,
    "mgd": MGDConfig,
    "control": RunControl,
    "backprop": BackpropConfig,
}
EXCLUDED = {"mgd": ("seed",)}  # the run's seed (task.seed) seeds the perturbations too


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``mgd`` command group."""
    p = sub.add_parser("mgd", help="Multiplexed Gradient Descent: train a network without backpropagation")
    msub = p.add_subparsers(dest="mgd_command", metavar="SUBCOMMAND", required=True)
    t = msub.add_parser(
        "train",
        help="train a classifier by MGD beside backprop baselines",
        description="Train a classifier by MGD (digital mode), then backprop baselines on the same network, "
        "data and loss; write metrics, figures and report.html into --out. Values are taken from, in "
        "increasing priority: defaults, --preset, --config (TOML with tables [task], [mgd], [control], "
        "[backprop]), command-line options.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    t.add_argument("--preset", choices=tuple(PRESETS), default="paper-fmnist", help="ready configuration")
    t.add_argument("--config", metavar="TOML", help="TOML file with tables task, mgd, control, backprop")
    t.add_argument("--out", default="runs/mgd", help="run directory")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out exactly")
    t.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    for table, cls in TABLES.items():
        add_options(t, cls, group_title=f"{table} options", exclude=EXCLUDED.get(table, ()))
    t.set_defaults(func=cmd_train)


def configs_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Merge defaults < preset < TOML < options into validated config objects, one per table."""
    layers = preset(args.preset)
    if args.config:
        toml = load_toml(args.config)
        unknown = sorted(set(toml) - set(TABLES))
        if unknown:
            raise ConfigError(
                f"unknown table(s) {', '.join(unknown)} in {args.config}; valid: {', '.join(TABLES)}"
            )
        for table, values in toml.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{table} in {args.config} must be a table ([{table}])")
            layers.setdefault(table, {}).update(values)
    return {table: build_config(cls, toml=layers.get(table), args=args) for table, cls in TABLES.items()}


def cmd_train(args: argparse.Namespace) -> int:
    cfg = configs_from_args(args)
    if args.json:
        cfg["control"].progress = False
    summary, _ = run_classification(
        cfg["task"], cfg["mgd"], cfg["control"], cfg["backprop"], args.out, resume=args.resume
    )
    if args.json:
        print(dumps(summary, indent=2))
    else:
        print(
            f"MGD: test accuracy {100 * summary['test_accuracy']:.2f}% after {summary['steps']} steps, "
            f"{summary['evaluations']} evaluations, {summary['wall_s']:.1f} s ({summary['test_split']})",
            file=sys.stderr,
        )
        for b in summary["baselines"].values():
            print(f"{b['method']}: test accuracy {100 * b['test_accuracy']:.2f}%", file=sys.stderr)
        print(f"report: {args.out}/report.html", file=sys.stderr)
    return 0
