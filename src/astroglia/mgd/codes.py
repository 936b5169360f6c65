r"""Perturbation codes: the patterns :math:`s^{(k)} \in \mathbb{R}^P` that MGD multiplexes over parameters.

A code is a pure function of ``(seed, index)``: ``code.pattern(k)`` regenerates pattern ``k`` at any time,
so no past pattern is ever stored. Patterns are returned at unit scale; the engine multiplies them by the
per-parameter amplitude :math:`a` (see :class:`~astroglia.mgd.config.MGDConfig`), so that the perturbation is
:math:`\tilde\theta = a\, s^{(k)}`.

Unit scale means :math:`\mathbb{E}[s_i^2] = 1` per parameter (an expectation over random draws, or an average
over one period for deterministic codes), i.e. :math:`\|s\|_2^2 \approx P`, so that with
:math:`a = \Delta\theta / \sqrt{P}` the L2 norm of the perturbation is :math:`\Delta\theta` (exactly for
+/-1 codes and for time slots).

The families (specs/mgd.md section 4), registered in :data:`CODES`:

============  ======================  ==========================================  ==========
name          class                   pattern ``k``                               period
============  ======================  ==========================================  ==========
``random``    :class:`RandomCode`     i.i.d. +/-1 ("CDMA")                        none
``walsh``     :class:`WalshCode`      column ``k mod L`` of a Hadamard matrix     ``L``
``time_slot`` :class:`TimeSlotCode`   :math:`\sqrt{P}` on one parameter           ``P``
``sinusoid``  :class:`SinusoidCode`   :math:`\sqrt2 \sin(2\pi f_i k\,dt+\phi_i)`  none
``gaussian``  :class:`GaussianCode`   i.i.d. :math:`N(0, 1)`                      none
============  ======================  ==========================================  ==========

Why these normalisations let one learning rate carry over between families: with the engine's estimate
:math:`G = \tilde C\,\tilde\theta\,dt/\Delta\theta^2` and a linear cost :math:`C(\theta) = g\cdot\theta`,

.. math::

    \sum_{k \in \text{window}} G^{(k)} = \frac{a^2}{\Delta\theta^2} \Big(\sum_k s^{(k)} s^{(k)\top}\Big) g
    = \frac{1}{P} \Big(\sum_k s^{(k)} s^{(k)\top}\Big) g,

so every code whose patterns satisfy :math:`\sum_k s s^\top \approx K I` over :math:`K` patterns gives a
time-averaged estimate :math:`\nabla C/P` per step. For the deterministic codes this holds exactly over one
period (:attr:`PerturbationCode.period`): Walsh codes give :math:`G_{int} = (L/P)\,g` after :math:`L` steps
(exactly :math:`g` when :math:`L = P`), time slots give exactly the forward finite-difference gradient after
:math:`P` steps.

Seeds: each code draws its randomness from :func:`~astroglia.mgd.seeding.substream_seed` (directly, or through
a ``torch.Generator`` seeded with it by :func:`~astroglia.mgd.seeding.generator`) with its own stream number
(``STREAM_*`` constants below), so that the structure of one code (a permutation, the frequencies) is
unrelated to the patterns of another with the same seed.

Speed: :meth:`PerturbationCode.patterns` returns K patterns as one (K, P) tensor. The random, Walsh,
time-slot and sinusoid codes compute it in one vectorised pass (no per-pattern loop; K = 32 random patterns of
P = 6,634 take about 60 us on one CPU core); the Gaussian code draws one generator per pattern.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import torch

from astroglia.mgd.seeding import (
    GOLDEN_GAMMA,
    generator,
    splitmix64_array,
    substream_head,
    substream_seeds,
)

__all__ = [
    "CODES",
    "GaussianCode",
    "PerturbationCode",
    "RandomCode",
    "SinusoidCode",
    "TimeSlotCode",
    "WalshCode",
    "make_code",
]

STREAM_PATTERNS = 0
"""Seed stream of per-index random patterns (random and Gaussian codes)."""
STREAM_WALSH_ROWS = 101
"""Seed stream of the Walsh code's row permutation."""
STREAM_WALSH_SIGNS = 102
"""Seed stream of the Walsh code's per-pass sign flips (index = pass number)."""
STREAM_SLOT_ORDER = 103
"""Seed stream of the time-slot order."""
STREAM_SINUSOID = 104
"""Seed stream of the sinusoid code's frequency assignment (index 0) and phases (index 1)."""


def _check_index(index: int) -> int:
    if index < 0:
        raise ValueError(f"pattern index must be >= 0, got {index}")
    return int(index)


def _check_indices(indices: list[int] | range | np.ndarray) -> np.ndarray:
    """The pattern indices as an int64 array of shape (K,), K >= 1, all >= 0."""
    if isinstance(indices, range):  # the engine's common case, without iterating in Python
        if len(indices) and min(indices[0], indices[-1]) >= 0:
            return np.arange(indices.start, indices.stop, indices.step, dtype=np.int64)
        idx = np.arange(indices.start, indices.stop, indices.step, dtype=np.int64)
    else:
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size == 0:
        raise ValueError("need at least one pattern index")
    if int(idx.min()) < 0:
        raise ValueError(f"pattern index must be >= 0, got {int(idx.min())}")
    return idx


class PerturbationCode(ABC):
    """Base class of perturbation codes.

    Args:
        n_params: P, the number of perturbed parameters.
        seed: the code's seed; pattern ``k`` depends only on ``(seed, k)`` (and the code's keyword arguments).

    Subclasses implement :meth:`patterns` (K patterns at once) and, when the sequence of patterns repeats,
    :attr:`period`; :meth:`pattern` is one row of it.
    """

    name: ClassVar[str] = ""

    def __init__(self, n_params: int, seed: int = 0) -> None:
        if n_params < 1:
            raise ValueError(f"n_params must be >= 1, got {n_params}")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.n_params = int(n_params)
        self.seed = int(seed)

    def pattern(
        self, index: int, *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """Pattern ``index`` as a tensor of shape (P,) at unit scale: row 0 of ``patterns([index])``."""
        return self.patterns([_check_index(index)], device=device, dtype=dtype)[0]

    @property
    def period(self) -> int | None:
        """Number of patterns after which the sequence repeats (up to a per-pass sign), or None if it never
        does. Integrating over exactly one period gives the code's exact-orthogonality guarantees."""
        return None

    def hyperparameters(self) -> dict[str, Any]:
        """The keyword arguments beyond ``(n_params, seed)`` that, with them, determine every pattern."""
        return {}

    @abstractmethod
    def patterns(
        self,
        indices: list[int] | range,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """Patterns ``indices`` (K >= 1 non-negative ints, any order, repeats allowed) at unit scale, shape
        (K, P); row ``i`` is pattern ``indices[i]`` and depends on nothing else."""

    def perturbed_points(
        self, indices: list[int] | range, base: torch.Tensor, amplitude: float, out: torch.Tensor
    ) -> torch.Tensor | None:
        """Write the K points ``base + amplitude * pattern(indices[k])`` into ``out`` (shape (K, P)).

        Each entry is the rounded sum of ``base[i]`` and ``amplitude * s_i`` in ``out``'s dtype, exactly as
        ``base + amplitude * patterns(indices)``.

        Args:
            indices: K pattern indices.
            base: the parameters theta, shape (P,).
            amplitude: a, the perturbation amplitude per parameter.
            out: (K, P), same device and dtype as ``base``; written in place.

        Returns:
            The perturbations ``amplitude * patterns(indices)`` (K, P) when they were built on the way (pass
            them to :meth:`correlate`), or None when the points were written without them.
        """
        perts = self.patterns(indices, device=base.device, dtype=base.dtype).mul_(amplitude)
        torch.add(base, perts, out=out)
        return perts

    def correlate(
        self,
        indices: list[int] | range,
        weights: Sequence[float] | np.ndarray,
        amplitude: float,
        out: torch.Tensor,
        perturbations: torch.Tensor | None = None,
    ) -> None:
        """``out += sum_k weights[k] * amplitude * pattern(indices[k])``: each parameter correlates the K
        weights (the scaled cost changes) with its own perturbations.

        Args:
            indices: K pattern indices.
            weights: K weights.
            amplitude: a.
            out: (P,), updated in place.
            perturbations: ``amplitude * patterns(indices)`` if already built (by :meth:`perturbed_points`),
                else regenerated.
        """
        n = len(weights)
        if perturbations is None:
            perturbations = self.patterns(indices[:n], device=out.device, dtype=out.dtype).mul_(amplitude)
        w = torch.tensor(weights, dtype=out.dtype, device=out.device)
        out.addmv_(perturbations[:n].T, w)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}(n_params={self.n_params}, seed={self.seed}{extra})"


class _CachedOnDevice:
    """A tensor built once on the CPU and cached per (device, dtype), so that codes are device-independent."""

    def __init__(self, cpu: torch.Tensor) -> None:
        self.cpu = cpu
        self._copies: dict[tuple[str, torch.dtype], torch.Tensor] = {}

    def get(self, device: torch.device | str | None, dtype: torch.dtype | None = None) -> torch.Tensor:
        dev = torch.device(device) if device is not None else torch.device("cpu")
        dt = dtype if dtype is not None else self.cpu.dtype
        key = (str(dev), dt)
        if key not in self._copies:
            self._copies[key] = self.cpu.to(device=dev, dtype=dt)
        return self._copies[key]


def _sign_table(dtype: np.dtype) -> np.ndarray:
    """(256, 8) table: row ``b`` holds the bits of byte ``b``, lowest first, as -1 (bit 0) or +1 (bit 1)."""
    bits = (np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1
    return (2 * bits - 1).astype(dtype)


_SIGN_TABLES = {torch.float32: _sign_table(np.float32), torch.float64: _sign_table(np.float64)}
_SIGN_TABLES_ON_DEVICE = {dt: _CachedOnDevice(torch.from_numpy(t)) for dt, t in _SIGN_TABLES.items()}


class RandomCode(PerturbationCode):
    r"""Random +/-1 codes ("CDMA"): :math:`s_i \sim \mathrm{Uniform}\{-1, +1\}` i.i.d., fresh for every index.

    Properties: :math:`\mathbb{E}[s] = 0`, :math:`\mathbb{E}[s s^\top] = I`, :math:`\|s\|_2^2 = P` exactly.
    Hence one MGD step has :math:`\mathbb{E}[G] = \nabla C / P` in the linear regime (specs/mgd.md section 5),
    and with all time constants 1 the MGD step is one-sided SPSA (perturbation :math:`a s`) divided by P.

    The signs are the bits of a counter-based stream. With
    :math:`\kappa_k` = :func:`~astroglia.mgd.seeding.substream_seed` ``(seed, k, STREAM_PATTERNS)`` and
    :math:`w_{k,j}` the :math:`j`-th output (:math:`j = 0, 1, \dots`) of a SplitMix64 generator seeded with
    :math:`\kappa_k`, i.e. ``splitmix64((kappa_k + j * GOLDEN_GAMMA) mod 2**64)``,

    .. math::

        s^{(k)}_i = 2\,\mathrm{bit}_{i \bmod 64}\big(w_{k,\lfloor i/64 \rfloor}\big) - 1,

    bit 0 being the least significant. Pattern ``k`` is therefore the same on every device and in every
    precision, and :meth:`patterns` draws K patterns in one vectorised pass (the words in NumPy, then a
    byte-to-signs table lookup), with no per-pattern generator.
    """

    name = "random"

    def __init__(self, n_params: int, seed: int = 0) -> None:
        super().__init__(n_params, seed)
        self._head = np.uint64(substream_head(self.seed, STREAM_PATTERNS))
        self._last_words: tuple[tuple[int, ...], np.ndarray] | None = None

    def _words(self, indices: list[int] | range, *, compiled: bool = False) -> np.ndarray:
        """The stream words of patterns ``indices``, uint64 (K, ceil(P / 64)): with NumPy, or with the
        compiled kernel (the same values) where the compiled kernels are in use anyway. The last result is
        kept until :meth:`correlate` consumes it, since :meth:`perturbed_points` and :meth:`correlate` of one
        batch ask for the same words."""
        key = tuple(indices)
        if self._last_words is None or self._last_words[0] != key:
            idx, n_words = _check_indices(indices), -(-self.n_params // 64)
            if compiled:
                words = _kernels().pattern_words(self._head, idx, n_words)
            else:
                keys = substream_seeds(self.seed, idx, STREAM_PATTERNS)
                counters = np.arange(n_words, dtype=np.uint64) * np.uint64(GOLDEN_GAMMA)
                words = splitmix64_array(keys[:, None] + counters[None, :])  # arithmetic wraps modulo 2**64
            self._last_words = (key, words)
        return self._last_words[1]

    def patterns(
        self,
        indices: list[int] | range,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        octets = self._words(indices).astype("<u8", copy=False).view(np.uint8)  # least significant first
        k = octets.shape[0]
        dev = torch.device(device) if device is not None else torch.device("cpu")
        table = _SIGN_TABLES.get(dtype, _SIGN_TABLES[torch.float32])
        if dev.type == "cpu":
            signs = torch.from_numpy(np.take(table, octets, axis=0).reshape(k, -1))
        else:  # move the bytes, not the signs, and look them up on the device
            lookup = _SIGN_TABLES_ON_DEVICE.get(dtype, _SIGN_TABLES_ON_DEVICE[torch.float32]).get(dev)
            index = torch.from_numpy(octets.astype(np.int64)).to(dev).reshape(-1)
            signs = lookup.index_select(0, index).reshape(k, -1)
        signs = signs[:, : self.n_params]
        return signs if signs.dtype == dtype else signs.to(dtype)

    def perturbed_points(
        self, indices: list[int] | range, base: torch.Tensor, amplitude: float, out: torch.Tensor
    ) -> torch.Tensor | None:
        """As :meth:`PerturbationCode.perturbed_points`; on the CPU in float32/float64 the points are written
        from the stream's bits by a compiled kernel (:mod:`astroglia.mgd._compiled`), with the same values
        and without building the patterns (returns None)."""
        if not _compiled_applies(out, base):
            return super().perturbed_points(indices, base, amplitude, out)
        a = _NUMPY_DTYPES[out.dtype](amplitude)
        _kernels().perturbed_points(self._words(indices, compiled=True), base.numpy(), a, out.numpy())
        return None

    def correlate(
        self,
        indices: list[int] | range,
        weights: Sequence[float] | np.ndarray,
        amplitude: float,
        out: torch.Tensor,
        perturbations: torch.Tensor | None = None,
    ) -> None:
        """As :meth:`PerturbationCode.correlate`; on the CPU in float32/float64, without given
        ``perturbations``, a compiled kernel reads the signs from the stream's bits."""
        if perturbations is not None or not _compiled_applies(out):
            return super().correlate(indices, weights, amplitude, out, perturbations)
        words = self._words(indices, compiled=True)[: len(weights)]
        self._last_words = None  # the batch is done: keep no O(K P) state
        dtype = _NUMPY_DTYPES[out.dtype]
        _kernels().correlate_into(words, np.asarray(weights, dtype=dtype), dtype(amplitude), out.numpy())


_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


def _kernels() -> ModuleType:
    """The compiled kernels, imported on first use: a process that never batches random codes on the CPU
    does not load numba (about 55 MB) nor LLVM and the kernels' machine code (about 57 MB more)."""
    from astroglia.mgd import _compiled

    return _compiled


def _compiled_applies(out: torch.Tensor, base: torch.Tensor | None = None) -> bool:
    """Whether the compiled random-code kernels can work on ``out`` (and ``base``) in place: CPU, float32 or
    float64 (one dtype), contiguous."""
    ok = out.device.type == "cpu" and out.dtype in _NUMPY_DTYPES and out.is_contiguous()
    if base is None or not ok:
        return ok
    return base.device.type == "cpu" and base.dtype == out.dtype and base.is_contiguous()


class GaussianCode(PerturbationCode):
    r"""Gaussian directions (as in SPSA/ES-style zero-order methods): :math:`s_i \sim N(0, 1)` i.i.d.

    Properties: :math:`\mathbb{E}[s s^\top] = I`, :math:`\mathbb{E}\|s\|_2^2 = P` (the norm fluctuates, with
    relative spread :math:`\sqrt{2/P}`). One MGD step has :math:`\mathbb{E}[G] = \nabla C/P` in the linear
    regime, like random codes, but with a larger variance (:math:`\mathbb{E}[s_i^4] = 3` instead of 1).

    Pattern ``k`` is drawn in float32 from ``generator(seed, k, STREAM_PATTERNS, device)`` and then cast to
    ``dtype``, so float32 and float64 patterns agree to float32 precision.
    """

    name = "gaussian"

    def patterns(
        self,
        indices: list[int] | range,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        rows = [
            torch.randn(
                self.n_params,
                generator=generator(self.seed, int(k), STREAM_PATTERNS, device=device),
                device=device,
                dtype=torch.float32,
            )
            for k in _check_indices(indices)
        ]
        out = torch.stack(rows)
        return out if dtype == torch.float32 else out.to(dtype)


def _hadamard_256() -> torch.Tensor:
    """The Sylvester Hadamard matrix of size 256, float64: ``H[a, b] = (-1) ** popcount(a & b)``."""
    a = np.arange(256)
    x = a[:, None] & a[None, :]
    for shift in (4, 2, 1):  # xor-fold 8 bits down to their parity
        x = x ^ (x >> shift)
    return torch.from_numpy((1 - 2 * (x & 1)).astype(np.float64))


class WalshCode(PerturbationCode):
    r"""Orthogonal Walsh-Hadamard codes, cycling with period :math:`L`.

    Let :math:`H` be the Sylvester Hadamard matrix of size :math:`L` (a power of two),
    :math:`H_{rj} = (-1)^{\mathrm{popcount}(r \,\&\, j)}`. Parameter :math:`i` is given row :math:`r_i` of
    :math:`H`, the rows :math:`r_0, \dots, r_{P-1}` being distinct and drawn by a seeded random permutation,
    and pattern :math:`k` is column :math:`j = k \bmod L`:

    .. math::

        s^{(k)}_i = \sigma_m\, H_{r_i,\, k \bmod L}, \qquad m = \lfloor k / L \rfloor,

    where :math:`\sigma_m = 1` unless ``flip_signs`` is set, in which case :math:`\sigma_m \in \{-1, +1\}`
    is a seeded fair coin per pass :math:`m`. Columns are computed on the fly from the popcount formula; the
    matrix is never built, and the only state is the row assignment, O(P).

    Properties: every entry is +/-1, so :math:`\|s\|_2^2 = P`; over any full pass
    (:math:`k = mL, \dots, mL + L - 1`) all :math:`L` columns are used, and the rows of :math:`H` are
    orthogonal, so exactly

    .. math::

        \sum_{k=mL}^{mL+L-1} s^{(k)} s^{(k)\top} = L\, I_P .

    Hence with a fixed input, :math:`\tau_p = 1` and :math:`\tau_\theta = L` (aligned with the passes), a
    linear cost :math:`C = g\cdot\theta` gives the integrated estimate :math:`G_{int} = (L/P)\, g` exactly,
    i.e. exactly :math:`g/P` per step, the expectation of one random-code step; :math:`G_{int} = g` when
    :math:`L = P`. With :math:`\tau_p > 1`, use :math:`\tau_\theta = L\,\tau_p`.

    The all-ones column :math:`j = 0` is used (it is pattern 0 of every pass): dropping it would break the
    identity above. The all-ones *row* :math:`r = 0`, which would perturb one parameter by the same +1 at
    every step, is excluded by default (``skip_constant_row=True``): every parameter's sequence then has zero
    mean over a period, which a high-pass (analog-mode) cost filter needs. The price is :math:`L` = the next
    power of two :math:`\ge P + 1` instead of :math:`\ge P`, which differs only when P is itself a
    power of two.

    Args:
        n_params: P.
        seed: seed of the row assignment and of the sign flips.
        flip_signs: multiply each full pass by a seeded random sign (default False).
        skip_constant_row: never assign row 0 of :math:`H` to a parameter (default True).
    """

    name = "walsh"

    def __init__(
        self, n_params: int, seed: int = 0, *, flip_signs: bool = False, skip_constant_row: bool = True
    ) -> None:
        super().__init__(n_params, seed)
        self.flip_signs = bool(flip_signs)
        self.skip_constant_row = bool(skip_constant_row)
        first = 1 if self.skip_constant_row else 0
        self.length = 1 << max(0, (self.n_params + first - 1).bit_length())
        g = generator(self.seed, 0, STREAM_WALSH_ROWS)
        rows = torch.randperm(self.length - first, generator=g, dtype=torch.int64)[: self.n_params] + first
        self._rows = _CachedOnDevice(rows)
        # H[r, j] is the product over the bytes of r and j of H_256[r_byte, j_byte] (Sylvester structure)
        self._n_bytes = max(1, -(-(self.length - 1).bit_length() // 8))
        self._row_bytes = _CachedOnDevice(
            torch.stack([(rows >> (8 * b)) & 255 for b in range(self._n_bytes)])
        )
        self._h256 = _CachedOnDevice(_hadamard_256())

    @property
    def period(self) -> int:
        """L, the Hadamard size: the next power of two >= P (>= P + 1 with ``skip_constant_row``)."""
        return self.length

    @property
    def rows(self) -> torch.Tensor:
        """Row of :math:`H` assigned to each parameter, int64, shape (P,), distinct values in [0, L)."""
        return self._rows.cpu.clone()

    def hyperparameters(self) -> dict[str, Any]:
        return {"flip_signs": self.flip_signs, "skip_constant_row": self.skip_constant_row}

    def pass_sign(self, n_pass: int) -> int:
        """:math:`\\sigma_m` for pass ``n_pass``: +1, or a seeded random sign when ``flip_signs`` is set."""
        if not self.flip_signs:
            return 1
        g = generator(self.seed, int(n_pass), STREAM_WALSH_SIGNS)
        return 1 if int(torch.randint(0, 2, (1,), generator=g)) == 1 else -1

    def patterns(
        self,
        indices: list[int] | range,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        idx = _check_indices(indices)
        columns = torch.from_numpy(idx % self.length)
        h256 = self._h256.get(device, dtype)
        row_bytes = self._row_bytes.get(device)
        out: torch.Tensor | None = None  # built as (P, K): whole rows of K entries are gathered at a time
        for b in range(self._n_bytes):  # entries are +/-1, so the products are exact in any precision
            column_bytes = ((columns >> (8 * b)) & 255).to(h256.device)
            factor = h256.index_select(1, column_bytes).index_select(0, row_bytes[b])
            out = factor if out is None else out.mul_(factor)
        assert out is not None
        out = out.T  # (K, P), a view: the transposed copy would cost more than the gather
        if self.flip_signs:
            passes = idx // self.length
            sign_of = {int(m): float(self.pass_sign(int(m))) for m in np.unique(passes)}
            signs = [sign_of[int(m)] for m in passes]
            out.mul_(torch.tensor(signs, device=out.device, dtype=dtype)[:, None])
        return out


class TimeSlotCode(PerturbationCode):
    r"""Time slots ("TDMA", sequential finite differences): one parameter at a time, in a seeded order.

    A seeded random permutation :math:`o` of the P parameters fixes the order, and

    .. math::

        s^{(k)} = \sqrt{P}\; e_{o(k \bmod P)},

    cycling with period P. Unit scale holds on average over a cycle: each parameter is hit once with
    :math:`s_i^2 = P`, so the cycle mean of :math:`s_i^2` is 1, and
    :math:`\sum_{k \in \text{cycle}} s s^\top = P\, I` exactly. Under the "total" amplitude convention
    :math:`a s^{(k)} = \Delta\theta\, e_i`: the one perturbed parameter moves by the full
    :math:`\Delta\theta`, and the per-step estimate is

    .. math::

        G = \frac{\tilde C\,\tilde\theta}{\Delta\theta^2}
          = e_i\, \frac{C(\theta + \Delta\theta e_i) - C(\theta)}{\Delta\theta}.

    Hence with a fixed input, :math:`\tau_p = 1` and :math:`\tau_\theta = P` (aligned with the cycles),
    :math:`G_{int}` is exactly the forward finite-difference gradient with step :math:`\Delta\theta`, for any
    cost (it carries the forward-difference bias :math:`\approx H_{ii}\Delta\theta/2`); its per-step average
    is :math:`\approx \nabla C/P` like the other codes.

    Args:
        n_params: P.
        seed: seed of the order.
    """

    name = "time_slot"

    def __init__(self, n_params: int, seed: int = 0) -> None:
        super().__init__(n_params, seed)
        g = generator(self.seed, 0, STREAM_SLOT_ORDER)
        self._order = torch.randperm(self.n_params, generator=g, dtype=torch.int64)

    @property
    def period(self) -> int:
        """P: each parameter is perturbed once per period."""
        return self.n_params

    @property
    def order(self) -> torch.Tensor:
        """The parameter perturbed by pattern ``k`` is ``order[k % P]``; int64, shape (P,)."""
        return self._order.clone()

    def slot(self, index: int) -> int:
        """The parameter perturbed by pattern ``index``."""
        return int(self._order[_check_index(index) % self.n_params])

    def patterns(
        self,
        indices: list[int] | range,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        slots = self._order[torch.from_numpy(_check_indices(indices) % self.n_params)]
        out = torch.zeros(len(slots), self.n_params, device=device, dtype=dtype)
        out[torch.arange(len(slots), device=out.device), slots.to(out.device)] = math.sqrt(self.n_params)
        return out


class SinusoidCode(PerturbationCode):
    r"""Frequency multiplexing ("FDMA"): each parameter oscillates at its own frequency.

    Pattern ``k`` is the perturbation at time :math:`t = k\,dt`:

    .. math::

        s^{(k)}_i = \sqrt{2}\, \sin(2\pi f_i\, k\, dt + \phi_i),

    with P distinct frequencies evenly spaced over the band :math:`[b_0, b_1] \cdot f_N`, where
    :math:`f_N = 0.5/dt` is the Nyquist frequency: :math:`f^{(j)} = f_N (b_0 + (b_1 - b_0)\, j/(P-1))` for
    :math:`j = 0, \dots, P-1` (the band's centre when P = 1), assigned to the parameters by a seeded random
    permutation, and phases :math:`\phi_i \sim U[0, 2\pi)` seeded. The factor :math:`\sqrt2` makes the RMS of
    each :math:`s_i` over a long window 1 (unit scale), so that :math:`a s` has the same RMS as a +/-1 code of
    amplitude :math:`a`, as specs/mgd.md section 4 asks (:math:`A = \sqrt2\,\Delta\theta/\sqrt P`).

    Crosstalk: over a window of :math:`T` steps, :math:`\frac1T\sum_k s_i s_j` for :math:`i \ne j` falls like
    :math:`1/(T\,\Delta f\,dt)` with :math:`\Delta f` the frequency spacing, so the estimate separates the
    parameters once :math:`\tau_\theta\,dt \gg 1/\Delta f = (P-1)/((b_1-b_0) f_N)`. The code is meant for
    analog mode (high-pass cost, low-pass integrator) with :math:`\tau_p = 1`. Its index is the time step:
    with a larger :math:`\tau_p` the engine samples each sinusoid at the first step of a hold and holds it
    (see :meth:`astroglia.mgd.engine.MGDEngine` on pattern indices).
    The phase is reduced to one cycle in float64, :math:`\mathrm{frac}(f_i\,dt\,k)`, so it stays accurate to
    about :math:`10^{-16} k` cycles.

    Args:
        n_params: P.
        seed: seed of the frequency assignment and the phases.
        dt: the time step, in the same time unit as :math:`1/f` (default 1.0, i.e. frequencies in cycles per
            step).
        band: :math:`(b_0, b_1)`, the band as fractions of the Nyquist frequency, ``0 <= b0 < b1 <= 1``
            (default ``(0.1, 0.9)``: away from DC, which a high-pass filter removes, and from Nyquist, where a
            sampled sine loses amplitude).
    """

    name = "sinusoid"

    def __init__(
        self, n_params: int, seed: int = 0, *, dt: float = 1.0, band: tuple[float, float] = (0.1, 0.9)
    ) -> None:
        super().__init__(n_params, seed)
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt must be a finite number > 0, got {dt}")
        b0, b1 = (float(b) for b in band)
        if not (0.0 <= b0 < b1 <= 1.0):
            raise ValueError(
                f"band must be (b0, b1) with 0 <= b0 < b1 <= 1 (fractions of Nyquist), got {band}"
            )
        self.dt = float(dt)
        self.band = (b0, b1)
        nyquist = 0.5 / self.dt
        if self.n_params == 1:
            grid = torch.tensor([0.5 * (b0 + b1)], dtype=torch.float64)
        else:
            grid = b0 + (b1 - b0) * torch.arange(self.n_params, dtype=torch.float64) / (self.n_params - 1)
        perm = torch.randperm(self.n_params, generator=generator(self.seed, 0, STREAM_SINUSOID))
        self._freqs = grid[perm] * nyquist
        u = torch.rand(self.n_params, generator=generator(self.seed, 1, STREAM_SINUSOID), dtype=torch.float64)
        self._phases = 2 * math.pi * u
        self._cycles_per_step = _CachedOnDevice(self._freqs * self.dt)
        self._phase_dev = _CachedOnDevice(self._phases)

    @property
    def frequencies(self) -> torch.Tensor:
        """:math:`f_i` in cycles per time unit of ``dt``, float64, shape (P,); distinct, below 0.5/dt."""
        return self._freqs.clone()

    @property
    def phases(self) -> torch.Tensor:
        r""":math:`\phi_i` in radians, float64, shape (P,), in :math:`[0, 2\pi)`."""
        return self._phases.clone()

    @property
    def nyquist(self) -> float:
        """The Nyquist frequency 0.5/dt."""
        return 0.5 / self.dt

    def hyperparameters(self) -> dict[str, Any]:
        return {"dt": self.dt, "band": self.band}

    def patterns(
        self,
        indices: list[int] | range,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        steps = torch.from_numpy(_check_indices(indices)).to(device=device, dtype=torch.float64)
        cycles = torch.remainder(self._cycles_per_step.get(device)[None, :] * steps[:, None], 1.0)
        out = torch.sin(2 * math.pi * cycles + self._phase_dev.get(device)).mul_(math.sqrt(2.0))
        return out.to(dtype)


CODES: dict[str, type[PerturbationCode]] = {
    cls.name: cls for cls in (RandomCode, WalshCode, TimeSlotCode, SinusoidCode, GaussianCode)
}
"""The registered perturbation families, by name."""


def make_code(name: str, n_params: int, seed: int = 0, **kwargs: Any) -> PerturbationCode:
    """Construct the code registered under ``name`` (one of :data:`CODES`).

    Args:
        name: ``"random"``, ``"walsh"``, ``"time_slot"``, ``"sinusoid"`` or ``"gaussian"``.
        n_params: P.
        seed: the code's seed.
        **kwargs: the family's keyword arguments (e.g. ``dt`` and ``band`` for ``"sinusoid"``,
            ``flip_signs`` for ``"walsh"``).

    Raises:
        ValueError: unknown name, or a keyword argument the family does not take.
    """
    try:
        cls = CODES[name]
    except KeyError:
        known = ", ".join(sorted(CODES))
        raise ValueError(f"unknown perturbation code {name!r}; available: {known}") from None
    params = inspect.signature(cls.__init__).parameters.values()
    accepted = [p.name for p in params if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(
            f"perturbation code {name!r} does not take {unknown}; its keyword arguments are "
            f"{', '.join(accepted) if accepted else 'none'}"
        )
    return cls(n_params, seed, **kwargs)
