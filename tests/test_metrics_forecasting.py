"""Forecasting metrics on exact small cases, known signals and property checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from astroglia.metrics import (
    attractor_statistics,
    divergence_index,
    is_diverged,
    normalized_error,
    nrmse,
    spectrum_distance,
    valid_prediction_time,
)
from astroglia.systems import integrate, thomas_series

# --- NRMSE and the normalised error --------------------------------------------------------------------


def test_nrmse_of_a_known_offset():
    y = np.tile([[0.0, 0.0], [1.0, 4.0]], (5, 1))  # std 0.5 and 2.0
    pred = y + np.array([0.1, 1.0])
    np.testing.assert_allclose(nrmse(y, pred), [0.2, 0.5])
    np.testing.assert_allclose(nrmse(y[:, 0], pred[:, 0]), [0.2])  # 1-D is one coordinate


def test_nrmse_edge_cases():
    y = np.array([[1.0, 0.0], [1.0, 1.0]])  # first coordinate constant
    assert nrmse(y, y).tolist() == [0.0, 0.0]
    assert nrmse(y, y + 1.0).tolist() == [np.inf, 2.0]
    bad = y.copy()
    bad[1, 1] = np.nan
    assert nrmse(y, bad).tolist() == [0.0, np.inf]  # a non-finite prediction is an infinite error
    with pytest.raises(ValueError, match="same shape"):
        nrmse(y, y[:1])
    with pytest.raises(ValueError, match="y_true contains NaN"):
        nrmse(bad, y)


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=50, deadline=None)
@given(
    y=arrays(float, (20, 2), elements=finite),
    noise=arrays(float, (20, 2), elements=st.floats(-1, 1)),
    scale=st.floats(1e-3, 1e3),
    shift=finite,
)
def test_nrmse_is_zero_on_identity_and_invariant_to_scale_and_shift(y, noise, scale, shift):
    y = y + np.arange(20)[:, None]  # never constant
    pred = y + noise
    assert np.all(nrmse(y, y) == 0)
    # atol: noise far below the float resolution of the shifted values (e.g. subnormal) is lost in the shift
    np.testing.assert_allclose(
        nrmse(scale * y + shift, scale * pred + shift), nrmse(y, pred), rtol=1e-6, atol=1e-9
    )


def test_normalized_error_hand_computed():
    y = np.array([[1.0, 0.0], [-1.0, 0.0]])  # mean 0, RMS distance from the mean 1
    pred = np.array([[1.0, 0.0], [2.0, 4.0]])
    np.testing.assert_allclose(normalized_error(y, pred), [0.0, 5.0])
    y2 = np.array(
        [[3.0, 0.0], [1.0, 0.0], [2.0, 3.0], [2.0, -3.0]]
    )  # mean (2, 0); ||y - mean||^2 = 1, 1, 9, 9
    e = normalized_error(y2, y2 + np.array([0.0, np.sqrt(5.0)]))
    np.testing.assert_allclose(e, np.ones(4))
    assert normalized_error(y, np.array([[1.0, 0.0], [np.inf, 0.0]]))[1] == np.inf


# --- valid prediction time -----------------------------------------------------------------------------


def test_vpt_of_a_prediction_that_diverges_at_a_known_index():
    angle = 2 * np.pi * np.arange(300) / 100  # three whole turns: mean 0, RMS distance from the mean 1
    y = np.stack([np.sin(angle), np.cos(angle)], axis=1)
    pred = y.copy()
    pred[37:] += np.array([0.5, 0.0])  # e = 0.5 > 0.4 from index 37 on
    pred[10:37] += np.array([0.0, 0.39])  # e = 0.39 is still valid
    vpt = valid_prediction_time(y, pred, dt=0.05, lyapunov_exponent=0.906)
    assert vpt.steps == 37 and vpt.exceeded
    assert vpt.time == pytest.approx(37 * 0.05)
    assert vpt.lyapunov_times == pytest.approx(37 * 0.05 * 0.906)
    assert valid_prediction_time(y, pred, threshold=0.6).steps == 300
    never = valid_prediction_time(y, y)
    assert never.steps == 300 and not never.exceeded and never.lyapunov_times is None
    assert valid_prediction_time(y, y + 1.0).steps == 0


def test_vpt_rejects_bad_options():
    y = np.zeros((5, 1)) + np.arange(5)[:, None]
    with pytest.raises(ValueError, match="threshold"):
        valid_prediction_time(y, y, threshold=0.0)
    with pytest.raises(ValueError, match="dt"):
        valid_prediction_time(y, y, dt=-1.0)
    with pytest.raises(ValueError, match="lyapunov_exponent"):
        valid_prediction_time(y, y, lyapunov_exponent=0.0)


# --- attractor statistics ------------------------------------------------------------------------------


def test_attractor_statistics_of_a_sinusoid_with_period_13_2():
    t = np.arange(3000)
    y = np.stack([np.sin(2 * np.pi * t / 13.2), 2.0 + 0.5 * np.cos(2 * np.pi * t / 13.2)], axis=1)
    s = attractor_statistics(y, dt=0.5, transient=100)
    assert s.regime == "limit_cycle"
    assert s.period == pytest.approx(13.2 * 0.5, rel=0.01)
    np.testing.assert_allclose(s.mean, [0.0, 2.0], atol=0.01)
    np.testing.assert_allclose(s.std, [np.sqrt(0.5), 0.5 / np.sqrt(2)], rtol=0.01)
    assert s.peak_sharpness > 0.99 and s.recurrence_error < 0.01 and s.n_samples == 2900


def test_attractor_statistics_finds_the_fundamental_under_a_dominant_harmonic():
    t = np.arange(4000)
    y = 0.3 * np.sin(2 * np.pi * t / 20.0) + np.sin(4 * np.pi * t / 20.0 + 0.4)  # the peak sits at 10
    s = attractor_statistics(y)
    assert s.regime == "limit_cycle" and s.period == pytest.approx(20.0, rel=0.01)


def test_attractor_statistics_fixed_point_and_diverged():
    const = np.tile([0.5, -2.0, 3.0], (500, 1))
    s = attractor_statistics(const)
    assert s.regime == "fixed_point" and s.period is None
    np.testing.assert_allclose(s.std, 0.0)
    decaying = const + np.exp(-np.arange(500) / 10.0)[:, None]
    assert attractor_statistics(decaying, transient=300).regime == "fixed_point"
    nan = const.copy()
    nan[250, 1] = np.nan
    assert attractor_statistics(nan).regime == "diverged"
    assert attractor_statistics(const, bound=1.0).regime == "diverged"
    with pytest.raises(ValueError, match="transient"):
        attractor_statistics(const, transient=500)


def test_attractor_statistics_of_lorenz_is_irregular():
    s = integrate("lorenz", None, 4000, 0.02)
    stats = attractor_statistics(s.values[:, 0], dt=0.02, transient=500)
    assert stats.regime == "irregular" and stats.recurrence_error > 0.3


def test_attractor_statistics_of_thomas_at_b_029_and_b_018():
    cycle = attractor_statistics(thomas_series(0.29, 2000, transient=500, cache=False).values)
    assert cycle.regime == "limit_cycle" and cycle.period == pytest.approx(13.2, rel=0.01)
    chaos = attractor_statistics(thomas_series(0.18, 2000, transient=500, cache=False).values)
    assert chaos.regime == "irregular"


# --- spectra and divergence ----------------------------------------------------------------------------


def test_spectrum_distance_values():
    t = np.arange(4096)
    a = np.stack([np.sin(2 * np.pi * t / 13.2), np.cos(2 * np.pi * t / 30.0)], axis=1)
    assert spectrum_distance(a, a) == pytest.approx(0.0, abs=1e-7)
    assert spectrum_distance(a, 5.0 * a[:3000] + 1.0) == pytest.approx(0.0, abs=0.02)  # scale and length free
    b = np.stack([np.sin(2 * np.pi * t / 4.0), np.cos(2 * np.pi * t / 3.0)], axis=1)
    assert spectrum_distance(a, b) > 0.95
    assert spectrum_distance(a, np.full_like(a, np.nan)) == 1.0
    assert spectrum_distance(a, np.ones_like(a)) == 1.0
    assert spectrum_distance(np.ones_like(a), np.ones_like(a)) == 0.0


@settings(max_examples=30, deadline=None)
@given(arrays(float, (64, 2), elements=finite), arrays(float, (64, 2), elements=finite))
def test_spectrum_distance_is_a_symmetric_bounded_score(a, b):
    d = spectrum_distance(a, b, nperseg=32)
    assert 0.0 <= d <= 1.0
    assert d == pytest.approx(spectrum_distance(b, a, nperseg=32), abs=1e-12)


def test_divergence_box_is_ten_times_the_data_range():
    ref = np.array([[0.0, 0.0], [1.0, 2.0]])  # centre (0.5, 1), range (1, 2): box [-4.5, 5.5] x [-9, 11]
    inside = np.array([[5.4, 10.9], [-4.4, -8.9]])
    assert not is_diverged(inside, reference=ref)
    assert divergence_index(inside, reference=ref) is None
    y = np.array([[0.0, 0.0], [0.0, 0.0], [5.6, 0.0], [0.0, 0.0]])
    assert is_diverged(y, reference=ref) and divergence_index(y, reference=ref) == 2
    assert divergence_index(np.array([[0.0, 0.0], [np.nan, 0.0]]), reference=ref) == 1
    assert not is_diverged(np.array([[5.6, 0.0]]), reference=ref, factor=20.0)
    flat = np.array([[1.0, 0.0], [1.0, 2.0]])  # zero range in x borrows the largest range (2)
    assert not is_diverged(np.array([[10.9, 0.0]]), reference=flat)
    assert is_diverged(np.array([[11.1, 0.0]]), reference=flat)
