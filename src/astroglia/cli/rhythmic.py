"""``astroglia rhythmic ...``: train, sense, recall, scan and demo on the Rhythmic Sharing reference task.

Each sub-command composes configuration -> library call (:mod:`astroglia.rhythmic.experiments`) -> run
directory (``config.json``, ``summary.json``, ``figures/``, ``report.html``); ``--json`` prints the summary.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from astroglia.config import add_options, build_config, check, load_toml, to_dict
from astroglia.errors import ConfigError
from astroglia.report import Section, write_html_report
from astroglia.runs import RunDir, dumps

TASKS = ("thomas-kang2025",)


def _opt(default: Any, text: str, **extra: Any) -> Any:
    return field(default=default, metadata={"help": text, **extra})


@dataclass
class ReservoirOptions:
    """Hyperparameters of the Rhythmic Sharing reservoir (spec defaults)."""

    n_nodes: int = _opt(100, "number of nodes N")
    degree: float = _opt(10.0, "average degree k of the recurrent matrix A")
    spectral_radius: float = _opt(0.6, "spectral radius rho of A")
    sigma_in: float = _opt(1.2, "input weights uniform in [-sigma_in, sigma_in]")
    input_weights: str = _opt("block", "input weight layout", choices=("block", "dense"))
    leak: float = _opt(0.0, "leak lam of the node update, in [0, 1)")
    bias: float = _opt(0.0, "node bias b")
    k_phi: float = _opt(50.0, "mean number of coupled links per link in A_Phi")
    omega0: float = _opt(0.01, "natural frequency of the links (rad/step)")
    eps1: float = _opt(-0.2, "constant part of the phase-coupling gain")
    eps2: float = _opt(0.6, "activity-dependent part of the phase-coupling gain")
    gamma: float = _opt(0.0, "phase lag of the coupling (rad)")
    m: float = _opt(0.6, "modulation depth of the links (0: static links, a plain ESN)")
    tau: float = _opt(1.0, "Euler step of the phase equation")
    warmup: int = _opt(200, "training warm-up discarded (steps)")
    ridge: float = _opt(1e-20, "ridge parameter of the readout (about 1e-2 for noisy data)")

    def validate(self) -> None:
        """Cheap range checks; the estimator checks the rest at fit time."""
        check(self.n_nodes >= 3, "n_nodes", self.n_nodes, "must be >= 3 (one block of nodes per input)")
        check(self.ridge >= 0, "ridge", self.ridge, "must be >= 0")
        check(0 <= self.m <= 1, "m", self.m, "must be in [0, 1]")
        check(0 <= self.leak < 1, "leak", self.leak, "must be in [0, 1)")


@dataclass
class RecallOptions:
    """Sensing, phase selection and closed-loop settings."""

    sense_steps: int = _opt(650, "steps of fresh data sensed before the closed loop (t_R0)")
    sense_warmup: int = _opt(200, "sensing warm-up (steps)")
    n_targets: int = _opt(24, "number of target phases tried (equally spaced on [-pi, pi))")
    select_steps: int = _opt(1500, "closed-loop steps per selection candidate")
    run_steps: int = _opt(5000, "closed-loop steps of the final run")
    transient: int = _opt(1000, "closed-loop steps left out of the attractor statistics")
    protocol: str = _opt("direct", "phase protocol of frozen targets", choices=("direct", "rotate"))

    def validate(self) -> None:
        """Range checks naming the field."""
        check(
            self.sense_steps > self.sense_warmup + 16,
            "sense_steps",
            self.sense_steps,
            f"must be > sense_warmup + 16 = {self.sense_warmup + 16}",
        )
        check(self.n_targets >= 1, "n_targets", self.n_targets, "must be >= 1")
        check(
            self.run_steps > self.transient + 100,
            "run_steps",
            self.run_steps,
            f"must be > transient + 100 = {self.transient + 100} (raise --run-steps or lower --transient)",
        )
        check(self.select_steps >= 300, "select_steps", self.select_steps, "must be >= 300")


def _common(p: argparse.ArgumentParser, *, context: bool = False) -> None:
    p.add_argument(
        "--task", default="thomas-kang2025", choices=TASKS, help="reference task (default: %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the network and phases (default: 0)")
    p.add_argument(
        "--out", type=Path, default=None, help="run directory (default: runs/rhythmic-<cmd>-s<seed>)"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--config", type=Path, default=None, help="TOML file with [reservoir] and [recall] tables")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    if context:
        p.add_argument(
            "--context", type=float, default=0.29, help="Thomas b of the sensed series (default: 0.29)"
        )
    add_options(p, ReservoirOptions, group_title="reservoir hyperparameters")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``rhythmic`` command group to the top-level parser."""
    p = sub.add_parser("rhythmic", help="Rhythmic Sharing reservoir: train, sense, recall, scan, demo")
    rsub = p.add_subparsers(dest="rhythmic_command", metavar="SUBCOMMAND", required=True)

    t = rsub.add_parser(
        "train", help="fit on the reference task; R per segment, switch latencies, one-step NRMSE"
    )
    _common(t)
    t.set_defaults(func=cmd_train)

    s = rsub.add_parser("sense", help="train, then sense a fresh series at b = --context: R(t), <Phi>(t)")
    _common(s, context=True)
    add_options(s, RecallOptions, group_title="sensing and recall")
    s.set_defaults(func=cmd_sense)

    r = rsub.add_parser("recall", help="train, sense b = --context, select phases, run the closed loop")
    _common(r, context=True)
    add_options(r, RecallOptions, group_title="sensing and recall")
    r.set_defaults(func=cmd_recall)

    c = rsub.add_parser("scan", help="train, sense b = --context, scan frozen target phases (attractor map)")
    _common(c, context=True)
    add_options(c, RecallOptions, group_title="sensing and recall")
    c.set_defaults(func=cmd_scan)

    d = rsub.add_parser("demo", help="train, recall b = 0.18 and 0.29, scan; one report (under ~2 minutes)")
    d.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    d.add_argument("--out", type=Path, default=None, help="run directory (default: runs/rhythmic-demo)")
    d.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    d.add_argument("--quick", action="store_true", help="fewer targets and shorter closed-loop runs")
    d.set_defaults(func=cmd_demo)


# ------------------------------------------------------------------------------------------------- helpers


CONTEXT_RANGE = (
    0.05,
    1.0,
)  # Thomas b: dissipative and bounded; outside this a fresh series is not meaningful


def _configs(args: argparse.Namespace) -> tuple[ReservoirOptions, RecallOptions]:
    toml = load_toml(args.config) if getattr(args, "config", None) else {}
    unknown = sorted(set(toml) - {"reservoir", "recall"})
    if unknown:
        raise ConfigError(
            f"unknown key(s) or table(s) {', '.join(unknown)} in {args.config}; options go in the tables "
            "[reservoir] and [recall]"
        )
    for table in ("reservoir", "recall"):
        if table in toml and not isinstance(toml[table], dict):
            raise ConfigError(f"{table} in {args.config} must be a table ([{table}])")
    context = getattr(args, "context", None)
    if context is not None:
        lo, hi = CONTEXT_RANGE
        check(
            math.isfinite(context) and lo <= context <= hi,
            "context",
            context,
            f"must be a Thomas b in [{lo}, {hi}] (chaotic below about 0.208, limit cycles up to about 0.329)",
        )
    res = build_config(ReservoirOptions, toml=toml.get("reservoir"), args=args)
    rec = build_config(RecallOptions, toml=toml.get("recall"), args=args)
    return res, rec


def _run_dir(args: argparse.Namespace, kind: str, config: dict[str, Any]) -> RunDir:
    out = args.out or Path("runs") / f"rhythmic-{kind}-s{args.seed}"
    return RunDir(out, config=config, seed=args.seed, kind=f"rhythmic-{kind}")


def _finish(run: RunDir, summary: dict[str, Any], sections: list[Section], title: str, as_json: bool) -> int:
    run.write_summary(summary)
    write_html_report(run.path / "report.html", title, sections, subtitle=f"run directory: {run.path}")
    if as_json:
        sys.stdout.write(dumps(summary) + "\n")
    else:  # a readable summary: scalars and short lists of numbers; the rest is in summary.json
        for key, value in summary.items():
            if isinstance(value, (int, float, str, bool)) or value is None:
                print(f"{key}: {value}")
            elif isinstance(value, list) and len(value) <= 16 and not any(isinstance(v, dict) for v in value):
                print(f"{key}: {dumps(value)}")
        print(f"report: {run.path / 'report.html'}")
    return 0


def _train(seed: int, res: ReservoirOptions, progress: bool, evaluate: bool = True) -> Any:
    from astroglia.rhythmic.experiments import train_on_task

    return train_on_task(seed, params=to_dict(res), progress=progress, evaluate=evaluate)


# ------------------------------------------------------------------------------------------------- sections


def train_section(tr: Any, run: RunDir) -> Section:
    """Report section of a training run (writes the R(t) figure)."""
    from astroglia.report.rhythmic_figures import plot_sync

    s = tr.summary
    fig = plot_sync(
        tr.model.R_,
        tr.model.mean_phase_,
        run.figure("train_sync"),
        switch_indices=list(tr.series.switch_indices),
        context=tr.series.params["b"],
        title=f"training series, seed {s['seed']}: synchrony and mean phase (dashed: switches)",
    )
    rows = [
        {
            "segment": k,
            "b": s["segment_context"][k],
            "length": s["segment_length"][k],
            "R at end": s["R_end_per_segment"][k],
            "latency into it (steps)": None if k == 0 else s["switch_latency_steps"][k - 1],
        }
        for k in range(len(s["segment_context"]))
    ]
    text = [
        "R is the Kuramoto order parameter of the link phases; latency: steps from the first sample under "
        "the new b until R crosses 0.9 downwards (into b = 0.29) or 0.95 upwards (into b = 0.18).",
        "One-step NRMSE (RMSE / std of the truth, per coordinate): in-sample "
        + ", ".join(f"{v:.4f}" for v in s["one_step_nrmse"])
        + "; test series "
        + ", ".join(f"{v:.4f}" for v in s["one_step_nrmse_test"])
        + " (the test series is the b = 0.29 limit cycle alone, whose std is about a quarter of the mixed "
        "training series', so the same absolute error gives about four times the NRMSE).",
    ]
    return Section("Rhythmic Sharing: training and sensing", text=text, table=rows, figures=[fig])


def recall_section(rc: Any, run: RunDir, name: str) -> Section:
    """Report section of a recall run (writes the closed-loop and selection figures)."""
    from astroglia.report.rhythmic_figures import plot_closed_loop, plot_scan

    s = rc.summary
    b = s["context"]
    chosen = "" if s["selected_target"] is None else f" target {s['selected_target']:+.3f} rad"
    f1 = plot_closed_loop(
        rc.run.outputs,
        rc.truth[:3000],
        run.figure(f"{name}_closed_loop"),
        transient=1000,
        title=f"recall at b = {b}: selected {s['selected_protocol']}{chosen} -> {s['regime']}",
    )
    f2 = plot_scan(
        s["candidates"],
        run.figure(f"{name}_selection"),
        reference_std=rc.truth_stats.std.tolist(),
        reference_period=rc.truth_stats.period,
        selected=s["selected_target"],
        title=f"phase selection candidates after sensing b = {b}",
    )
    row = {k: s[k] for k in ("context", "selected_target", "selected_protocol", "regime", "true_regime")}
    row["std_error"] = [None if v is None else round(v, 3) for v in s["std_error"]]
    row["period_error"] = s["period_error"]
    row["diverged"] = s["diverged"]
    text = [
        f"Sensed {len(rc.sensed.sync)} steps of a fresh series at b = {b} (R = {s['sensed_R']:.3f}); the "
        "phase setting whose closed-loop run best matched the sensed window (spectrum Hellinger distance + "
        "mean |log std ratio|) was selected, then run for the full length.",
    ]
    return Section(f"Recall at b = {b}", text=text, table=[row], figures=[f1, f2])


def scan_section(sc: Any, run: RunDir, name: str = "scan") -> Section:
    """Report section of a phase scan (writes the scan map)."""
    from astroglia.report.rhythmic_figures import plot_scan

    s = sc.summary
    f = plot_scan(
        s["entries"],
        run.figure(name),
        reference_period=s["trained_period"],
        title=f"frozen-phase scan after sensing b = {s['context']}",
    )
    rows = [
        {
            "target": e["target"],
            "regime": e["regime"],
            "period": e["period"],
            "std (mean)": None if e["std"] is None else sum(e["std"]) / len(e["std"]),
        }
        for e in s["entries"]
    ]
    text = [
        f"Regimes: {s['regime_counts']}. Limit cycles with a period more than 10% away from the trained "
        f"{s['trained_period']:.2f} steps (unseen in training): {s['n_unseen_limit_cycles']} targets, "
        f"{len(s['unseen_periods'])} distinct periods {s['unseen_periods']}.",
    ]
    return Section(f"Phase scan after sensing b = {s['context']}", text=text, table=rows, figures=[f])


# ------------------------------------------------------------------------------------------------- commands


def cmd_train(args: argparse.Namespace) -> int:
    """``astroglia rhythmic train``."""
    res, _ = _configs(args)
    run = _run_dir(args, "train", {"task": args.task, "reservoir": to_dict(res)})
    tr = _train(args.seed, res, not args.no_progress)
    tr.model.save(run.path / "model.npz")
    sec = train_section(tr, run)
    return _finish(run, tr.summary, [sec], "Rhythmic Sharing: training", args.json)


def cmd_sense(args: argparse.Namespace) -> int:
    """``astroglia rhythmic sense``."""
    from astroglia.report.rhythmic_figures import plot_sync
    from astroglia.systems import thomas_series

    res, rec = _configs(args)
    run = _run_dir(args, "sense", {"task": args.task, "reservoir": to_dict(res), "recall": to_dict(rec)})
    tr = _train(args.seed, res, not args.no_progress)
    data = thomas_series(args.context, rec.sense_steps).values
    sensed = tr.model.sense(data, warmup=rec.sense_warmup)
    w = rec.sense_warmup
    summary = {
        "context": args.context,
        "seed": args.seed,
        "R_end": float(sensed.sync[-1]),
        "mean_phase_end": float(sensed.mean_phase[-1]),
        "R_mean_after_warmup": float(sensed.sync[w:].mean()),
        "train_R_end_per_segment": tr.summary["R_end_per_segment"],
        "train_segment_context": tr.summary["segment_context"],
    }
    fig = plot_sync(
        sensed.sync, sensed.mean_phase, run.figure("sense_sync"), title=f"sensing b = {args.context}"
    )
    sec = Section(
        f"Sensing b = {args.context}",
        text=[
            f"R at the end: {summary['R_end']:.3f}; "
            f"mean R after the warm-up: {summary['R_mean_after_warmup']:.3f}"
        ],
        figures=[fig],
    )
    return _finish(run, summary, [train_section(tr, run), sec], "Rhythmic Sharing: sensing", args.json)


def cmd_recall(args: argparse.Namespace) -> int:
    """``astroglia rhythmic recall``."""
    from astroglia.rhythmic.experiments import recall_context

    res, rec = _configs(args)
    run = _run_dir(args, "recall", {"task": args.task, "reservoir": to_dict(res), "recall": to_dict(rec)})
    progress = not args.no_progress
    tr = _train(args.seed, res, progress, evaluate=False)
    rc = recall_context(
        tr.model,
        args.context,
        n_sense=rec.sense_steps,
        sense_warmup=rec.sense_warmup,
        n_targets=rec.n_targets,
        select_steps=rec.select_steps,
        n_run=rec.run_steps,
        transient=rec.transient,
        protocol=rec.protocol,
        progress=progress,
    )
    summary = {"seed": args.seed, **rc.summary}
    sec = recall_section(rc, run, "recall")
    return _finish(run, summary, [sec], f"Rhythmic Sharing: recall at b = {args.context}", args.json)


def cmd_scan(args: argparse.Namespace) -> int:
    """``astroglia rhythmic scan``."""
    from astroglia.rhythmic.experiments import scan_context

    res, rec = _configs(args)
    run = _run_dir(args, "scan", {"task": args.task, "reservoir": to_dict(res), "recall": to_dict(rec)})
    progress = not args.no_progress
    tr = _train(args.seed, res, progress, evaluate=False)
    n_steps = max(rec.select_steps, rec.transient + 2000)
    sc = scan_context(
        tr.model,
        args.context,
        n_sense=rec.sense_steps,
        sense_warmup=rec.sense_warmup,
        n_targets=rec.n_targets,
        n_steps=n_steps,
        transient=rec.transient,
        protocol=rec.protocol,
        progress=progress,
    )
    summary = {"seed": args.seed, **sc.summary}
    return _finish(run, summary, [scan_section(sc, run)], "Rhythmic Sharing: phase scan", args.json)


def rhythmic_demo(
    out: str | Path | RunDir, seed: int = 0, *, quick: bool = False
) -> tuple[dict, list[Section]]:
    """Train on the reference task, recall b = 0.18 and b = 0.29, scan phases; figures go under ``out``.

    Args:
        out: a run directory path (a :class:`~astroglia.runs.RunDir` is created there) or an existing RunDir;
            figures are written to its ``figures/``.
        seed: seed of the network and phases.
        quick: 12 instead of 24 selection targets, 16 instead of 32 scan targets, shorter runs.

    Returns:
        (summary, sections): a JSON-able summary and the report sections (not yet written).
    """
    from astroglia.rhythmic.experiments import recall_context, scan_context

    run = (
        out
        if isinstance(out, RunDir)
        else RunDir(out, config={"quick": quick}, seed=seed, kind="rhythmic-demo")
    )
    t0 = time.perf_counter()
    tr = _train(seed, ReservoirOptions(), False)
    sections = [train_section(tr, run)]
    summary: dict[str, Any] = {"seed": seed, "quick": quick, "train": tr.summary, "recall": {}}
    n_t, n_run, n_sel = (12, 3000, 1200) if quick else (24, 5000, 1500)
    for b in (0.18, 0.29):
        rc = recall_context(tr.model, b, n_targets=n_t, n_run=n_run, select_steps=n_sel)
        d = dict(rc.summary)
        d.pop("candidates")
        summary["recall"][str(b)] = d
        sections.append(recall_section(rc, run, f"recall_{b}"))
    sc = scan_context(tr.model, 0.29, n_targets=16 if quick else 32, n_steps=2500 if quick else 3000)
    summary["scan"] = {k: v for k, v in sc.summary.items() if k != "entries"}
    sections.append(scan_section(sc, run))
    summary["wall_s"] = time.perf_counter() - t0
    return summary, sections


def run_rhythmic_demo(out_dir: Path, seed: int = 0, quick: bool = False) -> dict:
    """Run :func:`rhythmic_demo` into ``out_dir`` and write its ``summary.json`` and ``report.html``."""
    run = RunDir(out_dir, config={"quick": quick}, seed=seed, kind="rhythmic-demo")
    summary, sections = rhythmic_demo(run, seed, quick=quick)
    run.write_summary(summary)
    write_html_report(run.path / "report.html", "Rhythmic Sharing demo", sections)
    return summary


def cmd_demo(args: argparse.Namespace) -> int:
    """``astroglia rhythmic demo``."""
    out = args.out or Path("runs") / "rhythmic-demo"
    summary = run_rhythmic_demo(out, args.seed, args.quick)
    if args.json:
        sys.stdout.write(dumps(summary) + "\n")
    else:
        print(f"wrote {Path(out) / 'report.html'}", file=sys.stderr)
    return 0


__all__ = [
    "RecallOptions",
    "ReservoirOptions",
    "register",
    "rhythmic_demo",
    "run_rhythmic_demo",
]
