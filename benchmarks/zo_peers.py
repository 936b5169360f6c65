"""Zero-order peers at equal cost-evaluation budgets: MGD against SPSA (MeZO-style), nevergrad and EvoTorch.

Task: Fashion-MNIST (full set from the usual places, else the embedded sample; the run records which),
cross-entropy with label smoothing 0.01, minibatches drawn by a seeded stream, one CPU thread per run.
Networks: ``mlp`` (196-32-10 on 2x2-pooled images, 6,634 parameters, batch 256) and ``cnn`` (the paper's
14,378-parameter CNN on 28x28 images, batch 100).

A *cost evaluation* is one forward pass of the network on one minibatch. Every method gets the same budget of
them and the same initial parameters:

- ``mgd-random`` / ``mgd-walsh``: the MGD engine, K = 32 perturbations per minibatch and per update
  (``tau_x = tau_theta = 32``, ``tau_p = 1``; one baseline + 32 perturbed evaluations, batched for the MLP,
  one at a time for the CNN, see :data:`BATCHED`);
- ``mgd-adam``: MGD with random codes whose integrated estimate is handed to Adam (lr 1e-3) at every update;
- ``spsa-1`` / ``spsa-2``: MeZO-style SPSA with Gaussian directions regenerated from a seed, perturbing the
  parameters in place (O(P) memory): one-sided :math:`(C(\\theta+\\epsilon z) - C(\\theta))/\\epsilon` or
  two-sided
  :math:`(C(\\theta+\\epsilon z) - C(\\theta-\\epsilon z))/2\\epsilon`, times z, 2 evaluations per step. The
  step size and :math:`\\epsilon` are MGD's, mapped (:math:`\\epsilon = a = \\Delta\\theta/\\sqrt P`,
  lr = eta / P), so that ``spsa-1`` is MGD with all time constants 1 up to Gaussian vs +/-1 directions;
- ``ng-<name>``: nevergrad optimisers on an ``Array`` parametrisation initialised at theta0, 32 candidates
  asked per minibatch (``num_workers=32``) and evaluated in one batched call;
- ``evotorch-snes`` / ``evotorch-pgpe``: EvoTorch SNES and PGPE (ClipUp), population 32 per minibatch;
- ``backprop-adam``: the reference, Adam (lr 1e-3) with one forward + backward per "evaluation".

Reported per run: test accuracy on the test split, wall time, and peak RSS of the training phase (sampled
every 5 ms by a thread; the RSS after loading data and model is given too). Each run is its own process.

Run: ``python benchmarks/zo_peers.py --nets mlp,cnn --budgets 10000,100000 --json out.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import torch

from astroglia.errors import NonFiniteCostError
from astroglia.experiments.setup import TaskConfig, prepare_task
from astroglia.metrics.classification import evaluate_classifier
from astroglia.mgd import MGDConfig, MGDEngine, ModuleObjective
from astroglia.mgd.seeding import generator
from astroglia.mgd.streams import TensorBatches

K = 32
METHODS = (
    "mgd-random",
    "mgd-walsh",
    "mgd-adam",
    "spsa-1",
    "spsa-2",
    "ng-OnePlusOne",
    "ng-DiagonalCMA",
    "ng-TBPSA",
    "evotorch-snes",
    "evotorch-pgpe",
    "backprop-adam",
)
NETS = {
    "mlp": {"network": "mlp", "hidden": 32, "input_pool": 2, "batch_size": 256},
    "cnn": {"network": "paper-cnn", "input_pool": 1, "batch_size": 100},
}
HYPER = {
    # MGD: the demo preset for the MLP, the paper's values for the CNN (specs/mgd.md section 7)
    "mlp": {"eta": 10.0, "delta_theta": 0.5, "es_sigma": 0.01, "pgpe_speed": 0.02},
    "cnn": {"eta": 10.0, "delta_theta": 0.1, "es_sigma": 0.01, "pgpe_speed": 0.02},
}


class PeakRSS:
    """Samples the process RSS every ``interval_s`` in a thread; ``peak_mb`` after ``stop()``."""

    def __init__(self, interval_s: float = 0.005) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak_mb = self._proc.memory_info().rss / 2**20
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)
        self._thread.start()

    def _run(self, interval_s: float) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2**20)
            time.sleep(interval_s)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2**20)
        return self.peak_mb


BATCHED = {"mlp": True, "cnn": False}
"""Whether population evaluations use ``cost_many`` (vmap); on the CPU, vmap over the CNN's convolutions was
slower than a loop (91 vs 64 ms per evaluation at batch 100), so the CNN evaluates one candidate at a time."""
_BATCHED = [True]


def _costs(objective, theta: torch.Tensor, batch: Any, perturbations: torch.Tensor) -> torch.Tensor:
    """The costs at ``theta + perturbations[k]``: batched or a loop, per :data:`BATCHED`."""
    if _BATCHED[0]:
        return objective.cost_many(theta, batch, perturbations)
    return torch.tensor([objective.cost(theta, batch, q) for q in perturbations], dtype=torch.float64)


_DEADLINE = [math.inf]  # time.perf_counter() after which a run stops early (reported)
_USED = [0]  # cost evaluations used by the run
_STATUS = ["completed"]  # or why the run stopped early


def _out_of_time() -> bool:
    return time.perf_counter() > _DEADLINE[0]


def _mgd(objective, stream, budget: int, hp: dict[str, Any], code: str) -> torch.Tensor:
    cfg = MGDConfig(
        eta=hp["eta"],
        delta_theta=hp["delta_theta"],
        code=code,
        tau_x=K,
        tau_theta=K,
        seed=0,
    )
    engine = MGDEngine(objective, cfg, stream)
    try:
        while engine.counters.evaluations + K + 1 <= budget and not _out_of_time():
            if _BATCHED[0]:
                engine.step_batched(K)
            else:
                engine.run(K)  # the same steps, evaluated one at a time
    except NonFiniteCostError as err:  # diverged: report where, with the parameters of that moment
        _STATUS[0] = f"diverged: non-finite cost at step {err.step}"
    _USED[0] = engine.counters.evaluations
    return engine.theta


def _mgd_adam(objective, stream, budget: int, hp: dict[str, Any]) -> torch.Tensor:
    """MGD (random codes) whose integrated estimate G_int is handed to Adam at every update, as
    ``astroglia.mgd.MGD(..., write_grad=True)`` does for a module: per-parameter step sizes on MGD's
    estimate (Adam lr 1e-3, as for backprop)."""
    cfg = MGDConfig(eta=hp["eta"], delta_theta=hp["delta_theta"], code="random", tau_x=K, tau_theta=K, seed=0)
    engine = MGDEngine(objective, cfg, stream)
    adam = torch.optim.Adam([engine.theta], lr=1e-3)

    def update() -> None:
        engine.theta.grad = engine.g_int.clone()
        adam.step()

    engine.apply_update = update
    try:
        while engine.counters.evaluations + K + 1 <= budget and not _out_of_time():
            if _BATCHED[0]:
                engine.step_batched(K)
            else:
                engine.run(K)
    except NonFiniteCostError as err:
        _STATUS[0] = f"diverged: non-finite cost at step {err.step}"
    _USED[0] = engine.counters.evaluations
    return engine.theta.detach()


def _spsa(objective, stream, budget: int, hp: dict[str, Any], two_sided: bool) -> torch.Tensor:
    theta = objective.parameters_vector()
    p = theta.numel()
    eps = hp["delta_theta"] / math.sqrt(p)
    lr = hp["eta"] / p
    for step in range(budget // 2):
        if _out_of_time():
            break
        _USED[0] += 2
        batch, _ = stream.next()
        z = torch.randn(p, generator=generator(0, step), dtype=theta.dtype)
        z.mul_(eps)
        c_plus = objective.cost(theta, batch, z)
        if two_sided:
            slope = (c_plus - objective.cost(theta, batch, z.neg())) / (2 * eps)
        else:
            slope = (c_plus - objective.cost(theta, batch)) / eps
        if math.isfinite(slope):
            theta.add_(z, alpha=-lr * slope / eps)  # z holds eps * N(0, I)
    return theta


def _nevergrad(objective, stream, budget: int, hp: dict[str, Any], name: str) -> torch.Tensor:
    import nevergrad as ng
    import numpy as np

    theta0 = objective.parameters_vector()
    param = ng.p.Array(init=theta0.double().numpy()).set_mutation(sigma=hp["es_sigma"])
    opt = ng.optimizers.registry[name](parametrization=param, budget=budget, num_workers=K)
    zero = torch.zeros_like(theta0)
    used = 0
    while used + K <= budget and not _out_of_time():
        cands = [opt.ask() for _ in range(K)]
        batch, _ = stream.next()
        points = torch.as_tensor(np.stack([c.value for c in cands]), dtype=theta0.dtype)
        costs = _costs(objective, zero, batch, points).tolist()
        for c, v in zip(cands, costs, strict=True):
            opt.tell(c, v)
        used += K
        _USED[0] = used
    best = opt.provide_recommendation().value
    return torch.as_tensor(best, dtype=theta0.dtype)


def _evotorch(objective, stream, budget: int, hp: dict[str, Any], name: str) -> torch.Tensor:
    from evotorch import Problem
    from evotorch.algorithms import PGPE, SNES

    theta0 = objective.parameters_vector()
    zero = torch.zeros_like(theta0)

    class Loss(Problem):
        def __init__(self) -> None:
            super().__init__("min", solution_length=theta0.numel(), initial_bounds=(-0.1, 0.1), seed=0)

        def _evaluate_batch(self, solutions) -> None:
            batch, _ = stream.next()
            solutions.set_evals(_costs(objective, zero, batch, solutions.values.to(theta0.dtype)).float())

    problem = Loss()
    if name == "snes":
        algo = SNES(problem, stdev_init=hp["es_sigma"], popsize=K, center_init=theta0)
    else:
        speed = hp["pgpe_speed"]
        algo = PGPE(
            problem,
            popsize=K,
            center_learning_rate=speed / 2,
            stdev_learning_rate=0.1,
            stdev_init=hp["es_sigma"],
            center_init=theta0,
            optimizer="clipup",
            optimizer_config={"max_speed": speed},
        )
    for _ in range(budget // K):
        if _out_of_time():
            break
        algo.step()
        _USED[0] += K
    return algo.status["center"].clone().to(theta0.dtype)


def _backprop(model, task, stream, budget: int) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(budget):
        if _out_of_time():
            break
        _USED[0] += 1
        (x, y), _ = stream.next()
        opt.zero_grad()
        task.loss_fn(model(x), y).backward()
        opt.step()


def run_one(
    net: str, budget: int, method: str, max_wall_s: float = math.inf, eta: float | None = None
) -> dict[str, Any]:
    """One (network, budget, method) run; returns accuracy, wall time, memory and how the run ended.

    A run that exceeds ``max_wall_s`` of training stops early and reports ``evaluations`` < ``budget``; an
    MGD run whose cost becomes NaN or inf stops there and says so in ``status``. ``eta`` replaces the
    network's default MGD/SPSA step size (:data:`HYPER`; SPSA's learning rate is eta / P).
    """
    torch.set_num_threads(1)
    if method.startswith("ng-"):
        import nevergrad  # noqa: F401  (imported before the memory baseline)
    if method.startswith("evotorch-"):
        import evotorch  # noqa: F401
    task = prepare_task(TaskConfig(label_smoothing=0.01, threads=1, seed=0, **NETS[net]))
    model = task.network().eval()
    t = task.tensors
    stream = TensorBatches(t.x_train, t.y_train, task.config.batch_size, seed=0)
    hp = dict(HYPER[net], **({"eta": eta} if eta is not None else {}))
    objective = ModuleObjective(model, task.loss_fn)
    n_params = objective.n_params
    import psutil

    setup_mb = psutil.Process().memory_info().rss / 2**20
    meter = PeakRSS()
    start = time.perf_counter()
    _DEADLINE[0] = start + max_wall_s
    _BATCHED[0] = BATCHED[net]
    if method == "backprop-adam":
        model.train()
        _backprop(model, task, stream, budget)
        model.eval()
    else:
        with torch.no_grad():
            if method == "mgd-adam":
                theta = _mgd_adam(objective, stream, budget, hp)
            elif method.startswith("mgd-"):
                theta = _mgd(objective, stream, budget, hp, method[4:])
            elif method.startswith("spsa-"):
                theta = _spsa(objective, stream, budget, hp, two_sided=method.endswith("2"))
            elif method.startswith("ng-"):
                theta = _nevergrad(objective, stream, budget, hp, method[3:])
            elif method.startswith("evotorch-"):
                theta = _evotorch(objective, stream, budget, hp, method[9:])
            else:
                raise ValueError(f"unknown method {method!r}")
        objective.set_parameters(theta)
    wall = time.perf_counter() - start
    if _STATUS[0] == "completed" and _USED[0] + K + 1 <= budget and _out_of_time():
        _STATUS[0] = f"stopped at the {max_wall_s:g} s wall-time cap"
    peak = meter.stop()
    score = evaluate_classifier(model, t.x_test, t.y_test, task.loss_fn)
    return {
        "net": net,
        "n_params": n_params,
        "budget": budget,
        "method": method,
        "batched": BATCHED[net],
        "evaluations": _USED[0],
        "eta": hp["eta"],
        "status": _STATUS[0],
        "test_accuracy": score.accuracy,
        "test_loss": score.loss,
        "wall_s": wall,
        "peak_rss_mb": peak,
        "rss_after_setup_mb": setup_mb,
        "data_source": task.dataset.source,
        "n_train": len(t.x_train),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nets", default="mlp,cnn", help="comma-separated: mlp, cnn")
    parser.add_argument("--budgets", default="10000,100000", help="comma-separated evaluation budgets")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help="comma-separated, from: " + ", ".join(METHODS)
    )
    parser.add_argument("--json", type=Path, default=None, help="append one JSON line per run here")
    parser.add_argument(
        "--max-wall-s", type=float, default=math.inf, help="stop a run early after this many seconds"
    )
    parser.add_argument(
        "--eta", type=float, default=None, help="MGD eta (and SPSA lr = eta / P) instead of the defaults"
    )
    parser.add_argument("--one", nargs=3, metavar=("NET", "BUDGET", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        net, budget, method = args.one
        print(json.dumps(run_one(net, int(budget), method, args.max_wall_s, args.eta)))
        return
    for net in args.nets.split(","):
        for budget in (int(b) for b in args.budgets.split(",")):
            for method in args.methods.split(","):
                cmd = [sys.executable, __file__, "--one", net, str(budget), method]
                cmd += ["--max-wall-s", str(args.max_wall_s)]
                cmd += ["--eta", str(args.eta)] if args.eta is not None else []
                res = subprocess.run(cmd, capture_output=True, text=True)
                if res.returncode != 0:
                    row = {"net": net, "budget": budget, "method": method, "error": res.stderr.strip()[-400:]}
                else:
                    row = json.loads(res.stdout.strip().splitlines()[-1])
                print(json.dumps(row), flush=True)
                if args.json:
                    with args.json.open("a") as f:
                        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
