"""Dynamical systems: metadata, named parameters, accuracy, exact switches, cache and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from astroglia.systems import (
    KANG2025_SWITCH_TIMES,
    LORENZ,
    ROESSLER,
    THOMAS,
    DynamicalSystem,
    IntegrationError,
    Parameter,
    ParameterSchedule,
    get_system,
    integrate,
    largest_lyapunov_exponent,
    list_systems,
    thomas_kang2025,
    thomas_series,
)
from astroglia.systems import reference as reference_module


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ASTROGLIA_CACHE", str(tmp_path / "cache"))


# --- metadata and right-hand sides ---------------------------------------------------------------------


def test_registry_lists_and_resolves_names():
    assert list_systems() == ["lorenz", "roessler", "thomas"]
    assert get_system("Lorenz") is LORENZ
    assert get_system("rossler") is ROESSLER
    assert get_system(THOMAS) is THOMAS
    with pytest.raises(ValueError, match="unknown system 'duffing'.*known systems"):
        get_system("duffing")


def test_rhs_take_named_parameters_and_match_the_equations():
    s = np.array([0.3, -1.2, 2.5])
    x, y, z = s
    np.testing.assert_allclose(
        THOMAS.rhs(0.0, s, b=0.2), [np.sin(y) - 0.2 * x, np.sin(z) - 0.2 * y, np.sin(x) - 0.2 * z]
    )
    np.testing.assert_allclose(
        LORENZ.rhs(0.0, s, rho=28.0, beta=8 / 3, sigma=10.0),
        [10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z],
    )
    np.testing.assert_allclose(
        ROESSLER.rhs(0.0, s, c=5.7, a=0.2, b=0.1), [-y - z, x + 0.2 * y, 0.1 + z * (x - 5.7)]
    )
    with pytest.raises(TypeError):
        LORENZ.rhs(0.0, s, 10.0, 28.0, 8 / 3)  # positional parameters are refused


@pytest.mark.parametrize("system", [THOMAS, LORENZ, ROESSLER], ids=lambda s: s.name)
def test_jacobian_matches_finite_differences(system):
    rng = np.random.default_rng(0)
    p = system.defaults
    for _ in range(3):
        s = rng.normal(size=system.dim) * 2
        h = 1e-6
        fd = np.stack(
            [
                (system.rhs(0, s + h * e, **p) - system.rhs(0, s - h * e, **p)) / (2 * h)
                for e in np.eye(system.dim)
            ],
            axis=1,
        )
        np.testing.assert_allclose(system.jac(0, s, **p), fd, rtol=1e-6, atol=1e-6)


def test_rhs_is_vectorised_over_states():
    states = np.random.default_rng(1).normal(size=(3, 5))
    batch = LORENZ.rhs(0.0, states, **LORENZ.defaults)
    for k in range(5):
        np.testing.assert_allclose(batch[:, k], LORENZ.rhs(0.0, states[:, k], **LORENZ.defaults))


def test_metadata_regimes_and_sources():
    assert THOMAS.defaults == {"b": 0.18}
    assert THOMAS.regime({"b": 0.18}) == "chaotic"
    assert THOMAS.regime({"b": 0.29}) == "limit_cycle"
    assert THOMAS.regime({"b": 0.35}) == "fixed_point"
    assert LORENZ.regime() == "chaotic"
    assert LORENZ.regime({"rho": 10.0}) == "fixed_point"
    assert LORENZ.regime({"rho": 28.0, "sigma": 11.0}) is None  # ranges hold at the tabulated sigma only
    assert ROESSLER.regime() == "chaotic"
    for s in (THOMAS, LORENZ, ROESSLER):
        assert s.lyapunov is not None and s.lyapunov.source and s.lyapunov.value > 0
        assert all(r.source for r in s.regimes)
        assert all(p.unit for p in s.parameters)
        assert all(name in s.equations for name in s.parameter_names)
    assert LORENZ.lyapunov.value == pytest.approx(0.906, abs=0.001)
    assert LORENZ.lyapunov.lyapunov_time == pytest.approx(1.104, abs=0.002)


# --- dynamics: values from theory and the literature -------------------------------------------------


def test_lorenz_largest_lyapunov_exponent_by_two_trajectories():
    mle = largest_lyapunov_exponent("lorenz", dt=0.01, n_steps=20_000, transient_steps=1_000)
    assert mle == pytest.approx(0.906, rel=0.10)


def _upward_crossing_period(x: np.ndarray, dt: float) -> float:
    x = x - x.mean()
    k = np.flatnonzero((x[:-1] < 0) & (x[1:] >= 0))
    times = (k + x[k] / (x[k] - x[k + 1])) * dt  # linear interpolation of each crossing
    return float(np.mean(np.diff(times)))


def test_thomas_limit_cycle_period_at_b_029():
    s = thomas_series(0.29, 1500, transient=500, dt=0.25, cache=False)
    period = _upward_crossing_period(s.values[:, 0], 0.25)
    assert period == pytest.approx(13.2, rel=0.03)


def test_thomas_converges_to_a_fixed_point_at_b_035():
    s = thomas_series(0.35, 200, transient=1_500, cache=False)
    assert np.max(s.values.std(axis=0)) < 1e-6
    x = s.values[-1]
    assert x[0] == pytest.approx(x[1], abs=1e-6) and x[1] == pytest.approx(x[2], abs=1e-6)
    assert np.sin(x[0]) == pytest.approx(0.35 * x[0], abs=1e-6)  # the symmetric fixed point sin x = b x
    assert abs(x[0]) > 1.0  # not the origin: one of the pair born at b = 1


# --- integration ---------------------------------------------------------------------------------------


def test_series_layout_and_metadata():
    s = integrate("lorenz", (1.0, 2.0, 3.0), 11, 0.5, t0=2.0, params={"rho": 20.0})
    assert s.values.shape == (11, 3) and s.t.shape == (11,)
    np.testing.assert_array_equal(s.t, 2.0 + 0.5 * np.arange(11))
    np.testing.assert_array_equal(s.values[0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(s.params["rho"], np.full(11, 20.0))
    np.testing.assert_array_equal(s.params["sigma"], np.full(11, 10.0))
    assert s.meta["method"] == "DOP853" and s.meta["rtol"] == 1e-10 and s.meta["atol"] == 1e-10
    assert s.meta["dt"] == 0.5 and s.meta["x0"] == [1.0, 2.0, 3.0] and s.meta["cache"] == "off"
    assert s.switch_times == () and len(s.segments) == 1
    with pytest.raises(ValueError):
        s.values[0, 0] = 1.0  # read-only


def test_schedule_equals_segments_integrated_separately():
    levels, switches = (0.18, 0.29, 0.2), (50.0, 120.0)
    sched = ParameterSchedule([{"b": v} for v in levels], switches)
    whole = integrate("thomas", (1.0, 2.0, 0.5), 201, 1.0, schedule=sched)
    a = integrate("thomas", (1.0, 2.0, 0.5), 51, 1.0, params={"b": 0.18})
    b = integrate("thomas", a.values[-1], 71, 1.0, t0=50.0, params={"b": 0.29})
    c = integrate("thomas", b.values[-1], 81, 1.0, t0=120.0, params={"b": 0.2})
    pieces = np.concatenate([a.values, b.values[1:], c.values[1:]])
    np.testing.assert_allclose(whole.values, pieces, rtol=0, atol=1e-12)
    unswitched = integrate("thomas", (1.0, 2.0, 0.5), 201, 1.0, params={"b": 0.18})
    np.testing.assert_allclose(whole.values[:51], unswitched.values[:51], rtol=0, atol=1e-8)
    assert np.max(np.abs(whole.values[60:] - unswitched.values[60:])) > 1e-2
    # segments are (a, b]: the sample at a switch time still has the old value
    assert whole.params["b"][50] == 0.18 and whole.params["b"][51] == 0.29
    assert whole.params["b"][120] == 0.29 and whole.params["b"][121] == 0.2
    np.testing.assert_array_equal(whole.switch_indices, [51, 121])
    assert [(g.start, g.stop, g.params["b"]) for g in whole.segments] == [
        (0, 51, 0.18),
        (51, 121, 0.29),
        (121, 201, 0.2),
    ]
    np.testing.assert_array_equal(np.bincount(whole.context_labels()), [51, 70, 80])


def test_switch_between_samples_is_exact():
    sched = ParameterSchedule.alternating("b", (0.18, 0.29), [20.5])
    s = integrate("thomas", (1.0, 2.0, 0.5), 41, 1.0, schedule=sched)
    assert s.params["b"][20] == 0.18 and s.params["b"][21] == 0.29
    head = integrate("thomas", (1.0, 2.0, 0.5), 2, 20.5, params={"b": 0.18})  # lands exactly on t = 20.5
    tail = integrate("thomas", head.values[-1], 2, 0.5, t0=20.5, params={"b": 0.29})  # t = 20.5, 21
    np.testing.assert_allclose(s.values[21], tail.values[1], atol=1e-9)


def test_tighter_tolerance_changes_a_periodic_run_very_little():
    x0 = thomas_series(0.29, 1, transient=300, cache=False).values[0]  # a point on the limit cycle
    loose = integrate("thomas", x0, 200, 1.0, params={"b": 0.29}, rtol=1e-10, atol=1e-10)
    tight = integrate("thomas", x0, 200, 1.0, params={"b": 0.29}, rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(loose.values - tight.values)) < 1e-8


def test_implicit_method_with_jacobian_agrees():
    a = integrate("lorenz", (1.0, 1.0, 1.0), 51, 0.02)
    b = integrate("lorenz", (1.0, 1.0, 1.0), 51, 0.02, method="Radau", rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(a.values, b.values, atol=1e-6)
    assert b.meta["method"] == "Radau"


def test_blow_up_raises_integration_error():
    def rhs(t, state, *, k):
        return k * state**2

    def jac(t, state, *, k):
        return np.diag(2 * k * state)

    blowup = DynamicalSystem("blowup", "dx/dt = k*x^2", ("x",), (Parameter("k", 1.0),), rhs, jac, (1.0,))
    with pytest.raises(IntegrationError, match="blowup"):
        integrate(blowup, (1.0,), 5, 0.5)  # x = 1 / (1 - t) leaves every bound before t = 1


def test_slice_reindexes_segments():
    sched = ParameterSchedule.alternating("b", (0.18, 0.29), [10.0, 20.0])
    s = integrate("thomas", (1.0, 2.0, 0.5), 31, 1.0, schedule=sched)
    part = s.slice(15)
    assert part.n_samples == 16 and part.t[0] == 15.0
    assert [(g.start, g.stop) for g in part.segments] == [(0, 6), (6, 16)]
    assert part.switch_times == (20.0,)
    np.testing.assert_array_equal(part.values, s.values[15:])


# --- input validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x0": (np.nan, 1.0, 1.0)}, "x0 must be finite"),
        ({"x0": (1.0, 1.0)}, "x0 has shape"),
        ({"dt": 0.0}, "dt must be a positive"),
        ({"dt": -1.0}, "dt must be a positive"),
        ({"n_samples": 0}, "n_samples must be a positive integer"),
        ({"params": {"beta": 1.0}}, "unknown parameter 'beta'"),
        ({"params": {"b": np.inf}}, "must be finite"),
        ({"method": "euler"}, "unknown method"),
        ({"rtol": 0.0}, "rtol must be"),
        ({"schedule": ParameterSchedule([{"b": 0.2}, {"c": 0.3}], [3.0])}, "unknown parameter 'c'"),
        ({"schedule": ParameterSchedule([{"b": 0.2}, {"b": 0.3}], [30.0])}, "strictly between"),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, message):
    args = {"x0": (1.0, 1.0, 1.0), "n_samples": 10, "dt": 1.0, **kwargs}
    x0, n, dt = args.pop("x0"), args.pop("n_samples"), args.pop("dt")
    with pytest.raises(ValueError, match=message):
        integrate("thomas", x0, n, dt, **args)


def test_bad_schedules_raise():
    with pytest.raises(ValueError, match="strictly increasing"):
        ParameterSchedule([{"b": 0.1}, {"b": 0.2}, {"b": 0.3}], [5.0, 2.0])
    with pytest.raises(ValueError, match="needs 3 parameter sets"):
        ParameterSchedule([{"b": 0.1}, {"b": 0.2}], [2.0, 5.0])
    with pytest.raises(ValueError, match="finite"):
        ParameterSchedule([{"b": 0.1}, {"b": 0.2}], [np.nan])
    with pytest.raises(ValueError, match="must be a mapping"):
        ParameterSchedule([0.1, 0.2], [2.0])


# --- cache ---------------------------------------------------------------------------------------------


def _cache_files(tmp_path):
    return sorted((tmp_path / "cache" / "series").glob("*"))


def test_cache_hit_returns_identical_arrays(tmp_path):
    first = integrate("thomas", (1.0, 2.0, 0.5), 100, 1.0, cache=True)
    assert first.meta["cache"] == "miss"
    assert [p.suffix for p in _cache_files(tmp_path)] == [".json", ".npz"]
    second = integrate("thomas", (1.0, 2.0, 0.5), 100, 1.0, cache=True)
    assert second.meta["cache"] == "hit"
    np.testing.assert_array_equal(first.values, second.values)
    other = integrate("thomas", (1.0, 2.0, 0.5), 100, 1.0, rtol=1e-11, cache=True)  # new key
    assert other.meta["cache"] == "miss" and other.meta["cache_key"] != first.meta["cache_key"]


def test_cache_off_writes_nothing(tmp_path):
    integrate("thomas", (1.0, 2.0, 0.5), 20, 1.0, cache=False)
    assert _cache_files(tmp_path) == []


@pytest.mark.parametrize("damage", ["garbage", "tampered", "missing_json"])
def test_corrupt_cache_entry_is_regenerated(tmp_path, damage):
    first = integrate("thomas", (1.0, 2.0, 0.5), 100, 1.0, cache=True)
    npz = next(p for p in _cache_files(tmp_path) if p.suffix == ".npz")
    if damage == "garbage":
        npz.write_bytes(b"not a numpy file")
    elif damage == "tampered":  # loads fine, but the checksum no longer matches
        np.savez(npz, values=first.values + 1e-3)
    else:
        npz.with_suffix(".json").unlink()
    with pytest.warns(RuntimeWarning, match="regenerating"):
        again = integrate("thomas", (1.0, 2.0, 0.5), 100, 1.0, cache=True)
    assert again.meta["cache"] == "miss"
    np.testing.assert_array_equal(again.values, first.values)
    assert integrate("thomas", (1.0, 2.0, 0.5), 100, 1.0, cache=True).meta["cache"] == "hit"


# --- reference task ------------------------------------------------------------------------------------


def test_thomas_kang2025_train_series():
    s = thomas_kang2025("train", cache=False)
    assert s.values.shape == (7500, 3)
    np.testing.assert_array_equal(s.t, np.arange(7500.0))
    np.testing.assert_array_equal(s.values[0], [10.0, 10.0, 1.0])
    assert s.switch_times == KANG2025_SWITCH_TIMES
    b = s.params["b"]
    assert b[0] == 0.18 and b[500] == 0.18 and b[501] == 0.29 and b[1200] == 0.29 and b[1201] == 0.18
    assert [g.params["b"] for g in s.segments] == [0.18, 0.29] * 7
    assert s.segments[-1].params["b"] == 0.29 and s.segments[-1].stop == 7500
    np.testing.assert_array_equal(s.switch_indices, np.array(KANG2025_SWITCH_TIMES, dtype=int) + 1)
    assert s.meta["dataset"] == "thomas_kang2025/train"
    assert s.meta["rtol"] <= 1e-9 and s.meta["atol"] <= 1e-9
    assert np.all(np.isfinite(s.values)) and np.max(np.abs(s.values)) < 12


def test_thomas_kang2025_test_split_arguments(monkeypatch):
    seen = {}

    def fake_integrate(system, x0, n_samples, dt, **kwargs):
        seen.update(system=system, x0=x0, n_samples=n_samples, dt=dt, **kwargs)
        return integrate("thomas", x0, 3, dt, params=kwargs["params"])

    monkeypatch.setattr(reference_module, "integrate", fake_integrate)
    s = thomas_kang2025("test", cache=False)
    assert seen["system"] == "thomas" and seen["x0"] == (10.0, 10.0, 0.0)
    assert seen["n_samples"] == 15_000 and seen["dt"] == 1.0 and seen["params"] == {"b": 0.29}
    assert s.meta["dataset"] == "thomas_kang2025/test"
    with pytest.raises(ValueError, match="split must be"):
        thomas_kang2025("validation")
