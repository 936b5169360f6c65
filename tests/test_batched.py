"""Batched perturbations: ``MGDEngine.step_batched(K)`` equals K sequential steps; ``cost_many`` contracts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from astroglia.errors import NonFiniteCostError
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
    with pytest.raises(RuntimeError, match="between steps.*step 0 is pending.*skip()"):
        engine.step_batched(4)


def test_an_evaluator_returning_the_wrong_number_of_costs_records_nothing_and_leaves_a_way_out():
    cfg = MGDConfig(tau_x=4, tau_theta=4)
    engine, reference = _engine(cfg), _engine(cfg)

    def wrong(theta, batch, perturbations, need_baseline):
        return 0.0, torch.zeros(len(perturbations) + 1)

    with pytest.raises(ValueError, match="returned 5 costs for 4 perturbations; nothing was recorded"):
        engine.step_batched(4, evaluate=wrong)
    assert engine.counters.evaluations == 0 and engine.ask().kind == "baseline"
    engine.step()  # the pending request is measured: the run goes on as if nothing had happened
    engine.step_batched(3)
    reference.step()
    reference.step_batched(3)
    assert engine.counters == reference.counters
    assert torch.equal(engine.theta, reference.theta)


def _quadratic_engine(cfg: MGDConfig, fn_hook=None, nonideal=None) -> MGDEngine:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 30))
    h = a @ a.T / 30

    def fn(th: np.ndarray, _batch) -> float:
        value = float(0.5 * th @ h @ th + th.sum())
        return fn_hook(value) if fn_hook is not None else value

    return MGDEngine(FunctionObjective(fn, np.ones(30)), cfg, FixedInput(), nonideal=nonideal)


def test_step_batched_applies_cost_noise_gain_mismatch_and_update_noise_like_step():
    from astroglia.mgd.nonideal import NonIdealConfig

    noisy = NonIdealConfig(cost_noise=0.01, cost_noise_on_baseline=True, gain_mismatch=0.2, update_noise=1e-3)
    cfg = MGDConfig(eta=0.05, delta_theta=0.1, tau_x=8, tau_theta=8, seed=2)
    seq, bat = _quadratic_engine(cfg, nonideal=noisy), _quadratic_engine(cfg, nonideal=noisy)
    seq_results = [seq.step() for _ in range(24)]
    bat_results = [r for _ in range(3) for r in bat.step_batched(8)]
    assert [r.cost for r in bat_results] == pytest.approx([r.cost for r in seq_results], rel=1e-12)
    assert [r.baseline for r in bat_results] == pytest.approx([r.baseline for r in seq_results], rel=1e-12)
    torch.testing.assert_close(bat.theta, seq.theta, rtol=1e-12, atol=1e-13)
    ideal = _quadratic_engine(cfg)
    for _ in range(3):
        ideal.step_batched(8)
    assert not torch.allclose(ideal.theta, bat.theta)  # the non-idealities did act


def test_step_batched_stops_at_a_non_finite_cost_with_the_state_step_would_leave():
    from astroglia.errors import NonFiniteCostError

    calls = {"n": 0}

    def nan_on_call(value: float, at: int = 13) -> float:  # the 13th measurement: a perturbed one
        calls["n"] += 1
        return float("nan") if calls["n"] == at else value

    cfg = MGDConfig(eta=0.05, delta_theta=0.1, tau_x=16, tau_theta=16, seed=2)
    bat = _quadratic_engine(cfg, fn_hook=nan_on_call)
    with pytest.raises(NonFiniteCostError) as err:
        bat.step_batched(16)
    calls["n"] = 0
    seq = _quadratic_engine(cfg, fn_hook=nan_on_call)
    with pytest.raises(NonFiniteCostError) as err_seq:
        for _ in range(16):
            seq.step()
    assert err.value.step == err_seq.value.step == 11  # measurement 1 is the baseline, 2..12 steps 0..10
    assert bat.counters == seq.counters and bat.counters.steps == 11
    torch.testing.assert_close(bat.g_int, seq.g_int, rtol=1e-12, atol=1e-13)
    assert torch.equal(bat.theta, seq.theta)  # no update yet
    assert bat.ask().step == seq.ask().step == 11  # the failed request is pending in both


class _NaNAt(ModuleObjective):
    """A ModuleObjective whose batched evaluation reports NaN for one row of its next call."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.nan_row: int | None = None

    def costs_at(self, points: torch.Tensor, batch) -> torch.Tensor:
        costs = super().costs_at(points, batch)
        if self.nan_row is not None:
            costs[self.nan_row] = float("nan")
            self.nan_row = None
        return costs


def _float64_engine(cfg: MGDConfig) -> MGDEngine:
    x, y = _data()
    objective = _NaNAt(_mlp(0).double(), F.cross_entropy)
    return MGDEngine(objective, cfg, TensorBatches(x.double(), y, batch_size=16, seed=0))


def _through_perturbations(engine: MGDEngine):
    """A batch evaluator that takes the path through explicit perturbations (theta + perturbations)."""

    def evaluate(theta, batch, perturbations, need_baseline):
        points = theta + perturbations
        if need_baseline:
            points = torch.cat([theta[None], points])
        costs = engine.objective.costs_at(points, batch)
        return (float(costs[0]), costs[1:]) if need_baseline else (None, costs)

    return evaluate


@pytest.mark.parametrize("code", ["random", "walsh"])
def test_points_written_by_the_code_give_the_costs_of_explicit_perturbations(code: str):
    """step_batched on a ModuleObjective lets the code write theta + a s itself (for random codes a compiled
    kernel that never builds the patterns): the same costs, G_int and theta as the path through explicit
    perturbations, to float64 rounding."""
    cfg = MGDConfig(eta=0.5, delta_theta=0.1, code=code, tau_x=8, tau_theta=16, tau_p=1, seed=3)
    direct, explicit = _float64_engine(cfg), _float64_engine(cfg)
    for _ in range(5):  # runs of 8: a new input every run, an update every other run (baseline known)
        a = direct.step_batched(8)
        b = explicit.step_batched(8, evaluate=_through_perturbations(explicit))
        # the points are equal (test_codes); the batched kernels may round differently at other addresses
        for field in ("cost", "baseline", "c_tilde"):
            np.testing.assert_allclose(
                [getattr(r, field) for r in a], [getattr(r, field) for r in b], rtol=1e-12, atol=1e-14
            )
        torch.testing.assert_close(direct.g_int, explicit.g_int, rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(direct.theta, explicit.theta, rtol=1e-12, atol=1e-15)
    assert direct.counters == explicit.counters and direct.counters.updates == 2


def test_a_non_finite_cost_on_code_written_points_leaves_the_request_pending_with_its_perturbation():
    cfg = MGDConfig(eta=0.5, delta_theta=0.1, tau_x=16, tau_theta=16, seed=3)
    direct, explicit = _float64_engine(cfg), _float64_engine(cfg)
    direct.objective.nan_row = explicit.objective.nan_row = 6  # row 0 is the baseline: step 5 fails
    with pytest.raises(NonFiniteCostError):
        direct.step_batched(16)
    with pytest.raises(NonFiniteCostError):
        explicit.step_batched(16, evaluate=_through_perturbations(explicit))
    assert direct.counters == explicit.counters and direct.counters.steps == 5
    torch.testing.assert_close(direct.g_int, explicit.g_int, rtol=1e-12, atol=1e-15)
    pending = direct.ask()
    assert pending.step == 5 and pending.kind == "perturbed"
    assert torch.equal(pending.perturbation, explicit.ask().perturbation)
    assert torch.equal(pending.perturbation, direct.code.pattern(5, dtype=torch.float64) * direct.amplitude)
    # measuring it continues the run exactly as the sequential loop would
    direct.tell(direct.objective.cost(direct.theta, pending.batch, pending.perturbation))
    assert direct.counters.steps == 6


def test_batched_costs_reject_bad_rows_before_the_forward_pass():
    objective = ModuleObjective(_mlp(), F.cross_entropy)
    theta, batch = objective.parameters_vector(), _data()
    p = theta.numel()
    for bad in (torch.zeros(3, p + 1), torch.zeros(0, p), torch.zeros(p)):
        with pytest.raises(ValueError, match=r"must have shape \(K >= 1, " + str(p)):
            objective.cost_many(theta, batch, bad)
        with pytest.raises(ValueError, match="points must have shape"):
            objective.costs_at(bad, batch)
    with pytest.raises(ValueError, match="float64 on cpu; the model's parameters are torch.float32"):
        objective.cost_many(theta, batch, torch.zeros(2, p, dtype=torch.float64))


@pytest.mark.parametrize("bad", [torch.int32, "bfloat16", torch.bool, torch.float8_e4m3fn])
def test_module_objective_refuses_a_compute_dtype_that_is_not_floating(bad):
    model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="compute_dtype must be a floating torch.dtype"):
        ModuleObjective(model, F.cross_entropy, compute_dtype=bad)
    with pytest.raises(ValueError, match="chunk_size"):
        ModuleObjective(model, F.cross_entropy, chunk_size=0)


def test_module_objective_refuses_a_loss_that_is_not_callable():
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        ModuleObjective(nn.Linear(3, 2), "ce")


def test_engine_tell_refuses_a_value_that_is_not_a_number_and_keeps_the_request():
    obj = FunctionObjective(lambda theta, batch: float((theta**2).sum()), np.ones(4))
    engine = MGDEngine(obj, MGDConfig(eta=0.1, delta_theta=0.1, seed=0), FixedInput())
    request = engine.ask()
    with pytest.raises(TypeError, match="real number, not NoneType"):
        engine.tell(None)
    assert engine.ask() is request and engine.counters.evaluations == 0
    engine.tell(np.float32(4.0))
    assert engine.counters.evaluations == 1
