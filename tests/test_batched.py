"""Batched perturbations: ``MGDEngine.step_batched(K)`` equals K sequential steps; ``cost_many`` contracts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from astroglia.mgd import MGDConfig, MGDEngine
from astroglia.mgd.objective import FunctionObjective, ModuleObjective, cost_many
from astroglia.mgd.streams import FixedInput, TensorBatches


def _data(n: int = 64, d: int = 12, classes: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return x, y


def _mlp(seed: int = 0, d: int = 12, classes: int = 4) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, classes)).eval()


def _engine(cfg: MGDConfig, seed: int = 0, **objective_kwargs) -> MGDEngine:
    x, y = _data()
    objective = ModuleObjective(_mlp(seed), F.cross_entropy, **objective_kwargs)
    return MGDEngine(objective, cfg, TensorBatches(x, y, batch_size=16, seed=seed))


def test_cost_many_matches_sequential_costs_to_float_rounding():
    x, y = _data()
    objective = ModuleObjective(_mlp(), F.cross_entropy)
    theta = objective.parameters_vector()
    perts = 0.01 * torch.randn(7, theta.numel(), generator=torch.Generator().manual_seed(1))
    batched = objective.cost_many(theta, (x, y), perts)
    sequential = torch.tensor([objective.cost(theta, (x, y), p) for p in perts])
    assert batched.shape == (7,)
    torch.testing.assert_close(batched, sequential, rtol=1e-6, atol=1e-6)
    # the module still holds theta, untouched
    assert torch.equal(objective.parameters_vector(), theta)


@pytest.mark.parametrize("code", ["random", "walsh", "gaussian"])
def test_step_batched_equals_sequential_steps(code: str):
    """K batched perturbations = K consecutive steps on the same input and theta; float32 tolerance."""
    k = 8
    cfg = MGDConfig(eta=0.5, delta_theta=0.1, code=code, tau_x=k, tau_theta=k, tau_p=1, seed=3)
    seq, bat = _engine(cfg), _engine(cfg)
    for _ in range(3):
        seq_results = [seq.step() for _ in range(k)]
        bat_results = bat.step_batched(k)
        # theta agrees to float rounding after the first update, so do all later costs
        for field in ("baseline", "cost", "c_tilde"):
            np.testing.assert_allclose(
                [getattr(r, field) for r in bat_results],
                [getattr(r, field) for r in seq_results],
                rtol=1e-5,
                atol=2e-6,
            )
    torch.testing.assert_close(bat.theta, seq.theta, rtol=1e-5, atol=1e-6)
    assert bat.counters == seq.counters
    assert bat.counters.evaluations == 3 * (k + 1) and bat.counters.updates == 3


@pytest.mark.parametrize(
    ("tau_x", "tau_theta", "tau_p", "calls"),
    [(3, 5, 2, (30, 7)), (16, 16, 1, (16, 16, 16, 16)), (8, 24, 1, (50, 22))],
)
def test_step_batched_equals_sequential_steps_for_a_loop_objective(
    tau_x: int, tau_theta: int, tau_p: int, calls: tuple[int, ...]
) -> None:
    """A FunctionObjective evaluates in a loop, so batching changes only the summation order of G_int, across
    misaligned windows: theta and G_int agree to float64 rounding, the counters exactly."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 40))
    h = a @ a.T / 40

    def fn(th: np.ndarray, _batch) -> float:
        return float(0.5 * th @ h @ th + th.sum())

    cfg = MGDConfig(
        eta=0.05, delta_theta=0.1, tau_x=tau_x, tau_theta=tau_theta, tau_p=tau_p, clip=0.05, seed=1
    )
    seq = MGDEngine(FunctionObjective(fn, np.ones(40)), cfg, FixedInput())
    bat = MGDEngine(FunctionObjective(fn, np.ones(40)), cfg, FixedInput())
    seq_results = [seq.step() for _ in range(sum(calls))]
    bat_results = [r for k in calls for r in bat.step_batched(k)]
    torch.testing.assert_close(bat.theta, seq.theta, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(bat.g_int, seq.g_int, rtol=1e-12, atol=1e-13)
    assert bat.counters == seq.counters
    assert [r.c_tilde for r in bat_results] == pytest.approx(
        [r.c_tilde for r in seq_results], rel=1e-9, abs=1e-12
    )
    # the same call on the same state is deterministic
    again = MGDEngine(FunctionObjective(fn, np.ones(40)), cfg, FixedInput())
    for k in calls:
        again.step_batched(k)
    assert torch.equal(again.theta, bat.theta) and torch.equal(again.g_int, bat.g_int)


def test_cost_many_falls_back_to_a_loop_for_objectives_without_it():
    class Minimal:
        n_params = 3

        def cost(self, theta, batch, perturbation=None):
            p = theta if perturbation is None else theta + perturbation
            return float((p**2).sum())

    perts = torch.eye(3, dtype=torch.float64)
    out = cost_many(Minimal(), torch.zeros(3, dtype=torch.float64), None, perts)
    assert out.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match=r"shape \(K, 3\)"):
        cost_many(Minimal(), torch.zeros(3, dtype=torch.float64), None, torch.zeros(2, 4))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_forward_gives_costs_close_to_float32(dtype: torch.dtype):
    x, y = _data()
    full = ModuleObjective(_mlp(), F.cross_entropy)
    low = ModuleObjective(_mlp(), F.cross_entropy, compute_dtype=dtype)
    theta = full.parameters_vector()
    perts = 0.05 * torch.randn(4, theta.numel(), generator=torch.Generator().manual_seed(2))
    c_full = full.cost_many(theta, (x, y), perts)
    c_low = low.cost_many(theta, (x, y), perts)
    assert c_low.dtype == torch.float32
    torch.testing.assert_close(c_low, c_full, rtol=3e-2, atol=3e-2)


def test_step_batched_rejects_a_pending_request():
    cfg = MGDConfig(tau_x=4, tau_theta=4)
    engine = _engine(cfg)
    engine.ask()
    with pytest.raises(RuntimeError, match="between steps"):
        engine.step_batched(4)
