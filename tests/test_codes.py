"""Tests of the perturbation codes: regeneration, exact orthogonality, statistics, and what the MGD engine's
integrated estimate equals for each family (specs/mgd.md sections 4 and 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from astroglia.mgd.codes import (
    CODES,
    STREAM_PATTERNS,
    GaussianCode,
    RandomCode,
    SinusoidCode,
    TimeSlotCode,
    WalshCode,
    make_code,
)
from astroglia.mgd.config import MGDConfig
from astroglia.mgd.engine import MGDEngine
from astroglia.mgd.objective import FunctionObjective
from astroglia.mgd.seeding import GOLDEN_GAMMA, splitmix64, substream_seed
from astroglia.mgd.streams import FixedInput

ALL = sorted(CODES)


def test_registry_names() -> None:
    assert set(CODES) == {"random", "walsh", "time_slot", "sinusoid", "gaussian"}
    for name, cls in CODES.items():
        assert cls.name == name
        assert isinstance(make_code(name, 7, 1), cls)


@pytest.mark.parametrize("name", ALL)
def test_regenerates_from_seed_and_index(name: str) -> None:
    a = make_code(name, 37, seed=5)
    first = [a.pattern(k) for k in (0, 3, 200)]
    b = make_code(name, 37, seed=5)  # a fresh object: nothing stored
    for k, pat in zip((0, 3, 200), first, strict=True):
        assert pat.shape == (37,)
        assert torch.equal(b.pattern(k), pat)
    # order of requests does not matter
    assert torch.equal(b.pattern(3), a.pattern(3))
    other = make_code(name, 37, seed=6)
    assert not all(torch.equal(other.pattern(k), p) for k, p in zip((0, 3, 200), first, strict=True))
    # the float64 pattern is the float32 one at higher precision
    assert torch.allclose(a.pattern(3, dtype=torch.float64), first[1].double(), atol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_patterns_stack_and_negative_index(name: str) -> None:
    code = make_code(name, 6, seed=2)
    stacked = code.patterns(range(4))
    assert stacked.shape == (4, 6)
    assert torch.equal(stacked[2], code.pattern(2))
    with pytest.raises(ValueError, match="index"):
        code.pattern(-1)


def test_make_code_errors() -> None:
    with pytest.raises(ValueError, match="available: gaussian, random, sinusoid, time_slot, walsh"):
        make_code("hadamard", 4)
    with pytest.raises(ValueError, match="does not take \\['dt'\\].*flip_signs, skip_constant_row"):
        make_code("walsh", 4, dt=0.5)
    with pytest.raises(ValueError, match="none"):
        make_code("random", 4, band=(0.1, 0.2))
    code = make_code("sinusoid", 4, 0, dt=0.25, band=(0.2, 0.4))
    assert code.dt == 0.25 and code.band == (0.2, 0.4)
    assert "dt=0.25" in repr(code)


def test_periods() -> None:
    assert RandomCode(10).period is None
    assert GaussianCode(10).period is None
    assert SinusoidCode(10).period is None
    assert TimeSlotCode(10).period == 10
    assert WalshCode(10).period == 16
    assert WalshCode(16).period == 32  # the constant row is skipped by default
    assert WalshCode(16, skip_constant_row=False).period == 16
    assert WalshCode(17, skip_constant_row=False).period == 32
    assert WalshCode(1).period == 2
    assert WalshCode(1, skip_constant_row=False).period == 1


# -- Walsh -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_params", "skip"), [(5, True), (8, False), (8, True), (13, False), (1, True)])
def test_walsh_exactly_orthogonal_over_a_period(n_params: int, skip: bool) -> None:
    code = WalshCode(n_params, seed=3, skip_constant_row=skip)
    length = code.period
    s = code.patterns(range(length), dtype=torch.float64)
    assert set(s.unique().tolist()) <= {-1.0, 1.0}
    gram = (s.T @ s).numpy()
    np.testing.assert_array_equal(gram, length * np.eye(n_params))  # exact integers
    # any later full pass too, and the code cycles
    s2 = code.patterns(range(3 * length, 4 * length), dtype=torch.float64)
    assert torch.equal(s2, s)


def test_walsh_columns_are_those_of_a_sylvester_hadamard_matrix() -> None:
    code = WalshCode(11, seed=9)
    h = scipy.linalg.hadamard(code.period)  # Sylvester construction
    rows = code.rows.numpy()
    assert len(set(rows.tolist())) == 11 and rows.min() >= 1 and rows.max() < code.period
    for k in range(code.period):
        np.testing.assert_array_equal(code.pattern(k, dtype=torch.float64).numpy(), h[rows, k])
    # every parameter's sequence has zero mean over the period when the constant row is skipped
    s = code.patterns(range(code.period), dtype=torch.float64)
    np.testing.assert_array_equal(s.sum(0).numpy(), np.zeros(11))
    # the all-ones column is pattern 0
    assert torch.equal(code.pattern(0), torch.ones(11))


def test_walsh_sign_flips_per_pass() -> None:
    plain = WalshCode(6, seed=4)
    flipped = WalshCode(6, seed=4, flip_signs=True)
    length = plain.period
    signs = [flipped.pass_sign(m) for m in range(40)]
    assert set(signs) == {-1, 1}  # 40 fair coins
    for m in (0, 1, 2, 7):
        for j in (0, 3, length - 1):
            k = m * length + j
            assert torch.equal(flipped.pattern(k), signs[m] * plain.pattern(k))
    s = flipped.patterns(range(length, 2 * length), dtype=torch.float64)
    np.testing.assert_array_equal((s.T @ s).numpy(), length * np.eye(6))


# -- time slots ------------------------------------------------------------------------------------------


def test_time_slots_hit_each_parameter_once_per_cycle() -> None:
    n = 9
    code = TimeSlotCode(n, seed=1)
    s = code.patterns(range(n), dtype=torch.float64)
    hits = (s != 0).sum(0)
    assert torch.equal(hits, torch.ones(n, dtype=hits.dtype))
    assert torch.equal((s != 0).sum(1), torch.ones(n, dtype=hits.dtype))  # one parameter per pattern
    assert torch.allclose(s.sum(0), torch.full((n,), 3.0, dtype=torch.float64))  # sqrt(9)
    assert torch.allclose(s.T @ s, n * torch.eye(n, dtype=torch.float64))
    assert sorted(code.order.tolist()) == list(range(n))
    assert code.order.tolist() != list(range(n))  # a shuffled order (9! orders; seed 1 is not identity)
    assert torch.equal(code.patterns(range(n, 2 * n)), code.patterns(range(n)))
    assert [code.slot(k) for k in range(n)] == code.order.tolist()


# -- random and Gaussian statistics ----------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "tol"), [(RandomCode, 0.04), (GaussianCode, 0.06)])
def test_second_moment_is_identity(cls: type, tol: float) -> None:
    n, k = 6, 20_000
    s = cls(n, seed=11).patterns(range(k), dtype=torch.float64)
    second = (s.T @ s / k).numpy()
    # entries of the sample mean have std 1/sqrt(k) = 0.007 (off-diagonal) and sqrt(2/k) = 0.01 (Gaussian
    # diagonal); tol is > 4 sigma
    np.testing.assert_allclose(second, np.eye(n), atol=tol)
    np.testing.assert_allclose(s.mean(0).numpy(), np.zeros(n), atol=tol)


def test_random_code_is_the_splitmix64_bit_stream() -> None:
    """Exact definition: bit i % 64 of output i // 64 of SplitMix64 seeded with substream_seed(seed, k)."""
    n_params = 150  # three words, the last one partly used
    code = RandomCode(n_params, seed=9)
    for k in (0, 1, 77, 10**9):
        state = substream_seed(9, k, STREAM_PATTERNS)
        words = [splitmix64((state + j * GOLDEN_GAMMA) % 2**64) for j in range(3)]
        expected = [2 * ((words[i // 64] >> (i % 64)) & 1) - 1 for i in range(n_params)]
        assert code.pattern(k, dtype=torch.float64).tolist() == expected


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("n_params", [1, 63, 64, 65, 300])
def test_vectorised_patterns_equal_single_patterns(name: str, n_params: int) -> None:
    code = make_code(name, n_params, seed=4, **({"flip_signs": True} if name == "walsh" else {}))
    indices = [5, 0, 5, 1023, 64, 2**40 + 3]
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        stacked = code.patterns(indices, dtype=dtype)
        assert stacked.shape == (len(indices), n_params) and stacked.dtype == dtype
        for row, k in zip(stacked, indices, strict=True):
            assert torch.equal(row, code.pattern(k, dtype=dtype))
    with pytest.raises(ValueError, match="index"):
        code.patterns([3, -2])
    with pytest.raises(ValueError, match="at least one"):
        code.patterns([])


def test_random_code_is_plus_minus_one_with_norm_p() -> None:
    s = RandomCode(50, seed=0).patterns(range(20))
    assert set(s.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal((s**2).sum(1), torch.full((20,), 50.0))


# -- sinusoids -------------------------------------------------------------------------------------------


def test_sinusoid_frequencies_distinct_below_nyquist() -> None:
    dt = 0.5
    code = SinusoidCode(40, seed=2, dt=dt, band=(0.1, 0.9))
    f = code.frequencies
    assert code.nyquist == 1.0
    assert len(set(f.tolist())) == 40
    assert f.min().item() == pytest.approx(0.1 * code.nyquist)
    assert f.max().item() == pytest.approx(0.9 * code.nyquist)
    assert (f < 0.5 / dt).all()
    spacing = np.diff(np.sort(f.numpy()))
    np.testing.assert_allclose(spacing, 0.8 * code.nyquist / 39)
    assert not torch.equal(f, f.sort().values)  # shuffled assignment
    assert ((code.phases >= 0) & (code.phases < 2 * math.pi)).all()


def test_sinusoid_values_match_formula_and_rms_is_one() -> None:
    dt = 0.1
    code = SinusoidCode(8, seed=3, dt=dt)
    f, phi = code.frequencies.numpy(), code.phases.numpy()
    for k in (0, 1, 17, 12_345):
        expected = math.sqrt(2) * np.sin(2 * np.pi * f * k * dt + phi)
        np.testing.assert_allclose(code.pattern(k, dtype=torch.float64).numpy(), expected, atol=1e-9)
    s = code.patterns(range(5000), dtype=torch.float64)
    rms = s.pow(2).mean(0).sqrt().numpy()
    np.testing.assert_allclose(rms, np.ones(8), atol=0.02)
    # crosstalk over a long window is small compared with the diagonal
    gram = (s.T @ s / 5000).numpy()
    np.testing.assert_allclose(gram, np.eye(8), atol=0.03)


def test_sinusoid_rejects_bad_band_and_dt() -> None:
    with pytest.raises(ValueError, match="band"):
        SinusoidCode(4, band=(0.5, 1.2))
    with pytest.raises(ValueError, match="band"):
        SinusoidCode(4, band=(0.5, 0.5))
    with pytest.raises(ValueError, match="dt"):
        SinusoidCode(4, dt=0.0)


# -- what the engine's estimate equals -------------------------------------------------------------------


def _engine(fn, theta0: np.ndarray, code, **cfg) -> MGDEngine:
    config = MGDConfig(code=code.name, seed=code.seed, **cfg)
    return MGDEngine(FunctionObjective(fn, theta0), config, FixedInput(), code=code)


def _g_int_from_update(engine: MGDEngine, n_steps: int) -> torch.Tensor:
    """Run n_steps (ending with exactly one update) and return G_int = (theta_before - theta_after)/eta."""
    before = engine.theta.clone()
    engine.run(n_steps)
    assert engine.counters.updates == 1
    return (before - engine.theta) / engine.config.eta


@pytest.mark.parametrize(("n_params", "skip"), [(8, False), (8, True), (11, True)])
def test_walsh_estimate_is_exact_on_a_linear_cost(n_params: int, skip: bool) -> None:
    rng = np.random.default_rng(0)
    g = rng.normal(size=n_params)
    theta0 = rng.normal(size=n_params)
    code = WalshCode(n_params, seed=5, skip_constant_row=skip)
    length = code.period
    engine = _engine(lambda th, x: float(g @ th), theta0, code, eta=0.5, delta_theta=0.01, tau_theta=length)
    g_int = _g_int_from_update(engine, length).numpy()
    # sum_k G = (a^2/Delta^2) sum_k s s^T g = (L/P) g exactly (total convention, a = Delta/sqrt(P))
    expected = (length / n_params) * g
    assert np.linalg.norm(g_int - expected) / np.linalg.norm(expected) < 1e-9
    if length == n_params:
        assert np.linalg.norm(g_int - g) / np.linalg.norm(g) < 1e-9


def test_walsh_estimate_exact_with_held_patterns_and_per_parameter_amplitude() -> None:
    n, tau_p = 6, 3
    g = np.arange(1.0, n + 1)
    code = WalshCode(n, seed=1)
    length = code.period
    engine = _engine(
        lambda th, x: float(g @ th),
        np.zeros(n),
        code,
        eta=1.0,
        delta_theta=0.02,
        amplitude="per_parameter",
        tau_p=tau_p,
        tau_theta=length * tau_p,
    )
    g_int = _g_int_from_update(engine, length * tau_p).numpy()
    expected = tau_p * (length / n) * g
    assert np.linalg.norm(g_int - expected) / np.linalg.norm(expected) < 1e-9


def test_random_code_is_not_exact_in_one_period_but_walsh_is() -> None:
    """The contrast that motivates orthogonal codes: L random patterns leave crosstalk."""
    n = 8
    g = np.linspace(-1, 1, n)
    code = RandomCode(n, seed=0)
    engine = _engine(lambda th, x: float(g @ th), np.zeros(n), code, eta=1.0, delta_theta=0.01, tau_theta=n)
    g_int = _g_int_from_update(engine, n).numpy()
    assert np.linalg.norm(g_int - g) / np.linalg.norm(g) > 1e-3


def test_time_slots_reproduce_forward_finite_differences() -> None:
    n = 7
    delta = 1e-3

    def cost(th: np.ndarray, x: object) -> float:
        return float(np.sum(np.sin(th) * th**2) + th[0] * th[3] + np.exp(0.3 * th[6]))

    theta0 = np.random.default_rng(1).normal(size=n)
    engine = _engine(cost, theta0, TimeSlotCode(n, seed=2), eta=0.1, delta_theta=delta, tau_theta=n)
    g_int = _g_int_from_update(engine, n).numpy()
    c0 = cost(theta0, None)
    fd = np.array([(cost(theta0 + delta * np.eye(n)[i], None) - c0) / delta for i in range(n)])
    np.testing.assert_allclose(g_int, fd, rtol=1e-7, atol=1e-9)
    # and it is the forward difference, not the exact gradient: the bias H_ii * delta / 2 is visible
    exact = np.cos(theta0) * theta0**2 + 2 * theta0 * np.sin(theta0)
    exact[0] += theta0[3]
    exact[3] += theta0[0]
    exact[6] += 0.3 * np.exp(0.3 * theta0[6])
    assert np.max(np.abs(g_int - exact)) > 1e-5
    np.testing.assert_allclose(g_int, exact, atol=5e-3)


def test_random_code_with_unit_time_constants_is_spsa_over_p() -> None:
    """All tau = 1: theta <- theta - eta * g_spsa / P, g_spsa_i = (C(theta + c s) - C(theta)) / (c s_i)."""
    n, delta, eta = 5, 0.05, 0.2
    a = delta / math.sqrt(n)  # per-parameter amplitude c of SPSA

    def cost(th: np.ndarray, x: object) -> float:
        return float(np.sum((th - 0.3) ** 2 * np.arange(1, n + 1)) + np.prod(np.cos(th)))

    theta0 = np.linspace(-1, 1, n)
    code = RandomCode(n, seed=3)
    engine = _engine(cost, theta0, code, eta=eta, delta_theta=delta)
    engine.run(6)
    theta = theta0.copy()
    for k in range(6):
        s = code.pattern(k, dtype=torch.float64).numpy()
        g_spsa = (cost(theta + a * s, None) - cost(theta, None)) / (a * s)
        theta = theta - eta * g_spsa / n
    np.testing.assert_allclose(engine.theta.numpy(), theta, rtol=1e-12, atol=1e-14)
    assert engine.counters.evaluations == 12  # baseline and perturbed at every step


def test_gaussian_and_sinusoid_codes_drive_the_engine() -> None:
    """Sanity of the interface: both descend a quadratic bowl on average."""
    n = 4

    def cost(th: np.ndarray, x: object) -> float:
        return float(np.sum(th**2))

    for code in (GaussianCode(n, seed=0), SinusoidCode(n, seed=0)):
        engine = _engine(cost, np.ones(n), code, eta=0.02, delta_theta=0.01, tau_theta=50)  # eta tau/P = 0.25
        engine.run(2000)
        assert cost(engine.theta.numpy(), None) < 1e-3 * cost(np.ones(n), None)


def test_vectorised_seeding_equals_the_scalar_definition():
    from astroglia.mgd.seeding import splitmix64_array, substream_seeds

    indices = [0, 1, 2, 77, 2**40 + 5, 2**62]
    for seed, stream in ((0, 0), (9, 3), (2**31, 101)):
        keys = substream_seeds(seed, indices, stream)
        assert [int(k) for k in keys] == [substream_seed(seed, i, stream) for i in indices]
    xs = [0, 1, 2**63, 2**64 - 1]
    assert [int(v) for v in splitmix64_array(np.array(xs, dtype=np.uint64))] == [splitmix64(x) for x in xs]
    with pytest.raises(ValueError, match="non-negative"):
        substream_seeds(0, [3, -1])


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n_params", [1, 63, 64, 65, 300])
def test_perturbed_points_and_correlate_equal_their_tensor_definitions(
    name: str, dtype: torch.dtype, n_params: int
) -> None:
    """points = base + a * patterns exactly (the same rounding); correlate = sum_k w_k a s_k to float64
    rounding. The random code does both with compiled kernels on the CPU, the others through patterns()."""
    code = make_code(name, n_params, seed=6)
    indices = [3, 0, 3, 70, 2**33 + 5]
    g = torch.Generator().manual_seed(1)
    base = torch.randn(n_params, generator=g, dtype=torch.float64).to(dtype)
    a = 0.0123
    expected = base + code.patterns(indices, dtype=dtype) * a
    points = torch.full((len(indices), n_params), float("nan"), dtype=dtype)
    perts = code.perturbed_points(indices, base, a, points)
    assert torch.equal(points, expected)
    assert (perts is None) == (name == "random")  # the kernel never builds the patterns
    weights = [0.5, -1.25, 2.0, 1e-3, -0.75]
    reference = (
        torch.tensor(weights, dtype=torch.float64) @ (code.patterns(indices, dtype=torch.float64) * a)
    ).to(dtype)
    start = torch.randn(n_params, generator=g, dtype=torch.float64).to(dtype)
    for given in (perts, None):
        out = start.clone()
        code.correlate(indices, weights, a, out, given)
        tol = 1e-6 if dtype == torch.float32 else 1e-13
        torch.testing.assert_close(out, start + reference, rtol=tol, atol=tol)
    # only the first len(weights) patterns count
    out = start.clone()
    code.correlate(indices, weights[:2], a, out)
    partial = torch.tensor(weights[:2], dtype=torch.float64) @ (
        code.patterns(indices[:2], dtype=torch.float64) * a
    )
    torch.testing.assert_close(out, start + partial.to(dtype), rtol=1e-6, atol=1e-6)


def test_random_code_keeps_no_batch_state_after_correlating() -> None:
    code = RandomCode(1000, seed=2)
    base = torch.zeros(1000)
    points = torch.empty(32, 1000)
    code.perturbed_points(range(32), base, 0.1, points)
    assert code._last_words is not None and code._last_words[1].shape == (32, 16)
    code.correlate(range(32), [1.0] * 32, 0.1, torch.zeros(1000))
    assert code._last_words is None


def test_compiled_stream_words_equal_the_numpy_definition() -> None:
    from astroglia.mgd._compiled import stream_words
    from astroglia.mgd.seeding import splitmix64_array

    keys = np.array([0, 1, 2**63 + 7, 2**64 - 1], dtype=np.uint64)
    counters = np.arange(5, dtype=np.uint64) * np.uint64(GOLDEN_GAMMA)
    np.testing.assert_array_equal(stream_words(keys, 5), splitmix64_array(keys[:, None] + counters[None, :]))


def test_compiled_pattern_words_use_the_substream_seeds() -> None:
    from astroglia.mgd._compiled import pattern_words, stream_words
    from astroglia.mgd.seeding import substream_head, substream_seeds

    indices = np.array([0, 5, 2**40 + 1], dtype=np.int64)
    head = np.uint64(substream_head(11, STREAM_PATTERNS))
    np.testing.assert_array_equal(
        pattern_words(head, indices, 3), stream_words(substream_seeds(11, indices, STREAM_PATTERNS), 3)
    )
