"""Hardware non-idealities: each exactly off at magnitude 0, each doing what it says when on."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from astroglia.datasets import parity
from astroglia.errors import ConfigError
from astroglia.mgd.config import MGDConfig
from astroglia.mgd.engine import MGDEngine
from astroglia.mgd.nonideal import (
    NonIdealConfig,
    NonIdealities,
    VariedLogisticLayer,
    apply_device_variation,
    quantise,
)
from astroglia.mgd.objective import FunctionObjective, ModuleObjective
from astroglia.mgd.streams import FixedInput, TensorBatches
from astroglia.networks import LogisticMLP

ZERO_MAGNITUDE = [
    {"cost_noise": 0.0},
    {"cost_noise": 0.0, "cost_noise_on_baseline": True},
    {"update_noise": 0.0},
    {"update_noise_common": 0.0},
    {"variation": 0.0},
    {"quant_bits": 0},
    {"quant_bits": 0, "quant_rounding": "stochastic", "quant_min": -1.0, "quant_max": 1.0},
    {"gain_mismatch": 0.0},
    {
        "cost_noise": 0.0,
        "update_noise": 0.0,
        "update_noise_common": 0.0,
        "variation": 0.0,
        "quant_bits": 0,
        "gain_mismatch": 0.0,
    },
]


def parity_run(
    mode: str, nonideal: NonIdealConfig | None, steps: int = 60, code: str = "random"
) -> MGDEngine:
    x, y = parity(3)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32)[:, None]
    model = LogisticMLP([3, 3, 1], init_range=(-0.5, 0.5), generator=torch.Generator().manual_seed(0))
    if nonideal is not None:
        apply_device_variation(model, nonideal.variation, seed=5)
    objective = ModuleObjective(model, nn.MSELoss())
    if mode == "digital":
        cfg = MGDConfig(eta=5.0, delta_theta=0.1, code=code, tau_x=2, tau_theta=3, seed=5)
    else:
        cfg = MGDConfig(eta=1.0, delta_theta=0.1, code=code, mode="analog", tau_x=3.0, tau_theta=2.5, seed=5)
    engine = MGDEngine(objective, cfg, TensorBatches(xt, yt, 4, seed=2), nonideal=nonideal)
    engine.run(steps)
    return engine


@pytest.mark.parametrize("mode", ["digital", "analog"])
@pytest.mark.parametrize("options", ZERO_MAGNITUDE, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_every_nonideality_at_zero_is_bit_identical_to_the_ideal_run(mode: str, options: dict):
    ideal = parity_run(mode, None)
    off = parity_run(mode, NonIdealConfig(**options))
    assert torch.equal(off.theta, ideal.theta)
    assert torch.equal(off.g_int, ideal.g_int)
    assert off.counters == ideal.counters


@pytest.mark.parametrize(
    "options",
    [
        {"cost_noise": 1e-3},
        {"update_noise": 1e-3},
        {"update_noise_common": 1e-3},
        {"variation": 0.1},
        {"quant_bits": 8},
        {"gain_mismatch": 0.1},
    ],
)
def test_every_nonideality_changes_the_run_when_on(options: dict):
    ideal = parity_run("digital", None)
    on = parity_run("digital", NonIdealConfig(**options))
    assert not torch.equal(on.theta, ideal.theta)


def test_zero_variation_returns_the_model_untouched_and_layer_equals_sigmoid_bitwise():
    model = LogisticMLP([3, 4, 1], generator=torch.Generator().manual_seed(1))
    assert apply_device_variation(model, 0.0, seed=1) is model
    assert not any(isinstance(m, VariedLogisticLayer) for m in model.modules())
    layer = model.layers[0]
    wrapped = VariedLogisticLayer(layer, 0.0, seed=1, index=0)
    a = torch.rand(16, 3)
    assert torch.equal(wrapped(a), layer(a))


def test_variation_follows_the_logistic_formula_and_keeps_the_parameters():
    model = LogisticMLP([2, 3, 1], generator=torch.Generator().manual_seed(1))
    before = [p.clone() for p in model.parameters()]
    apply_device_variation(model, 0.2, seed=9)
    after = list(model.parameters())
    assert len(after) == len(before) and all(torch.equal(p, q) for p, q in zip(before, after, strict=True))
    layer = model.layers[0]
    assert isinstance(layer, VariedLogisticLayer)
    a = torch.rand(5, 2)
    z = a @ layer.layer.weight.T - layer.layer.bias
    expected = layer.amplitude / (1 + torch.exp(-layer.k * (z - layer.x0))) + layer.y0
    assert torch.allclose(layer(a), expected, atol=1e-6)
    # per-neuron draws: k, L ~ 1 + N(0, s^2), x0, y0 ~ N(0, s^2), fixed by the seed
    big = VariedLogisticLayer(nn.Linear(1, 20000), 0.2, seed=3, index=0)
    assert big.k.mean() == pytest.approx(1.0, abs=0.01)
    assert big.k.std() == pytest.approx(0.2, rel=0.03)
    assert big.y0.std() == pytest.approx(0.2, rel=0.03)
    again = VariedLogisticLayer(nn.Linear(1, 20000), 0.2, seed=3, index=0)
    assert torch.equal(again.x0, big.x0)


def test_cost_noise_has_the_stated_std_and_is_regenerable():
    ni = NonIdealities(NonIdealConfig(cost_noise=0.5), 3, seed=1)
    values = [ni.measured_cost(1.0, baseline=False, step=n) for n in range(4000)]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    assert mean == pytest.approx(1.0, abs=0.05) and std == pytest.approx(0.5, rel=0.05)
    assert ni.measured_cost(1.0, baseline=False, step=7) == values[7]
    assert ni.measured_cost(1.0, baseline=True, step=7) == 1.0  # baselines clean unless asked


def test_update_noise_per_parameter_and_common_mode():
    p = 5000
    theta = torch.zeros(p, dtype=torch.float64)
    NonIdealities(NonIdealConfig(update_noise=0.1), p, seed=0).update(theta, torch.zeros_like(theta), 1.0, 0)
    assert theta.std().item() == pytest.approx(0.1, rel=0.05)
    theta = torch.zeros(p, dtype=torch.float64)
    ni = NonIdealities(NonIdealConfig(update_noise_common=0.1), p, seed=0)
    ni.update(theta, torch.zeros_like(theta), 1.0, 3)
    assert torch.all(theta == theta[0]) and theta[0].item() != 0.0


def test_quantisation_levels_and_lost_or_stochastic_small_updates():
    theta = torch.linspace(-2, 2, 101, dtype=torch.float64)
    q = quantise(theta, 2, -1.0, 1.0)
    assert torch.allclose(q.unique(), torch.tensor([-1.0, -1 / 3, 1 / 3, 1.0], dtype=torch.float64))
    # nearest rounding: an update of a tenth of a level is lost
    ni = NonIdealities(NonIdealConfig(quant_bits=3, quant_min=-1.0, quant_max=1.0), 1000, seed=0)
    level = 2.0 / 7
    theta = torch.full((1000,), -1.0 + 3 * level, dtype=torch.float64)
    ni.update(theta, torch.full_like(theta, 0.1 * level), 1.0, 0)
    assert torch.equal(theta, torch.full_like(theta, -1.0 + 3 * level))
    # stochastic rounding: applied with probability 0.1, so unbiased on average
    cfg = NonIdealConfig(quant_bits=3, quant_min=-1.0, quant_max=1.0, quant_rounding="stochastic")
    ni = NonIdealities(cfg, 1000, seed=0)
    start = -1.0 + 3 * level
    theta = torch.full((1000,), start, dtype=torch.float64)
    ni.update(theta, torch.full_like(theta, -0.1 * level), 1.0, 0)
    moved = (theta > start + 0.5 * level).double().mean().item()
    assert moved == pytest.approx(0.1, abs=0.03)


def test_engine_quantises_initial_parameters_and_stays_on_levels():
    engine = parity_run("digital", NonIdealConfig(quant_bits=6, quant_rounding="stochastic"), steps=30)
    step = 16.0 / 63
    pos = (engine.theta.double() + 8.0) / step
    assert torch.allclose(pos, pos.round(), atol=1e-4)


def test_gain_mismatch_applies_gains_to_the_measured_perturbation_only():
    p = 6
    obj = FunctionObjective(lambda th, _x: float(th.sum()), torch.zeros(p, dtype=torch.float64))
    cfg = MGDConfig(eta=0.1, delta_theta=0.1, seed=2)
    engine = MGDEngine(obj, cfg, FixedInput(), nonideal=NonIdealConfig(gain_mismatch=0.3))
    gains = engine.nonideal.gains
    assert gains is not None and gains.shape == (p,) and not torch.all(gains == 1)
    assert engine.ask().kind == "baseline"
    engine.tell(0.0)
    m = engine.ask()
    nominal = engine.perturbation(0)
    assert torch.equal(m.perturbation, nominal * gains)


def test_nonideal_resume_is_bit_identical():
    cfg = NonIdealConfig(cost_noise=1e-3, update_noise=1e-3, quant_bits=10, quant_rounding="stochastic")
    full = parity_run("digital", cfg, steps=40)
    x, y = parity(3)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32)[:, None]

    def fresh() -> MGDEngine:
        model = LogisticMLP([3, 3, 1], init_range=(-0.5, 0.5), generator=torch.Generator().manual_seed(0))
        mgd = MGDConfig(eta=5.0, delta_theta=0.1, tau_x=2, tau_theta=3, seed=5)
        return MGDEngine(
            ModuleObjective(model, nn.MSELoss()), mgd, TensorBatches(xt, yt, 4, seed=2), nonideal=cfg
        )

    first = fresh()
    first.run(17)
    state = first.state_dict()
    second = fresh()
    second.load_state_dict(state)
    second.run(23)
    assert torch.equal(second.theta, full.theta)
    with pytest.raises(ValueError, match="other non-idealities"):
        other = MGDEngine(
            ModuleObjective(LogisticMLP([3, 3, 1]), nn.MSELoss()),
            MGDConfig(eta=5.0, delta_theta=0.1, tau_x=2, tau_theta=3, seed=5),
            TensorBatches(xt, yt, 4, seed=2),
        )
        other.load_state_dict(state)


def test_bad_magnitudes_are_rejected():
    with pytest.raises(ConfigError, match="cost_noise"):
        NonIdealConfig(cost_noise=-1.0).validate()
    with pytest.raises(ConfigError, match="quant_bits"):
        NonIdealConfig(quant_bits=40).validate()
    with pytest.raises(ConfigError, match="quant_min"):
        NonIdealConfig(quant_min=1.0, quant_max=0.0).validate()
