"""MGD (paper settings) against backprop on the paper's Fashion-MNIST network, full data, official test split.

Prints, from one run:
1. the engine's overhead: MGD cost evaluations per second against bare forward passes (network + loss, no
   gradient) of the same network on the same batch size;
2. test accuracy against samples seen and against wall time, MGD and backprop (SGD lr 1, Adam) side by side.

Usage::

    python benchmarks/fmnist_mgd_vs_backprop.py --mgd-seconds 1200 --bp-seconds 240 --out runs/bench-fmnist

The run directory gets metrics, figures and report.html as for ``astroglia mgd train``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from astroglia.config import build_config
from astroglia.experiments.backprop_training import BackpropConfig
from astroglia.experiments.classification import run_classification
from astroglia.experiments.mgd_training import RunControl, make_engine
from astroglia.experiments.presets import preset
from astroglia.experiments.setup import TaskConfig, prepare_task
from astroglia.mgd.config import MGDConfig
from astroglia.runs import read_metrics


def engine_overhead(task_cfg: TaskConfig, mgd_cfg: MGDConfig, seconds: float) -> dict[str, float]:
    """Evaluations/s of MGD steps and of bare forward passes, interleaved in rounds for a fair comparison."""
    task = prepare_task(task_cfg)
    engine, _ = make_engine(task, mgd_cfg)
    model = task.network().eval()
    x = task.tensors.x_train[: task_cfg.batch_size]
    y = task.tensors.y_train[: task_cfg.batch_size]
    engine.run(3)
    with torch.no_grad():
        float(task.loss_fn(model(x), y))
    t_mgd = t_bare = 0.0
    n_mgd = n_bare = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        before = engine.counters.evaluations
        engine.run(5)
        t_mgd += time.perf_counter() - start
        n_mgd += engine.counters.evaluations - before
        start = time.perf_counter()
        with torch.no_grad():
            for _ in range(10):
                float(task.loss_fn(model(x), y))
        t_bare += time.perf_counter() - start
        n_bare += 10
    mgd_rate, bare_rate = n_mgd / t_mgd, n_bare / t_bare
    return {
        "mgd_evals_per_s": mgd_rate,
        "bare_forward_per_s": bare_rate,
        "overhead": bare_rate / mgd_rate - 1,
    }


def accuracy_at(records: list[dict[str, Any]], key: str, value: float) -> float | None:
    """Test accuracy of the last log point with ``records[key] <= value`` (None before the first)."""
    best = None
    for r in records:
        if r[key] is not None and r[key] <= value:
            best = r["test_accuracy"]
    return best


def fmt(acc: float | None) -> str:
    return "      -" if acc is None else f"{100 * acc:6.2f}%"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mgd-seconds", type=float, default=1200.0, help="MGD training budget (s)")
    parser.add_argument(
        "--bp-seconds", type=float, default=240.0, help="budget of each backprop baseline (s)"
    )
    parser.add_argument(
        "--overhead-seconds", type=float, default=30.0, help="engine-overhead measurement (s)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--data-source", default="full", choices=("full", "auto", "sample"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/bench-fmnist")
    args = parser.parse_args()

    layers = preset("paper-fmnist")
    layers["task"].update(
        data_source=args.data_source, device=args.device, seed=args.seed, threads=args.threads
    )
    layers["control"].update(steps=10**9, time_budget_s=args.mgd_seconds, progress=True)
    layers["backprop"].update(bp_steps=10**9, bp_time_budget_s=args.bp_seconds)
    task = build_config(TaskConfig, toml=layers["task"])
    mgd = build_config(MGDConfig, toml=layers["mgd"])
    mgd.seed = task.seed
    control = build_config(RunControl, toml=layers["control"])
    bp = build_config(BackpropConfig, toml=layers["backprop"])

    overhead = engine_overhead(task, mgd, args.overhead_seconds)
    summary, _ = run_classification(task, mgd, control, bp, args.out)
    out = Path(args.out)
    curves = {"MGD": read_metrics(out)}
    for name in bp.names():
        curves[f"backprop {name}"] = json.loads((out / f"baseline_{name}.json").read_text())["records"]

    print()
    print(
        f"Paper network ({summary['parameters']} parameters), batch {task.batch_size}; "
        f"{summary['test_split']}"
    )
    print(f"torch threads: {torch.get_num_threads()}, device: {args.device}")
    print()
    print("Engine overhead (same network, same batch size, interleaved rounds)")
    print(f"  MGD cost evaluations/s : {overhead['mgd_evals_per_s']:8.2f}")
    print(f"  bare forward passes/s  : {overhead['bare_forward_per_s']:8.2f}")
    print(f"  overhead               : {100 * overhead['overhead']:7.1f}%  (bare rate / MGD rate - 1)")
    names = list(curves)
    print()
    print("Test accuracy against samples seen")
    print(f"{'samples':>12} " + " ".join(f"{n:>14}" for n in names))
    for s in (1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7, 3e7):
        print(f"{s:12.0e} " + " ".join(f"{fmt(accuracy_at(curves[n], 'samples', s)):>14}" for n in names))
    print()
    print("Test accuracy against training wall time")
    print(f"{'seconds':>12} " + " ".join(f"{n:>14}" for n in names))
    for t in (10, 30, 60, 120, 240, 600, 1200, 1800):
        print(f"{t:12d} " + " ".join(f"{fmt(accuracy_at(curves[n], 'wall_s', t)):>14}" for n in names))
    print()
    print("Final")
    rows = [summary, *summary["baselines"].values()]
    print(f"{'method':>34} {'steps':>8} {'evaluations':>12} {'samples':>10} {'wall_s':>8} {'test acc':>9}")
    for r in rows:
        print(
            f"{r['method']:>34} {r['steps']:8d} {r['evaluations']:12d} {r['samples']:10d} {r['wall_s']:8.0f} "
            f"{100 * r['test_accuracy']:8.2f}%"
        )
    print(f"\nreport: {out / 'report.html'}")


if __name__ == "__main__":
    main()
