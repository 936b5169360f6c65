"""Scale-out: two gloo workers on localhost exchange scalars only and end with identical parameters."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from astroglia.mgd import MGDConfig, MGDEngine, ModuleObjective
from astroglia.mgd.streams import TensorBatches

K = 6
CALLS = 4


def _engine(hidden: int) -> MGDEngine:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 10, generator=g)
    y = torch.randint(0, 3, (64,), generator=g)
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(10, hidden), nn.Tanh(), nn.Linear(hidden, 3)).eval()
    cfg = MGDConfig(eta=2.0, delta_theta=0.1, code="walsh", tau_x=K, tau_theta=K, seed=3)
    return MGDEngine(ModuleObjective(model, F.cross_entropy), cfg, TensorBatches(x, y, 16, seed=2))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out: str) -> None:
    from astroglia.mgd.distributed import DistributedMGD

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        record = {}
        for hidden in (8, 64):  # P = 115 and 899: the exchange must not depend on P
            engine = _engine(hidden)
            d = DistributedMGD(engine)
            per_call = []
            for _ in range(CALLS):
                d.step(K)
                per_call.append(d.last_step_bytes)
            record[hidden] = {"theta": engine.theta.clone(), "bytes": per_call, "counters": engine.counters}
        mismatched = _engine(8)
        mismatched.theta.add_(rank)  # a worker that did not start from the same parameters
        try:
            DistributedMGD(mismatched)
            record["mismatch"] = None
        except ValueError as exc:
            record["mismatch"] = str(exc)
        torch.save(record, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("dist")
    mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]


def test_workers_hold_bit_identical_parameters(two_workers):
    for hidden in (8, 64):
        assert torch.equal(two_workers[0][hidden]["theta"], two_workers[1][hidden]["theta"])


def test_workers_equal_one_process_evaluating_the_same_perturbations(two_workers):
    for hidden in (8, 64):
        engine = _engine(hidden)
        for _ in range(CALLS):
            engine.step_batched(K)
        # batched evaluation of 3 vs 6 perturbations per call: equal up to float rounding
        torch.testing.assert_close(two_workers[0][hidden]["theta"], engine.theta, rtol=1e-5, atol=1e-6)
        assert two_workers[0][hidden]["counters"] == engine.counters


def test_bytes_per_step_are_o_k_and_independent_of_p(two_workers):
    w = 2
    expected_sent = 8 * (1 + -(-K // w))  # one float64 baseline slot + this worker's ceil(K/W) costs
    for rank in range(w):
        for hidden in (8, 64):
            assert two_workers[rank][hidden]["bytes"] == [(expected_sent, w * expected_sent)] * CALLS


def test_workers_built_differently_are_refused(two_workers):
    for rank in range(2):
        assert "build the engine identically" in two_workers[rank]["mismatch"]


def test_the_torchrun_example_trains_on_two_workers_with_identical_parameters():
    import subprocess
    import sys

    example = Path(__file__).resolve().parents[1] / "examples" / "distributed_training.py"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    cmd += [str(example), "--updates", "3", "--data-source", "sample", "--batch-size", "64"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "update 3: test accuracy" in done.stdout and "136 bytes sent per update" in done.stdout
    assert "2 workers, identical parameters: True" in done.stdout
