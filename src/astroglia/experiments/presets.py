"""Ready configurations of classification runs, as TOML-shaped mappings (tables task, mgd, control, backprop).

- ``paper-fmnist``: the MGD paper's Fashion-MNIST settings (specs/mgd.md section 7): the 14,378-parameter
  CNN, batch 1000, eta 10, Delta_theta 0.1, all time constants 1, cross-entropy with label smoothing 0.01;
  backprop baselines SGD (lr 1, as in the paper) and Adam (lr 1e-3).
- ``demo``: chosen so that MGD visibly learns within minutes on two CPU cores: a 6,634-parameter MLP
  (196-32-10) on 2x2-average-pooled images (pooled once, before training), batch 256, eta 10,
  Delta_theta 0.5 (per-parameter amplitude 0.006), all time constants 1, one CPU thread.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper-fmnist": {
        "task": {"network": "paper-cnn", "batch_size": 1000, "label_smoothing": 0.01},
        "mgd": {"eta": 10.0, "delta_theta": 0.1, "tau_x": 1, "tau_p": 1, "tau_theta": 1},
        "control": {"steps": 20000, "log_every": 250, "checkpoint_every": 1000},
        "backprop": {"optimizers": "sgd,adam", "sgd_lr": 1.0, "adam_lr": 1e-3, "bp_steps": 3000},
    },
    "demo": {
        "task": {
            "network": "mlp",
            "hidden": 32,
            "input_pool": 2,
            "batch_size": 256,
            "label_smoothing": 0.01,
            "threads": 1,
        },
        "mgd": {"eta": 10.0, "delta_theta": 0.5, "tau_x": 1, "tau_p": 1, "tau_theta": 1},
        "control": {"steps": 600000, "time_budget_s": 150.0, "log_every": 5000, "checkpoint_every": 50000},
        "backprop": {"optimizers": "sgd,adam", "sgd_lr": 1.0, "adam_lr": 1e-3, "bp_steps": 1500},
    },
}


def preset(name: str) -> dict[str, dict[str, Any]]:
    """A copy of preset ``name``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; available: {', '.join(PRESETS)}")
    return {table: dict(values) for table, values in PRESETS[name].items()}
