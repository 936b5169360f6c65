"""Hyperparameters of the MGD engine (specs/mgd.md sections 2-4), validated before any evaluation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from astroglia.config import check
from astroglia.mgd.codes import CODES


@dataclass
class MGDConfig:
    r"""MGD hyperparameters.

    Time constants are integers in units of the time step ``dt`` (digital mode):

    - ``tau_x``: steps each input (sample or minibatch) is held before the next is presented;
    - ``tau_p``: steps each perturbation pattern is held before the next is drawn;
    - ``tau_theta``: steps the gradient estimate is integrated before :math:`\theta \leftarrow \theta -
      \eta G_{int}`.

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
    tau_x: int = field(default=1, metadata={"help": "steps each input is held"})
    tau_p: int = field(default=1, metadata={"help": "steps each perturbation pattern is held"})
    tau_theta: int = field(default=1, metadata={"help": "steps the gradient is integrated between updates"})
    dt: float = field(
        default=1.0, metadata={"help": "time step (enters G = C_tilde theta_tilde dt / Delta^2)"}
    )
    clip: float | None = field(
        default=None, metadata={"help": "clip C_tilde to [-clip, clip]; none disables (paper CIFAR-10: 0.01)"}
    )
    seed: int = field(default=0, metadata={"help": "seed of the perturbation code"})

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
        for name in ("tau_x", "tau_p", "tau_theta"):
            value = getattr(self, name)
            check(isinstance(value, int) and value >= 1, name, value, "must be an integer >= 1 (steps)")
        if self.clip is not None:
            check(math.isfinite(self.clip) and self.clip > 0, "clip", self.clip, "must be > 0, or none")
        check(isinstance(self.seed, int) and self.seed >= 0, "seed", self.seed, "must be an integer >= 0")

    def amplitudes(self, n_params: int) -> tuple[float, float]:
        """(a, Delta_theta): per-parameter amplitude and total L2 norm for ``n_params`` parameters."""
        if self.amplitude == "total":
            return self.delta_theta / math.sqrt(n_params), self.delta_theta
        return self.delta_theta, self.delta_theta * math.sqrt(n_params)
