"""Tests of the hardware-time projection: exact operation counts, exact times, agreement with the engine."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from astroglia.mgd.codes import RandomCode
from astroglia.mgd.config import MGDConfig
from astroglia.mgd.engine import MGDEngine
from astroglia.mgd.hardware_time import (
    PRESETS,
    HardwareTiming,
    get_timing,
    operation_counts,
    project_hardware_time,
    project_run,
)
from astroglia.mgd.objective import FunctionObjective
from astroglia.mgd.streams import FixedInput

# powers of ten per operation, so that each count can be read off the total
DECADES = HardwareTiming("decades", t_inference=1.0, t_perturbation=10.0, t_update=100.0, t_input=1000.0)


def test_counts_small_case_by_hand() -> None:
    # S = 10, tau_x = 2, tau_p = 3, tau_theta = 5.
    # baselines at n % 2 == 0 or (n > 0 and n % 5 == 0): n = 0, 2, 4, 5, 6, 8 -> 6
    # patterns k = n // 3 for n < 10: 0..3 -> 4; updates after steps 5 and 10 -> 2; inputs n = 0,2,4,6,8 -> 5
    assert operation_counts(10, tau_x=2, tau_p=3, tau_theta=5) == {
        "evaluations": 16,
        "baseline_evaluations": 6,
        "perturbations": 4,
        "updates": 2,
        "inputs": 5,
    }
    assert operation_counts(10, tau_x=2, tau_p=3, tau_theta=5, mode="analog") == {
        "evaluations": 10,
        "baseline_evaluations": 0,
        "perturbations": 4,
        "updates": 10,
        "inputs": 5,
    }
    # the paper's defaults: all time constants 1 -> two evaluations per step
    assert operation_counts(7) == {
        "evaluations": 14,
        "baseline_evaluations": 7,
        "perturbations": 7,
        "updates": 7,
        "inputs": 7,
    }
    assert operation_counts(0)["evaluations"] == 0


def test_times_small_case_by_hand() -> None:
    p = project_hardware_time(10, DECADES, tau_x=2, tau_p=3, tau_theta=5)
    assert p.breakdown_s == {"inference": 16.0, "perturbation": 40.0, "update": 200.0, "input": 5000.0}
    assert p.total_s == 5256.0
    # a minibatch of B samples costs B inferences per evaluation and B sample loads per input
    p2 = project_hardware_time(10, DECADES, tau_x=2, tau_p=3, tau_theta=5, batch_size=2)
    assert p2.total_s == 32 + 40 + 200 + 10000
    # a measured evaluation count replaces the computed one
    p3 = project_hardware_time(10, DECADES, tau_x=2, tau_p=3, tau_theta=5, evaluations=11)
    assert p3.breakdown_s["inference"] == 11.0 and p3.total_s == 5251.0
    analog = project_hardware_time(10, DECADES, tau_x=2, tau_p=3, tau_theta=5, mode="analog")
    assert analog.total_s == 10 + 40 + 1000 + 5000


def test_preset_projection_of_a_paper_scale_run() -> None:
    """1e6 steps, all tau = 1, nanosecond preset: 2e6 x 10 ns + 1e6 x (10 + 100 + 10) ns = 0.14 s."""
    p = project_hardware_time(1_000_000, "superconducting-optoelectronic")
    assert p.total_s == pytest.approx(0.14, rel=1e-12)
    assert p.speedup_over(14.0) == pytest.approx(100.0)
    assert "superconducting-optoelectronic" in p.summary() and "update 0.1 s (71%)" in p.summary()
    record = json.loads(json.dumps(p.as_dict()))
    assert record["counts"]["evaluations"] == 2_000_000
    assert record["timing"]["t_inference"] == 10e-9


def test_presets_are_documented_assumptions() -> None:
    assert len(PRESETS) >= 2
    assert {"superconducting-optoelectronic", "analog-cmos"} <= set(PRESETS)
    for name, timing in PRESETS.items():
        assert timing.name == name
        assert "assumption" in timing.source
        assert all(
            v > 0 for v in (timing.t_inference, timing.t_perturbation, timing.t_update, timing.t_input)
        )
    assert get_timing("analog-cmos") is PRESETS["analog-cmos"]
    assert get_timing(DECADES) is DECADES
    with pytest.raises(ValueError, match="presets: superconducting-optoelectronic, analog-cmos"):
        get_timing("gpu")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": -1}, "steps must be an integer >= 0"),
        ({"steps": 10, "tau_p": 0}, "tau_p must be an integer >= 1"),
        ({"steps": 10, "tau_theta": 2.5}, "tau_theta must be an integer"),
        ({"steps": 10, "mode": "optical"}, "mode must be 'digital' or 'analog'"),
        ({"steps": 10, "batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"steps": 10, "evaluations": -3}, "evaluations must be an integer >= 0"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    steps = kwargs.pop("steps")
    with pytest.raises(ValueError, match=match):
        project_hardware_time(steps, DECADES, **kwargs)


def test_bad_timing() -> None:
    with pytest.raises(ValueError, match="t_update must be a finite number of seconds >= 0"):
        HardwareTiming("x", t_inference=1e-9, t_perturbation=1e-9, t_update=-1.0, t_input=0.0)
    with pytest.raises(ValueError, match="t_inference"):
        HardwareTiming("x", t_inference=math.nan, t_perturbation=1e-9, t_update=1.0, t_input=0.0)


class _CountingCode(RandomCode):
    """A random code that counts how many distinct patterns the engine asks for."""

    def __init__(self, n_params: int) -> None:
        super().__init__(n_params, 0)
        self.requested: set[int] = set()

    def pattern(self, index: int, **kwargs) -> torch.Tensor:
        self.requested.add(index)
        return super().pattern(index, **kwargs)


class _CountingInput(FixedInput):
    def __init__(self) -> None:
        super().__init__(None)
        self.loads = 0

    def next(self) -> tuple[None, int]:
        self.loads += 1
        return super().next()


@pytest.mark.parametrize(
    ("tau_x", "tau_p", "tau_theta", "steps"), [(1, 1, 1, 9), (2, 3, 5, 31), (4, 1, 6, 24)]
)
def test_counts_match_an_engine_run(tau_x: int, tau_p: int, tau_theta: int, steps: int) -> None:
    code = _CountingCode(3)
    stream = _CountingInput()
    cfg = MGDConfig(eta=0.01, delta_theta=0.01, tau_x=tau_x, tau_p=tau_p, tau_theta=tau_theta)
    engine = MGDEngine(
        FunctionObjective(lambda th, x: float(np.sum(th**2)), np.ones(3)), cfg, stream, code=code
    )
    engine.run(steps)
    counts = operation_counts(steps, tau_x=tau_x, tau_p=tau_p, tau_theta=tau_theta)
    assert counts["evaluations"] == engine.counters.evaluations
    assert counts["baseline_evaluations"] == engine.counters.baseline_evaluations
    assert counts["updates"] == engine.counters.updates
    assert counts["perturbations"] == len(code.requested)
    assert counts["inputs"] == stream.loads
    from_run = project_run(engine.counters, engine.config, DECADES)
    assert from_run == project_hardware_time(steps, DECADES, tau_x=tau_x, tau_p=tau_p, tau_theta=tau_theta)
