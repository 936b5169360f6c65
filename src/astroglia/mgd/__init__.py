"""Multiplexed Gradient Descent (specs/mgd.md): codes, engine, objectives, torch optimiser, drivers."""

from astroglia.mgd.blackbox import BlackBoxMGD, Failure, FailurePolicy, MeasurementFailed, Request
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
from astroglia.mgd.distributed import DistributedMGD, init_distributed
from astroglia.mgd.engine import Counters, Measurement, MGDEngine, StepResult, expected_counts
from astroglia.mgd.objective import FunctionObjective, ModuleObjective, Objective, cost_many
from astroglia.mgd.optim import MGD
from astroglia.mgd.streams import FixedInput, InputStream, TensorBatches

__all__ = [
    "BlackBoxMGD",
    "CODES",
    "Counters",
    "DistributedMGD",
    "Failure",
    "FailurePolicy",
    "FixedInput",
    "FunctionObjective",
    "GaussianCode",
    "InputStream",
    "MGD",
    "MGDConfig",
    "MGDEngine",
    "Measurement",
    "MeasurementFailed",
    "ModuleObjective",
    "Objective",
    "PerturbationCode",
    "RandomCode",
    "Request",
    "SinusoidCode",
    "StepResult",
    "TensorBatches",
    "TimeSlotCode",
    "WalshCode",
    "cost_many",
    "expected_counts",
    "init_distributed",
    "make_code",
]
