"""The MGD paper experiments: parity per family, angle against theory, sweeps, robustness, hardware time."""

from __future__ import annotations

import json
import math

import pytest

from astroglia.cli import main
from astroglia.experiments import sweeps
from astroglia.experiments.mgd_paper import (
    AngleConfig,
    ParityTrainingConfig,
    angle_point,
    parity_point,
    run_angle,
)
from astroglia.experiments.sweeps import PointCache, point_key, run_points
from astroglia.mgd.diagnostics import theory_cosine

FAMILIES = ("random", "walsh", "time_slot", "sinusoid", "gaussian")


@pytest.mark.parametrize("family", FAMILIES)
def test_three_bit_parity_is_solved_by_every_family_for_five_seeds(family: str):
    """Acceptance: the documented configuration (ParityTrainingConfig defaults: 3-6-1 logistic MLP, eta 30,
    Delta_theta 0.1, all time constants 1, digital mode, all 8 patterns as one input) solves 3-bit parity for
    seeds 0-4 with every code family."""
    train = ParityTrainingConfig(max_steps=60000)
    results = [parity_point(train.point(3, family, seed)) for seed in range(5)]
    assert all(r["solved"] for r in results), [r["status"] for r in results]
    assert all(r["accuracy"] == 1.0 for r in results)
    assert all(r["evaluations"] == 2 * r["steps"] for r in results)  # a baseline every step (all tau 1)


def test_three_bit_parity_sinusoid_in_analog_mode_for_five_seeds():
    """The analog-mode configuration: sinusoid codes, eta 30, tau_theta 10 steps, high-pass tau_hp 1.6."""
    train = ParityTrainingConfig(mode="analog", tau_theta=10.0, max_steps=60000)
    results = [parity_point(train.point(3, "sinusoid", seed)) for seed in range(5)]
    assert all(r["solved"] for r in results)
    assert all(r["evaluations"] == r["steps"] for r in results)  # no baselines in analog mode


def test_angle_random_codes_follow_theory_and_walsh_codes_are_exact_after_one_period():
    """Acceptance: mean cosine within 10 % of 1/sqrt(1 + (P-1)/N) for N = 10 ... 10^4 at P = 1000 (16 code
    seeds), and Walsh codes reach cosine > 0.99 at N = code length (1024)."""
    p = 1000
    base = {"n_params": p, "delta_theta": 0.1, "cost_seed": 42}
    checkpoints = [10, 100, 1000, 10000]
    runs = [angle_point({**base, "code": "random", "rep": r, "checkpoints": checkpoints}) for r in range(16)]
    for i, n in enumerate(checkpoints):
        mean = sum(run["cos"][i] for run in runs) / len(runs)
        assert abs(mean - theory_cosine(n, p)) < 0.1 * theory_cosine(n, p), (n, mean)
    walsh = angle_point({**base, "code": "walsh", "rep": 0, "checkpoints": [1024]})
    assert walsh["cos"][0] > 0.99


def test_angle_experiment_writes_figures_report_and_summary(tmp_path):
    cfg = AngleConfig(n_params=64, max_integration=300, reps=2, families="random,walsh,time_slot")
    summary = run_angle(cfg, tmp_path / "angle", workers=1, progress=False)
    assert summary["cos_at_period"]["walsh"] > 0.999 and summary["cos_at_period"]["time_slot"] > 0.999
    assert (tmp_path / "angle/figures/angle_vs_integration.png").stat().st_size > 1000
    assert "angle" in (tmp_path / "angle/report.html").read_text()
    assert cfg.checkpoints("walsh")[-1] == 300 and 128 in cfg.checkpoints("walsh")


CALLS: list[dict] = []


def _counting(config: dict) -> dict:
    CALLS.append(config)
    return {"double": 2 * config["x"]}


def test_point_cache_resumes_and_keys_by_configuration(tmp_path, monkeypatch):
    configs = [{"x": i} for i in range(5)]
    CALLS.clear()
    first = run_points(_counting, configs[:3], tmp_path, workers=1, progress=False)
    assert len(CALLS) == 3 and [r["double"] for r in first] == [0, 2, 4]
    again = run_points(_counting, configs, tmp_path, workers=1, progress=False)
    assert len(CALLS) == 5  # only the two new points ran
    assert [r["double"] for r in again] == [0, 2, 4, 6, 8]
    assert point_key({"a": 1, "b": 2}) == point_key({"b": 2, "a": 1})
    cache = PointCache(tmp_path)
    assert cache.get({"x": 99}) is None
    assert json.loads(cache.path({"x": 1}).read_text())["config"] == {"x": 1}
    # results cached by another version of the code are not reused
    monkeypatch.setattr(sweeps, "RESULTS_VERSION", sweeps.RESULTS_VERSION + 1)
    assert cache.get({"x": 1}) is None
    run_points(_counting, configs[:1], tmp_path, workers=1, progress=False)
    assert len(CALLS) == 6


def test_run_points_in_worker_processes_matches_in_process(tmp_path):
    train = ParityTrainingConfig(max_steps=400, check_every=100)
    points = [train.point(2, "random", s) for s in range(2)]
    parallel = run_points(parity_point, points, tmp_path / "a", workers=2, progress=False)
    serial = run_points(parity_point, points, tmp_path / "b", workers=1, progress=False)
    keys = ("solved", "steps", "evaluations", "accuracy", "cost")
    assert [[r[k] for k in keys] for r in parallel] == [[r[k] for k in keys] for r in serial]


def test_parity_cli_writes_run_directory_and_json(tmp_path, capsys):
    out = tmp_path / "parity"
    args = ["mgd", "parity", "--bits", "2", "--families", "random,walsh", "--seeds", "2"]
    assert main([*args, "--max-steps", "20000", "--workers", "1", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["all_solved"] is True
    row = summary["table"][0]
    assert row["median_hardware_s"] > 0 and row["median_evaluations"] == 2 * row["median_steps"]
    assert (out / "figures/parity_time_to_solution.png").exists()
    assert (out / "report.html").exists() and (out / "config.json").exists()
    assert len(list((out / "points").glob("*.json"))) == 4


def test_sweep_and_robustness_cli(tmp_path, capsys):
    out = tmp_path / "sweep"
    grid = ["--tau-x-values", "1,4", "--tau-theta-values", "1,4", "--tau-p-values", "1,4", "--seeds", "1"]
    common = ["--bits", "2", "--max-steps", "3000", "--workers", "1", "--json"]
    assert main(["mgd", "sweep", *grid, *common, "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert len(summary["maps"]["tau_x"]["median_steps"]) == 2
    assert (out / "figures/heatmap_tau_x_tau_theta.png").exists()
    assert (out / "figures/heatmap_tau_p_tau_theta.png").exists()
    out = tmp_path / "rob"
    magnitudes = [
        "--cost-noise-values",
        "0,1e-2",
        "--update-noise-values",
        "0",
        "--variation-values",
        "0,0.3",
        "--quant-bits-values",
        "0,8",
        "--seeds",
        "1",
    ]
    assert main(["mgd", "robustness", *magnitudes, *common, "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {row["nonideality"] for row in summary["table"]} == {
        "cost_noise",
        "update_noise",
        "variation",
        "quant_bits",
    }
    assert (out / "figures/robustness.png").exists()


def _fake_train_run(path) -> None:
    path.mkdir()
    config = {
        "task": {"batch_size": 100, "device": "cpu"},
        "mgd": {"tau_x": 1, "tau_p": 1, "tau_theta": 1, "mode": "digital"},
    }
    (path / "config.json").write_text(json.dumps({"config": config}))
    (path / "summary.json").write_text(json.dumps({"test_accuracy": 0.8}))
    metrics = [
        {"step": 0, "evaluations": 0, "wall_s": 0.0, "test_accuracy": 0.1},
        {"step": 1000, "evaluations": 2000, "wall_s": 10.0, "test_accuracy": 0.8},
    ]
    (path / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    base = {
        "summary": {"method": "backprop (sgd, lr 1)"},
        "records": [
            {"step": 0, "evaluations": 0, "wall_s": 0.0, "test_accuracy": 0.1},
            {"step": 50, "evaluations": 50, "wall_s": 2.5, "test_accuracy": 0.85},
        ],
    }
    (path / "baseline_sgd.json").write_text(json.dumps(base))


def test_hardware_time_cli_projects_a_train_run(tmp_path, capsys):
    src = tmp_path / "train"
    _fake_train_run(src)
    out = tmp_path / "hw"
    assert main(["mgd", "hardware-time", "--run", str(src), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    rows = {r["method"]: r for r in summary["rows"]}
    assert rows["MGD simulation (measured, this machine)"]["seconds"] == 10.0
    assert rows["backprop (sgd, lr 1) (measured, this machine)"]["seconds"] == 2.5
    # analog-cmos: 2000 evaluations x 100 samples x 1 us + 1000 perturbations x 100 ns + 1000 updates x 10 us
    # + 1000 inputs x 100 samples x 1 us
    expected = 2000 * 100 * 1e-6 + 1000 * 100e-9 + 1000 * 10e-6 + 1000 * 100 * 1e-6
    assert math.isclose(rows["MGD on analog-cmos (projected)"]["seconds"], expected)
    assert (out / "figures/hardware_time.png").exists()
    assert main(["mgd", "hardware-time", "--run", str(tmp_path / "missing"), "--out", str(out)]) == 2


def test_workers_below_one_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="workers must be >= 1"):
        run_points(_counting, [{"x": 1}], tmp_path, workers=0, progress=False)
    with pytest.raises(SystemExit):
        main(["mgd", "parity", "--workers", "0", "--out", str(tmp_path / "p")])
    assert "--workers: must be an integer >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()
