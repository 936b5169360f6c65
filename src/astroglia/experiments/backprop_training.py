"""Backpropagation baselines on the same network, data, loss and test split as an MGD run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from astroglia.config import check
from astroglia.experiments.setup import PreparedTask
from astroglia.metrics.classification import evaluate_classifier
from astroglia.mgd.streams import TensorBatches

OPTIMIZERS = ("sgd", "adam")
DEFAULT_LR = {"sgd": 1.0, "adam": 1e-3}  # SGD lr 1 is the paper's baseline


@dataclass
class BackpropConfig:
    """A backprop baseline: optimiser, learning rate, length and logging (batch size from the task)."""

    optimizers: str = field(
        default="sgd,adam", metadata={"help": "comma-separated baselines to run: sgd, adam; or none"}
    )
    sgd_lr: float = field(default=1.0, metadata={"help": "SGD learning rate (paper: 1)"})
    adam_lr: float = field(default=1e-3, metadata={"help": "Adam learning rate"})
    bp_steps: int = field(default=3000, metadata={"help": "backprop steps (minibatches) per baseline"})
    bp_time_budget_s: float | None = field(
        default=None, metadata={"help": "stop each baseline after this many seconds of training"}
    )
    bp_log_every: int = field(default=50, metadata={"help": "backprop steps between log points"})

    def names(self) -> list[str]:
        """The baselines to run, in order."""
        text = self.optimizers.strip().lower()
        return [] if text in ("", "none") else [s.strip() for s in text.split(",")]

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        for name in self.names():
            check(
                name in OPTIMIZERS, "optimizers", self.optimizers, f"entries must be in {OPTIMIZERS} or none"
            )
        check(self.sgd_lr > 0, "sgd_lr", self.sgd_lr, "must be > 0")
        check(self.adam_lr > 0, "adam_lr", self.adam_lr, "must be > 0")
        check(self.bp_steps >= 1, "bp_steps", self.bp_steps, "must be >= 1")
        check(self.bp_log_every >= 1, "bp_log_every", self.bp_log_every, "must be >= 1")
        if self.bp_time_budget_s is not None:
            check(self.bp_time_budget_s > 0, "bp_time_budget_s", self.bp_time_budget_s, "must be > 0")


def train_backprop(
    task: PreparedTask,
    optimizer: str,
    lr: float,
    *,
    steps: int,
    time_budget_s: float | None = None,
    log_every: int = 50,
    progress: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Train a fresh copy of the task's network by backprop; return (log points, summary).

    Same initial parameters (same seed), same minibatch order, loss and test split as the MGD run. Log points
    carry step, evaluations (forward+backward passes, one per step), samples, wall_s (training time only),
    train_cost (mean minibatch loss since the last point), test_accuracy and test_loss.
    """
    model = task.network()
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt: torch.optim.Optimizer
    if optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr)
    elif optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}; available: {', '.join(OPTIMIZERS)}")
    t = task.tensors
    stream = TensorBatches(t.x_train, t.y_train, task.config.batch_size, seed=task.config.seed)
    records: list[dict[str, Any]] = []
    wall, samples, loss_sum, loss_n = 0.0, 0, 0.0, 0

    def log_point(step: int) -> dict[str, Any]:
        model.eval()
        score = evaluate_classifier(model, t.x_test, t.y_test, task.loss_fn)
        model.train()
        rec = {
            "step": step,
            "evaluations": step,
            "samples": samples,
            "wall_s": wall,
            "train_cost": loss_sum / loss_n if loss_n else None,
            "test_accuracy": score.accuracy,
            "test_loss": score.loss,
        }
        records.append(rec)
        return rec

    last = log_point(0)
    step = 0
    total = steps if time_budget_s is None else None  # with a time budget the step count is open
    desc = f"backprop {optimizer}" + ("" if time_budget_s is None else f" ({time_budget_s:g} s budget)")
    off = None if progress else True  # None: no bar when not on a terminal
    with tqdm(total=total, desc=desc, unit="step", disable=off, mininterval=0.5) as bar:
        while step < steps and (time_budget_s is None or wall < time_budget_s):
            start = time.perf_counter()
            (x, y), n = stream.next()
            opt.zero_grad(set_to_none=True)
            loss = task.loss_fn(model(x), y)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            wall += time.perf_counter() - start
            loss_n += 1
            samples += n
            step += 1
            bar.update(1)
            if step % log_every == 0:
                last = log_point(step)
                loss_sum, loss_n = 0.0, 0
                bar.set_postfix(test_acc=f"{last['test_accuracy']:.3f}")
    if last["step"] != step:
        last = log_point(step)
    summary = {
        "method": f"backprop ({optimizer}, lr {lr:g})",
        "parameters": sum(p.numel() for p in params),
        "steps": step,
        "evaluations": step,
        "samples": samples,
        "wall_s": wall,
        "test_accuracy": last["test_accuracy"],
        "test_loss": last["test_loss"],
        "test_split": task.dataset.test_split,
    }
    return records, summary
