"""Multiplexed Gradient Descent (specs/mgd.md): codes, engine, objectives, torch optimiser, drivers."""

from astroglia.mgd.codes import (
    CODES,
    GaussianCode,
    PerturbationCode,
    RandomCode,
    SinusoidCode,
    TimeSlotCode,
    WalshCode,
    make_code,
)
from astroglia.mgd.config import MGDConfig
from astroglia.mgd.engine import Counters, Measurement, MGDEngine, StepResult, expected_counts
from astroglia.mgd.objective import FunctionObjective, ModuleObjective, Objective, cost_many
from astroglia.mgd.optim import MGD
from astroglia.mgd.streams import FixedInput, InputStream, TensorBatches

__all__ = [
    "CODES",
    "Counters",
    "FixedInput",
    "FunctionObjective",
    "GaussianCode",
    "MGD",
    "InputStream",
    "MGDConfig",
    "MGDEngine",
    "Measurement",
    "ModuleObjective",
    "Objective",
    "PerturbationCode",
    "RandomCode",
    "SinusoidCode",
    "StepResult",
    "TensorBatches",
    "TimeSlotCode",
    "WalshCode",
    "cost_many",
    "expected_counts",
    "make_code",
]
