"""MGD simulation speed and memory: batched perturbations, peak RSS, two-process scale-out.

Measured side by side in one run, on the Fashion-MNIST MLP (196-32-10 on 2x2-pooled images, 6,634
parameters; the ``demo`` preset's network), one CPU thread per process:

1. evaluations/s of K = 32 perturbations per update (``tau_x = tau_theta = 32``, ``tau_p = 1``: one baseline
   and 32 perturbed evaluations per update) for, per minibatch size B:
   - ``bare batched forward``: ``module_costs`` on 32 ready-made parameter vectors (functional_call + vmap),
     no MGD at all, on the same minibatch every call;
   - ``bare batched forward + minibatch``: the same, on the next minibatch of a shuffled stream every call,
     as every training loop with ``tau_x = 32`` reads one (the like-for-like baseline of MGD batched: its
     minibatch is a gather of B random rows of the 47 MB training set, which a fixed minibatch never pays);
   - ``MGD batched``: ``engine.step_batched(32)`` (writes the 33 points theta, theta + a s^(k) straight
     from the codes, measures the baseline and the 32 costs in one call, correlates, updates);
   - ``MGD sequential``: 32 calls of ``engine.step()``;
   - ``bare sequential forward``: 32 plain ``loss_fn(model(x), y)`` calls (for reference);
   - ``MGD batched walsh``: as MGD batched with Walsh codes;
   - ``MGD batched bfloat16``: as MGD batched with the forward pass in bfloat16.
   The modes are interleaved in blocks of a few calls (the order rotating), every call is timed on its own,
   and a mode's rate is the median over its calls of evaluations / call time (robust to the drift and the
   bursts of load of a shared machine, see ``_call_rates``); the table ends
   with the ratios of MGD batched to both bare batched forwards, to MGD sequential and to the bare sequential
   forward.
2. peak RSS (``ru_maxrss``) of MGD training (sequential ``engine.step()``, and batched K = 32) against
   inference alone (forward passes on the same minibatches), each in its own subprocess that loads the same
   data and model.
3. two-process speed-up: ``DistributedMGD.step(32)`` on 2 gloo workers (one thread each) against
   ``engine.step_batched(32)`` in one process.

Run: ``python benchmarks/mgd_batched_speed.py [--quick] [--batches 1,32,64,128,256,1000] [--json out.json]``;
``--breakdown B`` instead prints where MGD batched's time goes at minibatch size B.
Needs the benchmark extras (``make bench``: psutil samples the memory).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from astroglia.experiments.setup import TaskConfig, prepare_task
from astroglia.mgd import MGDConfig, MGDEngine, ModuleObjective
from astroglia.mgd.batched import module_costs
from astroglia.mgd.streams import TensorBatches

K = 32


def _task(batch_size: int):
    cfg = TaskConfig(network="mlp", hidden=32, input_pool=2, batch_size=batch_size, threads=1)
    return prepare_task(cfg)


def _engine(task, compute_dtype: torch.dtype | None = None, code: str = "random") -> MGDEngine:
    model = task.network().eval()
    objective = ModuleObjective(model, task.loss_fn, compute_dtype=compute_dtype)
    t = task.tensors
    stream = TensorBatches(t.x_train, t.y_train, task.config.batch_size, seed=0)
    # a small eta: the speed does not depend on it, and many thousand updates on B = 1 must not diverge
    cfg = MGDConfig(eta=0.5, delta_theta=0.5, code=code, tau_x=K, tau_theta=K, tau_p=1, seed=0)
    return MGDEngine(objective, cfg, stream)


def _speed_for_batch(b: int, rounds: int, min_round_s: float) -> dict[str, Any]:
    task = _task(b)
    seq, bat, low = _engine(task), _engine(task), _engine(task, torch.bfloat16)
    walsh = _engine(task, code="walsh")
    model = task.network().eval()
    names, shapes = bat.objective._layout
    x, y = task.tensors.x_train[:b], task.tensors.y_train[:b]
    theta = bat.theta.clone()
    points = theta + 0.006 * torch.randn(K, theta.numel(), generator=torch.Generator().manual_seed(0))

    def bare_batched() -> int:
        module_costs(model, names, shapes, task.loss_fn, points, (x, y))
        return K

    stream = TensorBatches(task.tensors.x_train, task.tensors.y_train, b, seed=1)

    def bare_batched_new_minibatch() -> int:
        module_costs(model, names, shapes, task.loss_fn, points, stream.next()[0])
        return K

    def bare_sequential() -> int:
        with torch.no_grad():
            for _ in range(K):
                float(task.loss_fn(model(x), y))
        return K

    def mgd(engine: MGDEngine, batched: bool):
        def run() -> int:
            before = engine.counters.evaluations
            if batched:
                engine.step_batched(K)
            else:
                for _ in range(K):
                    engine.step()
            return engine.counters.evaluations - before

        return run

    modes = {
        "bare batched forward": bare_batched,
        "bare batched forward + minibatch": bare_batched_new_minibatch,
        "MGD batched": mgd(bat, True),
        "MGD sequential": mgd(seq, False),
        "bare sequential forward": bare_sequential,
        "MGD batched walsh": mgd(walsh, True),
        "MGD batched bfloat16": mgd(low, True),
    }
    rates = _call_rates(modes, rounds, min_round_s)
    row: dict[str, Any] = {"batch": b, "n_params": int(theta.numel())}
    row.update({name: statistics.median(r) for name, r in rates.items()})
    row["calls"] = {name: len(r) for name, r in rates.items()}
    return row


_BLOCK = 5
"""Calls of one mode in a row within a cycle of :func:`_call_rates`; the first is not recorded."""


def _call_rates(modes: dict[str, Any], rounds: int, min_round_s: float) -> dict[str, list[float]]:
    """Evaluations / call time of every recorded call, per mode (each ``fn()`` returns its evaluation count).

    The modes are interleaved in short blocks: a cycle runs every mode for ``_BLOCK`` calls in a row (the
    order of the modes rotating from one cycle to the next) and records all of them but the first, which
    finds the caches filled by the previous mode, so each recorded call is a call of a loop running that mode
    alone. Cycles run for ``rounds * min_round_s`` seconds per mode in all. The speed of a shared virtual
    machine drifts by 10-30 % over seconds; blocks of a few milliseconds put every mode under the same
    drift, so the ratios of the medians do not move with it, and the median over a mode's calls is what a
    burst of load (a few slow calls) does not move.
    """
    for fn in modes.values():
        fn()
    rates: dict[str, list[float]] = {name: [] for name in modes}
    items = list(modes.items())
    deadline = time.perf_counter() + rounds * min_round_s * len(items)
    cycle = 0
    while time.perf_counter() < deadline or cycle == 0:
        shift = cycle % len(items)
        for name, fn in items[shift:] + items[:shift]:
            fn()
            for _ in range(_BLOCK - 1):
                start = time.perf_counter()
                n = fn()
                rates[name].append(n / (time.perf_counter() - start))
        cycle += 1
    return rates


def breakdown(b: int, rounds: int, min_round_s: float) -> list[dict[str, Any]]:
    """Where MGD batched's time goes: the batched forward of the 33 points of an update, then one piece of
    MGD's work added at a time, each mode timed as in :func:`speed`; printed as median microseconds per
    update with the increment over the previous row."""
    task = _task(b)
    engine = _engine(task)
    model = task.network().eval()
    names, shapes = engine.objective._layout
    x, y = task.tensors.x_train[:b], task.tensors.y_train[:b]
    theta, code, amplitude = engine.theta.clone(), engine.code, engine.amplitude
    indices = list(range(K))
    fixed = torch.empty(K + 1, theta.numel())
    fixed[0].copy_(theta)
    code.perturbed_points(indices, theta, amplitude, fixed[1:])
    stream = TensorBatches(task.tensors.x_train, task.tensors.y_train, b, seed=1)

    def forward(points: torch.Tensor, batch) -> int:
        module_costs(model, names, shapes, task.loss_fn, points, batch)
        return K + 1

    def written() -> torch.Tensor:  # the code writes theta + a s into the same buffer again
        code.perturbed_points(indices, theta, amplitude, fixed[1:])
        return fixed

    def fresh() -> torch.Tensor:  # ... into a buffer allocated for this call
        points = torch.empty(K + 1, theta.numel())
        points[0].copy_(theta)
        code.perturbed_points(indices, theta, amplitude, points[1:])
        return points

    def mgd() -> int:
        before = engine.counters.evaluations
        engine.step_batched(K)
        return engine.counters.evaluations - before

    modes = {
        "batched forward of 33 cached points": lambda: forward(fixed, (x, y)),
        "+ the code writes the points": lambda: forward(written(), (x, y)),
        "+ into a new buffer": lambda: forward(fresh(), (x, y)),
        "+ a new minibatch": lambda: forward(fresh(), stream.next()[0]),
        "MGD batched (the engine)": mgd,
    }
    rates = _call_rates(modes, rounds, min_round_s)
    rows, previous = [], None
    print(f"\nB = {b}: microseconds per update of K = {K} (median over the calls), one thread")
    print("| step | us per update | added |")
    print("|---|---|---|")
    for name, r in rates.items():
        us = (K + 1) / statistics.median(r) * 1e6
        added = "" if previous is None else f"+{us - previous:.0f}"
        print(f"| {name} | {us:.0f} | {added} |")
        rows.append({"mode": name, "us_per_update": us})
        previous = us
    return rows


def speed(batch_sizes: list[int], rounds: int, min_round_s: float) -> list[dict[str, Any]]:
    """Evaluations/s per mode and batch size (medians over interleaved calls), printed as one table."""
    out = []
    for b in batch_sizes:
        row = _speed_for_batch(b, rounds, min_round_s)
        out.append(row)
        print(f"B={b}: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in row.items() if isinstance(v, float)))
    modes = ["bare batched forward", "bare batched forward + minibatch", "MGD batched", "MGD batched walsh"]
    modes += ["MGD batched bfloat16", "MGD sequential", "bare sequential forward"]
    per_mode = f"{rounds} x {min_round_s} s per mode"
    print(f"\nevaluations/s, K = {K}, median over interleaved calls ({per_mode}), one thread")
    header = ["B", *modes, "MGD batched / bare batched", "MGD batched / bare batched + minibatch"]
    header += ["MGD batched / MGD sequential", "MGD batched / bare sequential"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in out:
        mgd = row["MGD batched"]
        ratios = [mgd / row["bare batched forward"], mgd / row["bare batched forward + minibatch"]]
        ratios += [mgd / row["MGD sequential"], mgd / row["bare sequential forward"]]
        cells = [str(row["batch"]), *(f"{row[m]:,.0f}" for m in modes), *(f"{r:.2f}" for r in ratios)]
        print("| " + " | ".join(cells) + " |")
    return out


# -- peak RSS, each in its own process -----------------------------------------------------------------


def rss_child(mode: str, steps: int, batch_size: int) -> dict[str, float]:
    """Run ``mode`` (inference, mgd, mgd-batched) for ``steps`` updates' worth of work; report memory:
    the peak RSS sampled during the loop, the RSS after setup, and ``ru_maxrss`` (whole process)."""
    import psutil
    from zo_peers import PeakRSS

    task = _task(batch_size)
    engine = _engine(task)
    setup_mb = psutil.Process().memory_info().rss / 2**20
    meter = PeakRSS()
    t = task.tensors
    if mode == "inference":
        model = engine.objective.model
        stream = TensorBatches(t.x_train, t.y_train, batch_size, seed=0)
        with torch.no_grad():
            for _ in range(steps):
                (xb, yb), _ = stream.next()
                for _ in range(K + 1):
                    float(task.loss_fn(model(xb), yb))
    elif mode == "mgd":
        for _ in range(steps * K):
            engine.step()
    elif mode == "mgd-batched":
        for _ in range(steps):
            engine.step_batched(K)
    else:
        raise ValueError(mode)
    loop_peak = meter.stop()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "mode": mode,
        "loop_peak_rss_mb": loop_peak,
        "rss_after_setup_mb": setup_mb,
        "ru_maxrss_mb": peak_mb,
    }


def peak_rss(steps: int, batch_size: int) -> list[dict[str, float]]:
    rows = []
    for mode in ("inference", "mgd", "mgd-batched"):
        cmd = [
            sys.executable,
            __file__,
            "--rss-child",
            mode,
            "--rss-steps",
            str(steps),
            "--batch",
            str(batch_size),
        ]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit(f"the {mode} memory run failed:\n{res.stderr.strip()}")
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(rows[-1])
    return rows


# -- two processes -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dist_worker(rank: int, world: int, port: int, calls: int, batch_size: int, out: str) -> None:
    from astroglia.mgd.distributed import DistributedMGD

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        engine = _engine(_task(batch_size))
        d = DistributedMGD(engine)
        d.step(K)  # warm-up
        dist.barrier()
        start = time.perf_counter()
        for _ in range(calls):
            d.step(K)
        dist.barrier()
        wall = time.perf_counter() - start
        if rank == 0:
            Path(out).write_text(
                json.dumps(
                    {
                        "wall_s": wall,
                        "evaluations": calls * (K + 1),
                        "bytes_sent_per_call": d.last_step_bytes[0],
                    }
                )
            )
    finally:
        dist.destroy_process_group()


def two_process(calls: int, batch_size: int, tmp: Path) -> dict[str, float]:
    torch.set_num_threads(1)
    engine = _engine(_task(batch_size))
    engine.step_batched(K)
    start = time.perf_counter()
    for _ in range(calls):
        engine.step_batched(K)
    single = calls * (K + 1) / (time.perf_counter() - start)
    out = tmp / "dist.json"
    mp.spawn(_dist_worker, args=(2, _free_port(), calls, batch_size, str(out)), nprocs=2, join=True)
    rec = json.loads(out.read_text())
    double = rec["evaluations"] / rec["wall_s"]
    row = {
        "batch": batch_size,
        "single_evals_per_s": single,
        "two_process_evals_per_s": double,
        "speedup": double / single,
        "bytes_sent_per_call": rec["bytes_sent_per_call"],
    }
    print(row)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=type(
            "Formatter", (argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter), {}
        ),
    )
    parser.add_argument("--quick", action="store_true", help="tiny run to check the script works")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--batches",
        default="1,32,64,128,256,1000",
        help="comma-separated minibatch sizes B of the speed table",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="seconds per mode and batch size, in units of --round-s"
    )
    parser.add_argument("--round-s", type=float, default=1.0, help="the unit of --rounds, in seconds")
    parser.add_argument(
        "--breakdown",
        type=int,
        default=None,
        metavar="B",
        help="only print where MGD batched's time goes at minibatch size B (see breakdown())",
    )
    parser.add_argument(
        "--speed-only", action="store_true", help="only the speed table (no memory, no two processes)"
    )
    parser.add_argument("--rss-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rss-steps", type=int, default=200, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=256, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:
        import psutil  # noqa: F401
    except ImportError:
        raise SystemExit("this benchmark needs psutil: run `make bench` (the benchmark extras)") from None
    if args.rss_child:
        print(json.dumps(rss_child(args.rss_child, args.rss_steps, args.batch)))
        return
    if args.breakdown is not None:
        rows = breakdown(args.breakdown, args.rounds, args.round_s)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
        return
    quick = args.quick
    results = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__},
        "k": K,
        "speed": speed(
            [32, 256] if quick else [int(b) for b in args.batches.split(",")],
            1 if quick else args.rounds,
            0.2 if quick else args.round_s,
        ),
    }
    if not args.speed_only:
        results["rss"] = peak_rss(5 if quick else 200, 256)
        with tempfile.TemporaryDirectory() as tmp:
            results["two_process"] = two_process(3 if quick else 100, 1000, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
