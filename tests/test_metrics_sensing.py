"""Context-sensing metrics: switch latency and unsupervised frame-wise accuracy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from astroglia.metrics import cluster_signature, context_accuracy, switch_latency


def _step_signal() -> np.ndarray:
    r = np.ones(400)
    r[100:107] = 0.95  # down switch at 100: still above 0.9 for 7 steps
    r[107:200] = 0.5
    r[200:230] = 0.93  # up switch at 200: not above 0.95 until 230
    r[230:300] = 0.99
    r[300:400] = 0.92  # down switch at 300: never below 0.9
    return r


def test_switch_latency_on_a_step_signal():
    r = _step_signal()
    assert switch_latency(r, [100, 200, 300], ["down", "up", "down"]) == [7, 30, None]
    # the search stops at the next switch: the drop at 107 lies after a switch at 105
    assert switch_latency(r, [100, 105], "down") == [None, 2]
    assert switch_latency(r, [107], "down") == [0]  # already below at the switch
    assert switch_latency(
        r, [100, 200, 300], ["down", "up", "down"], down_threshold=0.96, up_threshold=0.92
    ) == [
        0,
        0,
        0,
    ]


def test_switch_latency_rejects_bad_input():
    r = _step_signal()
    with pytest.raises(ValueError, match="strictly increasing"):
        switch_latency(r, [200, 100], "down")
    with pytest.raises(ValueError, match="one per switch"):
        switch_latency(r, [100, 200], ["down"])
    with pytest.raises(ValueError, match="'down' or 'up'"):
        switch_latency(r, [100], ["sideways"])
    with pytest.raises(ValueError, match="lie in"):
        switch_latency(r, [400], "up")
    with pytest.raises(ValueError, match="1-D"):
        switch_latency(r[:, None], [100], "up")


def test_context_accuracy_hand_computed():
    sig = np.array([0.1, 0.2, 0.15, 0.9, 0.8, 0.85])
    labels = np.array([0, 0, 1, 1, 1, 1])
    res = context_accuracy(sig, labels)
    assert res.accuracy == pytest.approx(5 / 6)
    assert res.cluster_to_label == {0: 0, 1: 1}
    np.testing.assert_array_equal(res.predicted, [0, 0, 0, 1, 1, 1])
    named = context_accuracy(sig, np.array(["p", "p", "p", "c", "c", "c"]))  # names matched, not ordered
    assert named.accuracy == 1.0 and named.cluster_to_label == {0: "p", 1: "c"}


def test_context_accuracy_on_a_noisy_two_level_signature():
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1, 0, 1], 250)
    r = np.where(labels == 0, 0.99, 0.45) + 0.03 * rng.normal(size=labels.size)
    assert context_accuracy(r, labels).accuracy == 1.0
    assert context_accuracy(r, 1 - labels).accuracy == 1.0


def test_angular_columns_treat_phases_on_the_circle():
    rng = np.random.default_rng(4)
    n = 200
    labels = np.repeat([0, 1], n)
    near_pi = np.where(rng.random(n) < 0.5, np.pi - 0.05, -np.pi + 0.05) + 0.02 * rng.normal(size=n)
    near_zero = 0.02 * rng.normal(size=n)
    sig = np.stack([np.full(2 * n, 0.5), np.concatenate([near_pi, near_zero])], axis=1)
    assert context_accuracy(sig, labels, angular_columns=[1]).accuracy == 1.0
    assert context_accuracy(sig, labels).accuracy < 0.9  # as a line, +-pi look far apart


@settings(max_examples=40, deadline=None)
@given(arrays(float, st.integers(4, 9), elements=st.floats(-10, 10)))
def test_one_dimensional_split_is_the_exact_two_means_optimum(v):
    labels = cluster_signature(v)
    assert set(labels.tolist()) <= {0, 1}

    def within(lab):
        return sum(((v[lab == k] - v[lab == k].mean()) ** 2).sum() for k in (0, 1) if np.any(lab == k))

    best = min(
        within(np.array(mask)) for mask in itertools.product([0, 1], repeat=v.size) if 0 < sum(mask) < v.size
    )
    assert within(labels) == pytest.approx(best, rel=1e-9, abs=1e-9)


def test_clustering_is_deterministic_and_checks_input():
    rng = np.random.default_rng(5)
    sig = rng.normal(size=(300, 2)) + np.repeat([[0, 0], [3, 3], [0, 6]], 100, axis=0)
    a = cluster_signature(sig, n_clusters=3)
    np.testing.assert_array_equal(a, cluster_signature(sig, n_clusters=3))
    assert context_accuracy(sig, np.repeat([0, 1, 2], 100)).accuracy > 0.95
    with pytest.raises(ValueError, match="NaN"):
        cluster_signature(np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="n_clusters"):
        cluster_signature(np.arange(5.0), n_clusters=1)
    with pytest.raises(ValueError, match="labels must have shape"):
        context_accuracy(np.arange(5.0), np.arange(4))
