"""The compiled Rhythmic Sharing kernel's building blocks: threaded runs and vectorised maths."""

from __future__ import annotations

import numba
import numpy as np

from astroglia.rhythmic import _compiled
from astroglia.rhythmic.kernel import Params, State, drive
from astroglia.rhythmic.network import build_network


def _net(k_phi: float = 50.0):
    return build_network(
        np.random.default_rng(11),
        n_nodes=100,
        n_inputs=3,
        degree=10,
        spectral_radius=0.6,
        sigma_in=1.2,
        k_phi=k_phi,
        omega0=0.01,
        omega_spread=0.0,
    )


def test_parallel_drive_is_bit_identical_to_serial():
    net = _net()
    u = np.random.default_rng(2).normal(size=(300, 3))
    rng = np.random.default_rng(3)
    s0 = State(rng.uniform(-0.5, 0.5, net.n_nodes), rng.uniform(0, 2 * np.pi, net.n_links))
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        serial = drive(net, Params(), s0, u)
        threaded = drive(net, Params(), s0, u, parallel=True)
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(serial.nodes, threaded.nodes)
    assert np.array_equal(serial.state.phases, threaded.state.phases)
    assert np.array_equal(serial.sync, threaded.sync)


def test_vector_sin_cos_tanh_match_numpy():
    x = np.concatenate(
        [np.linspace(-50, 50, 20001), np.array([0.0, -0.0, 1e-300, 7e5, -7e5, 1e6, np.pi, 2 * np.pi])]
    )
    s, c, t = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    _compiled.sincos_array(x, s, c)
    _compiled.tanh_array(x, t)
    assert np.max(np.abs(s - np.sin(x))) < 2e-15
    assert np.max(np.abs(c - np.cos(x))) < 2e-15
    assert np.max(np.abs(t - np.tanh(x))) < 2e-16
    inf = np.array([np.inf, -np.inf, np.nan])
    s, c, t = np.empty(3), np.empty(3), np.empty(3)
    _compiled.sincos_array(inf, s, c)
    _compiled.tanh_array(inf, t)
    assert np.isnan(s).all() and np.isnan(c).all()
    assert t[0] == 1.0 and t[1] == -1.0 and np.isnan(t[2])
