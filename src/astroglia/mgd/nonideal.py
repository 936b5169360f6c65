r"""Hardware non-idealities for simulated MGD runs (specs/mgd.md section 6), each off at magnitude 0.

One configuration, :class:`NonIdealConfig`, holds every option; each is a magnitude whose value 0 (or
``quant_bits = 0``) switches it off exactly: a run with all of them at 0 is bit-identical to the ideal run,
because every hook then returns its input unchanged and draws no random numbers. They compose freely.

=======================  ==================================================================================
option                   effect
=======================  ==================================================================================
``cost_noise``           :math:`\sigma_C`: every perturbed measurement becomes :math:`C + \sigma_C\,\xi`,
                         :math:`\xi \sim N(0, 1)` (baselines too with ``cost_noise_on_baseline``)
``update_noise``         :math:`\sigma_\theta`: every parameter update writes
                         :math:`\theta_i - \eta G_i + \sigma_\theta\,\xi_i` (independent per parameter)
``update_noise_common``  common-mode update noise: one :math:`\sigma\,\xi` added to all parameters per update
``variation``            :math:`s`: device-to-device variation of each neuron's logistic activation,
                         :math:`L/(1+e^{-k(z-x_0)}) + y_0` with :math:`k, L \sim 1 + N(0, s^2)` and
                         :math:`x_0, y_0 \sim N(0, s^2)`, fixed per neuron (:func:`apply_device_variation`;
                         a property of the network, applied when it is built)
``quant_bits``           parameters held on :math:`2^{bits}` evenly spaced levels over
                         ``[quant_min, quant_max]``; ``quant_rounding`` "nearest" (updates smaller than half
                         a level are lost) or "stochastic" (rounded up with probability equal to the
                         fractional position, so small updates are applied on average)
``gain_mismatch``        per-parameter fixed gain :math:`g_i \sim 1 + N(0, \sigma_g^2)` on the perturbation:
                         the system is measured at :math:`\theta + g \odot \tilde\theta` while the estimate
                         correlates with the nominal :math:`\tilde\theta`
=======================  ==================================================================================

Order inside one update: :math:`\theta' = Q(\theta - \eta G_{int} + \text{noise})`: the write is noisy, and
the device then settles on a level. Initial parameters are quantised once when the engine starts.

Randomness: every draw is regenerated from ``(seed, index)`` with :func:`~astroglia.mgd.seeding.generator`
and a stream number of its own (``STREAM_*`` below), so a resumed run draws exactly the same numbers:
cost noise is indexed by the step, update noise and stochastic rounding by the update number, gains and
activation variations are drawn once (index 0 and the layer number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from astroglia.config import check
from astroglia.mgd.seeding import generator

__all__ = [
    "NonIdealConfig",
    "NonIdealities",
    "VariedLogisticLayer",
    "apply_device_variation",
    "quantise",
]

STREAM_COST_NOISE = 201
"""Seed stream of the noise on perturbed measurements (index: step)."""
STREAM_BASELINE_NOISE = 202
"""Seed stream of the noise on baseline measurements (index: step)."""
STREAM_UPDATE_NOISE = 203
"""Seed stream of the per-parameter update noise (index: update number)."""
STREAM_COMMON_NOISE = 204
"""Seed stream of the common-mode update noise (index: update number)."""
STREAM_ROUNDING = 205
"""Seed stream of stochastic rounding (index: update number; index 2**40 for the initial parameters)."""
STREAM_GAIN = 206
"""Seed stream of the perturbation gain mismatch (index 0)."""
STREAM_VARIATION = 207
"""Seed stream of the activation variation (index: layer number)."""

_INITIAL_ROUNDING_INDEX = 1 << 40


@dataclass
class NonIdealConfig:
    """Magnitudes of the simulated hardware non-idealities; every one at 0 is the ideal system."""

    cost_noise: float = field(
        default=0.0, metadata={"help": "std sigma_C of Gaussian cost measurement noise"}
    )
    cost_noise_on_baseline: bool = field(
        default=False, metadata={"help": "also add the cost noise to baseline measurements C0"}
    )
    update_noise: float = field(
        default=0.0, metadata={"help": "std of Gaussian noise per parameter at every update"}
    )
    update_noise_common: float = field(
        default=0.0, metadata={"help": "std of common-mode Gaussian noise (all parameters) per update"}
    )
    variation: float = field(
        default=0.0, metadata={"help": "device-to-device spread s of each neuron's logistic activation"}
    )
    quant_bits: int = field(default=0, metadata={"help": "parameter precision in bits (0: continuous)"})
    quant_min: float = field(default=-8.0, metadata={"help": "lowest parameter level"})
    quant_max: float = field(default=8.0, metadata={"help": "highest parameter level"})
    quant_rounding: str = field(
        default="nearest",
        metadata={"help": "rounding to levels", "choices": ("nearest", "stochastic")},
    )
    gain_mismatch: float = field(
        default=0.0, metadata={"help": "std of the fixed per-parameter gain error on the perturbation"}
    )

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        for name in ("cost_noise", "update_noise", "update_noise_common", "variation", "gain_mismatch"):
            value = getattr(self, name)
            check(
                isinstance(value, (int, float)) and math.isfinite(value) and value >= 0,
                name,
                value,
                "must be a finite number >= 0 (0: off)",
            )
        check(
            isinstance(self.quant_bits, int) and 0 <= self.quant_bits <= 32,
            "quant_bits",
            self.quant_bits,
            "must be an integer from 0 (off) to 32",
        )
        check(
            math.isfinite(self.quant_min)
            and math.isfinite(self.quant_max)
            and self.quant_min < self.quant_max,
            "quant_min",
            (self.quant_min, self.quant_max),
            "quant_min < quant_max, both finite",
        )
        check(
            self.quant_rounding in ("nearest", "stochastic"),
            "quant_rounding",
            self.quant_rounding,
            "nearest or stochastic",
        )

    @property
    def ideal(self) -> bool:
        """True when every non-ideality is off."""
        return (
            self.cost_noise == 0
            and self.update_noise == 0
            and self.update_noise_common == 0
            and self.variation == 0
            and self.quant_bits == 0
            and self.gain_mismatch == 0
        )


def quantise(
    theta: torch.Tensor,
    bits: int,
    lo: float,
    hi: float,
    *,
    rounding: str = "nearest",
    generator_: torch.Generator | None = None,
) -> torch.Tensor:
    r"""``theta`` clamped to ``[lo, hi]`` and rounded to one of :math:`2^{bits}` evenly spaced levels.

    Levels are :math:`lo + j\,\delta`, :math:`\delta = (hi - lo)/(2^{bits} - 1)`, :math:`j = 0 .. 2^{bits}-1`.
    ``"nearest"`` rounds half to even; ``"stochastic"`` rounds up with probability equal to the fractional
    position between the two neighbouring levels (unbiased: :math:`\mathbb{E}[Q(x)] = x` inside the range),
    using ``generator_``. Returns a new tensor of theta's shape, dtype and device.
    """
    n_levels = (1 << bits) - 1
    step = (hi - lo) / n_levels
    pos = (theta.clamp(lo, hi) - lo) / step
    if rounding == "nearest":
        j = torch.round(pos)
    elif rounding == "stochastic":
        floor = torch.floor(pos)
        u = torch.rand(theta.shape, generator=generator_, device=theta.device, dtype=theta.dtype)
        j = floor + (u < (pos - floor)).to(theta.dtype)
    else:
        raise ValueError(f"rounding must be 'nearest' or 'stochastic', got {rounding!r}")
    return (lo + j.clamp(0, n_levels) * step).to(theta.dtype)


class NonIdealities:
    """The engine-side hooks of a :class:`NonIdealConfig` for P parameters under a run seed.

    Args:
        config: the magnitudes.
        n_params: P.
        seed: the run's seed (the MGD config's seed).
        device, dtype: where the parameters live.

    Attributes:
        gains: per-parameter perturbation gains, shape (P,), or None when ``gain_mismatch`` is 0.
    """

    def __init__(
        self,
        config: NonIdealConfig,
        n_params: int,
        seed: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        config.validate()
        self.config = config
        self.seed = int(seed)
        self.gains: torch.Tensor | None = None
        if config.gain_mismatch > 0:
            g = generator(self.seed, 0, STREAM_GAIN)
            draw = torch.randn(n_params, generator=g, dtype=torch.float64)
            self.gains = (1.0 + config.gain_mismatch * draw).to(device=device, dtype=dtype)

    def applied_perturbation(self, nominal: torch.Tensor) -> torch.Tensor:
        """The perturbation the system actually receives: ``gains * nominal`` (``nominal`` itself if off)."""
        if self.gains is None:
            return nominal
        return nominal * self.gains

    def measured_cost(self, value: float, *, baseline: bool, step: int) -> float:
        """``value`` plus the seeded measurement noise of this step (``value`` itself if off)."""
        sigma = self.config.cost_noise
        if sigma == 0 or (baseline and not self.config.cost_noise_on_baseline):
            return value
        stream = STREAM_BASELINE_NOISE if baseline else STREAM_COST_NOISE
        xi = float(torch.randn(1, generator=generator(self.seed, step, stream), dtype=torch.float64))
        return value + sigma * xi

    def initial_parameters(self, theta: torch.Tensor) -> None:
        """Quantise the initial parameters in place (no-op unless ``quant_bits > 0``)."""
        c = self.config
        if c.quant_bits > 0:
            g = generator(self.seed, _INITIAL_ROUNDING_INDEX, STREAM_ROUNDING, device=theta.device)
            theta.copy_(
                quantise(
                    theta, c.quant_bits, c.quant_min, c.quant_max, rounding=c.quant_rounding, generator_=g
                )
            )

    def update(self, theta: torch.Tensor, g_int: torch.Tensor, eta: float, index: int) -> None:
        """In place: ``theta <- Q(theta - eta * g_int + noise)`` for update number ``index``.

        With no update non-ideality this is exactly ``theta.add_(g_int, alpha=-eta)``.
        """
        c = self.config
        theta.add_(g_int, alpha=-eta)
        if c.update_noise > 0:
            g = generator(self.seed, index, STREAM_UPDATE_NOISE, device=theta.device)
            noise = torch.randn(theta.shape, generator=g, device=theta.device, dtype=theta.dtype)
            theta.add_(noise, alpha=c.update_noise)
        if c.update_noise_common > 0:
            g = generator(self.seed, index, STREAM_COMMON_NOISE)
            theta.add_(c.update_noise_common * float(torch.randn(1, generator=g, dtype=torch.float64)))
        if c.quant_bits > 0:
            g = generator(self.seed, index, STREAM_ROUNDING, device=theta.device)
            theta.copy_(
                quantise(
                    theta, c.quant_bits, c.quant_min, c.quant_max, rounding=c.quant_rounding, generator_=g
                )
            )


class VariedLogisticLayer(nn.Module):
    r"""A logistic layer ``L / (1 + exp(-k (W a - b - x0))) + y0`` with fixed per-neuron device parameters.

    Wraps a layer that has ``weight`` (n_out, n_in) and ``bias`` (n_out,) parameters with the convention
    :math:`z = W a - b` (:class:`astroglia.networks.LogisticLayer`); the parameters are the same objects, so
    the network's parameter vector (order and count) is unchanged. The device parameters are buffers of shape
    (n_out,): :math:`k, L \sim 1 + N(0, s^2)`, :math:`x_0, y_0 \sim N(0, s^2)`, drawn from
    ``generator(seed, index, STREAM_VARIATION)``. The activation is computed as
    ``L * sigmoid(k * (z - x0)) + y0``, which at s = 0 equals ``sigmoid(z)`` bit for bit.

    Args:
        layer: the layer to wrap.
        spread: s.
        seed, index: the draw's seed and the layer's number.
    """

    def __init__(self, layer: nn.Module, spread: float, seed: int, index: int) -> None:
        super().__init__()
        self.layer = layer
        n_out = layer.weight.shape[0]
        g = generator(seed, index, STREAM_VARIATION)
        draws = torch.randn(4, n_out, generator=g, dtype=torch.float64) * spread
        dtype = layer.weight.dtype
        self.register_buffer("k", (1.0 + draws[0]).to(dtype))
        self.register_buffer("amplitude", (1.0 + draws[1]).to(dtype))
        self.register_buffer("x0", draws[2].to(dtype))
        self.register_buffer("y0", draws[3].to(dtype))

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """a: (batch, n_in) -> (batch, n_out)."""
        z = a @ self.layer.weight.T - self.layer.bias
        return self.amplitude * torch.sigmoid(self.k * (z - self.x0)) + self.y0


def apply_device_variation(model: nn.Module, spread: float, seed: int) -> nn.Module:
    """Give every logistic layer of ``model.layers`` (a :class:`~astroglia.networks.LogisticMLP`) its own
    fixed device variation of spread ``spread``; return the model (changed in place).

    With ``spread == 0`` the model is returned untouched. Layers are numbered in order for the seed streams.
    """
    if not (math.isfinite(spread) and spread >= 0):
        raise ValueError(f"spread must be a finite number >= 0, got {spread}")
    if spread == 0:
        return model
    layers = getattr(model, "layers", None)
    if not isinstance(layers, nn.Sequential):
        raise TypeError(
            "apply_device_variation needs a model whose .layers is an nn.Sequential of logistic layers "
            "(e.g. astroglia.networks.LogisticMLP)"
        )
    for i, layer in enumerate(list(layers)):
        if not (hasattr(layer, "weight") and hasattr(layer, "bias")):
            raise TypeError(f"layer {i} ({type(layer).__name__}) has no weight and bias to wrap")
        layers[i] = VariedLogisticLayer(layer, spread, seed, i)
    return model
