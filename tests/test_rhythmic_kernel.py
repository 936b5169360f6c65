"""Rhythmic Sharing network and step kernel: exact small cases and fast-vs-reference agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from astroglia.rhythmic.kernel import (
    EVOLVE,
    FROZEN,
    ROTATE,
    Params,
    State,
    closed_loop,
    closed_loop_reference,
    drive,
    drive_reference,
    order_parameter,
    step,
)
from astroglia.rhythmic.network import Network, build_network, spectral_radius


def _net(
    seed: int = 0, n: int = 60, d: int = 3, k_phi: float = 20.0, spread: float = 0.0, degree: float = 6
) -> Network:
    return build_network(
        np.random.default_rng(seed),
        n_nodes=n,
        n_inputs=d,
        degree=degree,
        spectral_radius=0.6,
        sigma_in=1.2,
        k_phi=k_phi,
        omega0=0.01,
        omega_spread=spread,
    )


def _state(net: Network, seed: int = 1) -> State:
    rng = np.random.default_rng(seed)
    return State(rng.uniform(-0.5, 0.5, net.n_nodes), rng.uniform(0, 2 * np.pi, net.n_links))


def test_network_structure():
    net = _net(n=100, k_phi=50, degree=10)
    a = net.adjacency()
    assert a.shape == (100, 100)
    assert spectral_radius(a) == pytest.approx(0.6, rel=1e-9)
    assert np.all(np.abs(a.data) <= 0.6 / 0.01)  # finite, non-zero links only
    assert 700 < net.n_links < 1300  # ~ k N = 1000
    # link l: CSR row is the receiving node, column the sending node
    rows, cols = a.nonzero()
    assert np.array_equal(np.sort(rows * 1000 + cols), np.sort(net.link_target * 1000 + net.indices))
    # A_Phi: binary, no self-coupling, ~k_phi neighbours per link
    c = net.phase_coupling()
    assert c.diagonal().sum() == 0
    assert np.mean(np.diff(net.phi_indptr)) == pytest.approx(50, rel=0.05)
    # block input weights: input d drives nodes [33 d, 33 (d + 1)), the last node none
    w = net.w_in
    for k in range(3):
        block = w[33 * k : 33 * (k + 1)]
        assert np.all(block[:, k] != 0) and np.all(np.delete(block, k, axis=1) == 0)
        assert np.all(np.abs(block[:, k]) <= 1.2)
    assert np.all(w[99] == 0)
    assert np.all(net.omega == 0.01)


def test_network_streams_are_independent():
    """Changing k_phi or sigma_in leaves A unchanged for the same seed (rng.spawn streams)."""
    a1 = _net(seed=5, k_phi=10)
    a2 = _net(seed=5, k_phi=30)
    assert np.array_equal(a1.weights, a2.weights) and np.array_equal(a1.indices, a2.indices)
    assert np.array_equal(a1.w_in, a2.w_in)
    assert not np.array_equal(a1.phi_indptr, a2.phi_indptr)


def test_step_matches_hand_computation():
    """Two nodes, three links (one self-loop), written out by hand from spec equations (1)-(5)."""
    # A = [[0.5, -0.3], [0.2, 0]] -> links (CSR order): 0: 0->0 (self-loop), 1: 1->0, 2: 0->1
    net = Network(
        indptr=np.array([0, 2, 3]),
        indices=np.array([0, 1, 0]),
        weights=np.array([0.5, -0.3, 0.2]),
        link_target=np.array([0, 0, 1]),
        phi_indptr=np.array([0, 2, 3, 4]),
        phi_indices=np.array([1, 2, 0, 1]),
        w_in=np.array([[0.7], [-0.4]]),
        omega=np.array([0.01, 0.02, 0.03]),
    )
    p = Params(leak=0.25, bias=0.1, m=0.6, eps1=-0.2, eps2=0.6, gamma=0.3, tau=0.8)
    n0 = np.array([0.3, -0.6])
    phi = np.array([0.4, 2.0, -1.0])
    u = np.array([1.5])
    new = step(net, p, State(n0, phi), u)

    mod = [1 - 0.3 * (1 + math.sin(x)) for x in phi]
    pre0 = 0.5 * mod[0] * n0[0] + (-0.3) * mod[1] * n0[1] + 0.7 * 1.5 + 0.1
    pre1 = 0.2 * mod[2] * n0[0] + (-0.4) * 1.5 + 0.1
    n1 = [0.25 * n0[0] + 0.75 * math.tanh(pre0), 0.25 * n0[1] + 0.75 * math.tanh(pre1)]
    assert new.nodes == pytest.approx(n1, abs=1e-15)
    ns = [(v + 1) / 2 for v in n1]
    psi = [
        math.atan2(math.sin(phi[1]) + math.sin(phi[2]), math.cos(phi[1]) + math.cos(phi[2])),
        phi[0],
        phi[1],
    ]
    gain = [-0.2 + 0.6 * ns[0], -0.2 + 0.6 * (ns[0] + ns[1]) / 2, -0.2 + 0.6 * (ns[0] + ns[1]) / 2]
    expect = [phi[k] + 0.8 * (net.omega[k] + gain[k] * math.sin(psi[k] - phi[k] + 0.3)) for k in range(3)]
    assert new.phases == pytest.approx(expect, abs=1e-15)
    # the compiled kernel gives the same step
    fast = drive(net, p, State(n0, phi), u[None, :])
    assert fast.state.nodes == pytest.approx(n1, abs=1e-15)
    assert fast.state.phases == pytest.approx(expect, abs=1e-14)


def test_order_parameter():
    assert order_parameter(np.full(7, 1.3)) == pytest.approx((1.0, 1.3))
    r, _ = order_parameter(np.linspace(0, 2 * np.pi, 100, endpoint=False))
    assert r == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("spread", [0.0, 0.005])
def test_fast_drive_matches_reference_1000_steps(spread):
    net = _net(seed=3, n=100, k_phi=50, spread=spread)
    p = Params(leak=0.1, bias=0.05, gamma=0.2)
    u = np.random.default_rng(4).normal(size=(1000, 3))
    s0 = _state(net)
    fast = drive(net, p, s0, u)
    ref = drive_reference(net, p, s0, u)
    assert np.max(np.abs(fast.nodes - ref.nodes)) < 1e-12
    assert np.max(np.abs(fast.state.phases - ref.state.phases)) < 1e-12
    assert np.max(np.abs(fast.sync - ref.sync)) < 1e-12
    assert np.max(np.abs(fast.mean_phase - ref.mean_phase)) < 1e-12
    # the input state is not modified (pure)
    assert np.array_equal(s0.nodes, _state(net).nodes)


@pytest.mark.parametrize("mode", [EVOLVE, ROTATE, FROZEN])
def test_fast_closed_loop_matches_reference(mode):
    net = _net(seed=7)
    p = Params()
    # a weak readout keeps the closed loop contracting, so rounding differences cannot grow chaotically
    w_out = np.random.default_rng(8).normal(scale=0.05, size=(3, net.n_nodes))
    s0 = _state(net)
    kw = dict(
        phase_mode=mode, target=-2.0, rotation=0.05, box_low=-np.full(3, 50.0), box_high=np.full(3, 50.0)
    )
    fast = closed_loop(net, p, s0, w_out, 300, **kw)
    ref = closed_loop_reference(net, p, s0, w_out, 300, **kw)
    assert fast.n_done == ref.n_done == 300 and not fast.diverged
    assert fast.frozen_at == ref.frozen_at
    assert np.max(np.abs(fast.outputs - ref.outputs)) < 1e-12
    assert np.max(np.abs(fast.state.phases - ref.state.phases)) < 1e-12


def test_rotation_keeps_sync_and_lands_on_target():
    net = _net(seed=2)
    s0 = _state(net)
    r0, m0 = order_parameter(s0.phases)
    target = m0 - 0.5  # needs (2 pi - 0.5) / 0.05 steps going forward
    res = closed_loop(
        net, Params(), s0, np.zeros((3, net.n_nodes)), 200, phase_mode=ROTATE, target=target, rotation=0.05
    )
    gap = (2 * np.pi - 0.5) / 0.05
    assert res.frozen_at == math.ceil(gap) - 1
    assert np.allclose(res.sync, r0, atol=1e-12)
    assert res.mean_phase[-1] == pytest.approx(math.remainder(target, 2 * np.pi), abs=1e-12)
    # frozen from then on
    assert np.all(res.mean_phase[res.frozen_at :] == res.mean_phase[-1])


def test_static_links_ignore_phases():
    """m = 0: the node update is a plain ESN, independent of the phases."""
    net = _net(seed=4)
    p = Params(m=0.0)
    u = np.random.default_rng(0).normal(size=(50, 3))
    a = drive(net, p, _state(net, 1), u)
    b = drive(net, p, State(_state(net, 1).nodes, _state(net, 2).phases), u)
    assert np.array_equal(a.nodes, b.nodes)
    n = _state(net, 1).nodes
    for t in range(3):
        n = np.tanh(net.adjacency() @ n + net.w_in @ u[t])
        assert a.nodes[t] == pytest.approx(n, abs=1e-14)


def test_closed_loop_stops_at_box():
    net = _net(seed=9)
    w_out = np.full((3, net.n_nodes), 5.0)
    res = closed_loop(net, Params(), _state(net), w_out, 100, box_low=-np.ones(3), box_high=np.ones(3))
    assert res.diverged and res.n_done < 100
    assert res.outputs.shape == (res.n_done, 3)
    assert np.all(np.abs(res.outputs) <= 1)


def test_frozen_phase_drive_is_a_static_network():
    """evolve_phases=False keeps the phases and equals the reference step with the phase update skipped."""
    net = _net(seed=11)
    p = Params(m=0.4)
    u = np.random.default_rng(3).normal(size=(100, 3))
    s0 = _state(net)
    res = drive(net, p, s0, u, evolve_phases=False)
    assert np.array_equal(res.state.phases, s0.phases)
    r0, m0 = order_parameter(s0.phases)
    assert np.allclose(res.sync, r0) and np.allclose(res.mean_phase, m0)
    nodes = s0.nodes
    mod = 1.0 - 0.2 * (1.0 + np.sin(s0.phases))
    for t in range(100):
        pre = np.bincount(net.link_target, net.weights * mod * nodes[net.indices], minlength=net.n_nodes)
        nodes = np.tanh(pre + net.w_in @ u[t])
    assert np.max(np.abs(res.state.nodes - nodes)) < 1e-12
