"""RhythmicSharingReservoir: estimator contract, input validation, readout, divergence, persistence."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from astroglia.errors import ConfigError, DataError
from astroglia.rhythmic import (
    DivergenceError,
    NotFittedError,
    RhythmicSharingReservoir,
    clone,
    static_link_reservoir,
)
from astroglia.rhythmic.estimator import _ridge_solve


def _series(t: int = 600, seed: int = 0) -> np.ndarray:
    """A smooth 2-D test signal: two incommensurate sines plus a little noise."""
    rng = np.random.default_rng(seed)
    k = np.arange(t)
    return np.stack(
        [np.sin(0.21 * k), np.cos(0.13 * k) + 0.3 * np.sin(0.05 * k)], axis=1
    ) + 0.01 * rng.normal(size=(t, 2))


def _small(**kw) -> RhythmicSharingReservoir:
    params = dict(n_nodes=40, degree=5, k_phi=10, warmup=50, ridge=1e-6, random_state=0)
    params.update(kw)
    return RhythmicSharingReservoir(**params)


def test_defaults_are_the_spec_values():
    sig = inspect.signature(RhythmicSharingReservoir)
    defaults = {k: v.default for k, v in sig.parameters.items()}
    assert defaults == {
        "n_nodes": 100,
        "degree": 10.0,
        "spectral_radius": 0.6,
        "sigma_in": 1.2,
        "input_weights": "block",
        "leak": 0.0,
        "bias": 0.0,
        "k_phi": 50.0,
        "omega0": 0.01,
        "omega_spread": 0.0,
        "eps1": -0.2,
        "eps2": 0.6,
        "gamma": 0.0,
        "m": 0.6,
        "tau": 1.0,
        "warmup": 200,
        "ridge": 1e-20,
        "random_state": None,
    }
    assert all(p.kind is p.KEYWORD_ONLY for p in sig.parameters.values())


def test_init_only_stores_and_clone_roundtrips():
    est = RhythmicSharingReservoir(n_nodes=-3, spectral_radius="bad", random_state=4)  # no checks in __init__
    assert est.n_nodes == -3 and est.spectral_radius == "bad"
    assert not [k for k in vars(est) if k.endswith("_")]
    good = _small(m=0.3)
    c = clone(good)
    assert c is not good and c.get_params() == good.get_params()
    assert clone(good, m=0.0).m == 0.0
    assert good.set_params(m=0.1) is good and good.m == 0.1
    with pytest.raises(ValueError, match="invalid parameter 'nope'"):
        good.set_params(nope=1)
    assert "m=0.1" in repr(good)


def test_fit_returns_self_sets_attributes_and_is_deterministic():
    x = _series()
    est = _small()
    assert est.fit(x) is est
    assert est.n_features_in_ == 2
    assert est.readout_.shape == (2, 40)
    assert est.W_.shape == (40, 40)
    assert est.R_.shape == est.mean_phase_.shape == (600,)
    assert np.all((est.R_ >= 0) & (est.R_ <= 1 + 1e-12))
    other = _small().fit(x)
    assert np.array_equal(est.readout_, other.readout_)
    assert np.array_equal(est.R_, other.R_)
    # hyperparameters untouched by fit
    assert est.get_params() == _small().get_params()
    # a good one-step fit on a smooth signal
    pred = est.predict(x)[100:-1]
    assert np.sqrt(np.mean((pred - x[101:]) ** 2)) < 0.1  # signal std ~0.7


def test_fit_on_segments_drives_each_from_a_fresh_state():
    x = _series(900)
    est = _small().fit([x[:450], x[450:]])
    assert est.segment_lengths_ == [450, 450]
    assert est.R_.shape == (900,)


def test_not_fitted_errors():
    est = _small()
    for call in (lambda: est.predict(_series()), lambda: est.sense(_series()), lambda: est.save("/tmp/x")):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.arange(300.0), "Expected a 2D array.*reshape"),
        (np.zeros((300, 2, 2)), "Expected a 2D array"),
        (np.zeros((0, 2)), "empty"),
        (np.where(np.arange(600)[:, None] == 77, np.nan, _series()), "non-finite.*time step 77"),
        (np.full((300, 2), np.inf), "non-finite"),
        (_series(51), "needs at least 52 steps"),
        ([], "empty list"),
        ([_series(), _series()[:, :1]], "different numbers of features"),
    ],
)
def test_fit_rejects_bad_input(data, message):
    with pytest.raises(DataError, match=message):
        _small().fit(data)


@pytest.mark.parametrize(
    ("param", "value"),
    [("n_nodes", 0), ("spectral_radius", -1.0), ("leak", 1.0), ("m", 1.5), ("ridge", -1.0), ("tau", 0.0)],
)
def test_fit_rejects_bad_hyperparameters(param, value):
    with pytest.raises(ConfigError, match=param):
        _small(**{param: value}).fit(_series())


def test_sense_validates_and_resets():
    x = _series()
    est = _small().fit(x)
    with pytest.raises(DataError, match="2 features"):
        est.sense(x[:, :1])
    with pytest.raises(DataError, match="warm-up of 200"):
        est.sense(x[:150], warmup=200)
    a = est.sense(x, warmup=50)
    b = est.sense(x, warmup=50)
    assert np.array_equal(a.sync, b.sync)  # fresh state each call, same draw
    c = est.sense(x, warmup=50, phase_seed=1)
    assert not np.array_equal(a.sync[:5], c.sync[:5])
    assert a.predictions.shape == x.shape and a.nodes.shape == (600, 40)


def test_ridge_solve_matches_normal_equations():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(200, 10))
    y = rng.normal(size=(200, 3))
    w = _ridge_solve(f, y, 0.5)
    expect = np.linalg.solve(f.T @ f + 0.5 * np.eye(10), f.T @ y).T
    assert np.allclose(w, expect, atol=1e-10)
    # rank-deficient features with a vanishing ridge: the minimum-norm least-squares solution, finite
    g = np.hstack([f, f[:, :1]])
    w0 = _ridge_solve(g, y, 1e-20)
    assert np.all(np.isfinite(w0))
    assert np.allclose(w0, (np.linalg.pinv(g) @ y).T, atol=1e-8)


def test_closed_loop_protocols():
    x = _series()
    est = _small(ridge=1e-2).fit(x)  # a regularised readout keeps this small model's closed loop bounded
    sensed = est.sense(x[:300], warmup=50)
    run = est.closed_loop(sensed, 200, protocol="direct", target=1.0)
    assert run.frozen_at == 0 and not run.diverged and run.diverged_step is None
    assert np.allclose(run.mean_phase, 1.0, atol=1e-12)
    assert np.allclose(run.sync, sensed.sync[-1], atol=1e-12)
    rot = est.closed_loop(sensed, 800, protocol="rotate", target=sensed.mean_phase[-1] - 0.3)
    assert not rot.diverged
    assert rot.frozen_at is not None and rot.frozen_at > 500
    assert rot.mean_phase[-1] == pytest.approx(sensed.mean_phase[-1] - 0.3, abs=1e-9)
    # chunked (progress) and single-call runs agree
    a = est.closed_loop(sensed, 4100, protocol="rotate", target=0.5)
    b = est.closed_loop(sensed, 4100, protocol="rotate", target=0.5, progress=True)
    assert np.array_equal(a.outputs, b.outputs) and a.frozen_at == b.frozen_at
    with pytest.raises(ConfigError, match="target"):
        est.closed_loop(sensed, 10, protocol="direct")
    with pytest.raises(ConfigError, match="protocol"):
        est.closed_loop(sensed, 10, protocol="spin")


def test_divergence_is_reported_or_raised():
    x = _series()
    est = _small().fit(x)
    est.readout_ = est.readout_ * 50.0  # an unstable readout
    sensed = est.sense(x[:300], warmup=50)
    run = est.closed_loop(sensed, 500, protocol="evolve")
    assert run.diverged and run.diverged_step is not None and run.diverged_step < 500
    assert run.outputs.shape[0] == run.diverged_step
    assert np.all(np.isfinite(run.outputs))
    assert np.all((run.outputs >= run.box[0]) & (run.outputs <= run.box[1]))
    with pytest.raises(DivergenceError, match="left the box") as info:
        est.closed_loop(sensed, 500, protocol="evolve", on_divergence="raise")
    assert info.value.step == run.diverged_step


def test_save_load_roundtrip(tmp_path):
    x = _series()
    est = _small().fit(x)
    path = est.save(tmp_path / "model")
    assert path.suffix == ".npz"
    back = RhythmicSharingReservoir.load(path)
    assert back.get_params() == est.get_params()
    assert np.array_equal(back.predict(x), est.predict(x))
    a = est.closed_loop(est.sense(x), 100, protocol="direct", target=0.2)
    b = back.closed_loop(back.sense(x), 100, protocol="direct", target=0.2)
    assert np.array_equal(a.outputs, b.outputs)
    with np.load(path) as data:
        assert "meta" in data.files  # readable without pickle
    bad = tmp_path / "bad.npz"
    np.savez(bad, meta=np.array('{"format": "other"}'))
    with pytest.raises(DataError, match="format"):
        RhythmicSharingReservoir.load(bad)
    with pytest.raises(DataError, match="does not exist"):
        RhythmicSharingReservoir.load(tmp_path / "missing.npz")


def test_static_link_baseline():
    base = static_link_reservoir(n_nodes=40, degree=5, random_state=0)
    assert isinstance(base, RhythmicSharingReservoir) and base.m == 0.0
    x = _series()
    base.set_params(warmup=50, ridge=1e-6).fit(x)
    # with static links the node states do not depend on the phases
    assert np.array_equal(base.sense(x).nodes, base.sense(x, phase_seed=3).nodes)
