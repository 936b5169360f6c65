r"""The MGD paper's small experiments (McCaughan et al., arXiv:2303.03986; specs/mgd.md sections 4-7, 11).

Protocols (each writes a run directory; points are cached, see :mod:`astroglia.experiments.sweeps`):

- **parity** (:func:`run_parity`): N-bit parity, N = 2..6, on an N-h-1 logistic MLP (h = ``hidden_factor``
  x N, parameters drawn from U(-0.5, 0.5)), mean-squared error. The input is all :math:`2^N` patterns at once
  (``batch_size = 0``) or shuffled minibatches of ``batch_size`` patterns, each held ``tau_x`` steps. Every
  ``check_every`` steps the network is evaluated on all patterns; the run is *solved* at the first check
  where every output lies on the right side of 0.5. Time to solution is reported in steps, cost evaluations,
  seconds of this machine and projected hardware seconds (``timing`` preset; every evaluation costs the
  batch's samples, one inference each).
- **angle** (:func:`run_angle`): a linear cost :math:`C = g\cdot\theta` (P parameters, g ~ N(0, I), seeded)
  as a torch module, fixed input, digital mode with no update inside the window; the cosine between
  :math:`G_{int}` and the autograd gradient after N integrated perturbations, N on a log grid (plus the
  code's period), per family, mean over ``reps`` seeds, against the theory
  :math:`1/\sqrt{1 + (P-1)/N}` for random codes.
- **sweep** (:func:`run_sweep`): median time to solution on parity over a grid of (tau_x, tau_theta) (with
  tau_p = 1) and of (tau_p, tau_theta) (with tau_x = 1), inputs presented as minibatches (default one pattern
  at a time). With ``scale_eta`` the learning rate is ``eta / tau_theta`` so that the effective SGD rate
  :math:`\eta\tau_\theta/P` is the same in every cell.
- **robustness** (:func:`run_robustness`): parity with one non-ideality at a time
  (:mod:`astroglia.mgd.nonideal`): cost noise, update noise, activation variation, quantisation bits;
  solved fraction, median time to solution and final accuracy per magnitude.
- **hardware-time** (:func:`run_hardware_time`): from an ``astroglia mgd train`` run directory, the projected
  hardware time of the MGD run to a target accuracy on each timing preset, against the measured time of
  the MGD simulation and of the backprop baselines on this machine.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from astroglia.config import check
from astroglia.datasets import parity
from astroglia.errors import ConfigError, NonFiniteCostError
from astroglia.experiments.sweeps import run_points
from astroglia.mgd.codes import CODES
from astroglia.mgd.config import MGDConfig
from astroglia.mgd.diagnostics import estimate_angle, theory_cosine
from astroglia.mgd.engine import MGDEngine
from astroglia.mgd.hardware_time import PRESETS, project_hardware_time
from astroglia.mgd.nonideal import NonIdealConfig, apply_device_variation
from astroglia.mgd.objective import ModuleObjective
from astroglia.mgd.streams import FixedInput, TensorBatches
from astroglia.networks import LogisticMLP
from astroglia.report import Section, write_html_report
from astroglia.report import mgd_figures as figs
from astroglia.runs import RunDir, read_metrics

FAMILIES = ("random", "walsh", "time_slot", "sinusoid", "gaussian")


def _ints(text: str, name: str) -> list[int]:
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{name} = {text!r}: expected comma-separated integers, e.g. 1,2,4") from None
    check(len(values) > 0, name, text, "must list at least one value")
    return values


def _floats(text: str, name: str) -> list[float]:
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{name} = {text!r}: expected comma-separated numbers, e.g. 0,1e-3,1e-2") from None
    check(len(values) > 0, name, text, "must list at least one value")
    return values


def _families(text: str) -> list[str]:
    names = [v.strip() for v in str(text).split(",") if v.strip()]
    for n in names:
        check(n in CODES, "families", text, f"each must be one of {', '.join(CODES)}")
    check(len(names) > 0, "families", text, "must list at least one family")
    return names


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


# -- one parity run ------------------------------------------------------------------------------------------


def parity_point(point: dict[str, Any]) -> dict[str, Any]:
    """Train one N-bit parity network by MGD until solved or ``max_steps``; see the module docstring.

    ``point`` keys: n_bits, hidden, seed, max_steps, check_every, batch_size (0: all patterns), timing,
    ``mgd`` (MGDConfig fields) and ``nonideal`` (NonIdealConfig fields).

    Returns:
        ``{"solved", "steps", "evaluations", "wall_s", "hardware_s", "accuracy", "cost", "status"}``: steps,
        evaluations, wall_s and hardware_s at the solving check (None when unsolved), accuracy and cost at
        the last check.
    """
    torch.set_num_threads(1)
    n_bits, seed = int(point["n_bits"]), int(point["seed"])
    x, y = parity(n_bits)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32)[:, None]
    model = LogisticMLP(
        [n_bits, int(point["hidden"]), 1],
        init_range=(-0.5, 0.5),
        generator=torch.Generator().manual_seed(seed),
    )
    nonideal = NonIdealConfig(**point.get("nonideal", {}))
    apply_device_variation(model, nonideal.variation, seed=seed)
    objective = ModuleObjective(model, nn.MSELoss())
    mgd = MGDConfig(**point["mgd"])
    batch_size = int(point.get("batch_size", 0))
    if batch_size <= 0 or batch_size >= len(xt):
        stream: Any = FixedInput((xt, yt), len(xt))
        samples_per_eval = len(xt)
    else:
        stream = TensorBatches(xt, yt, batch_size, seed=seed)
        samples_per_eval = batch_size
    engine = MGDEngine(objective, mgd, stream, nonideal=nonideal)
    check_every, max_steps = int(point["check_every"]), int(point["max_steps"])
    wall = 0.0
    status = "unsolved"
    solved_at: dict[str, Any] | None = None
    accuracy, cost = 0.0, math.nan
    while engine.counters.steps < max_steps:
        start = time.perf_counter()
        try:
            engine.run(min(check_every, max_steps - engine.counters.steps))
        except NonFiniteCostError:
            status = "diverged"
            break
        finally:
            wall += time.perf_counter() - start
        engine.sync_parameters()
        with torch.no_grad():
            out = model(xt)
            cost = float(nn.functional.mse_loss(out, yt))
        accuracy = float(((out > 0.5).float() == yt).float().mean())
        if accuracy == 1.0:
            status = "solved"
            c = engine.counters
            solved_at = {"steps": c.steps, "evaluations": c.evaluations, "wall_s": wall}
            break
    hardware_s = None
    if solved_at is not None and point.get("timing"):
        proj = project_hardware_time(
            solved_at["steps"],
            point["timing"],
            tau_x=max(1, math.ceil(mgd.tau_x)),
            tau_p=max(1, math.ceil(mgd.tau_p)),
            tau_theta=max(1, math.ceil(mgd.tau_theta)),
            mode=mgd.mode,  # type: ignore[arg-type]
            batch_size=samples_per_eval,
            evaluations=solved_at["evaluations"],
        )
        hardware_s = proj.total_s
    return {
        "solved": solved_at is not None,
        "status": status,
        "steps": solved_at["steps"] if solved_at else None,
        "evaluations": solved_at["evaluations"] if solved_at else None,
        "wall_s": solved_at["wall_s"] if solved_at else None,
        "hardware_s": hardware_s,
        "accuracy": accuracy,
        "cost": cost,
        "steps_run": engine.counters.steps,
    }


def _aggregate(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Solved count, medians (over solved seeds) and quartiles of time to solution, mean final accuracy."""
    solved = [r for r in results if r["solved"]]
    steps = sorted(r["steps"] for r in solved)
    out: dict[str, Any] = {
        "seeds": len(results),
        "solved": len(solved),
        "median_steps": _median(steps),
        "median_evaluations": _median([r["evaluations"] for r in solved]),
        "median_wall_s": _median([r["wall_s"] for r in solved]),
        "median_hardware_s": _median([r["hardware_s"] for r in solved if r["hardware_s"] is not None]),
        "mean_accuracy": sum(r["accuracy"] for r in results) / len(results) if results else None,
        "steps_q25": steps[len(steps) // 4] if steps else None,
        "steps_q75": steps[(3 * len(steps)) // 4] if steps else None,
    }
    return out


@dataclass
class ParityTrainingConfig:
    """The MGD settings of parity runs (shared by the parity, sweep and robustness experiments).

    Defaults: 3-h-1 ... N-h-1 logistic MLP with h = 2N, eta 30, Delta_theta 0.1 (total norm), all time
    constants 1, digital mode, all patterns as one input. With these, 3-bit parity is solved by every code
    family for seeds 0-4 (BENCHMARKS.md).
    """

    hidden_factor: int = field(default=2, metadata={"help": "hidden units per input bit (h = factor * N)"})
    eta: float = field(default=30.0, metadata={"help": "learning rate eta"})
    delta_theta: float = field(default=0.1, metadata={"help": "perturbation L2 norm Delta_theta"})
    mode: str = field(
        default="digital", metadata={"help": "digital or analog", "choices": ("digital", "analog")}
    )
    tau_x: float = field(default=1, metadata={"help": "input hold time (analog + all patterns: ignored)"})
    tau_p: float = field(default=1, metadata={"help": "perturbation hold time"})
    tau_theta: float = field(default=1, metadata={"help": "integration time / integrator time constant"})
    batch_size: int = field(default=0, metadata={"help": "patterns per input (0: all patterns at once)"})
    max_steps: int = field(default=200000, metadata={"help": "give up after this many steps"})
    check_every: int = field(default=100, metadata={"help": "steps between accuracy checks"})
    timing: str = field(
        default="analog-cmos", metadata={"help": "hardware timing preset", "choices": tuple(PRESETS)}
    )

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        check(self.hidden_factor >= 1, "hidden_factor", self.hidden_factor, "must be >= 1")
        check(self.max_steps >= 1, "max_steps", self.max_steps, "must be >= 1")
        check(self.check_every >= 1, "check_every", self.check_every, "must be >= 1")
        check(self.batch_size >= 0, "batch_size", self.batch_size, "must be >= 0 (0: all patterns)")
        check(self.timing in PRESETS, "timing", self.timing, f"one of {', '.join(PRESETS)}")
        self.mgd_config("random", 0).validate()

    def mgd_config(self, code: str, seed: int, **overrides: Any) -> MGDConfig:
        """The MGDConfig of one run (in analog mode with all patterns as one input, tau_x = max_steps + 1)."""
        values = {
            "eta": self.eta,
            "delta_theta": self.delta_theta,
            "code": code,
            "mode": self.mode,
            "tau_x": self.tau_x,
            "tau_p": self.tau_p,
            "tau_theta": self.tau_theta,
            "seed": seed,
        }
        values.update(overrides)
        if values["mode"] == "analog" and self.batch_size == 0:
            values["tau_x"] = float(self.max_steps + 1)
        return MGDConfig(**values)

    def point(self, n_bits: int, code: str, seed: int, nonideal: dict[str, Any] | None = None, **mgd: Any):
        """The cacheable point of one run."""
        return {
            "experiment": "parity",
            "n_bits": n_bits,
            "hidden": self.hidden_factor * n_bits,
            "seed": seed,
            "max_steps": self.max_steps,
            "check_every": self.check_every,
            "batch_size": self.batch_size,
            "timing": self.timing,
            "mgd": asdict(self.mgd_config(code, seed, **mgd)),
            "nonideal": nonideal or {},
        }


def _run_dir(out: str | Path, kind: str, config: dict[str, Any], seed: int = 0) -> RunDir:
    return RunDir(out, config=config, seed=seed, kind=kind)


def _report(run: RunDir, title: str, sections: list[Section], config: dict[str, Any]) -> Path:
    sections = sections + [Section("Configuration", code=json.dumps(config, indent=2, default=str))]
    return write_html_report(run.path / "report.html", title, sections, subtitle=str(run.path))


# -- parity --------------------------------------------------------------------------------------------------


@dataclass
class ParityExperimentConfig:
    """Which parity runs: sizes, families, seeds."""

    bits: str = field(default="2,3,4,5,6", metadata={"help": "parity sizes N, comma-separated"})
    families: str = field(default=",".join(FAMILIES), metadata={"help": "code families, comma-separated"})
    seeds: int = field(default=5, metadata={"help": "seeds 0 .. seeds-1 per (N, family)"})

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        for n in _ints(self.bits, "bits"):
            check(1 <= n <= 12, "bits", self.bits, "each N must be from 1 to 12")
        _families(self.families)
        check(self.seeds >= 1, "seeds", self.seeds, "must be >= 1")


def run_parity(
    exp: ParityExperimentConfig,
    train: ParityTrainingConfig,
    out: str | Path,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """N-bit parity per code family: solved counts and time to solution; figures, report, summary.json."""
    exp.validate()
    train.validate()
    config = {"experiment": asdict(exp), "training": asdict(train)}
    run = _run_dir(out, "mgd-parity", config)
    bits, families = _ints(exp.bits, "bits"), _families(exp.families)
    keys = [(n, f, s) for n in bits for f in families for s in range(exp.seeds)]
    points = [train.point(n, f, s) for n, f, s in keys]
    results = run_points(parity_point, points, run.path / "points", workers=workers, progress=progress)
    table = []
    by_family: dict[str, dict[int, dict[str, Any]]] = {}
    for n in bits:
        for f in families:
            rs = [r for (kn, kf, _), r in zip(keys, results, strict=True) if kn == n and kf == f]
            agg = _aggregate(rs)
            by_family.setdefault(f, {})[n] = agg
            table.append({"N": n, "family": f, **agg})
    summary = {
        "experiment": "parity",
        "per_family": {f: {str(n): a for n, a in d.items()} for f, d in by_family.items()},
        "table": table,
        "all_solved": all(row["solved"] == row["seeds"] for row in table),
    }
    run.write_summary(summary)
    fig = figs.plot_parity(by_family, run.figure("parity_time_to_solution"), timing=train.timing)
    _report(
        run,
        "astroglia: MGD on N-bit parity",
        [
            Section(
                "Time to solution",
                text=[
                    "Solved = every pattern on the right side of 0.5 at a check. Medians over the solved "
                    "seeds; hardware time projected with the timing preset "
                    f"'{train.timing}' (an assumption; see astroglia.mgd.hardware_time).",
                ],
                table=table,
                figures=[fig],
            )
        ],
        config,
    )
    return summary


# -- angle ---------------------------------------------------------------------------------------------------


class LinearCost(nn.Module):
    """:math:`C(\\theta) = g\\cdot\\theta` as a module: parameter theta (P,), a fixed buffer g (P,).

    ``forward(x)`` ignores x and returns the scalar cost; use ``loss_fn = lambda c, _t: c``.
    """

    def __init__(self, g: torch.Tensor) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.zeros_like(g))
        self.register_buffer("g", g.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        del x
        return (self.g * self.theta).sum()


def _identity_loss(cost: torch.Tensor, target: Any) -> torch.Tensor:
    del target
    return cost


def angle_point(point: dict[str, Any]) -> dict[str, Any]:
    """Cosine between G_int and the gradient of a linear cost at each N of ``point["checkpoints"]``."""
    torch.set_num_threads(1)
    p, rep = int(point["n_params"]), int(point["rep"])
    g = torch.randn(p, generator=torch.Generator().manual_seed(int(point["cost_seed"])), dtype=torch.float64)
    model = LinearCost(g)
    objective = ModuleObjective(model, _identity_loss)
    checkpoints = sorted(int(n) for n in point["checkpoints"])
    cfg = MGDConfig(
        eta=1.0,
        delta_theta=float(point["delta_theta"]),
        code=point["code"],
        tau_theta=checkpoints[-1] + 1,
        seed=rep,
    )
    engine = MGDEngine(objective, cfg, FixedInput((torch.zeros(1, dtype=torch.float64), None), 1))
    cosines = []
    for n in checkpoints:
        engine.run(n - engine.counters.steps)
        cosines.append(math.cos(math.radians(estimate_angle(engine))))
    return {"n": checkpoints, "cos": cosines}


@dataclass
class AngleConfig:
    """The angle experiment: P, the integration grid, families, repetitions."""

    n_params: int = field(default=1000, metadata={"help": "P, parameters of the linear cost"})
    max_integration: int = field(default=10000, metadata={"help": "largest N (perturbations integrated)"})
    points_per_decade: int = field(default=4, metadata={"help": "grid points per decade of N, from N = 1"})
    families: str = field(default=",".join(FAMILIES), metadata={"help": "code families, comma-separated"})
    reps: int = field(default=16, metadata={"help": "repetitions (code seeds 0 .. reps-1) per family"})
    delta_theta: float = field(default=0.1, metadata={"help": "perturbation L2 norm"})
    cost_seed: int = field(default=42, metadata={"help": "seed of the cost's gradient g"})

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        check(self.n_params >= 2, "n_params", self.n_params, "must be >= 2")
        check(self.max_integration >= 1, "max_integration", self.max_integration, "must be >= 1")
        check(self.points_per_decade >= 1, "points_per_decade", self.points_per_decade, "must be >= 1")
        _families(self.families)
        check(self.reps >= 1, "reps", self.reps, "must be >= 1")
        check(self.delta_theta > 0, "delta_theta", self.delta_theta, "must be > 0")

    def checkpoints(self, code: str) -> list[int]:
        """N grid: 10^(k/points_per_decade) rounded, the decades themselves, and the code's period."""
        top = math.log10(self.max_integration)
        grid = {1, self.max_integration}
        k = 0
        while k / self.points_per_decade <= top + 1e-12:
            grid.add(round(10 ** (k / self.points_per_decade)))
            k += 1
        period = CODES[code](self.n_params, 0).period
        if period is not None and period <= self.max_integration:
            grid.add(period)
        return sorted(n for n in grid if n <= self.max_integration)


def run_angle(
    cfg: AngleConfig, out: str | Path, *, workers: int | None = None, progress: bool = True
) -> dict[str, Any]:
    """Angle vs integration time per family with the random-code theory; figures, report, summary.json."""
    cfg.validate()
    config = asdict(cfg)
    run = _run_dir(out, "mgd-angle", config)
    families = _families(cfg.families)
    keys = [(f, r) for f in families for r in range(cfg.reps)]
    points = [
        {
            "experiment": "angle",
            "code": f,
            "rep": r,
            "n_params": cfg.n_params,
            "delta_theta": cfg.delta_theta,
            "cost_seed": cfg.cost_seed,
            "checkpoints": cfg.checkpoints(f),
        }
        for f, r in keys
    ]
    results = run_points(angle_point, points, run.path / "points", workers=workers, progress=progress)
    curves: dict[str, dict[str, list[float]]] = {}
    table = []
    for f in families:
        rs = [r for (kf, _), r in zip(keys, results, strict=True) if kf == f]
        ns = rs[0]["n"]
        mean_cos = [sum(r["cos"][i] for r in rs) / len(rs) for i in range(len(ns))]
        curves[f] = {"n": ns, "mean_cos": mean_cos}
        period = CODES[f](cfg.n_params, 0).period
        for n, c in zip(ns, mean_cos, strict=True):
            theory = theory_cosine(n, cfg.n_params)
            table.append(
                {
                    "family": f,
                    "N": n,
                    "mean_cos": c,
                    "angle_deg": math.degrees(math.acos(max(-1.0, min(1.0, c)))),
                    "theory_cos_random": theory,
                    "rel_error_vs_theory": (c - theory) / theory,
                    "at_period": n == period,
                }
            )
    random_rows = [r for r in table if r["family"] == "random" and r["N"] >= 10]
    summary = {
        "experiment": "angle",
        "n_params": cfg.n_params,
        "curves": curves,
        "table": table,
        "random_max_rel_error_N_ge_10": max(
            (abs(r["rel_error_vs_theory"]) for r in random_rows), default=None
        ),
        "cos_at_period": {r["family"]: r["mean_cos"] for r in table if r["at_period"]},
    }
    run.write_summary(summary)
    fig = figs.plot_angle(curves, cfg.n_params, run.figure("angle_vs_integration"))
    _report(
        run,
        "astroglia: MGD gradient angle vs integration time",
        [
            Section(
                "Cosine between the integrated estimate and the true gradient",
                text=[
                    f"Linear cost C = g.theta with P = {cfg.n_params}, fixed input, no update inside the "
                    f"window; mean over {cfg.reps} code seeds. Theory for random codes: 1/sqrt(1 + (P-1)/N). "
                    "Deterministic codes (walsh, time_slot) are exact after one period.",
                    f"Largest relative error of random codes against theory for N >= 10: "
                    f"{summary['random_max_rel_error_N_ge_10']}",
                ],
                table=table,
                figures=[fig],
            )
        ],
        config,
    )
    return summary


# -- sweeps --------------------------------------------------------------------------------------------------


@dataclass
class SweepConfig:
    """The time-constant sweep: the grids, the task size, the code, seeds."""

    bits: int = field(default=3, metadata={"help": "parity size N"})
    code: str = field(default="random", metadata={"help": "code family", "choices": tuple(CODES)})
    tau_x_values: str = field(default="1,4,16,64", metadata={"help": "tau_x grid (steps)"})
    tau_theta_values: str = field(default="1,4,16,64", metadata={"help": "tau_theta grid (steps)"})
    tau_p_values: str = field(default="1,4,16,64", metadata={"help": "tau_p grid (steps)"})
    seeds: int = field(default=3, metadata={"help": "seeds per cell"})
    scale_eta: bool = field(
        default=True,
        metadata={"help": "use eta / tau_theta so the effective SGD rate is the same everywhere"},
    )

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        check(1 <= self.bits <= 12, "bits", self.bits, "must be from 1 to 12")
        check(self.code in CODES, "code", self.code, f"one of {', '.join(CODES)}")
        for name in ("tau_x_values", "tau_theta_values", "tau_p_values"):
            for v in _ints(getattr(self, name), name):
                check(v >= 1, name, getattr(self, name), "every value must be an integer >= 1")
        check(self.seeds >= 1, "seeds", self.seeds, "must be >= 1")


def run_sweep(
    sweep: SweepConfig,
    train: ParityTrainingConfig,
    out: str | Path,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Median time to solution over (tau_x, tau_theta) and (tau_p, tau_theta); heatmaps, report, summary."""
    sweep.validate()
    train.validate()
    check(train.mode == "digital", "mode", train.mode, "the sweep runs in digital mode (integer steps)")
    config = {"sweep": asdict(sweep), "training": asdict(train)}
    run = _run_dir(out, "mgd-sweep", config)
    txs = _ints(sweep.tau_x_values, "tau_x_values")
    tts = _ints(sweep.tau_theta_values, "tau_theta_values")
    tps = _ints(sweep.tau_p_values, "tau_p_values")

    def eta(tt: int) -> float:
        return train.eta / tt if sweep.scale_eta else train.eta

    grids = {
        "tau_x": [(a, tt) for a in txs for tt in tts],
        "tau_p": [(a, tt) for a in tps for tt in tts],
    }
    keys: list[tuple[str, int, int, int]] = []
    points: list[dict[str, Any]] = []
    for axis, cells in grids.items():
        for a, tt in cells:
            for s in range(sweep.seeds):
                mgd = {"tau_theta": tt, "eta": eta(tt), "tau_x": 1, "tau_p": 1, axis: a}
                keys.append((axis, a, tt, s))
                points.append(train.point(sweep.bits, sweep.code, s, **mgd))
    results = run_points(parity_point, points, run.path / "points", workers=workers, progress=progress)
    maps: dict[str, dict[str, Any]] = {}
    table = []
    for axis, values in (("tau_x", txs), ("tau_p", tps)):
        median = [[None for _ in values] for _ in tts]
        solved = [[0 for _ in values] for _ in tts]
        for j, a in enumerate(values):
            for i, tt in enumerate(tts):
                rs = [r for k, r in zip(keys, results, strict=True) if k[:3] == (axis, a, tt)]
                agg = _aggregate(rs)
                median[i][j] = agg["median_steps"]
                solved[i][j] = agg["solved"]
                table.append({"axis": axis, axis: a, "tau_theta": tt, **agg})
        maps[axis] = {"values": values, "tau_theta": tts, "median_steps": median, "solved": solved}
    summary = {"experiment": "sweep", "maps": maps, "table": table, "seeds": sweep.seeds}
    run.write_summary(summary)
    fig_x = figs.plot_heatmap(
        maps["tau_x"], "tau_x", run.figure("heatmap_tau_x_tau_theta"), seeds=sweep.seeds
    )
    fig_p = figs.plot_heatmap(
        maps["tau_p"], "tau_p", run.figure("heatmap_tau_p_tau_theta"), seeds=sweep.seeds
    )
    _report(
        run,
        "astroglia: MGD time constants sweep",
        [
            Section(
                "Median time to solution (steps)",
                text=[
                    f"{sweep.bits}-bit parity, {sweep.code} codes, inputs of {train.batch_size or 'all'} "
                    f"pattern(s); {sweep.seeds} seeds per cell; eta "
                    + ("scaled as eta/tau_theta." if sweep.scale_eta else "fixed.")
                    + " Empty cells: no seed solved within max_steps.",
                ],
                figures=[fig_x, fig_p],
                table=table,
            )
        ],
        config,
    )
    return summary


# -- robustness ----------------------------------------------------------------------------------------------


@dataclass
class RobustnessConfig:
    """One non-ideality at a time on parity: the magnitudes to try."""

    bits: int = field(default=3, metadata={"help": "parity size N"})
    code: str = field(default="random", metadata={"help": "code family", "choices": tuple(CODES)})
    seeds: int = field(default=5, metadata={"help": "seeds per magnitude"})
    cost_noise_values: str = field(default="0,1e-4,1e-3,3e-3,1e-2", metadata={"help": "sigma_C values"})
    update_noise_values: str = field(default="0,1e-3,1e-2,3e-2,1e-1", metadata={"help": "sigma_theta values"})
    variation_values: str = field(
        default="0,0.1,0.2,0.4,0.8", metadata={"help": "activation spread s values"}
    )
    quant_bits_values: str = field(default="0,12,10,8,6,4", metadata={"help": "bits (0: continuous)"})

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        check(1 <= self.bits <= 12, "bits", self.bits, "must be from 1 to 12")
        check(self.code in CODES, "code", self.code, f"one of {', '.join(CODES)}")
        check(self.seeds >= 1, "seeds", self.seeds, "must be >= 1")
        for name in ("cost_noise_values", "update_noise_values", "variation_values"):
            for v in _floats(getattr(self, name), name):
                check(v >= 0, name, getattr(self, name), "every value must be >= 0")
        for v in _ints(self.quant_bits_values, "quant_bits_values"):
            check(0 <= v <= 32, "quant_bits_values", self.quant_bits_values, "bits from 0 to 32")

    def sweeps(self) -> dict[str, list[float | int]]:
        """Non-ideality field -> magnitudes."""
        return {
            "cost_noise": _floats(self.cost_noise_values, "cost_noise_values"),
            "update_noise": _floats(self.update_noise_values, "update_noise_values"),
            "variation": _floats(self.variation_values, "variation_values"),
            "quant_bits": _ints(self.quant_bits_values, "quant_bits_values"),
        }


def run_robustness(
    rob: RobustnessConfig,
    train: ParityTrainingConfig,
    out: str | Path,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Solved fraction, time to solution and final accuracy against each non-ideality's magnitude."""
    rob.validate()
    train.validate()
    config = {"robustness": asdict(rob), "training": asdict(train)}
    run = _run_dir(out, "mgd-robustness", config)
    keys: list[tuple[str, float | int, int]] = []
    points = []
    for name, values in rob.sweeps().items():
        for v in values:
            for s in range(rob.seeds):
                keys.append((name, v, s))
                points.append(train.point(rob.bits, rob.code, s, nonideal={name: v}))
    results = run_points(parity_point, points, run.path / "points", workers=workers, progress=progress)
    curves: dict[str, list[dict[str, Any]]] = {}
    table = []
    for name, values in rob.sweeps().items():
        for v in values:
            rs = [r for k, r in zip(keys, results, strict=True) if k[0] == name and k[1] == v]
            row = {"nonideality": name, "magnitude": v, **_aggregate(rs)}
            curves.setdefault(name, []).append(row)
            table.append(row)
    summary = {"experiment": "robustness", "curves": curves, "table": table}
    run.write_summary(summary)
    fig = figs.plot_robustness(curves, run.figure("robustness"))
    _report(
        run,
        "astroglia: MGD robustness to hardware non-idealities",
        [
            Section(
                "One non-ideality at a time",
                text=[
                    f"{rob.bits}-bit parity, {rob.code} codes, {rob.seeds} seeds per magnitude; final "
                    "accuracy is at the solving check or at max_steps. quant_bits 0 means continuous "
                    "parameters (range of the levels: NonIdealConfig.quant_min/quant_max, default [-8, 8]).",
                ],
                table=table,
                figures=[fig],
            )
        ],
        config,
    )
    return summary


# -- hardware time -------------------------------------------------------------------------------------------


def _first_reaching(records: list[dict[str, Any]], target: float) -> dict[str, Any] | None:
    for r in records:
        if r.get("test_accuracy") is not None and r["test_accuracy"] >= target:
            return r
    return None


def run_hardware_time(
    run_path: str | Path, out: str | Path, *, target: float | None = None, presets: list[str] | None = None
) -> dict[str, Any]:
    """Projected hardware time of an MGD training run against measured times on this machine.

    Args:
        run_path: a directory written by ``astroglia mgd train`` (config.json, metrics.jsonl, summary.json,
            baseline_<name>.json).
        out: this report's run directory.
        target: test accuracy to reach (default: the MGD run's final accuracy).
        presets: timing presets (default: all of :data:`~astroglia.mgd.hardware_time.PRESETS`).
    """
    src = Path(run_path)
    for name in ("config.json", "summary.json", "metrics.jsonl"):
        if not (src / name).exists():
            raise ConfigError(
                f"{src} has no {name}; pass a run directory written by `astroglia mgd train --out DIR`"
            )
    cfg = json.loads((src / "config.json").read_text())["config"]
    summary_in = json.loads((src / "summary.json").read_text())
    records = read_metrics(src)
    target = float(summary_in["test_accuracy"]) if target is None else float(target)
    presets = list(PRESETS) if presets is None else presets
    mgd, task = cfg["mgd"], cfg["task"]
    hit = _first_reaching(records, target)
    if hit is None:
        raise ConfigError(f"the MGD run never reached test accuracy {target}; choose a lower --target")
    rows: list[dict[str, Any]] = [
        {
            "method": "MGD simulation (measured, this machine)",
            "seconds": hit["wall_s"],
            "steps": hit["step"],
            "evaluations": hit["evaluations"],
            "kind": "measured",
        }
    ]
    projections = {}
    for name in presets:
        proj = project_hardware_time(
            int(hit["step"]),
            name,
            tau_x=max(1, math.ceil(mgd["tau_x"])),
            tau_p=max(1, math.ceil(mgd["tau_p"])),
            tau_theta=max(1, math.ceil(mgd["tau_theta"])),
            mode=mgd.get("mode", "digital"),
            batch_size=int(task["batch_size"]),
            evaluations=int(hit["evaluations"]),
        )
        projections[name] = proj.as_dict()
        rows.append(
            {
                "method": f"MGD on {name} (projected)",
                "seconds": proj.total_s,
                "steps": hit["step"],
                "evaluations": hit["evaluations"],
                "kind": "projected",
            }
        )
    for path in sorted(src.glob("baseline_*.json")):
        base = json.loads(path.read_text())
        brec = _first_reaching(base["records"], target)
        rows.append(
            {
                "method": f"{base['summary']['method']} (measured, this machine)",
                "seconds": brec["wall_s"] if brec else None,
                "steps": brec["step"] if brec else None,
                "evaluations": brec["evaluations"] if brec else None,
                "kind": "measured" if brec else "not reached",
            }
        )
    run = _run_dir(out, "mgd-hardware-time", {"source_run": str(src), "target": target, "presets": presets})
    summary = {
        "experiment": "hardware-time",
        "source_run": str(src),
        "target_accuracy": target,
        "rows": rows,
        "projections": projections,
        "device": task.get("device"),
    }
    run.write_summary(summary)
    fig = figs.plot_hardware_time(rows, run.figure("hardware_time"), target=target)
    _report(
        run,
        "astroglia: projected MGD hardware time vs measured training time",
        [
            Section(
                f"Time to test accuracy {target:.4f}",
                text=[
                    "Projections multiply the run's operation counts by per-operation times of each preset "
                    "(assumptions, stated in astroglia.mgd.hardware_time.PRESETS); measured times are this "
                    f"machine's training wall time ({task.get('device', 'cpu')}), evaluations excluded.",
                ],
                table=rows,
                figures=[fig],
            )
        ],
        {"source_run": str(src), "target": target, "presets": presets},
    )
    return summary
