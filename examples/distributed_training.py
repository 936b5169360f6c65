"""MGD on W processes with torch.distributed: each worker measures its share of the K perturbations.

Launch with torchrun (gloo on CPU, nccl with CUDA), e.g. two workers on this machine:

    torchrun --standalone --nproc-per-node 2 examples/distributed_training.py --updates 300

Every worker builds the same network, data stream and engine (same seed), so only the scalar costs travel:
per update each worker sends 8 (1 + ceil(K / W)) bytes, whatever the number of parameters. The network is the
``demo`` preset's MLP (196-32-10 on 2x2-pooled Fashion-MNIST images, P = 6,634) with K = 32 perturbations
per minibatch and update. Worker 0 prints the test accuracy; at the end every worker checks (one all-gather
of a checksum, outside training) that all hold the same parameters. ``--data-source sample`` uses the small
embedded sample when the full dataset is not installed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
import torch.distributed as dist

from astroglia.experiments.mgd_training import make_engine
from astroglia.experiments.setup import TaskConfig, prepare_task
from astroglia.metrics.classification import evaluate_classifier
from astroglia.mgd import MGDConfig
from astroglia.mgd.distributed import DistributedMGD, init_distributed

K = 32


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=300, help="MGD updates (K = 32 evaluations each)")
    parser.add_argument("--batch-size", type=int, default=256, help="minibatch size")
    parser.add_argument("--seed", type=int, default=0, help="seed of initialisation, data order and codes")
    parser.add_argument("--data-source", choices=("auto", "full", "sample"), default="auto")
    parser.add_argument("--backend", choices=("gloo", "nccl"), default=None, help="default: by device")
    args = parser.parse_args()
    for name, low in (("updates", 1), ("batch_size", 1), ("seed", 0)):
        if getattr(args, name) < low:
            parser.error(f"--{name.replace('_', '-')} {getattr(args, name)}: must be >= {low}")
    if "RANK" not in os.environ:
        parser.error("run me under torchrun, e.g. torchrun --standalone --nproc-per-node 2 " + sys.argv[0])
    if args.backend == "nccl" and not torch.cuda.is_available():
        parser.error("--backend nccl needs CUDA, which this machine does not have; use gloo")

    rank, world = init_distributed(args.backend)
    try:
        torch.set_num_threads(1)
        device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None
        task_cfg = TaskConfig(
            network="mlp",
            input_pool=2,
            batch_size=args.batch_size,
            seed=args.seed,
            data_source=args.data_source,
        )
        if device is not None:
            task_cfg.device = str(device)
        task = prepare_task(task_cfg)
        t = task.tensors
        config = MGDConfig(eta=10.0, delta_theta=0.5, tau_x=K, tau_theta=K, tau_p=1, seed=args.seed)
        engine, model = make_engine(task, config)  # the same network, stream and code on every worker
        driver = DistributedMGD(engine)  # checks that every worker starts identically
        train_s = 0.0  # training time only, test evaluations excluded
        for update in range(1, args.updates + 1):
            start = time.perf_counter()
            driver.step(K)
            train_s += time.perf_counter() - start
            if rank == 0 and (update % 100 == 0 or update == args.updates):
                engine.sync_parameters()
                score = evaluate_classifier(model, t.x_test, t.y_test, task.loss_fn)
                rate = engine.counters.evaluations / train_s
                print(
                    f"update {update}: test accuracy {score.accuracy:.4f}, {rate:,.0f} evaluations/s (all "
                    f"workers), {driver.last_step_bytes[0]} bytes sent per update by this worker",
                    flush=True,
                )
        checksum = torch.tensor([float(engine.theta.double().sum()), float(engine.theta.double().norm())])
        if device is not None:
            checksum = checksum.to(device)
        everyone = [torch.empty_like(checksum) for _ in range(world)]
        dist.all_gather(everyone, checksum)
        if rank == 0:
            same = all(torch.equal(c, everyone[0]) for c in everyone)
            print(f"{world} workers, identical parameters: {same}")
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
