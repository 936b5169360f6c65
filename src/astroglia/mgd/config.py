"""Hyperparameters of the MGD engine (specs/mgd.md sections 2-4), validated before any evaluation."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any

from astroglia.config import check, is_integer
from astroglia.mgd.codes import CODES

MODES = ("digital", "analog")
TIME_CONSTANTS = ("tau_x", "tau_p", "tau_theta")


@dataclass
class MGDConfig:
    r"""MGD hyperparameters.

    Two modes (specs/mgd.md section 3):

    - ``"digital"``: the time constants are integers, in steps:

      - ``tau_x``: steps each input (sample or minibatch) is held before the next is presented;
      - ``tau_p``: steps each perturbation pattern is held before the next is drawn;
      - ``tau_theta``: steps the gradient estimate is integrated before :math:`\theta \leftarrow \theta -
        \eta G_{int}`;

      :math:`\tilde C = C - C_0` with a measured unperturbed baseline :math:`C_0`.
    - ``"analog"``: the time constants are floats > 0 in the time unit of ``dt`` (step :math:`n` is at time
      :math:`t = n\,dt`); there is no baseline measurement, :math:`\tilde C` is a first-order high-pass of
      the measured cost with time constant ``tau_hp``, ``tau_theta`` is the time constant of a low-pass
      integrator and the parameters are updated at every step (see :mod:`astroglia.mgd.engine`). Each input
      must be held for at least two steps (``tau_x >= 2 dt``): the first step after an input change only
      re-seeds the high-pass filter.

    In digital mode a time constant given as an integral float (5.0, as TOML or the command line may give it)
    is stored as the integer 5.

    Amplitude conventions (``amplitude``):

    - ``"total"`` (the paper's): ``delta_theta`` is the L2 norm :math:`\Delta\theta` of the whole perturbation
      vector; each parameter is perturbed by :math:`a = \Delta\theta/\sqrt{P}`;
    - ``"per_parameter"``: ``delta_theta`` is :math:`a` itself and :math:`\Delta\theta = a\sqrt{P}`.

    Either way the per-step estimate is :math:`G = \tilde C\,\tilde\theta\,dt/\Delta\theta^2`, so that
    :math:`\mathbb{E}[G] = \nabla C/P` and the effective SGD learning rate is
    :math:`\eta\,\tau_\theta/P`.
    """

    eta: float = field(default=0.1, metadata={"help": "learning rate eta (theta -= eta * G_int)"})
    delta_theta: float = field(
        default=0.05, metadata={"help": "perturbation size: L2 norm of the whole vector, or per parameter"}
    )
    amplitude: str = field(
        default="total",
        metadata={"help": "meaning of delta_theta", "choices": ("total", "per_parameter")},
    )
    code: str = field(
        default="random", metadata={"help": "perturbation code family", "choices": tuple(CODES)}
    )
    mode: str = field(
        default="digital",
        metadata={
            "help": "digital: baseline C0, update every tau_theta steps; analog: high-pass cost, low-pass "
            "integrator, update every step",
            "choices": MODES,
        },
    )
    tau_x: float = field(
        default=1, metadata={"help": "input hold time (digital: integer steps; analog: time units of dt)"}
    )
    tau_p: float = field(default=1, metadata={"help": "perturbation pattern hold time"})
    tau_theta: float = field(
        default=1,
        metadata={"help": "digital: steps integrated between updates; analog: integrator time constant"},
    )
    tau_hp: float = field(
        default=1.6, metadata={"help": "analog mode: time constant of the cost high-pass filter (paper: 1.6)"}
    )
    dt: float = field(
        default=1.0, metadata={"help": "time step (enters G = C_tilde theta_tilde dt / Delta^2)"}
    )
    clip: float | None = field(
        default=None, metadata={"help": "clip C_tilde to [-clip, clip]; none disables (paper CIFAR-10: 0.01)"}
    )
    seed: int = field(default=0, metadata={"help": "seed of the perturbation code"})
    code_kwargs: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "keyword arguments of the code family (TOML only), e.g. {band = [0.4, 0.9]} for "
            "sinusoid; the sinusoid code gets dt from this config unless given here"
        },
    )

    def __post_init__(self) -> None:
        if self.mode == "digital":
            for name in TIME_CONSTANTS:
                value = getattr(self, name)
                if isinstance(value, float) and value.is_integer():
                    setattr(self, name, int(value))

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        for name in ("eta", "delta_theta", "dt"):
            value = getattr(self, name)
            check(
                isinstance(value, (int, float)) and math.isfinite(value),
                name,
                value,
                "must be a finite number",
            )
        check(self.eta > 0, "eta", self.eta, "must be > 0")
        check(
            self.delta_theta > 0, "delta_theta", self.delta_theta, "must be > 0 (amplitude 0 gives no signal)"
        )
        check(self.dt > 0, "dt", self.dt, "must be > 0")
        check(
            self.amplitude in ("total", "per_parameter"),
            "amplitude",
            self.amplitude,
            "total or per_parameter",
        )
        check(self.code in CODES, "code", self.code, f"must be one of {', '.join(sorted(CODES))}")
        check(self.mode in MODES, "mode", self.mode, "digital or analog")
        if self.mode == "digital":
            for name in TIME_CONSTANTS:
                value = getattr(self, name)
                check(
                    is_integer(value) and value >= 1,
                    name,
                    value,
                    "must be an integer >= 1 (steps) in digital mode",
                )
        else:
            for name in TIME_CONSTANTS:
                value = getattr(self, name)
                check(
                    isinstance(value, (int, float)) and math.isfinite(value) and value > 0,
                    name,
                    value,
                    "must be a finite number > 0 (time units of dt) in analog mode",
                )
            check(
                self.tau_x >= 2 * self.dt,
                "tau_x",
                self.tau_x,
                f"must be >= 2 dt = {2 * self.dt} in analog mode: the first step after an input change only "
                "re-seeds the high-pass filter, so an input held for one step teaches nothing",
            )
            check(
                self.tau_p >= self.dt,
                "tau_p",
                self.tau_p,
                f"must be >= dt = {self.dt} in analog mode (a pattern lasts at least one step)",
            )
        check(
            isinstance(self.tau_hp, (int, float)) and math.isfinite(self.tau_hp) and self.tau_hp > 0,
            "tau_hp",
            self.tau_hp,
            "must be a finite number > 0",
        )
        check(isinstance(self.code_kwargs, dict), "code_kwargs", self.code_kwargs, "must be a table")
        if self.clip is not None:
            check(math.isfinite(self.clip) and self.clip > 0, "clip", self.clip, "must be > 0, or none")
        check(isinstance(self.seed, int) and self.seed >= 0, "seed", self.seed, "must be an integer >= 0")

    def code_arguments(self) -> dict[str, Any]:
        """Keyword arguments for :func:`~astroglia.mgd.codes.make_code`: ``code_kwargs``, plus ``dt`` for a
        family that takes one (the sinusoid code), unless ``code_kwargs`` sets it."""
        kwargs = dict(self.code_kwargs)
        params = inspect.signature(CODES[self.code].__init__).parameters
        if "dt" in params and "dt" not in kwargs:
            kwargs["dt"] = float(self.dt)
        return kwargs

    def amplitudes(self, n_params: int) -> tuple[float, float]:
        """(a, Delta_theta): per-parameter amplitude and total L2 norm for ``n_params`` parameters."""
        if self.amplitude == "total":
            return self.delta_theta / math.sqrt(n_params), self.delta_theta
        return self.delta_theta, self.delta_theta * math.sqrt(n_params)
