"""Diagnostics: angle to the autograd gradient, the theory curve, time to a target accuracy."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from astroglia.mgd.config import MGDConfig
from astroglia.mgd.diagnostics import (
    AngleLog,
    angle_degrees,
    autograd_gradient,
    estimate_angle,
    theory_cosine,
    time_to_target,
)
from astroglia.mgd.engine import MGDEngine
from astroglia.mgd.hardware_time import project_hardware_time
from astroglia.mgd.objective import FunctionObjective, ModuleObjective
from astroglia.mgd.streams import FixedInput
from astroglia.networks import LogisticMLP


def test_angle_degrees_exact_cases():
    a = torch.tensor([1.0, 0.0])
    assert angle_degrees(a, torch.tensor([2.0, 0.0])) == 0.0
    assert angle_degrees(a, torch.tensor([0.0, 3.0])) == pytest.approx(90.0)
    assert angle_degrees(a, torch.tensor([-1.0, 0.0])) == pytest.approx(180.0)
    assert angle_degrees(a, torch.tensor([1.0, 1.0])) == pytest.approx(45.0)
    assert math.isnan(angle_degrees(a, torch.zeros(2)))
    assert theory_cosine(1000, 1000) == pytest.approx(1 / math.sqrt(1 + 999 / 1000))


def tiny_problem() -> tuple[ModuleObjective, tuple[torch.Tensor, torch.Tensor]]:
    model = LogisticMLP([2, 3, 1], generator=torch.Generator().manual_seed(0)).double()
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=torch.float64)
    return ModuleObjective(model, nn.MSELoss()), (x, y)


def test_autograd_gradient_matches_central_differences_and_dataset_mean():
    obj, (x, y) = tiny_problem()
    theta = obj.parameters_vector()
    grad = autograd_gradient(obj, theta, (x, y))
    eps = 1e-6
    fd = torch.tensor(
        [
            (obj.cost(theta + eps * e, (x, y)) - obj.cost(theta - eps * e, (x, y))) / (2 * eps)
            for e in torch.eye(theta.numel(), dtype=torch.float64)
        ],
        dtype=torch.float64,
    )
    assert torch.allclose(grad, fd, atol=1e-8)
    # the whole dataset as two batches of two: the sample-weighted mean is the full-batch gradient
    halves = [(x[:2], y[:2]), (x[2:], y[2:])]
    assert torch.allclose(autograd_gradient(obj, theta, halves), grad, atol=1e-12)
    with pytest.raises(TypeError, match="ModuleObjective"):
        autograd_gradient(FunctionObjective(lambda t, _b: 0.0, theta), theta, (x, y))


def test_time_slot_estimate_after_one_cycle_is_the_finite_difference_angle_near_zero():
    """Time slots over one cycle give the forward-difference gradient: angle ~ 0 on the tiny network."""
    obj, batch = tiny_problem()
    p = obj.n_params
    cfg = MGDConfig(eta=1e-12, delta_theta=1e-5, code="time_slot", tau_theta=p + 1, seed=0)
    engine = MGDEngine(obj, cfg, FixedInput(batch, 4))
    log = AngleLog(every=p, dataset=[batch])
    records = log.run(engine, p)
    assert records[-1]["step"] == p
    assert records[-1]["angle_batch"] < 0.1
    assert records[-1]["angle_dataset"] == pytest.approx(records[-1]["angle_batch"])
    assert estimate_angle(engine) == pytest.approx(records[-1]["angle_batch"])


def test_time_to_target_first_point_and_projection():
    records = [
        {"step": 0, "evaluations": 0, "wall_s": 0.0, "test_accuracy": 0.5},
        {"step": 100, "evaluations": 150, "wall_s": 1.5, "test_accuracy": 0.875},
        {"step": 200, "evaluations": 300, "wall_s": 3.0, "test_accuracy": 1.0},
        {"step": 300, "evaluations": 450, "wall_s": 4.5, "test_accuracy": 1.0},
    ]
    hit = time_to_target(records, 1.0, timing="analog-cmos", tau_x=2, tau_theta=2, batch_size=8)
    assert (hit["step"], hit["evaluations"], hit["wall_s"]) == (200, 300, 3.0)
    expected = project_hardware_time(200, "analog-cmos", tau_x=2, tau_theta=2, batch_size=8, evaluations=300)
    assert hit["hardware_s"] == expected.total_s
    assert hit["hardware_platform"] == "analog-cmos"
    assert time_to_target(records, 0.8)["step"] == 100
    assert time_to_target(records, 1.01) is None
