"""``astroglia rhythmic`` command line: options, and bad values rejected before any computation."""

from __future__ import annotations

import json

import pytest

from astroglia.cli import build_parser, main


def test_subcommands_and_options():
    parser = build_parser()
    for cmd in ("train", "sense", "recall", "scan"):
        args = parser.parse_args(["rhythmic", cmd, "--seed", "3", "--json", "--k-phi", "20"])
        assert args.seed == 3 and args.json and args.k_phi == 20.0
    args = parser.parse_args(["rhythmic", "recall", "--context", "0.25", "--n-targets", "8"])
    assert args.context == 0.25 and args.n_targets == 8
    with pytest.raises(SystemExit):
        parser.parse_args(["rhythmic", "recall", "--protocol", "spin"])


def test_bad_hyperparameter_is_a_clear_error(tmp_path, capsys):
    code = main(["rhythmic", "train", "--m", "2", "--out", str(tmp_path / "r")])
    assert code == 2
    assert "m = 2.0" in capsys.readouterr().err


def test_bad_context_and_misplaced_toml_keys_fail_before_training(tmp_path, capsys):
    from astroglia.cli import main

    for value in ("nan", "5", "-1"):
        assert main(["rhythmic", "recall", "--context", value, "--out", str(tmp_path / "r")]) == 2
        assert "context" in capsys.readouterr().err
    cfg = tmp_path / "c.toml"
    cfg.write_text("n_nodes = 50\n")
    assert main(["rhythmic", "train", "--config", str(cfg), "--out", str(tmp_path / "t")]) == 2
    assert "n_nodes" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() and not (tmp_path / "t").exists()


def test_recall_of_a_fixed_point_context_has_no_relative_std_error(tmp_path, capsys):
    """At b = 0.5 the true attractor is a fixed point (zero spread): no error relative to it is defined."""
    argv = ["rhythmic", "recall", "--task", "thomas-kang2025", "--seed", "0", "--context", "0.5"]
    assert main([*argv, "--n-targets", "4", "--json", "--out", str(tmp_path / "r")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["true_regime"] == "fixed_point"
    assert summary["std_error"] == [None, None, None] and summary["period_error"] is None


@pytest.mark.parametrize(
    ("argv", "command"),
    [(["rhythmic", "recall", "--bogus"], "rhythmic recall"), (["mgd", "train", "--bogus", "1"], "mgd train")],
)
def test_an_unknown_option_is_reported_with_the_usage_of_its_command(argv, command, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"astroglia {command}: error: unrecognized arguments: {' '.join(argv[2:])}" in err
    assert f"usage: astroglia {command}" in err


def test_a_transient_longer_than_the_run_says_which_option_to_change(capsys):
    assert main(["rhythmic", "recall", "--transient", "6000"]) == 2
    err = capsys.readouterr().err
    assert "run_steps = 5000" in err and "6100" in err and "--transient" in err


def test_demo_prints_the_rhythmic_headline_numbers():
    from astroglia.cli.demo import _rhythmic_lines

    recall = {
        "0.18": {"regime": "irregular", "true_regime": "irregular", "period_error": None, "diverged": False},
        "0.29": {
            "regime": "limit_cycle",
            "true_regime": "limit_cycle",
            "period": 13.78,
            "true_period": 13.22,
            "period_error": 0.04,
            "diverged": False,
        },
    }
    train = {"switch_latency_steps": [76, None, 31, 58], "one_step_nrmse": [0.039, 0.035, 0.0347]}
    lines = _rhythmic_lines({"train": train, "recall": recall})
    assert lines == [
        "Rhythmic Sharing: 3/4 regime switches sensed without labels (median latency 58 steps); "
        "one-step NRMSE (x, y, z) 0.039, 0.035, 0.035",
        "  recall at b = 0.18: irregular (true: irregular)",
        "  recall at b = 0.29: limit_cycle (true: limit_cycle), period 13.78 time units (true 13.22)",
    ]
