"""``astroglia mgd ...``: train networks by Multiplexed Gradient Descent."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from astroglia.config import add_options, build_config, from_dict, load_toml
from astroglia.errors import ConfigError
from astroglia.experiments.backprop_training import BackpropConfig
from astroglia.experiments.classification import run_classification
from astroglia.experiments.mgd_training import CHECKPOINT, RunControl
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


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``mgd`` command group."""
    p = sub.add_parser("mgd", help="Multiplexed Gradient Descent: train a network without backpropagation")
    msub = p.add_subparsers(dest="mgd_command", metavar="SUBCOMMAND", required=True)
    t = msub.add_parser(
        "train",
        help="train a classifier by MGD beside backprop baselines",
        description="Train a classifier by MGD, then backprop baselines on the same network, data and loss; "
        "write metrics, figures and report.html into --out. Values are taken from, in increasing priority: "
        "the defaults listed below, --preset, --config (TOML with tables [task], [mgd], [control], "
        "[backprop]), command-line options. With --resume the run's saved configuration is used and only "
        "--steps and --time-budget-s may change.",
        epilog=_presets_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default="paper-fmnist",
        help="ready configuration (default: paper-fmnist; its values are listed at the end)",
    )
    t.add_argument("--config", metavar="TOML", help="TOML file with tables task, mgd, control, backprop")
    t.add_argument("--out", default="runs/mgd", help="run directory")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out exactly")
    t.add_argument(
        "--overwrite", action="store_true", help="replace a run already in --out (refused without it)"
    )
    t.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    for table, cls in TABLES.items():
        add_options(t, cls, group_title=f"{table} options", exclude=EXCLUDED.get(table, ()))
    t.set_defaults(func=cmd_train)
    _register_parity(msub)
    _register_angle(msub)
    _register_sweep(msub)
    _register_robustness(msub)
    _register_hardware_time(msub)


def _presets_text() -> str:
    lines = ["presets (values that override the defaults above):"]
    for name, tables in PRESETS.items():
        values = ", ".join(f"{k}={v}" for table in tables.values() for k, v in table.items())
        lines.append(f"  {name}: {values}")
    lines.append(
        "The paper-fmnist preset runs 20,000 steps of the 14,378-parameter CNN: hours on a CPU "
        "(about 0.3 s per step on two cores); add --time-budget-s to bound it."
    )
    return "\n".join(lines)


RESUMABLE = ("steps", "time_budget_s", "progress")


def configs_for_resume(args: argparse.Namespace) -> dict[str, Any]:
    """The saved configuration of the run in ``args.out``; only steps and the time budget may change.

    Raises ConfigError when there is no run there, or when an option given now differs from the saved one.
    """
    out = Path(args.out)
    record = out / "config.json"
    if not record.exists() or not (out / CHECKPOINT).exists():
        raise ConfigError(f"--resume: there is no checkpointed run in {out} (config.json and {CHECKPOINT})")
    saved = json.loads(record.read_text())["config"]
    layers = {table: dict(saved[table]) for table in TABLES}
    for table, cls in TABLES.items():
        for f in dataclasses.fields(cls):
            given = getattr(args, f.name, None)
            if given is None or table in EXCLUDED and f.name in EXCLUDED[table]:
                continue
            if f.name in RESUMABLE:
                layers["control"][f.name] = given
            elif given != layers[table].get(f.name):
                raise ConfigError(
                    f"--resume continues the run in {out} with its saved configuration, but {f.name} = "
                    f"{given!r} differs from the saved {layers[table].get(f.name)!r}; only --steps and "
                    "--time-budget-s may change"
                )
    return {table: from_dict(cls, layers[table], where=str(record)) for table, cls in TABLES.items()}


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
    source = f" of {args.config}" if args.config else ""
    return {
        table: build_config(cls, toml=layers.get(table), args=args, where=f"[{table}]{source}")
        for table, cls in TABLES.items()
    }


def check_out_is_free(args: argparse.Namespace) -> None:
    """Raise ConfigError when ``args.out`` holds a run and neither --resume nor --overwrite was given."""
    out = Path(args.out)
    if args.resume and args.overwrite:
        raise ConfigError("--resume and --overwrite exclude each other: continue the run, or replace it")
    if args.resume or args.overwrite:
        return
    held = [name for name in ("config.json", "summary.json", CHECKPOINT) if (out / name).exists()]
    if held:
        raise ConfigError(
            f"{out} holds a run already ({', '.join(held)}); --resume continues it, --overwrite replaces it, "
            "or choose another --out"
        )


def cmd_train(args: argparse.Namespace) -> int:
    check_out_is_free(args)
    cfg = configs_for_resume(args) if args.resume else configs_from_args(args)
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


# -- the paper's small experiments (astroglia.experiments.mgd_paper) -----------------------------------------

_EXPERIMENT_HELP = (
    "Points are cached in OUT/points (one JSON per point, keyed by its configuration), so an interrupted run "
    "resumes and a finished one only redraws its figures. Writes OUT/summary.json, OUT/figures/*.png and "
    "OUT/report.html."
)


def _common_options(p: argparse.ArgumentParser, default_out: str) -> None:
    p.add_argument("--out", default=default_out, help=f"run directory (default: {default_out})")
    p.add_argument(
        "--workers", type=_positive_int, default=None, help="worker processes (default: all cores)"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")


def _finish(args: argparse.Namespace, summary: dict[str, Any], line: str) -> int:
    if args.json:
        print(dumps(summary, indent=2))
    else:
        print(line, file=sys.stderr)
        print(f"report: {args.out}/report.html", file=sys.stderr)
    return 0


def _register_parity(msub: argparse._SubParsersAction) -> None:
    from astroglia.experiments.mgd_paper import ParityExperimentConfig, ParityTrainingConfig

    p = msub.add_parser(
        "parity",
        help="N-bit parity per perturbation family: time to solution",
        description="Train N-h-1 logistic MLPs on N-bit parity by MGD for every code family and seed; report "
        "the solved count and the time to solution (steps, evaluations, seconds, projected hardware time). "
        + _EXPERIMENT_HELP,
    )
    _common_options(p, "runs/mgd-parity")
    add_options(p, ParityExperimentConfig, group_title="experiment options")
    add_options(p, ParityTrainingConfig, group_title="training options")
    p.set_defaults(func=cmd_parity)


def cmd_parity(args: argparse.Namespace) -> int:
    from astroglia.experiments.mgd_paper import ParityExperimentConfig, ParityTrainingConfig, run_parity

    exp = build_config(ParityExperimentConfig, args=args)
    train = build_config(ParityTrainingConfig, args=args)
    summary = run_parity(exp, train, args.out, workers=args.workers, progress=not args.json)
    solved = sum(r["solved"] for r in summary["table"])
    total = sum(r["seeds"] for r in summary["table"])
    return _finish(args, summary, f"parity: {solved}/{total} runs solved")


def _register_angle(msub: argparse._SubParsersAction) -> None:
    from astroglia.experiments.mgd_paper import AngleConfig

    p = msub.add_parser(
        "angle",
        help="angle between the MGD estimate and the true gradient vs integration time",
        description="Integrate N perturbations of every code family on a linear cost with P parameters and "
        "compare the cosine to the true gradient with the random-code theory 1/sqrt(1 + (P-1)/N). "
        + _EXPERIMENT_HELP,
    )
    _common_options(p, "runs/mgd-angle")
    add_options(p, AngleConfig, group_title="experiment options")
    p.set_defaults(func=cmd_angle)


def cmd_angle(args: argparse.Namespace) -> int:
    from astroglia.experiments.mgd_paper import AngleConfig, run_angle

    cfg = build_config(AngleConfig, args=args)
    summary = run_angle(cfg, args.out, workers=args.workers, progress=not args.json)
    err = summary["random_max_rel_error_N_ge_10"]
    line = (
        f"angle: random codes within {100 * err:.1f}% of theory for N >= 10" if err is not None else "angle"
    )
    return _finish(args, summary, line)


SWEEP_TRAINING_DEFAULTS = {"batch_size": 1, "max_steps": 50000}
ROBUSTNESS_TRAINING_DEFAULTS = {"max_steps": 50000}


def _register_sweep(msub: argparse._SubParsersAction) -> None:
    from astroglia.experiments.mgd_paper import ParityTrainingConfig, SweepConfig

    p = msub.add_parser(
        "sweep",
        help="time-to-solution heatmaps over (tau_x, tau_theta) and (tau_p, tau_theta) on parity",
        description="Median time to solution of N-bit parity over grids of time constants, inputs presented "
        "one pattern at a time by default. " + _EXPERIMENT_HELP,
    )
    _common_options(p, "runs/mgd-sweep")
    add_options(p, SweepConfig, group_title="sweep options")
    add_options(
        p,
        ParityTrainingConfig,
        group_title="training options",
        exclude=("tau_x", "tau_p", "tau_theta", "mode"),
        shown_defaults=SWEEP_TRAINING_DEFAULTS,
    )
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    from astroglia.experiments.mgd_paper import ParityTrainingConfig, SweepConfig, run_sweep

    sweep = build_config(SweepConfig, args=args)
    train = build_config(ParityTrainingConfig, toml=SWEEP_TRAINING_DEFAULTS, args=args)
    summary = run_sweep(sweep, train, args.out, workers=args.workers, progress=not args.json)
    return _finish(args, summary, f"sweep: {len(summary['table'])} cells")


def _register_robustness(msub: argparse._SubParsersAction) -> None:
    from astroglia.experiments.mgd_paper import ParityTrainingConfig, RobustnessConfig

    p = msub.add_parser(
        "robustness",
        help="parity under cost noise, update noise, device variation and quantisation",
        description="Train N-bit parity with one hardware non-ideality at a time; report the solved "
        "fraction, median time to solution and final accuracy per magnitude. " + _EXPERIMENT_HELP,
    )
    _common_options(p, "runs/mgd-robustness")
    add_options(p, RobustnessConfig, group_title="robustness options")
    add_options(
        p, ParityTrainingConfig, group_title="training options", shown_defaults=ROBUSTNESS_TRAINING_DEFAULTS
    )
    p.set_defaults(func=cmd_robustness)


def cmd_robustness(args: argparse.Namespace) -> int:
    from astroglia.experiments.mgd_paper import ParityTrainingConfig, RobustnessConfig, run_robustness

    rob = build_config(RobustnessConfig, args=args)
    train = build_config(ParityTrainingConfig, toml=ROBUSTNESS_TRAINING_DEFAULTS, args=args)
    summary = run_robustness(rob, train, args.out, workers=args.workers, progress=not args.json)
    return _finish(args, summary, f"robustness: {len(summary['table'])} magnitudes")


def _register_hardware_time(msub: argparse._SubParsersAction) -> None:
    from astroglia.mgd.hardware_time import PRESETS as TIMING_PRESETS

    p = msub.add_parser(
        "hardware-time",
        help="projected hardware time of an MGD training run vs measured backprop time",
        description="Read a run directory of `astroglia mgd train`, project the MGD run's time to a target "
        "test accuracy on hardware timing presets (assumptions, see astroglia.mgd.hardware_time) and compare "
        "it with the measured MGD and backprop training times on this machine. Writes OUT/summary.json, "
        "OUT/figures/hardware_time.png and OUT/report.html.",
    )
    p.add_argument("--run", required=True, help="run directory written by `astroglia mgd train --out DIR`")
    p.add_argument(
        "--out", default="runs/mgd-hardware-time", help="run directory of this report (default: %(default)s)"
    )
    p.add_argument("--target", type=float, default=None, help="test accuracy (default: the run's final one)")
    p.add_argument(
        "--presets",
        default=",".join(TIMING_PRESETS),
        help=f"timing presets, comma-separated, from {', '.join(TIMING_PRESETS)} (default: all)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(func=cmd_hardware_time)


def cmd_hardware_time(args: argparse.Namespace) -> int:
    from astroglia.experiments.mgd_paper import run_hardware_time
    from astroglia.mgd.hardware_time import PRESETS as TIMING_PRESETS

    presets = [v.strip() for v in args.presets.split(",") if v.strip()]
    unknown = [v for v in presets if v not in TIMING_PRESETS]
    if unknown:
        raise ConfigError(f"presets = {unknown}: unknown; available: {', '.join(TIMING_PRESETS)}")
    summary = run_hardware_time(args.run, args.out, target=args.target, presets=presets)
    lines = [f"{r['method']}: {r['seconds']:.3g} s" for r in summary["rows"] if r["seconds"] is not None]
    return _finish(args, summary, "\n".join(lines))
