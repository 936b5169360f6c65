"""Black-box (chip-in-the-loop) driver: ask/tell and callable paths, failure policy, device in a process."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from astroglia.errors import ConfigError
from astroglia.mgd import MGDConfig
from astroglia.mgd.blackbox import BlackBoxMGD, FailurePolicy, MeasurementFailed

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _quadratic(p: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(p, p))
    h = a @ a.T / p + np.eye(p)
    target = rng.normal(size=p)

    def fn(theta: np.ndarray, _batch) -> float:
        d = theta - target
        return float(0.5 * d @ h @ d)

    return fn, target


CFG = MGDConfig(eta=0.5, delta_theta=0.05, tau_x=4, tau_theta=4, seed=2)


def test_ask_tell_equals_the_callable_path_and_accepts_torch():
    fn, _ = _quadratic()
    a = BlackBoxMGD(np.zeros(12), CFG)
    a.run(fn, 40)
    b = BlackBoxMGD(torch.zeros(12, dtype=torch.float64), CFG)
    while b.engine.counters.steps < 40:
        req = b.ask()
        assert isinstance(req.point, torch.Tensor) and req.point.shape == (12,)
        b.tell(fn(req.point.numpy(), req.batch))
    assert isinstance(a.theta, np.ndarray)
    np.testing.assert_array_equal(a.theta, b.theta.numpy())
    assert a.engine.counters.evaluations == 40 + 10  # one baseline per window of 4


def test_training_a_quadratic_converges():
    fn, target = _quadratic()
    d = BlackBoxMGD(np.zeros(12), CFG)
    before = fn(d.theta, None)
    d.run(fn, 3000)
    assert fn(d.theta, None) < 0.02 * before


def _flaky(fn, fail_at: set[int], how: str = "raise"):
    calls = {"n": 0}

    def wrapped(theta, batch):
        calls["n"] += 1
        if calls["n"] in fail_at:
            if how == "raise":
                raise OSError("bus error")
            if how == "nan":
                return float("nan")
            time.sleep(0.3)
        return fn(theta, batch)

    return wrapped, calls


def test_retry_remeasures_the_same_request_and_changes_nothing():
    fn, _ = _quadratic()
    clean = BlackBoxMGD(np.zeros(12), CFG)
    clean.run(fn, 20)
    flaky, _ = _flaky(fn, {3, 4, 9})
    d = BlackBoxMGD(np.zeros(12), CFG, policy=FailurePolicy(retries=2))
    d.run(flaky, 20)
    np.testing.assert_array_equal(d.theta, clean.theta)
    assert [(f.attempt, f.action, f.reason) for f in d.failures] == [
        (0, "retry", "exception"),
        (1, "retry", "exception"),
        (0, "retry", "exception"),
    ]
    assert "bus error" in d.failures[0].detail


def test_skip_drops_the_step_with_no_contribution():
    """A skipped perturbed step adds nothing to G_int: the same as a step whose cost equals C0."""
    fn, _ = _quadratic()
    d = BlackBoxMGD(np.zeros(12), CFG, policy=FailurePolicy(retries=0, on_failure="skip"))
    # measure: baseline (call 1), perturbed steps 0, 1 (calls 2, 3); step 2's measurement fails (call 4)
    flaky, _ = _flaky(fn, {4}, how="nan")
    d.run(flaky, 4)
    assert d.engine.counters.skipped == 1 and d.engine.counters.updates == 1
    assert [(f.step, f.kind, f.reason, f.action) for f in d.failures] == [
        (2, "perturbed", "non-finite", "skip")
    ]

    # reference: the same steps told by hand, with C_tilde = 0 for step 2
    ref = BlackBoxMGD(np.zeros(12), CFG)
    c0 = None
    for n in range(4):
        req = ref.ask()
        if req.kind == "baseline":
            c0 = fn(req.point, None)
            ref.tell(c0)
            req = ref.ask()
        ref.tell(c0 if n == 2 else fn(req.point, None))
    np.testing.assert_array_equal(d.theta, ref.theta)


def test_skipped_baseline_drops_its_step_and_is_measured_again():
    fn, _ = _quadratic()
    d = BlackBoxMGD(np.zeros(12), CFG)
    flaky, _ = _flaky(fn, {1})
    d.run(flaky, 4)
    assert [(f.step, f.kind) for f in d.failures] == [(0, "baseline")]
    c = d.engine.counters
    assert (c.steps, c.skipped, c.baseline_evaluations, c.updates) == (4, 1, 1, 1)


def test_timeout_on_the_callable_path():
    fn, _ = _quadratic()
    flaky, _ = _flaky(fn, {2}, how="hang")
    d = BlackBoxMGD(np.zeros(12), CFG, policy=FailurePolicy(retries=1, timeout_s=0.1))
    d.run(flaky, 8)
    assert [(f.reason, f.action) for f in d.failures] == [("timeout", "retry")]
    clean = BlackBoxMGD(np.zeros(12), CFG)
    clean.run(fn, 8)
    np.testing.assert_array_equal(d.theta, clean.theta)


def test_stop_saves_the_last_completed_step_and_resumes_exactly(tmp_path: Path):
    fn, _ = _quadratic()
    clean = BlackBoxMGD(np.zeros(12), CFG)
    clean.run(fn, 30)
    flaky, _ = _flaky(fn, {23})
    ckpt = tmp_path / "stopped.pt"
    d = BlackBoxMGD(np.zeros(12), CFG, policy=FailurePolicy(on_failure="stop"), checkpoint_path=ckpt)
    with pytest.raises(MeasurementFailed, match="stopped with the state after 17 completed steps") as info:
        d.run(flaky, 30)
    assert ckpt.exists() and info.value.failures[-1].action == "stop"
    resumed = BlackBoxMGD(np.zeros(12), CFG)
    resumed.load_state_dict(torch.load(ckpt, weights_only=False))
    done = resumed.engine.counters.steps
    assert 0 < done < 30 and len(resumed.failures) == 1
    resumed.run(fn, 30 - done)
    np.testing.assert_array_equal(resumed.theta, clean.theta)


def test_bad_policy_is_rejected():
    with pytest.raises(ConfigError, match="on_failure"):
        BlackBoxMGD(np.zeros(3), CFG, policy=FailurePolicy(on_failure="ignore"))
    with pytest.raises(ConfigError, match="retries"):
        BlackBoxMGD(np.zeros(3), CFG, policy=FailurePolicy(retries=-1))


def test_a_device_that_keeps_failing_stops_the_run_with_its_state():
    """max_consecutive_failures failures in a row stop even a skip policy (a dead device or a buggy
    callable), keeping the state after the last step that completed."""
    fn, _ = _quadratic()
    calls = {"n": 0}

    def dies_after_10(theta, batch):
        calls["n"] += 1
        if calls["n"] > 10:
            raise ConnectionError("device gone")
        return fn(theta, batch)

    policy = FailurePolicy(retries=1, on_failure="skip", max_consecutive_failures=7)
    d = BlackBoxMGD(np.zeros(12), CFG, policy=policy)
    with pytest.raises(MeasurementFailed, match="max_consecutive_failures = 7") as info:
        d.run(dies_after_10, 100)
    assert len(d.failures) == 7 and [f.action for f in d.failures][-1] == "stop"
    assert calls["n"] == 17
    steps = info.value.state["engine"]["counters"]["steps"]
    assert steps == d.engine.counters.steps < 100
    # a callable with the wrong signature fails every call: the default limit (50) stops it
    with pytest.raises(MeasurementFailed, match="take \\(point, batch\\)"):
        BlackBoxMGD(np.zeros(12), CFG).run(lambda theta: 0.0, 1000)


def test_success_resets_the_count_of_failures_in_a_row():
    fn, _ = _quadratic()
    flaky, _ = _flaky(fn, set(range(1, 200, 2)))  # every other call fails
    d = BlackBoxMGD(np.zeros(12), CFG, policy=FailurePolicy(retries=1, max_consecutive_failures=2))
    d.run(flaky, 40)
    assert d.engine.counters.steps == 40 and {f.action for f in d.failures} == {"retry"}


@pytest.mark.parametrize("bad", [None, "1.0", np.zeros(3), True])
def test_a_measurement_that_is_not_a_number_is_a_type_error_not_a_failure(bad):
    d = BlackBoxMGD(np.zeros(12), CFG)
    with pytest.raises(TypeError, match="measurement must return"):
        d.run(lambda theta, batch: bad, 5)
    assert d.failures == [] and d.engine.counters.steps == 0
    fn, _ = _quadratic()
    req = d.ask()  # the request is still pending, and a number completes it
    assert req.kind == "baseline" and d.tell(np.float32(fn(req.point, None))) is None


def test_run_and_policy_reject_bad_numbers():
    d = BlackBoxMGD(np.zeros(3), CFG)
    with pytest.raises(ConfigError, match="n_steps"):
        d.run(lambda theta, batch: 0.0, -1)
    with pytest.raises(ConfigError, match="integer"):
        BlackBoxMGD(np.zeros(3), CFG, policy=FailurePolicy(retries=1.5))
    with pytest.raises(ConfigError, match="max_consecutive_failures"):
        BlackBoxMGD(np.zeros(3), CFG, policy=FailurePolicy(max_consecutive_failures=0))


# -- the example: a device in another process ---------------------------------------------------------


@pytest.fixture(scope="module")
def example():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import device_in_the_loop

        yield device_in_the_loop
    finally:
        sys.path.remove(str(EXAMPLES))


def test_device_in_another_process_trains_exactly_like_in_process(example):
    steps = 1000
    local = example.Device()
    ref = example.train(local.cost, local.accuracy, steps)
    remote = example.RemoteDevice()
    try:
        out = example.train(remote, remote.accuracy, steps)
    finally:
        remote.close()
    assert out.accuracy == ref.accuracy
    np.testing.assert_array_equal(out.theta, ref.theta)
    assert ref.accuracy > 0.55  # chance 0.1


def test_a_device_failing_10_percent_of_measurements_still_trains(example):
    steps = 1000
    local = example.Device()
    ref = example.train(local.cost, local.accuracy, steps)
    remote = example.RemoteDevice(fail_rate=0.1, hang_s=0.25, seed=1, timeout_s=0.05)
    try:
        out = example.train(remote, remote.accuracy, steps, policy=FailurePolicy(retries=1))
    finally:
        remote.close()
    attempts = out.evaluations + len(out.failures)  # evaluations counts the answered ones
    reasons = Counter(f.reason for f in out.failures)
    assert 0.05 < len(out.failures) / attempts < 0.15
    assert set(reasons) == {"exception", "non-finite", "timeout"}
    assert all(f.action in ("retry", "skip") for f in out.failures)
    assert out.skipped == sum(f.action == "skip" for f in out.failures)
    assert out.accuracy > ref.accuracy - 0.05


def test_timeout_must_be_a_number():
    with pytest.raises(ConfigError, match="timeout_s"):
        BlackBoxMGD(np.zeros(3), CFG, policy=FailurePolicy(timeout_s="5"))
