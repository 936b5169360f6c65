"""The MGD engine against hand computations and the theory of specs/mgd.md section 5."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from astroglia.errors import ConfigError, NonFiniteCostError
from astroglia.mgd.codes import RandomCode
from astroglia.mgd.config import MGDConfig
from astroglia.mgd.engine import MGDEngine, expected_counts
from astroglia.mgd.objective import FunctionObjective, ModuleObjective
from astroglia.mgd.streams import FixedInput
from astroglia.networks import LogisticMLP


def linear_objective(g: np.ndarray, theta0: np.ndarray) -> FunctionObjective:
    return FunctionObjective(lambda th, _x: float(g @ th), theta0)


def test_one_step_equals_hand_computation_on_a_tiny_module():
    """(a) all time constants 1: theta' = theta - eta * (C(theta + a s) - C(theta)) * a s * dt / Delta^2."""
    torch.manual_seed(3)
    model = LogisticMLP([2, 2, 1], generator=torch.Generator().manual_seed(1)).double()
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=torch.float64)
    loss = nn.MSELoss()
    theta0 = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()
    cfg = MGDConfig(eta=0.1, delta_theta=0.05, seed=7)
    engine = MGDEngine(ModuleObjective(model, loss), cfg, FixedInput((x, y), 4))
    result = engine.step()

    # by hand, with an independent copy of the network
    ref = LogisticMLP([2, 2, 1]).double()

    def cost(theta: torch.Tensor) -> float:
        torch.nn.utils.vector_to_parameters(theta, ref.parameters())
        with torch.no_grad():
            return float(loss(ref(x), y))

    p = theta0.numel()
    a = 0.05 / math.sqrt(p)
    pert = RandomCode(p, seed=7).pattern(0, dtype=torch.float64) * a
    c0, c = cost(theta0), cost(theta0 + pert)
    c_tilde = c - c0
    expected = theta0 - 0.1 * (c_tilde * 1.0 / 0.05**2 * pert)
    assert result.baseline == c0 and result.cost == c
    assert torch.equal(engine.theta, expected)
    # the module holds exactly the updated parameters after sync, and theta0 was restored between evaluations
    engine.sync_parameters()
    assert torch.equal(torch.cat([q.detach().reshape(-1) for q in model.parameters()]), expected)
    assert p == 9


def test_mean_estimate_is_gradient_over_p_on_linear_cost():
    """(b) E[G] = grad C / P for random codes (linear cost, all time constants 1)."""
    rng = np.random.default_rng(0)
    p, n = 20, 20000
    g = rng.normal(size=p)
    eta = 1.0
    engine = MGDEngine(
        linear_objective(g, np.zeros(p)), MGDConfig(eta=eta, delta_theta=0.1, seed=1), FixedInput()
    )
    engine.run(n)
    mean_g = -engine.theta.numpy() / (eta * n)  # theta_n = -eta * sum_k G_k
    sigma = np.sqrt((g @ g - g**2) / n) / p  # per-component standard error of the mean
    assert np.all(np.abs(mean_g - g / p) < 5 * sigma)
    # relative error of the whole vector: expected sqrt(P / N) = 0.03
    assert np.linalg.norm(mean_g - g / p) / np.linalg.norm(g / p) < 0.06


@pytest.mark.parametrize("n_int", [10, 100, 1000])
def test_cosine_law(n_int: int):
    """(c) cos(G_int, grad) after N perturbations ~ 1/sqrt(1 + (P-1)/N) for P = 1000, within 10%."""
    p = 1000
    g = np.random.default_rng(42).normal(size=p)
    reps = max(8, 20000 // n_int)
    cosines = []
    for rep in range(reps):
        cfg = MGDConfig(eta=1.0, delta_theta=0.1, tau_theta=n_int, seed=rep)
        engine = MGDEngine(linear_objective(g, np.zeros(p)), cfg, FixedInput())
        engine.run(n_int)
        g_int = -engine.theta.numpy()
        cosines.append(g_int @ g / (np.linalg.norm(g_int) * np.linalg.norm(g)))
    predicted = 1 / math.sqrt(1 + (p - 1) / n_int)
    assert abs(np.mean(cosines) - predicted) < 0.1 * predicted


@pytest.mark.parametrize(
    ("tau_x", "tau_p", "tau_theta", "steps"), [(1, 1, 1, 50), (3, 2, 5, 101), (4, 1, 6, 97)]
)
def test_evaluation_and_update_counts(tau_x: int, tau_p: int, tau_theta: int, steps: int):
    """(d) baselines are re-measured only after an input change or an update; counts follow the formula."""
    calls = {"baseline": 0, "perturbed": 0}
    inputs = iter(range(10**6))

    class CountingStream(FixedInput):
        def next(self):
            return next(inputs), 1

    def fn(theta, x):
        return float(np.sum(theta**2) + x * 1e-3)

    class Counting(FunctionObjective):
        def cost(self, theta, batch, perturbation=None):
            calls["baseline" if perturbation is None else "perturbed"] += 1
            return super().cost(theta, batch, perturbation)

    cfg = MGDConfig(eta=0.01, delta_theta=0.1, tau_x=tau_x, tau_p=tau_p, tau_theta=tau_theta)
    engine = MGDEngine(Counting(fn, np.ones(5)), cfg, CountingStream())
    thetas = []
    for _ in range(steps):
        engine.step()
        thetas.append(engine.theta.clone())
    exp = expected_counts(steps, tau_x, tau_theta)
    # an independent count: baseline needed at n with n % tau_x == 0 or (n > 0 and n % tau_theta == 0)
    brute = sum(1 for n in range(steps) if n % tau_x == 0 or (n > 0 and n % tau_theta == 0))
    assert calls["baseline"] == engine.counters.baseline_evaluations == exp["baseline_evaluations"] == brute
    assert calls["perturbed"] == steps
    assert engine.counters.evaluations == exp["evaluations"] == steps + brute
    assert engine.counters.updates == exp["updates"] == steps // tau_theta
    changed = sum(1 for i in range(1, steps) if not torch.equal(thetas[i], thetas[i - 1]))
    assert changed + (not torch.equal(thetas[0], torch.ones(5, dtype=torch.float64))) == steps // tau_theta
    assert engine.counters.samples == -(-steps // tau_x)


def test_patterns_are_held_for_tau_p_steps():
    seen = []

    def fn(theta, _x):
        seen.append(theta.copy())
        return 0.0

    engine = MGDEngine(FunctionObjective(fn, np.zeros(8)), MGDConfig(tau_p=3, tau_theta=100), FixedInput())
    engine.run(7)
    perturbed = [s for s in seen if np.any(s != 0)]
    assert len(perturbed) == 7
    assert all(np.array_equal(perturbed[0], q) for q in perturbed[1:3])
    assert not np.array_equal(perturbed[2], perturbed[3])
    assert np.array_equal(perturbed[3], perturbed[5]) and not np.array_equal(perturbed[5], perturbed[6])


def test_clipping_limits_c_tilde():
    engine = MGDEngine(
        # weights 1, 2, 4, 8: the cost changes for every +/-1 pattern
        FunctionObjective(
            lambda th, _x: float(1e3 * (th[0] + 2 * th[1] + 4 * th[2] + 8 * th[3])), np.zeros(4)
        ),
        MGDConfig(clip=0.01, eta=1.0),
        FixedInput(),
    )
    r = engine.step()
    assert abs(r.c_tilde) == pytest.approx(0.01)
    # |G_i| = clip * a / Delta^2 = 0.01 * (0.05 / 2) / 0.05**2
    assert torch.allclose(engine.theta.abs(), torch.full((4,), 0.01 * 0.025 / 0.0025, dtype=torch.float64))


def test_amplitude_conventions_agree():
    p = 16
    total = MGDConfig(delta_theta=0.4, amplitude="total").amplitudes(p)
    per = MGDConfig(delta_theta=0.1, amplitude="per_parameter").amplitudes(p)
    assert total == pytest.approx((0.1, 0.4))
    assert per == pytest.approx((0.1, 0.4))


def test_xor_reaches_full_accuracy_with_paper_settings():
    """(e) XOR 2-2-1, logistic, MSE, random codes, Delta 0.05, eta 0.1, all tau 1, theta0 ~ U(0, 1)."""
    model = LogisticMLP([2, 2, 1], init_range=(0.0, 1.0), generator=torch.Generator().manual_seed(0))
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    objective = ModuleObjective(model, nn.MSELoss())
    engine = MGDEngine(objective, MGDConfig(eta=0.1, delta_theta=0.05, seed=0), FixedInput((x, y), 4))
    solved_at = None
    for chunk in range(200):  # at most the paper's 200,000 steps
        engine.run(1000)
        engine.sync_parameters()
        with torch.no_grad():
            if torch.equal((model(x) > 0.5).float(), y):
                solved_at = (chunk + 1) * 1000
                break
    assert solved_at is not None, "XOR not solved within 200,000 steps"


def test_non_finite_cost_raises_with_step_and_keeps_parameters():
    state = {"n": 0}

    def fn(theta, _x):
        state["n"] += 1
        return float("nan") if state["n"] > 9 else float(theta @ theta)

    engine = MGDEngine(FunctionObjective(fn, np.ones(3)), MGDConfig(), FixedInput())
    with pytest.raises(NonFiniteCostError) as info:
        engine.run(100)
    assert (
        info.value.step == 4
    )  # two evaluations per step (baseline after every update): call 10 is in step 4
    before = engine.theta.clone()
    assert torch.isfinite(before).all()


@pytest.mark.parametrize(
    ("field", "value"),
    [("tau_x", 0), ("tau_theta", -1), ("delta_theta", 0.0), ("eta", -1.0), ("clip", 0.0), ("amplitude", "x")],
)
def test_invalid_config_names_the_field(field: str, value):
    cfg = MGDConfig(**{field: value})
    with pytest.raises(ConfigError, match=field):
        cfg.validate()
    with pytest.raises(ConfigError, match=field):
        MGDEngine(FunctionObjective(lambda th, x: 0.0, np.zeros(2)), cfg, FixedInput())


def test_ask_tell_equals_step():
    """Driving the loop by ask/tell with the same measurements gives the same run as step()."""

    def fn(theta, _x):
        return float(np.sum(np.sin(theta)) + 0.1 * np.sum(theta**2))

    cfg = MGDConfig(eta=0.5, delta_theta=0.2, tau_x=2, tau_p=3, tau_theta=4, seed=3)
    a = MGDEngine(FunctionObjective(fn, np.linspace(-1, 1, 7)), cfg, FixedInput())
    b = MGDEngine(FunctionObjective(fn, np.linspace(-1, 1, 7)), cfg, FixedInput())
    a.run(37)
    kinds = []
    while b.counters.steps < 37:
        m = b.ask()
        assert b.ask() is m  # idempotent until told
        kinds.append(m.kind)
        point = b.theta if m.perturbation is None else b.theta + m.perturbation
        b.tell(fn(point.numpy(), None))
    assert torch.equal(a.theta, b.theta) and a.counters == b.counters
    assert kinds.count("baseline") == expected_counts(37, 2, 4)["baseline_evaluations"]
    with pytest.raises(RuntimeError):
        b.tell(1.0)
    with pytest.raises(NonFiniteCostError):
        b.ask()
        b.tell(float("inf"))
    assert b.ask().step == 37  # the request stays pending after a non-finite value


@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_run_refuses_a_step_count_that_is_not_a_non_negative_integer(bad):
    obj = FunctionObjective(lambda theta, batch: float((theta**2).sum()), np.ones(4))
    engine = MGDEngine(obj, MGDConfig(eta=0.1, delta_theta=0.1, seed=0), FixedInput())
    with pytest.raises(ConfigError, match="n_steps"):
        engine.run(bad)
    assert engine.counters.steps == 0
