"""MGD training runs: resume, determinism, bad input and run records (embedded Fashion-MNIST sample)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from astroglia.cli import main
from astroglia.errors import ConfigError
from astroglia.experiments.mgd_training import RunControl, TrainingStopped, train_mgd
from astroglia.experiments.setup import TaskConfig, build_network, prepare_task
from astroglia.mgd.config import MGDConfig
from astroglia.networks import count_parameters
from astroglia.runs import RunDir, read_metrics

TASK = TaskConfig(data_source="sample", network="mlp", hidden=8, input_pool=4, batch_size=64, seed=5)
MGD = MGDConfig(eta=5.0, delta_theta=0.3, tau_x=2, tau_p=1, tau_theta=3, seed=5)


def _run(tmp_path, name, steps, *, resume=False, checkpoint_every=25, task=TASK):
    prepared = prepare_task(task)
    run = RunDir(tmp_path / name, config={}, seed=task.seed, kind="test", resume=resume)
    control = RunControl(steps=steps, log_every=10, checkpoint_every=checkpoint_every, progress=False)
    return train_mgd(prepared, MGD, control, run, resume=resume), run


def _theta(run):
    return torch.load(run.path / "checkpoints/last.pt", weights_only=False)["engine"]["theta"]


def test_paper_networks_have_the_papers_parameter_counts():
    """(g) 14,378 parameters for Fashion-MNIST, 26,154 for CIFAR-10."""
    assert count_parameters(build_network("paper-cnn", (1, 28, 28), 10, seed=0)) == 14378
    assert count_parameters(build_network("paper-cnn", (3, 32, 32), 10, seed=0)) == 26154


def test_resume_is_bit_identical(tmp_path):
    """(f) stop at a checkpoint in the middle of an input hold and an integration window, resume, compare."""
    _, full = _run(tmp_path, "full", 70)
    _, part = _run(tmp_path, "part", 25)  # 25 % tau_x != 0 and 25 % tau_theta != 0
    summary, resumed = _run(tmp_path, "part", 70, resume=True)
    assert torch.equal(_theta(full), _theta(resumed))
    # the interrupted run logged an extra point at its end (step 25); all other points agree exactly
    a = read_metrics(full.path)
    b = [r for r in read_metrics(resumed.path) if r["step"] != 25]
    keys = ("step", "evaluations", "samples", "test_accuracy", "test_loss")
    assert [[r[k] for k in keys] for r in a] == [[r[k] for k in keys] for r in b]
    assert summary["steps"] == 70


def test_same_seed_same_metrics(tmp_path):
    """(i) two runs with the same seed log identical values (wall times aside)."""
    _, r1 = _run(tmp_path, "a", 40)
    _, r2 = _run(tmp_path, "b", 40)
    keys = ("step", "evaluations", "samples", "updates", "train_cost", "test_accuracy", "test_loss")
    m1, m2 = read_metrics(r1.path), read_metrics(r2.path)
    assert len(m1) == 5
    assert [[r[k] for k in keys] for r in m1] == [[r[k] for k in keys] for r in m2]
    assert torch.equal(_theta(r1), _theta(r2))


def test_summary_and_metrics_fields(tmp_path):
    summary, run = _run(tmp_path, "s", 20)
    for key in (
        "method",
        "parameters",
        "steps",
        "evaluations",
        "samples",
        "wall_s",
        "test_accuracy",
        "dataset",
    ):
        assert key in summary
    assert summary["test_split"].startswith("embedded sample")
    assert summary["parameters"] == 49 * 8 + 8 + 8 * 10 + 10
    rec = read_metrics(run.path)[-1]
    assert {"step", "evaluations", "samples", "wall_s", "train_cost", "test_accuracy"} <= set(rec)
    # tau_x = 2: 10 inputs of 64 samples in 20 steps; baselines at n = 0,2,3,4,6,8,9,10,12,14,15,16,18
    assert rec["samples"] == 640 and rec["evaluations"] == 20 + 13


def test_nan_loss_stops_with_step_and_keeps_last_checkpoint(tmp_path):
    prepared = prepare_task(TASK)
    calls = {"n": 0}
    good = prepared.loss_fn

    def bad_loss(out, y):
        calls["n"] += 1
        return good(out, y) if calls["n"] < 80 else torch.tensor(float("nan"))

    prepared.loss_fn = bad_loss
    run = RunDir(tmp_path / "nan", config={}, seed=0, kind="test")
    control = RunControl(steps=200, log_every=10, checkpoint_every=20, progress=False)
    with pytest.raises(TrainingStopped, match=r"step \d+") as info:
        train_mgd(prepared, MGD, control, run)
    summary = json.loads((run.path / "summary.json").read_text())
    assert summary["status"] == "stopped: non-finite cost"
    ckpt = torch.load(run.path / "checkpoints/last.pt", weights_only=False)
    saved_step = ckpt["engine"]["counters"]["steps"]
    assert saved_step == 40 and torch.isfinite(ckpt["engine"]["theta"]).all()
    assert f"step {saved_step}" in str(info.value)
    assert read_metrics(run.path)[-1]["step"] == 40


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--tau-x", "-1"], "tau_x"),
        (["--delta-theta", "0"], "delta_theta"),
        (["--batch-size", "0"], "batch_size"),
        (["--steps", "0"], "steps"),
    ],
)
def test_cli_rejects_invalid_values_before_training(tmp_path, capsys, argv, field):
    code = main(["mgd", "train", "--data-source", "sample", "--out", str(tmp_path / "x"), *argv])
    assert code == 2
    assert field in capsys.readouterr().err
    assert not (tmp_path / "x" / "metrics.jsonl").exists()


def test_cli_rejects_unknown_option_and_unknown_toml_key(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["mgd", "train", "--no-such-option", "1"])
    assert info.value.code == 2
    cfg = tmp_path / "c.toml"
    cfg.write_text("[mgd]\neta = 1.0\ntau_q = 3\n")
    assert main(["mgd", "train", "--config", str(cfg), "--out", str(tmp_path / "y")]) == 2
    assert f"unknown option(s) tau_q in [mgd] of {cfg}" in capsys.readouterr().err
    cfg.write_text("[mgd]\ntau_theta = -2\n")
    with pytest.raises(ConfigError, match="tau_theta"):
        from astroglia.cli.mgd import configs_from_args

        configs_from_args(type("A", (), {"preset": "demo", "config": str(cfg)})())


def test_cli_train_writes_run_directory_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["mgd", "train", "--preset", "demo", "--data-source", "sample", "--out", str(out), "--json"]
    opts = ["--log-every", "50", "--checkpoint-every", "50", "--bp-steps", "20", "--bp-log-every", "10"]
    assert main([*common, *opts, "--steps", "100"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["steps"] == 100 and set(first["baselines"]) == {"sgd", "adam"}
    for name in ("config.json", "metrics.jsonl", "summary.json", "report.html"):
        assert (out / name).exists(), name
    assert (out / "figures" / "accuracy_vs_samples_and_time.png").stat().st_size > 10_000
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 0 and config["environment"]["packages"]["torch"]
    assert main([*common, *opts, "--steps", "150", "--resume"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["steps"] == 150 and [r["step"] for r in read_metrics(out)] == [0, 50, 100, 150]
    # a finished run: resuming without raising --steps does nothing, and says so
    assert main([*common, *opts, "--steps", "150", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "--resume: nothing to do" in err and "raise --steps" in err


def test_cli_run_that_blows_up_stops_with_a_report(tmp_path, capsys):
    out = tmp_path / "blowup"
    argv = ["mgd", "train", "--preset", "demo", "--data-source", "sample", "--out", str(out)]
    assert main([*argv, "--eta", "1e30", "--steps", "200", "--log-every", "50", "--bp-steps", "5"]) == 2
    assert "step" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"].startswith("stopped")
    assert summary["checkpoint"] is None  # stopped at the first step: no checkpoint was written
    assert (out / "report.html").exists()


def test_cli_out_that_cannot_be_created_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    argv = ["mgd", "train", "--preset", "demo", "--data-source", "sample", "--steps", "10"]
    assert main([*argv, "--out", str(blocker / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("astroglia: error:") and "Traceback" not in err


def _batched_run(tmp_path, name, steps, batched, *, resume=False):
    mgd = MGDConfig(eta=5.0, delta_theta=0.3, tau_x=8, tau_p=1, tau_theta=8, seed=5)
    prepared = prepare_task(TASK)
    run = RunDir(tmp_path / name, config={}, seed=TASK.seed, kind="test", resume=resume)
    control = RunControl(steps=steps, log_every=12, checkpoint_every=20, progress=False, batched=batched)
    return train_mgd(prepared, mgd, control, run, resume=resume), run


def test_batched_training_equals_step_by_step_training_and_resumes_bit_identically(tmp_path):
    """--batched 8 measures the steps of each (tau_x = tau_theta = 8) window together: the same counters and
    log points as one step at a time, theta equal to float rounding; resumed at a checkpoint (step 20, in
    the middle of a window and of a batch) it continues bit-identically."""
    one, r1 = _batched_run(tmp_path, "one", 64, 1)
    many, r8 = _batched_run(tmp_path, "many", 64, 8)
    for key in ("steps", "evaluations", "baseline_evaluations", "updates", "samples"):
        assert one[key] == many[key]
    m1, m8 = read_metrics(r1.path), read_metrics(r8.path)
    assert [r["step"] for r in m1] == [r["step"] for r in m8] == [0, 12, 24, 36, 48, 60, 64]
    assert m1[0]["train_cost"] is None and m8[0]["train_cost"] is None
    for a, b in zip(m1[1:], m8[1:], strict=True):
        assert a["train_cost"] == pytest.approx(b["train_cost"], rel=1e-5, abs=1e-6)
    torch.testing.assert_close(_theta(r8), _theta(r1), rtol=1e-4, atol=2e-5)  # 8 updates of float32 rounding
    _batched_run(tmp_path, "part", 20, 8)
    _, resumed = _batched_run(tmp_path, "part", 64, 8, resume=True)
    assert torch.equal(_theta(resumed), _theta(r8))


def test_batched_must_be_positive():
    with pytest.raises(ConfigError, match="batched"):
        RunControl(batched=0).validate()


def test_cli_out_that_is_a_file_says_so(tmp_path, capsys):
    out = tmp_path / "a-file"
    out.write_text("keep me")
    assert main(["mgd", "train", "--preset", "demo", "--out", str(out)]) == 2
    assert "is an existing file, not a directory" in capsys.readouterr().err
    assert out.read_text() == "keep me"


def test_boolean_options_have_a_no_form():
    from astroglia.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["mgd", "train", "--no-progress"]).progress is False
    assert parser.parse_args(["mgd", "train", "--progress", "true"]).progress is True
    assert parser.parse_args(["mgd", "train"]).progress is None  # unset: the preset or file decides


def _finished_small_run(tmp_path, capsys) -> tuple[Path, list[str]]:
    """A 20-step demo run on the sample data in tmp_path/run; its directory and command line."""
    out = tmp_path / "run"
    argv = ["mgd", "train", "--preset", "demo", "--data-source", "sample", "--out", str(out), "--json"]
    argv += ["--steps", "20", "--bp-steps", "5", "--log-every", "10"]
    assert main(argv) == 0
    capsys.readouterr()
    return out, argv


def test_cli_train_refuses_to_overwrite_a_run_unless_told(tmp_path, capsys):
    out, argv = _finished_small_run(tmp_path, capsys)
    summary = (out / "summary.json").read_text()
    assert main([*argv, "--eta", "2"]) == 2
    err = capsys.readouterr().err
    assert "holds a run already" in err and "--overwrite replaces it" in err
    assert (out / "summary.json").read_text() == summary  # nothing was touched
    assert main([*argv, "--resume", "--overwrite"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert sorted(p.name for p in out.glob("baseline_*.json")) == ["baseline_adam.json", "baseline_sgd.json"]
    assert main([*argv, "--eta", "2", "--overwrite", "--optimizers", "none"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 20
    assert json.loads((out / "config.json").read_text())["config"]["mgd"]["eta"] == 2
    assert list(out.glob("baseline_*.json")) == []  # the replaced run's files are gone


def test_cli_overwrite_with_an_invalid_network_shape_loses_nothing(tmp_path, capsys):
    out, argv = _finished_small_run(tmp_path, capsys)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert main([*argv, "--network", "paper-cnn", "--overwrite"]) == 2  # the demo preset pools 2x2
    assert "must be 1 with network paper-cnn" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_cli_resume_finishes_a_run_stopped_during_its_baselines(tmp_path, capsys):
    out, argv = _finished_small_run(tmp_path, capsys)
    (out / "report.html").unlink()  # as a Ctrl-C during the backprop baselines leaves it
    (out / "baseline_adam.json").unlink()
    assert main([*argv, "--resume"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 20
    assert (out / "report.html").exists() and (out / "baseline_adam.json").exists()
    assert main([*argv, "--resume"]) == 2  # now complete: nothing to do
    assert "nothing to do" in capsys.readouterr().err


def test_ctrl_c_stops_between_steps_with_a_checkpoint_and_resume_continues(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    entry = "import sys; from astroglia.cli import main; sys.exit(main())"
    argv = [sys.executable, "-c", entry, "mgd", "train", "--preset", "demo", "--data-source", "sample"]
    argv += ["--out", str(out), "--steps", "10000000", "--log-every", "200", "--bp-steps", "5"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "metrics.jsonl").exists() or len(read_metrics(out)) < 2:  # training is under way
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert "interrupted (Ctrl-C)" in err and "--resume continues" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "stopped: interrupted (Ctrl-C)"
    stopped_at = summary["steps"]
    saved = torch.load(out / "checkpoints" / "last.pt", weights_only=False)
    assert saved["engine"]["counters"]["steps"] == stopped_at > 0
    assert read_metrics(out)[-1]["step"] == stopped_at
    code = main(["mgd", "train", "--out", str(out), "--resume", "--steps", str(stopped_at + 50)])
    assert code == 0
    assert json.loads((out / "summary.json").read_text())["steps"] == stopped_at + 50


def test_cli_batched_without_tau_windows_is_refused_before_data_load(tmp_path, capsys):
    argv = ["mgd", "train", "--preset", "demo", "--data-source", "sample", "--out", str(tmp_path / "b")]
    assert main([*argv, "--batched", "32", "--tau-x", "1", "--tau-theta", "32"]) == 2
    assert "has no effect with tau_x = 1" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_cli_input_pool_must_divide_the_image(tmp_path, capsys):
    argv = ["mgd", "train", "--preset", "demo", "--data-source", "sample", "--out", str(tmp_path / "p")]
    assert main([*argv, "--input-pool", "5", "--steps", "5"]) == 2
    assert "must divide the 28 x 28 images" in capsys.readouterr().err


def test_cli_stop_message_names_the_error_once(tmp_path, capsys):
    out = tmp_path / "eta"
    argv = ["mgd", "train", "--preset", "demo", "--data-source", "sample", "--out", str(out)]
    assert main([*argv, "--eta", "1e30", "--steps", "50", "--bp-steps", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("at step") == 2, err  # "training stopped at step N: the ... cost is inf at step N"
    assert "  " not in err.splitlines()[0]


def test_cli_sample_source_of_a_dataset_without_one_is_refused_before_data_load(tmp_path, capsys):
    argv = ["mgd", "train", "--dataset", "cifar-10", "--data-source", "sample", "--out", str(tmp_path / "c")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "cifar-10 has no embedded sample" in err and "--data-source sample)" not in err
    assert not (tmp_path / "c").exists()
